# shared by the audit end-to-end tests (sourced, after purse_lib.sh)

# a profile with the test master keys; extra jq filter in $2 (e.g. audit_capacity)
audit_profile() {
	local t=$1 extra=${2:-.}
	write_master_keys "$t/mk.json"
	"$WK" perso --master-keys "$t/mk.json" --pan "$PAN" --pin-tries 3 \
		--ceiling 20000000 --out "$t/perso0.json" >/dev/null
	jq "$extra" "$t/perso0.json" >"$t/perso.json"
	"$WK" wallet sam-init --insecure-master-keys --master-keys "$t/mk.json" --terminal 000000000042 \
		--out "$t/sam.json" >/dev/null
}

# outside a sandbox: runs the test SCRIPT again inside one, its one card
# personalised with audit_profile's profile changed by FILTER (jq), with
# the scratch folder T and ARGS as its arguments, and exits with its
# status; inside the sandbox it returns
audit_in_sandbox() {
	local script=$1 filter=$2
	shift 2
	[ -n "${WALLETKEY_SANDBOX:-}" ] && return 0
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	audit_profile "$T" "$filter"
	set +e
	"$SANDBOX" --cards 1 --init-args "--perso $T/perso.json" -- "$script" "$T" "$@"
	exit $?
}

# the wallet key in PIV slot 82 and its self-signed certificate
wallet_key() {
	"$WK" --reader "$R" key generate --slot 82 --alg eccp256 >/dev/null 2>&1
	"$WK" --reader "$R" cert selfsign --slot 82 --subject "/CN=walletkey wallet" \
		--days 365 --import >/dev/null 2>&1
}

# the tries left of the purse PIN, from the audit applet's VERIFY status
pin_tries() {
	local sw
	sw=$("$WK" --reader "$R" apdu 00a4040c08f0574b4155444954 0020000000 | tail -1 | awk '{print $NF}')
	case $sw in
	63c*) echo "${sw#63c}" ;;
	6983) echo blocked ;;
	9000) echo verified ;;
	*) echo "sw $sw" ;;
	esac
}
