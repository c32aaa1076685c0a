/*
 * the vpcd link and walletkey-card's command line (vcard/vc_link.c,
 * vcard/main.c): the test plays vpcd on a local socket and runs the real
 * binary, whose path is the first argument
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wk_card_id.h"

static const char *card_bin;
static char dir[256];
static char store[320];

static int
setup(void **unused)
{
	const char *tmp = getenv("TMPDIR");
	pid_t pid;
	int status;

	(void)unused;
	snprintf(dir, sizeof(dir), "%.200s/test_vc_link.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/card.db", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(card_bin, card_bin, "--store", store, "--init-only",
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return 0;
}

static int
teardown(void **unused)
{
	static const char *const files[] = { "card.db", "card.db-wal",
	    "card.db-shm", "walletkey-seal.key", "junk.db" };
	char p[320];

	(void)unused;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%.256s/%s", dir, files[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

static pid_t
spawn(char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execv(card_bin, argv);
		_exit(127);
	}
	return pid;
}

/* waits up to 10 s for the card to exit; returns its exit status */
static int
reap(pid_t pid)
{
	int status;

	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		assert_true(r >= 0);
		if (r == pid) {
			assert_true(WIFEXITED(status));
			return WEXITSTATUS(status);
		}
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fail_msg("walletkey-card did not exit");
	return -1;
}

static int
run_status(char *const argv[])
{
	return reap(spawn(argv));
}

static int
listener(uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int
accept_within(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, ms), 1);
	return accept(lfd, NULL, NULL);
}

static void
send_frame(int fd, const uint8_t *p, size_t n)
{
	uint8_t b[600];

	assert_true(n + 2 <= sizeof(b));
	b[0] = (uint8_t)(n >> 8);
	b[1] = (uint8_t)n;
	memcpy(b + 2, p, n);
	assert_int_equal(send(fd, b, n + 2, MSG_NOSIGNAL), (ssize_t)(n + 2));
}

/* reads exactly n bytes within 5 s */
static void
read_n(int fd, uint8_t *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t have = 0;
	ssize_t r;

	while (have < n) {
		assert_int_equal(poll(&pf, 1, 5000), 1);
		r = recv(fd, p + have, n - have, 0);
		assert_true(r > 0);
		have += (size_t)r;
	}
}

static size_t
recv_frame(int fd, uint8_t *p, size_t cap)
{
	uint8_t h[2];
	size_t n;

	read_n(fd, h, 2);
	n = ((size_t)h[0] << 8) | h[1];
	assert_true(n > 0 && n <= cap);
	read_n(fd, p, n);
	return n;
}

static void
expect_atr(int fd)
{
	static const uint8_t ctl[] = { 0x04 };
	const uint8_t want[] = { WK_ATR_BYTES };
	uint8_t r[64];

	send_frame(fd, ctl, 1);
	assert_int_equal(recv_frame(fd, r, sizeof(r)), sizeof(want));
	assert_memory_equal(r, want, sizeof(want));
}

/* a session as pcscd runs it: polls, power, SELECT, GET RESPONSE */
static void
session(int fd)
{
	static const uint8_t on[] = { 0x01 }, off[] = { 0x00 }, rst[] = { 0x02 };
	static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x07,
	    WK_INFO_AID_BYTES };
	static const uint8_t pat[] = { 0x00, 0xEE, 0x01, 0x00, 0x02, 0x01, 0x2C };
	static const uint8_t gr[] = { 0x00, 0xC0, 0x00, 0x00, 0x2C };
	uint8_t r[600], two[32];
	size_t n;

	expect_atr(fd);
	/* no reply to power on/off/reset: the next reply is the ATR */
	send_frame(fd, off, 1);
	send_frame(fd, on, 1);
	send_frame(fd, rst, 1);
	expect_atr(fd);
	send_frame(fd, sel, sizeof(sel));
	n = recv_frame(fd, r, sizeof(r));
	assert_int_equal(n, 30);
	assert_int_equal(r[28], 0x90);
	send_frame(fd, pat, sizeof(pat));
	assert_int_equal(recv_frame(fd, r, sizeof(r)), 258);
	assert_int_equal(r[256], 0x61);
	assert_int_equal(r[257], 0x2C);
	/* a frame split byte by byte, and two frames in one write */
	{
		uint8_t b[7] = { 0, 5, 0x00, 0xC0, 0x00, 0x00, 0x2C };

		for (size_t i = 0; i < sizeof(b); i++) {
			assert_int_equal(send(fd, b + i, 1, MSG_NOSIGNAL), 1);
			usleep(2000);
		}
	}
	n = recv_frame(fd, r, sizeof(r));
	assert_int_equal(n, 46);
	assert_int_equal(r[44], 0x90);
	memcpy(two, "\x00\x01\x04", 3);
	memcpy(two + 3, "\x00\x05", 2);
	memcpy(two + 5, gr, sizeof(gr));
	assert_int_equal(send(fd, two, 10, MSG_NOSIGNAL), 10);
	assert_int_equal(recv_frame(fd, r, sizeof(r)), WK_ATR_LEN);
	assert_int_equal(recv_frame(fd, r, sizeof(r)), 2);
	assert_memory_equal(r, "\x69\x85", 2);
	/* a 2-byte APDU: 6700 */
	send_frame(fd, gr, 2);
	assert_int_equal(recv_frame(fd, r, sizeof(r)), 2);
	assert_memory_equal(r, "\x67\x00", 2);
}

static void
test_client_mode(void **unused)
{
	char addr[32];
	uint16_t port;
	int lfd, fd;
	pid_t pid;

	(void)unused;
	lfd = listener(&port);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	{
		char *argv[] = { (char *)card_bin, "--store", store, "--vpcd",
		    addr, NULL };

		pid = spawn(argv);
	}
	fd = accept_within(lfd, 5000);
	assert_true(fd >= 0);
	session(fd);
	/* vpcd drops the card (pcscd restart): the card comes back */
	close(fd);
	fd = accept_within(lfd, 5000);
	assert_true(fd >= 0);
	expect_atr(fd);
	/* an empty frame from vpcd: the card drops the link and reconnects */
	assert_int_equal(send(fd, "\x00\x00", 2, MSG_NOSIGNAL), 2);
	close(fd);
	fd = accept_within(lfd, 5000);
	assert_true(fd >= 0);
	expect_atr(fd);
	kill(pid, SIGTERM);
	assert_int_equal(reap(pid), 0);
	close(fd);
	close(lfd);
}

static void
test_listen_mode(void **unused)
{
	struct sockaddr_in a;
	char addr[32];
	uint16_t port;
	int lfd, fd = -1;
	pid_t pid;

	(void)unused;
	/* a free port: bind to 0, note it, let it go */
	lfd = listener(&port);
	close(lfd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	{
		char *argv[] = { (char *)card_bin, "--store", store, "--listen",
		    addr, NULL };

		pid = spawn(argv);
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 500; i++) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
				break;
			close(fd);
			fd = -1;
			usleep(10000);
		}
		assert_true(fd >= 0);
		if (round == 0)
			session(fd);
		else
			expect_atr(fd);
		close(fd);
	}
	kill(pid, SIGINT);
	assert_int_equal(reap(pid), 0);
}

static void
test_stop_while_waiting(void **unused)
{
	char addr[32];
	uint16_t port;
	int lfd;
	pid_t pid;

	(void)unused;
	/* nobody listens: the card backs off until SIGTERM */
	lfd = listener(&port);
	close(lfd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	{
		char *argv[] = { (char *)card_bin, "--store", store, "--vpcd",
		    addr, NULL };

		pid = spawn(argv);
	}
	usleep(300000);
	kill(pid, SIGTERM);
	assert_int_equal(reap(pid), 0);
}

static void
test_command_line(void **unused)
{
	char junk[320], missing[320];

	(void)unused;
	snprintf(junk, sizeof(junk), "%s/junk.db", dir);
	snprintf(missing, sizeof(missing), "%s/none.db", dir);
	{
		char *argv[] = { (char *)card_bin, "--version", NULL };

		assert_int_equal(run_status(argv), 0);
	}
	{
		char *argv[] = { (char *)card_bin, "--help", NULL };

		assert_int_equal(run_status(argv), 0);
	}
	{
		char *argv[] = { (char *)card_bin, NULL };

		assert_int_equal(run_status(argv), 2);
	}
	{
		char *argv[] = { (char *)card_bin, "--store", store, "--bogus",
		    NULL };

		assert_int_equal(run_status(argv), 2);
	}
	{
		char *argv[] = { (char *)card_bin, "--store", store, "--vpcd",
		    "127.0.0.1:1", "--listen", "127.0.0.1:2", NULL };

		assert_int_equal(run_status(argv), 2);
	}
	{
		char *argv[] = { (char *)card_bin, "--store", store,
		    "--init-only", NULL };

		assert_int_equal(run_status(argv), 2);	/* exists */
	}
	{
		char *argv[] = { (char *)card_bin, "--store", missing, NULL };

		assert_int_equal(run_status(argv), 2);
	}
	{
		char *argv[] = { (char *)card_bin, "--store", junk, NULL };
		FILE *f = fopen(junk, "w");

		assert_non_null(f);
		fputs("not a card store at all, just some text", f);
		fclose(f);
		assert_int_equal(run_status(argv), 2);
	}
	{
		char *argv[] = { (char *)card_bin, "--store", store, "--vpcd",
		    "no-port-here", NULL };

		assert_int_equal(run_status(argv), 2);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_line, setup, teardown),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_vc_link PATH-TO-walletkey-card\n");
		return 2;
	}
	card_bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
