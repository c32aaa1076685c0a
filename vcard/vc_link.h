/*
 * the vpcd link (shared/specs/vpcd.md): one TCP connection to vpcd's reader
 * slot, framed by common/wk_vpcd.h. Client mode connects to vpcd and
 * reconnects with back-off (50 ms doubling to 2 s); listen mode (vpcd's
 * reversed mode) waits for vpcd to connect. Every recv() of a new message
 * is preceded by TCP_QUICKACK and every reply leaves in one send(): Debian's
 * vpcd sends the length and the payload separately, and without both a
 * message waits for a delayed ACK (about 44 ms). The payload after its
 * length is read without waiting first (it follows at once).
 */
#ifndef VC_LINK_H
#define VC_LINK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_LINK_DEFAULT_VPCD "127.0.0.1:35963"

typedef struct vc_link_opts {
	const char *vpcd;	/* HOST:PORT to connect to; NULL: the default */
	const char *listen;	/* ADDR:PORT to listen on instead; NULL: client mode */
	/* set from a SIGINT/SIGTERM handler: vc_link_run returns 0. Those two
	 * signals are blocked while the link runs and only let in while it waits. */
	volatile sig_atomic_t *stop;
	/* the card's idle time: called (with the handler's arg) after a reply
	 * has been sent and before the next recv, only while no byte of the
	 * next message is waiting, again while it returns true (at most
	 * VC_LINK_IDLE_STEPS times); NULL: none */
	bool (*idle)(void *arg);
} vc_link_opts;

#define VC_LINK_IDLE_STEPS 8

/*
 * one payload from vpcd (1 byte: control code, longer: command APDU). Writes
 * the reply payload into reply (cap 0xFFFF); *reply_len 0 sends nothing.
 * Returns 0, or negative to drop the connection. A dropped connection is
 * reported as a power-off control message (payload 00).
 */
typedef int vc_link_handler(void *arg, const uint8_t *msg, size_t len,
    uint8_t *reply, size_t cap, size_t *reply_len);

enum {
	VC_LINK_OK = 0,
	VC_LINK_ADDRESS = -1,	/* HOST:PORT does not parse or resolve */
	VC_LINK_SOCKET = -2,	/* cannot listen, or a system call failed */
};

/* serves vpcd until *stop is set */
int vc_link_run(const vc_link_opts *opts, vc_link_handler *handler, void *arg);

#endif
