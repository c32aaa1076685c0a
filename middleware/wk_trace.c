/* the library's debug trace, switched on by the application (walletkey --verbose) */
#include "walletkey.h"

#include "wk_log.h"

void
wk_set_trace(unsigned categories)
{
	/* the public categories are wk_log's, bit for bit */
	wk_log_set(categories);
}
