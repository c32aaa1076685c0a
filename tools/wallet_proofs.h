/*
 * the journal of completed offline purchases, SAMFILE.proofs beside the
 * SAM file (docs/wallet.md "Settlement"): one JSON line per purchase proof,
 * appended and fsynced before the SAM closes the transaction; a line
 * {"settled": ["TERMINAL:SEQ", ...]} records the proofs the issuer settled
 * (the older {"settled": N}: the first N). A proof the issuer refuses as
 * beyond its card's float stays unsettled and goes up again next time.
 */
#ifndef WALLET_PROOFS_H
#define WALLET_PROOFS_H

#include "cli.h"
#include "walletkey.h"

/* appends txn (a completed purchase, TAC verified); WK_OK or an error */
int wallet_proofs_append(const char *sam_path, const wk_purse_txn *txn);
/* walletkey wallet settle: uploads the unsettled proofs of the journal
 * beside sam_path (sam_path.proofs) to POST /v1/settlements and records
 * them settled; exit 1 when some wait for their card's float */
int wallet_proofs_settle(wk_cli *cli, const char *sam_path, const char *url);

#endif
