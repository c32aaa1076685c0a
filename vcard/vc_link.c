#include "vc_link.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "wk_log.h"
#include "wk_vpcd.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define RECV_CHUNK 65536
#define CONNECT_TIMEOUT_MS 2000

typedef struct vc_conn {
	const vc_link_opts *opts;
	vc_link_handler *handler;
	void *arg;
	sigset_t waitmask;	/* the mask while waiting: SIGINT/SIGTERM let in */
	wk_vpcd_reader *rd;
	uint8_t *in;		/* RECV_CHUNK */
	uint8_t *reply;		/* 0xFFFF payload */
	uint8_t *frame;		/* 2 + 0xFFFF */
} vc_conn;

static bool
stopped(const vc_conn *l)
{
	return l->opts->stop != NULL && *l->opts->stop != 0;
}

/* splits HOST:PORT (HOST may be [v6]) and resolves it */
static int
resolve(const char *spec, bool passive, struct addrinfo **res)
{
	struct addrinfo hints;
	char host[256];
	const char *colon;
	size_t hlen;

	if (spec == NULL || (colon = strrchr(spec, ':')) == NULL ||
	    colon[1] == '\0')
		return VC_LINK_ADDRESS;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return VC_LINK_ADDRESS;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if (getaddrinfo(host, colon + 1, &hints, res) != 0)
		return VC_LINK_ADDRESS;
	return VC_LINK_OK;
}

/* sleeps ms or until a stop signal */
static void
nap(vc_conn *l, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (!stopped(l))
		ppoll(NULL, 0, &ts, &l->waitmask);
}

/* waits for events on fd (at most ms, or for ever when ms < 0); 1 when
 * ready, 0 on a signal or timeout, -1 on error */
static int
wait_fd(vc_conn *l, int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	int r;

	if (stopped(l))
		return 0;
	r = ppoll(&p, 1, ms < 0 ? NULL : &ts, &l->waitmask);
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	return r > 0 ? 1 : 0;
}

static void
tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/*
 * connects without keeping signals out; -1 when it fails, a stop arrives or
 * vpcd does not accept in time (its backlog is 0 and it accepts only when
 * pcscd polls the slot)
 */
static int
dial(vc_conn *l, const struct addrinfo *ai)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0, r = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		for (int waited = 0; r == 0 && waited < CONNECT_TIMEOUT_MS &&
		    !stopped(l); waited += 100)
			r = wait_fd(l, fd, POLLOUT, 100);
		if (r != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
		    &elen) != 0 || err != 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pw = { .fd = fd, .events = POLLOUT };

			if (errno == EAGAIN && poll(&pw, 1, 1000) <= 0)
				return -1;
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* commands carry PINs and responses plain data: no copy outlives its use */
static int
on_frame(vc_conn *l, int fd)
{
	size_t rlen = 0, flen = 0;
	int r = -1;

	if (l->handler(l->arg, l->rd->payload, l->rd->want, l->reply,
	    WK_VPCD_MAX_PAYLOAD, &rlen) != 0)
		goto out;
	if (rlen == 0) {
		r = 0;
		goto out;
	}
	/* length and payload in one send() */
	if (wk_vpcd_frame(l->reply, rlen, l->frame, WK_VPCD_MAX_PAYLOAD + 2,
	    &flen) != 0)
		goto out;
	r = send_all(fd, l->frame, flen);
out:
	sodium_memzero(l->rd->payload, l->rd->want);
	sodium_memzero(l->reply, rlen);
	sodium_memzero(l->frame, flen);
	return r;
}

/*
 * the time between the card's answer and vpcd's next message, when the
 * host works on the answer and pcscd passes the next command on: the
 * card's idle work goes there, a step at a time, and stops as soon as a
 * byte of the next message is waiting (a step delays it by at most its own
 * length, tens of microseconds)
 */
static void
run_idle(vc_conn *l, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	const wk_vpcd_reader *rd = l->rd;

	if (l->opts->idle == NULL ||
	    (rd->hdr_have != 0 && !(rd->hdr_have == 2 && rd->have == rd->want)))
		return;		/* a message is arriving */
	for (int i = 0; i < VC_LINK_IDLE_STEPS && !stopped(l); i++) {
		if (poll(&p, 1, 0) != 0)
			return;
		if (!l->opts->idle(l->arg))
			return;
	}
}

/* serves one connection until it drops or a stop arrives */
static void
serve(vc_conn *l, int fd)
{
	static const uint8_t off = WK_VPCD_POWER_OFF;
	size_t used, rlen;
	ssize_t n;
	int one = 1, r;

	tune(fd);
	wk_vpcd_reader_reset(l->rd);
	while (!stopped(l)) {
		if ((r = wait_fd(l, fd, POLLIN, -1)) < 0)
			break;
		if (r == 0)
			continue;
		/* Linux clears quick-ack mode on its own; set it before every recv */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		n = recv(fd, l->in, RECV_CHUNK, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			wk_log(WK_LOG_LINK, "link: vpcd closed the connection");
			break;
		}
		for (size_t at = 0; at < (size_t)n; at += used) {
			r = wk_vpcd_feed(l->rd, l->in + at, (size_t)n - at, &used);
			if (r == WK_VPCD_FRAME && on_frame(l, fd) != 0)
				goto out;
			if (r == WK_VPCD_EMPTY) {
				wk_log(WK_LOG_LINK, "link: empty frame from vpcd");
				goto out;
			}
		}
		sodium_memzero(l->in, (size_t)n);
		run_idle(l, fd);
	}
out:
	sodium_memzero(l->in, RECV_CHUNK);
	sodium_memzero(l->rd->payload, l->rd->have);
	close(fd);
	l->handler(l->arg, &off, 1, l->reply, WK_VPCD_MAX_PAYLOAD, &rlen);
}

static int
run_client(vc_conn *l)
{
	struct addrinfo *res = NULL, *ai;
	const char *spec = l->opts->vpcd != NULL ? l->opts->vpcd :
	    VC_LINK_DEFAULT_VPCD;
	int fd, backoff = BACKOFF_MIN_MS;

	if (resolve(spec, false, &res) != VC_LINK_OK) {
		fprintf(stderr, "walletkey-card: %s: not a HOST:PORT\n", spec);
		return VC_LINK_ADDRESS;
	}
	while (!stopped(l)) {
		fd = -1;
		for (ai = res; ai != NULL && fd < 0 && !stopped(l); ai = ai->ai_next)
			fd = dial(l, ai);
		if (fd < 0) {
			nap(l, backoff);
			backoff = backoff >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS :
			    backoff * 2;
			continue;
		}
		wk_log(WK_LOG_LINK, "link: connected to vpcd at %s", spec);
		backoff = BACKOFF_MIN_MS;
		serve(l, fd);
	}
	freeaddrinfo(res);
	return VC_LINK_OK;
}

static int
listen_on(const struct addrinfo *ai)
{
	int fd, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
run_listen(vc_conn *l)
{
	struct addrinfo *res = NULL, *ai;
	int lfd = -1, fd, r, rc = VC_LINK_SOCKET;

	if (resolve(l->opts->listen, true, &res) != VC_LINK_OK) {
		fprintf(stderr, "walletkey-card: %s: not an ADDR:PORT\n",
		    l->opts->listen);
		return VC_LINK_ADDRESS;
	}
	for (ai = res; ai != NULL && lfd < 0; ai = ai->ai_next)
		lfd = listen_on(ai);
	if (lfd < 0) {
		fprintf(stderr, "walletkey-card: cannot listen on %s: %s\n",
		    l->opts->listen, strerror(errno));
		goto out;
	}
	wk_log(WK_LOG_LINK, "link: listening on %s", l->opts->listen);
	while (!stopped(l)) {
		if ((r = wait_fd(l, lfd, POLLIN, -1)) < 0)
			goto out;
		if (r == 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			goto out;
		}
		wk_log(WK_LOG_LINK, "link: vpcd connected");
		serve(l, fd);
	}
	rc = VC_LINK_OK;
out:
	if (lfd >= 0)
		close(lfd);
	freeaddrinfo(res);
	return rc;
}

int
vc_link_run(const vc_link_opts *opts, vc_link_handler *handler, void *arg)
{
	sigset_t block, saved;
	vc_conn l;
	int rc = VC_LINK_SOCKET;

	memset(&l, 0, sizeof(l));
	l.opts = opts;
	l.handler = handler;
	l.arg = arg;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &saved) != 0)
		return VC_LINK_SOCKET;
	l.waitmask = saved;
	sigdelset(&l.waitmask, SIGINT);
	sigdelset(&l.waitmask, SIGTERM);
	l.rd = malloc(sizeof(*l.rd));
	l.in = malloc(RECV_CHUNK);
	l.reply = malloc(WK_VPCD_MAX_PAYLOAD);
	l.frame = malloc(WK_VPCD_MAX_PAYLOAD + 2);
	if (l.rd == NULL || l.in == NULL || l.reply == NULL || l.frame == NULL)
		goto out;
	rc = opts->listen != NULL ? run_listen(&l) : run_client(&l);
out:
	free(l.frame);
	free(l.reply);
	free(l.in);
	free(l.rd);
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return rc;
}
