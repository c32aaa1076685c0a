/*
 * the journal of completed offline purchases, SAMFILE.proofs beside the
 * SAM file (docs/wallet.md "Settlement"): one JSON line per purchase proof,
 * appended and fsynced before the SAM closes the transaction; a line
 * {"settled": N} records that the issuer settled the first N proofs.
 */
#ifndef WALLET_PROOFS_H
#define WALLET_PROOFS_H

#include "cli.h"
#include "walletkey.h"

/* appends txn (a completed purchase, TAC verified); WK_OK or an error */
int wallet_proofs_append(const char *sam_path, const wk_purse_txn *txn);
/* walletkey wallet settle --issuer URL --sam FILE: uploads the unsettled
 * proofs to POST /v1/settlements and records them settled */
int wallet_proofs_settle(wk_cli *cli, const char *sam_path, const char *url);

#endif
