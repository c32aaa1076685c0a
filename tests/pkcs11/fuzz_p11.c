/*
 * what walletkey-pkcs11.so parses from a card, on anything a card could
 * send: byte 0 picks the parser, the rest is the card's bytes. CHUID GUID,
 * certificate (the objects of a key slot), SPKI (the key attributes), the
 * RSA decryption block unpadding, walletkey's data objects (5FFF20..3F)
 * and Yubico's ADMIN DATA/printed-information layout. Each must fail cleanly or hold together.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p11_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t guid[16], out[512], alg = 0;
	size_t out_len = sizeof(out);
	p11_object *list = NULL, *obj;
	const p11_piv_slot *ps = p11_piv_slot_by_ref(0x9A);

	if (size < 1)
		return 0;
	switch (data[0] % 7) {
	case 0:
		(void)p11_chuid_guid(data + 1, size - 1, guid);
		break;
	case 1:
		/* a certificate object's DER, as the card gave it */
		if (p11_objects_for_slot(ps, data + 1, size - 1, NULL, 0,
		    P11_ALG_NONE, 0, &list) == CKR_OK)
			for (obj = list; obj != NULL; obj = obj->next)
				if (p11_attr_find(obj, CKA_CLASS) == NULL)
					abort();
		p11_object_free_list(&list);
		break;
	case 2:
		/* an SPKI from GET METADATA or GENERATE */
		obj = p11_object_new(CKO_PUBLIC_KEY);
		if (obj != NULL && p11_spki_attrs(obj, data + 1, size - 1,
		    &alg) == CKR_OK && (alg == P11_ALG_NONE ||
		    p11_attr_find(obj, CKA_KEY_TYPE) == NULL))
			abort();
		p11_object_free(&obj);
		break;
	case 3:
		if (p11_pkcs1_unpad(data + 1, size - 1, out, &out_len) == CKR_OK &&
		    out_len > size)
			abort();
		break;
	case 5:
		/* a data object's content, as the card stores it */
		if (p11_user_data_decode(P11_DATA_PRIVATE, data + 1, size - 1,
		    &obj) == CKR_OK) {
			const CK_ATTRIBUTE *a = p11_attr_find(obj, CKA_VALUE);
			if (a == NULL || a->ulValueLen > size)
				abort();
			p11_object_free(&obj);
		}
		break;
	case 6: {
		/* 80 { 81 flags } and 88 { 89 key }: nested one-byte-tag TLV */
		const uint8_t *v, *w;
		size_t vl, wl;
		if (p11_tlv_find(data + 1, size - 1, 0x88, &v, &vl) &&
		    (v < data + 1 || vl > size - 1 ||
		    (p11_tlv_find(v, vl, 0x89, &w, &wl) && wl > vl)))
			abort();
		break;
	}
	default:
		if (p11_oaep_unpad(CKM_SHA256, CKM_SHA256, NULL, 0, data + 1,
		    size - 1, out, &out_len) == CKR_OK && out_len > size)
			abort();
		break;
	}
	return 0;
}
