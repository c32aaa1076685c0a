/* what identifies a walletkey card to hosts; shared by card and middleware */
#ifndef WK_CARD_ID_H
#define WK_CARD_ID_H

#include <stdint.h>

/*
 * piv.md 1.1: T=1 announced in TD1, historical bytes that match no vendor
 * in OpenSC's tables ("WalletK1"), TCK = XOR of T0..last byte.
 */
#define WK_ATR_BYTES \
	0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, \
	0x57, 0x61, 0x6C, 0x6C, 0x65, 0x74, 0x4B, 0x31, 0xED
#define WK_ATR_LEN 18

/*
 * the card-information applet (vcard/applets/wkinfo.c), proprietary RID F0:
 *   SELECT 00 A4 04 00 07 F0 57 4B 49 4E 46 4F
 *     -> 6F L 84 07 <aid> A5 L { 80 08 <serial>, 81 03 <major minor patch> }
 *     -> 6F L 84 07 <aid> A5 L { 80 08 <serial>, 81 03 <major minor patch>,
 *        82 L <label> when the card has one }
 *   GET DATA 00 CA 00 01 00 -> 8-byte card serial
 *   GET DATA 00 CA 00 02 00 -> the label (0-32 bytes UTF-8; empty: none)
 *   PUT DATA 00 DA 00 02 Lc <label> -> sets it (Lc 0 removes it): well-formed
 *            UTF-8 without control characters, else 6A80; no PIN (a name)
 *   ECHO     00 EE 00 00 Lc <data> [Le] -> data (short or extended)
 *   PATTERN  00 EE 01 00 02 <n, 2 bytes big-endian> [Le] -> n bytes, byte i = i & 0xFF
 */
#define WK_INFO_AID_BYTES 0xF0, 0x57, 0x4B, 0x49, 0x4E, 0x46, 0x4F
#define WK_INFO_AID_LEN 7
#define WK_SERIAL_LEN 8
#define WK_LABEL_MAX 32

#endif
