/*
 * sandbox_ifd: vsmartcard's vpcd driver with card events, for the sandbox's
 * private pcscd (tools/walletkey-sandbox).
 *
 * vpcd offers pcscd no event callback, so pcscd looks for a card coming or
 * going every 400 ms (PCSCLITE_STATUS_POLL_RATE, fixed at its build): a test
 * that kills and restarts a card hundreds of times waits for that poll twice
 * a round. This module is an IFD handler that pcscd loads in vpcd's place;
 * it loads the real vpcd driver (the file beside it that its own name points
 * at: libifdvpcd-events-N.so loads libifdvpcd-real-N.so) and passes every
 * call on, and it
 * offers the reader polling thread pcscd uses for readers that have one
 * (TAG_IFD_POLLING_THREAD_WITH_TIMEOUT, as the CCID driver does): a wait that
 * asks vpcd whether the card is there every POLL_MS and returns as soon as
 * that changes, and at the latest after 400 ms, so that pcscd's loop (its
 * power management of an unused card) runs at the pace it has without it.
 * pcscd takes a reader's lock around its own calls, but not around the
 * polling thread: every call into vpcd here takes one lock, so that a look
 * for the card never meets a command on vpcd's socket.
 *
 * Nothing walletkey: the cards, vpcd and pcscd are the real ones; only the
 * delay until pcscd sees a card come or go is shorter.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ifdhandler.h>

#define POLL_MS 50
#define MAX_WAIT_MS 400
#define SLOTS 2

#define IFD_FUNCS(X) \
	X(IFDHCreateChannel, (DWORD, DWORD)) \
	X(IFDHCreateChannelByName, (DWORD, LPSTR)) \
	X(IFDHControl, (DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD)) \
	X(IFDHCloseChannel, (DWORD)) \
	X(IFDHGetCapabilities, (DWORD, DWORD, PDWORD, PUCHAR)) \
	X(IFDHSetCapabilities, (DWORD, DWORD, DWORD, PUCHAR)) \
	X(IFDHSetProtocolParameters, (DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR)) \
	X(IFDHPowerICC, (DWORD, DWORD, PUCHAR, PDWORD)) \
	X(IFDHTransmitToICC, (DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, \
	    PDWORD, PSCARD_IO_HEADER)) \
	X(IFDHICCPresence, (DWORD))

#define DECLARE(name, args) static RESPONSECODE(*real_##name) args;
IFD_FUNCS(DECLARE)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
/* what pcscd last heard from IFDHICCPresence, per slot */
static RESPONSECODE seen[SLOTS] = { IFD_ICC_NOT_PRESENT, IFD_ICC_NOT_PRESENT };

/* DIR/libifdvpcd-events-N.so loads DIR/libifdvpcd-real-N.so: each entry
 * of the sandbox's reader.conf has its own copy of both, since vpcd keeps
 * its sockets in globals (the names keep "ifdvpcd", which walletkey doctor
 * looks for in a reader.conf's LIBPATH) */
static void
load(void)
{
	Dl_info self;
	char path[4096];
	const char *base, *num;
	void *h;
	int n;

	if (dladdr((void *)load, &self) == 0 || self.dli_fname == NULL)
		return;
	base = strrchr(self.dli_fname, '/');
	base = base != NULL ? base + 1 : self.dli_fname;
	num = strncmp(base, "libifdvpcd-events", 17) == 0 ? base + 17 : ".so";
	n = snprintf(path, sizeof(path), "%.*slibifdvpcd-real%s",
	    (int)(base - self.dli_fname), self.dli_fname, num);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "libifdvpcd-events: %s\n", dlerror());
		return;
	}
#define RESOLVE(name, args) \
	if ((*(void **)&real_##name = dlsym(h, #name)) == NULL) { \
		fprintf(stderr, "libifdvpcd-events: %s lacks %s\n", path, #name); \
		return; \
	}
	IFD_FUNCS(RESOLVE)
	loaded = 1;
}

static int
ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

/* every call into vpcd: under the lock, not cancelled half-way */
#define CALL(rc, expr) \
	do { \
		int cs_; \
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs_); \
		pthread_mutex_lock(&lock); \
		(rc) = (expr); \
		pthread_mutex_unlock(&lock); \
		pthread_setcancelstate(cs_, NULL); \
	} while (0)

static size_t
slot_of(DWORD lun)
{
	return (size_t)(lun & 0xffff) % SLOTS;
}

RESPONSECODE
IFDHICCPresence(DWORD Lun)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHICCPresence(Lun));
	seen[slot_of(Lun)] = rc;
	return rc;
}

/* the reader polling thread: returns when the card came or went (what
 * vpcd says differs from what pcscd last heard), else after
 * min(timeout, MAX_WAIT_MS) */
static RESPONSECODE
wait_event(DWORD Lun, int timeout)
{
	struct timespec pause = { 0, POLL_MS * 1000L * 1000L };
	int waited, limit = timeout < MAX_WAIT_MS ? timeout : MAX_WAIT_MS;
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	for (waited = 0; waited < limit; waited += POLL_MS) {
		nanosleep(&pause, NULL);	/* a cancellation point */
		CALL(rc, real_IFDHICCPresence(Lun));
		if (rc != seen[slot_of(Lun)])
			break;
	}
	return IFD_SUCCESS;
}

RESPONSECODE
IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	switch (Tag) {
	case TAG_IFD_POLLING_THREAD_WITH_TIMEOUT:
		if (*Length < sizeof(void *))
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		{
			RESPONSECODE (*fn)(DWORD, int) = wait_event;

			memcpy(Value, &fn, sizeof(fn));
		}
		*Length = sizeof(void *);
		return IFD_SUCCESS;
	case TAG_IFD_POLLING_THREAD_KILLABLE:
		/* pthread_cancel: the lock is never held at a cancellation point */
		if (*Length < 1)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		*Value = 1;
		*Length = 1;
		return IFD_SUCCESS;
	default:
		CALL(rc, real_IFDHGetCapabilities(Lun, Tag, Length, Value));
		return rc;
	}
}

RESPONSECODE
IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHCreateChannel(Lun, Channel));
	return rc;
}

RESPONSECODE
IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHCreateChannelByName(Lun, DeviceName));
	return rc;
}

RESPONSECODE
IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
    PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHControl(Lun, dwControlCode, TxBuffer, TxLength,
	    RxBuffer, RxLength, pdwBytesReturned));
	return rc;
}

RESPONSECODE
IFDHCloseChannel(DWORD Lun)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHCloseChannel(Lun));
	return rc;
}

RESPONSECODE
IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHSetCapabilities(Lun, Tag, Length, Value));
	return rc;
}

RESPONSECODE
IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
    UCHAR PTS2, UCHAR PTS3)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHSetProtocolParameters(Lun, Protocol, Flags, PTS1, PTS2,
	    PTS3));
	return rc;
}

RESPONSECODE
IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHPowerICC(Lun, Action, Atr, AtrLength));
	return rc;
}

RESPONSECODE
IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
    DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
	RESPONSECODE rc;

	if (!ready())
		return IFD_COMMUNICATION_ERROR;
	CALL(rc, real_IFDHTransmitToICC(Lun, SendPci, TxBuffer, TxLength,
	    RxBuffer, RxLength, RecvPci));
	return rc;
}
