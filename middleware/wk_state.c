/*
 * the flows' state store (walletkey/flows.h): the default one, files in
 * the wallet's state directory written whole or not at all, and the JSON
 * records the flows keep in any store (wk_flow.h)
 */
#include "wk_flow.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_fs.h"

#define PATH_CAP 1100

int
wk_state_dir(const char *opt, char *out, size_t cap)
{
	const char *env = getenv("WALLETKEY_STATE_DIR");
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (out == NULL || cap == 0)
		return WK_ERR_ARG;
	if (opt != NULL)
		n = snprintf(out, cap, "%s", opt);
	else if (env != NULL && env[0] != '\0')
		n = snprintf(out, cap, "%s", env);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, cap, "%s/walletkey", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, cap, "%s/.local/state/walletkey", home);
	else
		n = -1;
	if (n <= 0 || (size_t)n >= cap || wk_mkdir_p(out, 0700) != 0)
		return WK_ERR_IO;
	return WK_OK;
}

static int
file_path(const char *dir, const char *name, const char *suffix, char *out,
    size_t cap)
{
	/* a name is one file of the directory, never a path */
	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
		return -1;
	if ((size_t)snprintf(out, cap, "%s/%s.json%s", dir, name, suffix) >= cap)
		return -1;
	return 0;
}

static int
fsync_dir(const char *path)
{
	char dir[PATH_CAP];
	char *slash;
	int fd, rc, e;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int
files_save(void *arg, const char *name, const char *data, size_t n)
{
	char path[PATH_CAP], tmp[PATH_CAP];
	size_t off = 0;
	int fd = -1, rc = -1, e;

	if (file_path(arg, name, "", path, sizeof(path)) != 0 ||
	    file_path(arg, name, ".tmp", tmp, sizeof(tmp)) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto out;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0 || fsync_dir(path) != 0)
		goto out;
	rc = 0;
out:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	errno = e;
	return rc;
}

static int
files_load(void *arg, const char *name, char **data, size_t *len)
{
	char path[PATH_CAP];
	struct stat sb;
	size_t off = 0;
	char *buf = NULL;
	int fd, e;

	*data = NULL;
	*len = 0;
	if (file_path(arg, name, "", path, sizeof(path)) != 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &sb) != 0 || sb.st_size < 0 || sb.st_size > (1 << 20) ||
	    (buf = malloc((size_t)sb.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + off, (size_t)sb.st_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto fail;
		off += (size_t)r;
	}
	close(fd);
	buf[off] = '\0';
	*data = buf;
	*len = off;
	return 0;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return -1;
}

static int
files_remove(void *arg, const char *name)
{
	char path[PATH_CAP];

	if (file_path(arg, name, "", path, sizeof(path)) != 0)
		return -1;
	if (unlink(path) != 0 && errno != ENOENT)
		return -1;
	return fsync_dir(path);
}

static int
files_list(void *arg, const char *prefix, int (*fn)(void *, const char *),
    void *fn_arg)
{
	char name[256];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if ((d = opendir(arg)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || nl < 6 ||
		    nl - 5 >= sizeof(name) ||
		    strcmp(e->d_name + nl - 5, ".json") != 0)
			continue;
		memcpy(name, e->d_name, nl - 5);
		name[nl - 5] = '\0';
		if (fn(fn_arg, name) != 0)
			break;
	}
	closedir(d);
	return rc;
}

void
wk_state_files(const char *dir, wk_state_store *out)
{
	if (out == NULL)
		return;
	out->load = files_load;
	out->save = files_save;
	out->remove = files_remove;
	out->list = files_list;
	out->arg = (void *)(uintptr_t)dir;
}

int
wk_flow_store(const wk_state_store *given, const char *state_dir,
    wk_state_store *use, char *dirbuf, size_t cap)
{
	int rc;

	if (given != NULL) {
		if (given->load == NULL || given->save == NULL ||
		    given->remove == NULL)
			return WK_ERR_ARG;
		*use = *given;
		return WK_OK;
	}
	if ((rc = wk_state_dir(state_dir, dirbuf, cap)) != WK_OK)
		return rc;
	wk_state_files(dirbuf, use);
	return WK_OK;
}

int
wk_flow_record_load(const wk_state_store *s, const char *name, json_t **obj)
{
	char *data = NULL;
	size_t len = 0;

	*obj = NULL;
	if (s->load(s->arg, name, &data, &len) != 0)
		return WK_ERR_IO;
	if (data == NULL)
		return WK_OK;
	*obj = json_loadb(data, len, 0, NULL);
	free(data);
	if (*obj == NULL || !json_is_object(*obj)) {
		json_decref(*obj);
		*obj = NULL;
		return WK_ERR_BAD_DATA;
	}
	return WK_OK;
}

int
wk_flow_record_save(const wk_state_store *s, const char *name, json_t *obj)
{
	char *text;
	int rc;

	/* the files' format of docs/remote-load.md */
	if (obj == NULL ||
	    (text = json_dumps(obj, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL)
		return WK_ERR_MEMORY;
	rc = s->save(s->arg, name, text, strlen(text)) == 0 ? WK_OK : WK_ERR_IO;
	free(text);
	return rc;
}

int
wk_flow_record_remove(const wk_state_store *s, const char *name)
{
	return s->remove(s->arg, name) == 0 ? WK_OK : WK_ERR_IO;
}

static int
names_add(void *arg, const char *name)
{
	wk_flow_names *l = arg;

	if (strlen(name) >= WK_FLOW_NAME_MAX)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 16 : 2 * l->cap;
		char (*grown)[WK_FLOW_NAME_MAX] = realloc(l->name,
		    cap * sizeof(*grown));

		if (grown == NULL) {
			l->failed = true;
			return 1;
		}
		l->name = grown;
		l->cap = cap;
	}
	snprintf(l->name[l->n++], WK_FLOW_NAME_MAX, "%s", name);
	return 0;
}

int
wk_flow_record_names(const wk_state_store *s, const char *prefix,
    wk_flow_names *out)
{
	memset(out, 0, sizeof(*out));
	if (s->list == NULL)
		return WK_ERR_ARG;
	if (s->list(s->arg, prefix, names_add, out) != 0) {
		wk_flow_names_free(out);
		return WK_ERR_IO;
	}
	if (out->failed) {
		wk_flow_names_free(out);
		return WK_ERR_MEMORY;
	}
	return WK_OK;
}

void
wk_flow_names_free(wk_flow_names *l)
{
	free(l->name);
	memset(l, 0, sizeof(*l));
}
