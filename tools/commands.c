/* the table of command groups: one line each, one file per group */
#include "cli.h"
#include "cmd_piv.h"
#include "wallet_state.h"

int wk_cmd_readers(wk_cli *cli, int argc, char **argv);
int wk_cmd_apdu(wk_cli *cli, int argc, char **argv);
int wk_cmd_wallet(wk_cli *cli, int argc, char **argv);
int wk_cmd_psam(wk_cli *cli, int argc, char **argv);
int wk_cmd_perso(wk_cli *cli, int argc, char **argv);
int wk_cmd_doctor(wk_cli *cli, int argc, char **argv);
int wk_cmd_audit(wk_cli *cli, int argc, char **argv);
int wk_cmd_gm(wk_cli *cli, int argc, char **argv);
int wk_cmd_anon(wk_cli *cli, int argc, char **argv);
int wk_cmd_ui(wk_cli *cli, int argc, char **argv);
int wk_cmd_watch(wk_cli *cli, int argc, char **argv);
int wk_cmd_label(wk_cli *cli, int argc, char **argv);

const wk_cli_cmd wk_cli_commands[] = {
	{ "readers", "list readers, cards, ATRs and walletkey serials", wk_cmd_readers, "" },
	{ "apdu", "send raw APDUs (hex) and print each response and status word", wk_cmd_apdu, "HEX..." },
	{ "status", "PIV: version, serial, PIN/PUK tries, objects, keys and certificates", cmd_status, "" },
	{ "pin", "PIV PIN and PUK: verify, change, unblock, retries", cmd_pin, "verify|change|unblock|retries|set-retries [OPTIONS]\n  (walletkey pin SUBCOMMAND --help; walletkey-piv(7))" },
	{ "mgmt-key", "PIV management key: set (3DES or AES)", cmd_mgmt_key, "set [OPTIONS]\n  (walletkey mgmt-key set --help; walletkey-piv(7))" },
	{ "key", "PIV keys: generate, import, attest", cmd_key, "generate|import|attest --slot S [OPTIONS]\n  (walletkey key SUBCOMMAND --help; walletkey-piv(7))" },
	{ "cert", "PIV certificates: import, export, delete, request, selfsign", cmd_cert, "import|export|delete|request|selfsign --slot S [OPTIONS]\n  (walletkey cert SUBCOMMAND --help; walletkey-piv(7))" },
	{ "sign", "sign a file with a PIV key", cmd_sign, "--slot S --in FILE [--hash sha256|sha384|sha512|none] [--pss] [--out SIG]\n      [--pin-file FILE]" },
	{ "reset", "PIV: back to the factory state (deletes keys)", cmd_reset, "[--yes]" },
	{ "wallet", "electronic purse: info, balance, records, purchase, load, prove, recover, transfer, settle, unblock, session", wk_cmd_wallet, "info|balance|records|purchase|load|prove|recover|transfer|settle|unblock|session|sam-init [OPTIONS] (docs/wallet.md, docs/remote-load.md)" },
	{ "psam", "a terminal's PSAM card: info, init (its key), install (the issuer's purchase key)", wk_cmd_psam, "info|init|install [OPTIONS] (docs/wallet.md \"The PSAM\")" },
	{ "enroll", "enrol the card with the issuer: wallet key, certificate, trust anchor, purse keys", wk_cmd_enroll, "--issuer URL --account PAN [--password-file FILE]" },
	{ "perso", "derive a card's purse keys from master keys into a personalisation profile", wk_cmd_perso, "--master-keys FILE --pan PAN [--pin PIN] --out FILE" },
	{ "audit", "the card's audit log: export, verify, report (HTML), keygen, open", wk_cmd_audit, "export|verify|report|keygen|open [OPTIONS] (docs/audit.md)" },
	{ "gm", "SM2/SM3/SM4 (GM applet, SKF model): info, apps, pin, containers, keygen, certs, sign, verify, encrypt, decrypt", wk_cmd_gm, "info|apps|app-create|app-delete|pin|containers|container-create|container-delete|keygen|pubkey|cert-import|cert-export|sign|verify|encrypt|decrypt [OPTIONS] (docs/gm.md)" },
	{ "anon", "semi-anonymous payments: info, enrol, pay, submit, recover, history", wk_cmd_anon, "info|enrol|pay|submit|recover|history [OPTIONS] (docs/semi-anonymous.md)" },
	{ "label", "the name the card keeps for itself (walletkey readers shows it)", wk_cmd_label, "[TEXT | --clear]" },
	{ "ui", "the control panel in the browser, on 127.0.0.1 (docs/holder.md)", wk_cmd_ui, "[--port N] [--no-browser] [--idle-exit SECONDS] [--static-dir DIR] [--control]" },
	{ "watch", "wait for walletkey cards and open the control panel when one appears", wk_cmd_watch, "[--no-browser] [--once]" },
	{ "doctor", "check what this machine needs for walletkey and fix what can be fixed", wk_cmd_doctor, "[--fix] [--issuer URL] [--reader-conf DIR] [--module PATH]" },
};

const size_t wk_cli_n_commands = sizeof(wk_cli_commands) / sizeof(wk_cli_commands[0]);
