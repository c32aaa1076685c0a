# shared by the online payment tests (sourced inside the sandbox, after
# remote_lib.sh): a merchant with an API key, payments asked for and
# looked at through the issuer's HTTP API, and the checks that no payment
# is both refused and paid, or paid twice (docs/payments.md).
SHOP_TERMINAL=00000000a001
SHOP_NAME="Book shop"
PAN2=6222000000000003
PAY_ATTACK=$BUILD/tests/e2e/pay_attack
# the PostgreSQL engine when the test runs under tests/issuer/with_pg.sh
if [ -n "${WK_PG_URL:-}" ]; then
	DB=$WK_PG_URL
fi

# a merchant with an API key (shown once: kept in $KEY)
merchant_setup() {
	KEY=$("$ISS" merchant-create --db "$DB" --terminal "$SHOP_TERMINAL" \
		--name "$SHOP_NAME" --api-key --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
	[ -n "$KEY" ] || die "no API key"
}

# a third account with a deposit, for a third card
third_account() {
	"$ISS" account-create --db "$DB" --pan $PAN2 --name Carol \
		--password-env WALLETKEY_ACCOUNT_PASSWORD >/dev/null
	"$ISS" deposit --db "$DB" --pan $PAN2 --amount $DEPOSIT >/dev/null
	DEPOSITS=$((3 * DEPOSIT))
}

# pay_create PAYER FEN [EXPIRES_IN] [ORDER]: prints the payment id (jq,
# not python3: it starts several times faster, which bench/confirm's
# latency includes)
pay_create() {
	# (a command substitution's subshell: the order number is its own)
	local order=${4:-order-$(date +%s%N)-$RANDOM}
	curl -sS -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
		-d "{\"payer\":\"$1\",\"order_id\":\"$order\",\"description\":\"two books\",\"amount\":$2,\"currency\":\"CNY\",\"expires_in\":${3:-300}}" \
		"$URL/v1/payments" |
		jq -rn 'input | if has("payment_id") then .payment_id else ("no payment: \(tojson)\n" | halt_error(1)) end'
}

# pay_get ID [FIELD] [WAIT]: the merchant's view (FIELD, default status)
pay_get() {
	curl -sS -H "Authorization: Bearer $KEY" "$URL/v1/payments/$1?wait=${3:-0}" |
		jq -rn --arg f "${2:-status}" 'input | .[$f] // ""'
}

# the issuer's payments: none paid twice, none both refused and paid; the
# merchant holds exactly what was paid, by one movement each.
# payments_sound [BOOKS]: on the books given (walletkey-issuer books
# --json, as money_state read them), else on the books read now
payments_sound() {
	local books=${1:-}
	[ -n "$books" ] || books=$("$ISS" books --db "$DB" --json)
	# (through a file: the ledger outgrows what one argument may hold)
	printf '%s' "$books" >"$T/books.json"
	python3 - "$T/books.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
pays = b["payments"]; ledger = b["ledger"]; acc = b["accounts"]
paid = {p["payment_id"]: p["amount"] for p in pays if p["status"] == "paid"}
moves = {}
for e in ledger:
    if e["kind"] == "payment" and e["amount"] > 0:
        moves.setdefault(e["ref"], []).append(e["amount"])
assert all(len(v) == 1 for v in moves.values()), ("paid twice", moves)
assert set(moves) == set(paid), ("paid without a movement, or moved without paid", moves, paid)
assert all(moves[k][0] == paid[k] for k in paid), (moves, paid)
merch = sum(a["balance"] for a in acc if a["kind"] == "merchant")
assert merch == sum(paid.values()), ("merchants", merch, "paid", sum(paid.values()))
PY
}

# after every step that touches money: both checks on one snapshot of
# the books (the one settled's money check read)
pay_settled() {
	settled "$1"
	check "$1: payments sound" 'payments_sound "$BOOKS"'
}
