/*
 * libwalletkey: the host side of walletkey. The header to include: it
 * includes every part of the API (walletkey/core.h, piv.h, ..., one a
 * topic, installed beside it); the internals live in wk_internal.h. Only
 * this library talks to PC/SC.
 *
 * Conventions: functions return int, WK_OK (0) or a negative wk_rc;
 * status words travel in their own out-parameter; objects are created with
 * _new/_open and released with _free(T **), which sets the pointer to NULL.
 */
#ifndef WALLETKEY_H
#define WALLETKEY_H

/* the parts, each its own header under walletkey/ (a program may include
 * one alone: each includes what it needs) */
#include "walletkey/core.h"
#include "walletkey/piv.h"
#include "walletkey/purse.h"
#include "walletkey/wallet.h"
#include "walletkey/flows.h"
#include "walletkey/pay.h"
#include "walletkey/session.h"
#include "walletkey/audit.h"
#include "walletkey/gm.h"
#include "walletkey/anon.h"

#endif
