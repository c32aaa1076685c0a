/* p11_object.c: C_GetAttributeValue semantics, matching, templates, key objects */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11_internal.h"

static void
test_get_attrs(void **state)
{
	p11_object *o = p11_object_new(CKO_PRIVATE_KEY);
	CK_BYTE label[4], buf[64];
	CK_ULONG cls = 0;
	CK_ATTRIBUTE t[4];

	(void)state;
	assert_non_null(o);
	assert_int_equal(p11_attr_set(o, CKA_LABEL, "abcdef", 6), 0);
	assert_int_equal(p11_attr_bool(o, CKA_SIGN, true), 0);
	/* sizing call */
	t[0] = (CK_ATTRIBUTE){ CKA_LABEL, NULL, 0 };
	assert_int_equal(p11_object_get_attrs(o, t, 1), CKR_OK);
	assert_int_equal(t[0].ulValueLen, 6);
	/* short buffer: CKR_BUFFER_TOO_SMALL and CK_UNAVAILABLE_INFORMATION */
	t[0] = (CK_ATTRIBUTE){ CKA_LABEL, label, sizeof(label) };
	assert_int_equal(p11_object_get_attrs(o, t, 1), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	/* every attribute is processed; the others still come back */
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_VALUE, buf, sizeof(buf) };
	t[2] = (CK_ATTRIBUTE){ CKA_MODULUS, buf, sizeof(buf) };
	t[3] = (CK_ATTRIBUTE){ CKA_LABEL, buf, sizeof(buf) };
	assert_int_not_equal(p11_object_get_attrs(o, t, 4), CKR_OK);
	assert_int_equal(cls, CKO_PRIVATE_KEY);
	assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[3].ulValueLen, 6);
	/* the sensitive value alone */
	assert_int_equal(p11_object_get_attrs(o, &t[1], 1), CKR_ATTRIBUTE_SENSITIVE);
	/* an unknown type alone */
	assert_int_equal(p11_object_get_attrs(o, &t[2], 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	p11_object_free(&o);
	assert_null(o);
}

static void
test_match_and_templates(void **state)
{
	p11_object *o = p11_object_new(CKO_CERTIFICATE);
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE, other = CKO_DATA;
	CK_BYTE id = 1, yes = CK_TRUE, bad_bool = 7;
	CK_ULONG v;
	bool b, found;
	CK_ATTRIBUTE t[2];

	(void)state;
	assert_int_equal(p11_attr_set(o, CKA_ID, &id, 1), 0);
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_ID, &id, 1 };
	assert_true(p11_object_match(o, t, 2));
	assert_true(p11_object_match(o, NULL, 0));
	t[0].pValue = &other;
	assert_false(p11_object_match(o, t, 2));
	t[1].ulValueLen = 0;
	assert_false(p11_object_match(o, &t[1], 1));
	/* templates */
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	assert_int_equal(p11_tmpl_check(t, 2), CKR_TEMPLATE_INCONSISTENT);
	t[1] = (CK_ATTRIBUTE){ CKA_TOKEN, NULL, 1 };
	assert_int_equal(p11_tmpl_check(t, 2), CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(p11_tmpl_check(NULL, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(p11_tmpl_ulong(t, 1, CKA_CLASS, &v, &found), CKR_OK);
	assert_true(found);
	assert_int_equal(v, CKO_CERTIFICATE);
	t[0].ulValueLen = 3;
	assert_int_equal(p11_tmpl_ulong(t, 1, CKA_CLASS, &v, &found),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	t[0] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, 1 };
	assert_int_equal(p11_tmpl_bool(t, 1, CKA_TOKEN, &b, &found), CKR_OK);
	assert_true(found && b);
	t[0].pValue = &bad_bool;
	assert_int_equal(p11_tmpl_bool(t, 1, CKA_TOKEN, &b, &found),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	assert_int_equal(p11_tmpl_bool(t, 1, CKA_SIGN, &b, &found), CKR_OK);
	assert_false(found);
	p11_object_free(&o);
}

static uint8_t *
make_cert(EVP_PKEY *k, int *len)
{
	X509 *x = X509_new();
	uint8_t *der = NULL;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"slot test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	*len = i2d_X509(x, &der);
	X509_free(x);
	return der;
}

/* CKA_ID is the same on a slot's certificate and key pair; 9C is always-authenticate */
static void
test_slot_objects(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");
	const p11_piv_slot *ps = p11_piv_slot_by_ref(0x9C);
	p11_object *list = NULL, *o;
	uint8_t *cert, *spki = NULL;
	int n, spki_len, count = 0;

	(void)state;
	assert_non_null(ps);
	cert = make_cert(k, &n);
	assert_int_equal(p11_objects_for_slot(ps, cert, (size_t)n, NULL, 0,
	    P11_ALG_NONE, 0, &list), CKR_OK);
	for (o = list; o != NULL; o = o->next) {
		const CK_ATTRIBUTE *id = p11_attr_find(o, CKA_ID);
		assert_non_null(id);
		assert_int_equal(id->ulValueLen, 1);
		assert_int_equal(*(const CK_BYTE *)id->pValue, 0x02);
		assert_int_equal(o->key_ref, 0x9C);
		if (o->cls == CKO_PRIVATE_KEY) {
			assert_true(p11_attr_true(o, CKA_ALWAYS_AUTHENTICATE));
			assert_true(p11_attr_true(o, CKA_PRIVATE));
			assert_true(p11_attr_true(o, CKA_SIGN));
			assert_true(p11_attr_true(o, CKA_DERIVE));
			assert_int_equal(o->alg, P11_ALG_P384);
		}
		count++;
	}
	assert_int_equal(count, 3);
	assert_int_equal(list->cls, CKO_CERTIFICATE);
	p11_object_free_list(&list);
	/* a key without a certificate (GET METADATA): two objects, 9E is public */
	spki_len = i2d_PUBKEY(k, &spki);
	ps = p11_piv_slot_by_ref(0x9E);
	assert_int_equal(p11_objects_for_slot(ps, NULL, 0, spki, (size_t)spki_len,
	    P11_ALG_P384, 0, &list), CKR_OK);
	count = 0;
	for (o = list; o != NULL; o = o->next) {
		count++;
		if (o->cls == CKO_PRIVATE_KEY) {
			assert_false(p11_attr_true(o, CKA_PRIVATE));
			assert_false(p11_attr_true(o, CKA_ALWAYS_AUTHENTICATE));
			assert_true(p11_attr_true(o, CKA_LOCAL));
		}
	}
	assert_int_equal(count, 2);
	p11_object_free_list(&list);
	/* a certificate that does not parse and no SPKI: nothing, an error */
	assert_int_not_equal(p11_objects_for_slot(ps, cert, 10, NULL, 0,
	    P11_ALG_NONE, 0, &list), CKR_OK);
	assert_null(list);
	OPENSSL_free(spki);
	OPENSSL_free(cert);
	EVP_PKEY_free(k);
}

static void
test_piv_tables(void **state)
{
	uint8_t id;

	(void)state;
	id = 0x05;
	assert_int_equal(p11_piv_slot_by_id(&id, 1)->key_ref, 0x82);
	id = 0x9D;
	assert_int_equal(p11_piv_slot_by_id(&id, 1)->key_ref, 0x9D);
	id = 0x30;
	assert_null(p11_piv_slot_by_id(&id, 1));
	assert_null(p11_piv_slot_by_id(&id, 2));
	assert_null(p11_piv_slot_by_id(NULL, 1));
	assert_non_null(p11_mech_find(CKM_ECDSA_SHA256));
	assert_non_null(p11_mech_find(CKM_AES_CBC));
	assert_null(p11_mech_find(CKM_DES_CBC));
	assert_int_equal(p11_rv(WK_ERR_CARD_REMOVED), CKR_DEVICE_REMOVED);
	assert_int_equal(p11_rv(WK_ERR_WRONG_PIN), CKR_PIN_INCORRECT);
	assert_int_equal(p11_rv(WK_ERR_PIN_BLOCKED), CKR_PIN_LOCKED);
	assert_int_equal(p11_rv(WK_ERR_AUTH_REQUIRED), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(p11_rv(12345), CKR_GENERAL_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_attrs),
		cmocka_unit_test(test_match_and_templates),
		cmocka_unit_test(test_slot_objects),
		cmocka_unit_test(test_piv_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
