/* small helpers and the one wk_rc → CK_RV translation */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11_internal.h"

CK_RV
p11_rv(int wk)
{
	switch (wk) {
	case WK_OK:
		return CKR_OK;
	case WK_ERR_ARG:
		return CKR_ARGUMENTS_BAD;
	case WK_ERR_MEMORY:
		return CKR_HOST_MEMORY;
	case WK_ERR_NO_READER:
	case WK_ERR_NO_CARD:
	case WK_ERR_CARD_REMOVED:
		return CKR_DEVICE_REMOVED;
	case WK_ERR_PCSC:
	case WK_ERR_TRANSPORT:
	case WK_ERR_CARD_MALFORMED:
	case WK_ERR_SW:
		return CKR_DEVICE_ERROR;
	case WK_ERR_WRONG_PIN:
	case WK_ERR_AUTH_FAILED:
		return CKR_PIN_INCORRECT;
	case WK_ERR_PIN_BLOCKED:
		return CKR_PIN_LOCKED;
	case WK_ERR_AUTH_REQUIRED:
		return CKR_USER_NOT_LOGGED_IN;
	case WK_ERR_NOT_SUPPORTED:
		return CKR_FUNCTION_NOT_SUPPORTED;
	case WK_ERR_NO_SPACE:
		return CKR_DEVICE_MEMORY;
	case WK_ERR_BAD_DATA:
		return CKR_DATA_INVALID;
	case WK_ERR_WRONG_LENGTH:
		return CKR_DATA_LEN_RANGE;
	case WK_ERR_NOT_FOUND:
	case WK_ERR_KEY_NOT_FOUND:
		return CKR_KEY_HANDLE_INVALID;
	case WK_ERR_CONDITIONS:
	case WK_ERR_BAD_PARAMS:
	case WK_ERR_INVALID_STATE:
	case WK_ERR_CRYPTO:
	case WK_ERR_MAC:
	case WK_ERR_FUNDS:
	case WK_ERR_LIMIT:
	case WK_ERR_NETWORK:
	case WK_ERR_ISSUER:
	case WK_ERR_IO:
		return CKR_FUNCTION_FAILED;
	default:
		return CKR_GENERAL_ERROR;
	}
}

void
p11_pad(CK_UTF8CHAR *dst, size_t n, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len > n)
		len = n;
	memset(dst, ' ', n);
	if (len > 0)
		memcpy(dst, s, len);
}

CK_RV
p11_copy_out(const void *src, size_t n, CK_BYTE *out, CK_ULONG *out_len)
{
	if (out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	if (out == NULL) {
		*out_len = (CK_ULONG)n;
		return CKR_OK;
	}
	if (*out_len < n) {
		*out_len = (CK_ULONG)n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (n > 0)
		memcpy(out, src, n);
	*out_len = (CK_ULONG)n;
	return CKR_OK;
}

/* WALLETKEY_P11_DEBUG=1 writes a trace to stderr; never PINs or keys */
void
p11_log(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0) {
		const char *e = getenv("WALLETKEY_P11_DEBUG");
		enabled = e != NULL && *e != '\0' && strcmp(e, "0") != 0;
		/* "trace": libwalletkey's PC/SC calls and APDUs too (masked) */
		if (e != NULL && strcmp(e, "trace") == 0)
			wk_set_trace(WK_TRACE_ALL);
	}
	if (!enabled)
		return;
	va_start(ap, fmt);
	fputs("walletkey-pkcs11: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
