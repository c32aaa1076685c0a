/*
 * runs a fuzz target's LLVMFuzzerTestOneInput over files and directories,
 * so that the normal build checks every target against its corpus. As
 * libFuzzer does, it first calls the target's LLVMFuzzerInitialize when
 * the target has one (the issuer targets start their servers there); a
 * target that has something to say about the run (what the seeds
 * reached) defines fuzz_replay_report, called with the count at the end.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void fuzz_replay_report(unsigned count) __attribute__((weak));

#define REPLAY_MAX (1u << 20)

static int
run_file(const char *path)
{
	uint8_t *buf;
	size_t n;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX)) == NULL)
		goto out;
	n = fread(buf, 1, REPLAY_MAX, f);
	if (ferror(f)) {
		perror(path);
		goto out;
	}
	/* a copy of exactly n bytes, so ASan sees reads past the input */
	{
		uint8_t *exact = malloc(n > 0 ? n : 1);

		if (exact == NULL)
			goto out;
		memcpy(exact, buf, n);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int
run_path(const char *path, unsigned *count)
{
	struct dirent *e;
	struct stat sb;
	char sub[4096];
	DIR *d;
	int rc = 0;

	if (stat(path, &sb) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (stat(sub, &sb) == 0 && S_ISREG(sb.st_mode)) {
			(*count)++;
			if (run_file(sub) != 0)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) != 0)
			rc = 1;
	printf("replayed %u inputs\n", count);
	if (fuzz_replay_report != NULL)
		fuzz_replay_report(count);
	return rc != 0 || count == 0 ? 1 : 0;
}
