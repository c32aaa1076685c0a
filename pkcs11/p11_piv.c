/*
 * PIV facts the module needs (key references, containers, algorithms) and
 * the glue to libwalletkey's PIV client: the module never builds an APDU.
 */
#include <stdlib.h>
#include <string.h>

#include "p11_internal.h"

/* SP 800-73-4 part 1, 3.1 and table 4b; CKA_ID numbering as OpenSC/ykcs11 */
static const p11_piv_slot slots[] = {
	{ 0x9A, 0x01, 0x5FC105, "PIV Authentication", false, false },
	{ 0x9C, 0x02, 0x5FC10A, "Digital Signature", true, false },
	{ 0x9D, 0x03, 0x5FC10B, "Key Management", false, false },
	{ 0x9E, 0x04, 0x5FC101, "Card Authentication", false, true },
	{ 0x82, 0x05, 0x5FC10D, "Retired Key Management 1", false, false },
	{ 0x83, 0x06, 0x5FC10E, "Retired Key Management 2", false, false },
	{ 0x84, 0x07, 0x5FC10F, "Retired Key Management 3", false, false },
	{ 0x85, 0x08, 0x5FC110, "Retired Key Management 4", false, false },
	{ 0x86, 0x09, 0x5FC111, "Retired Key Management 5", false, false },
	{ 0x87, 0x0A, 0x5FC112, "Retired Key Management 6", false, false },
	{ 0x88, 0x0B, 0x5FC113, "Retired Key Management 7", false, false },
	{ 0x89, 0x0C, 0x5FC114, "Retired Key Management 8", false, false },
	{ 0x8A, 0x0D, 0x5FC115, "Retired Key Management 9", false, false },
	{ 0x8B, 0x0E, 0x5FC116, "Retired Key Management 10", false, false },
	{ 0x8C, 0x0F, 0x5FC117, "Retired Key Management 11", false, false },
	{ 0x8D, 0x10, 0x5FC118, "Retired Key Management 12", false, false },
	{ 0x8E, 0x11, 0x5FC119, "Retired Key Management 13", false, false },
	{ 0x8F, 0x12, 0x5FC11A, "Retired Key Management 14", false, false },
	{ 0x90, 0x13, 0x5FC11B, "Retired Key Management 15", false, false },
	{ 0x91, 0x14, 0x5FC11C, "Retired Key Management 16", false, false },
	{ 0x92, 0x15, 0x5FC11D, "Retired Key Management 17", false, false },
	{ 0x93, 0x16, 0x5FC11E, "Retired Key Management 18", false, false },
	{ 0x94, 0x17, 0x5FC11F, "Retired Key Management 19", false, false },
	{ 0x95, 0x18, 0x5FC120, "Retired Key Management 20", false, false },
};

/* SP 800-73-4 part 1, table 3 */
static const p11_piv_container containers[] = {
	{ 0x5FC107, "Card Capability Container", "2.16.840.1.101.3.7.1.219.0", false },
	{ 0x5FC102, "Card Holder Unique Identifier", "2.16.840.1.101.3.7.2.48.0", false },
	{ 0x5FC106, "Security Object", "2.16.840.1.101.3.7.2.144.0", false },
	{ 0x7E, "Discovery Object", "2.16.840.1.101.3.7.2.96.80", false },
	{ 0x5FC10C, "Key History Object", "2.16.840.1.101.3.7.2.96.96", false },
	{ 0x5FC109, "Printed Information", "2.16.840.1.101.3.7.2.48.1", true },
	{ 0x5FC103, "Cardholder Fingerprints", "2.16.840.1.101.3.7.2.96.16", true },
	{ 0x5FC108, "Cardholder Facial Image", "2.16.840.1.101.3.7.2.96.48", true },
	{ 0x5FC121, "Cardholder Iris Images", "2.16.840.1.101.3.7.2.16.21", true },
};

const p11_piv_slot *
p11_piv_slots(size_t *n)
{
	*n = sizeof(slots) / sizeof(slots[0]);
	return slots;
}

const p11_piv_slot *
p11_piv_slot_by_ref(uint8_t ref)
{
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (slots[i].key_ref == ref)
			return &slots[i];
	return NULL;
}

/* CKA_ID 01..18 as above; a one-byte key reference (9A, 82, ...) also works */
const p11_piv_slot *
p11_piv_slot_by_id(const uint8_t *id, size_t len)
{
	if (id == NULL || len != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (slots[i].id == id[0])
			return &slots[i];
	return p11_piv_slot_by_ref(id[0]);
}

const p11_piv_container *
p11_piv_containers(size_t *n)
{
	*n = sizeof(containers) / sizeof(containers[0]);
	return containers;
}

/*
 * the next element of a BER-TLV list of one-byte tags at *off (lengths of
 * up to two bytes): false at the end or when the list is malformed
 */
static bool
tlv_next(const uint8_t *p, size_t len, size_t *off, uint8_t *tag,
    const uint8_t **v, size_t *vlen)
{
	size_t l;

	if (*off >= len)
		return false;
	*tag = p[(*off)++];
	if (*off >= len)
		return false;
	l = p[(*off)++];
	if (l == 0x81 || l == 0x82) {
		size_t nb = l == 0x81 ? 1 : 2;
		if (len - *off < nb)
			return false;
		l = nb == 1 ? p[*off] : ((size_t)p[*off] << 8 | p[*off + 1]);
		*off += nb;
	} else if (l > 0x7F)
		return false;
	if (len - *off < l)
		return false;
	*v = p + *off;
	*vlen = l;
	*off += l;
	return true;
}

/* CHUID (SP 800-73-4 part 1, 3.1.2): GUID under tag 34, 16 bytes */
bool
p11_chuid_guid(const uint8_t *p, size_t len, uint8_t guid[16])
{
	const uint8_t *v;
	size_t off = 0, l;
	uint8_t tag;

	while (tlv_next(p, len, &off, &tag, &v, &l)) {
		if (tag == 0x34 && l == 16) {
			memcpy(guid, v, 16);
			for (size_t i = 0; i < 16; i++)
				if (guid[i] != 0)
					return true;
			return false;
		}
	}
	return false;
}

bool
p11_tlv_find(const uint8_t *p, size_t len, uint8_t tag, const uint8_t **v,
    size_t *vlen)
{
	size_t off = 0;
	uint8_t t;

	while (tlv_next(p, len, &off, &t, v, vlen))
		if (t == tag)
			return true;
	return false;
}

bool
p11_alg_is_rsa(uint8_t alg)
{
	return alg == P11_ALG_RSA_SOFT || alg == P11_ALG_RSA1024 || alg == P11_ALG_RSA2048 ||
	    alg == P11_ALG_RSA3072 || alg == P11_ALG_RSA4096;
}

bool
p11_alg_is_ec(uint8_t alg)
{
	return alg == P11_ALG_P256 || alg == P11_ALG_P384;
}

unsigned
p11_alg_bits(uint8_t alg)
{
	switch (alg) {
	case P11_ALG_RSA1024:
		return 1024;
	case P11_ALG_RSA2048:
		return 2048;
	case P11_ALG_RSA3072:
		return 3072;
	case P11_ALG_RSA4096:
		return 4096;
	case P11_ALG_P256:
		return 256;
	case P11_ALG_P384:
		return 384;
	case P11_ALG_ED25519:
	case P11_ALG_X25519:
		return 255;
	default:
		return 0;
	}
}
