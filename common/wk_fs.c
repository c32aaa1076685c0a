#include "wk_fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int
wk_mkdir_p(const char *path, mode_t mode)
{
	char tmp[1024];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp)) {
		errno = n == 0 ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}
