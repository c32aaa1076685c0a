/* files and folders, for the host's state and configuration */
#ifndef WK_FS_H
#define WK_FS_H

#include <sys/types.h>

/* makes path and every missing folder above it, each with mode (an
 * existing one is left as it is); 0, or -1 with errno (ENAMETOOLONG for a
 * path of 1024 bytes or more) */
int wk_mkdir_p(const char *path, mode_t mode);

#endif
