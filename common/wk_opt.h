/* the rows of a getopt_long table (struct option), one way in every
 * program: the card's main, walletkey-mfg, the CLI's commands that use
 * getopt_long. A row says whether its option takes a value and the code
 * getopt_long returns for it; what the option does stays in the program. */
#ifndef WK_OPT_H
#define WK_OPT_H

#include <getopt.h>
#include <stddef.h>

/* --name VALUE */
#define WK_OPT_ARG(name, val) { (name), required_argument, NULL, (val) }
/* --name */
#define WK_OPT_FLAG(name, val) { (name), no_argument, NULL, (val) }
/* the last row */
#define WK_OPT_END { NULL, 0, NULL, 0 }

#endif
