/* auth_pubkey.c: RS256 and ES256 signature checks for auth_jwt.c.
 *
 * Why not libjwt here: libjwt 1.10 takes the key as PEM text and parses it
 * (a BIO, the PEM armour, the ASN.1 key) on every jwt_decode, so each
 * request reparsed the configured public key. Here it is parsed once, its
 * type pinned to the algorithm, and each check only verifies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth_pubkey.h"
#include "base64url.h"

#define ES256_COORDINATE_LEN 32         /* r and s are each 32 bytes on P-256 */
#define SIGNATURE_TEXT_MAX 4096         /* tokens are at most AUTH_TOKEN_MAX */
#define SIGNATURE_MAX (SIGNATURE_TEXT_MAX / 4 * 3 + 3)
#define DER_SIGNATURE_MAX 80            /* DER ECDSA P-256: at most 72 bytes */

struct auth_pubkey {
	enum auth_pubkey_alg alg;
	EVP_PKEY *pkey;
	/* initialised for SHA-256 verification with pkey; never updated. A
	 * copy per check skips the algorithm lookups in OpenSSL's provider
	 * store (under its locks) that each initialisation makes. */
	EVP_MD_CTX *verifier;
};

static bool
key_fits_alg(EVP_PKEY *pkey, enum auth_pubkey_alg alg)
{
	char group[32];

	if (alg == AUTH_PUBKEY_RS256)
		return EVP_PKEY_is_a(pkey, "RSA");
	return EVP_PKEY_is_a(pkey, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	        group, sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0;
}

struct auth_pubkey *
auth_pubkey_new(enum auth_pubkey_alg alg, const unsigned char *pem, size_t len)
{
	struct auth_pubkey *key = NULL;
	BIO *bio = NULL;

	if (pem == NULL || len == 0 || len > INT32_MAX)
		goto fail;
	if ((key = calloc(1, sizeof(*key))) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (key->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL ||
	    !key_fits_alg(key->pkey, alg) ||
	    (key->verifier = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(key->verifier, NULL, "SHA256", NULL, NULL, key->pkey, NULL) != 1)
		goto fail;
	key->alg = alg;
	BIO_free(bio);
	return key;
fail:
	BIO_free(bio);
	auth_pubkey_free(key);
	return NULL;
}

void
auth_pubkey_free(struct auth_pubkey *key)
{
	if (key == NULL)
		return;
	EVP_MD_CTX_free(key->verifier);
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* JWS carries an ECDSA signature as r || s; OpenSSL verifies DER. Returns
 * the DER length, or -1. */
static long
es256_to_der(const unsigned char *raw, size_t raw_len, unsigned char *der, size_t cap)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *out = der;
	long n = -1;

	if (raw_len != 2 * ES256_COORDINATE_LEN || (sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, ES256_COORDINATE_LEN, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + ES256_COORDINATE_LEN, ES256_COORDINATE_LEN, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;   /* owned by sig now */
	if (i2d_ECDSA_SIG(sig, NULL) > (int)cap)
		goto out;
	n = i2d_ECDSA_SIG(sig, &out);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return n;
}

int
auth_pubkey_signature_check(const struct auth_pubkey *key, const char *input,
    size_t n, const char *sig, size_t sig_len)
{
	unsigned char raw[SIGNATURE_MAX], der[DER_SIGNATURE_MAX];
	char canonical[SIGNATURE_TEXT_MAX + 1];
	const unsigned char *signature = raw;
	long raw_len, signature_len;
	EVP_MD_CTX *md = NULL;
	int ret = 0;

	if (key == NULL || input == NULL || sig == NULL || sig_len == 0 ||
	    sig_len > SIGNATURE_TEXT_MAX)
		goto out;
	raw_len = base64url_decode(sig, sig_len, raw, sizeof(raw));
	/* one text per signature: unused trailing bits must be zero */
	if (raw_len <= 0 ||
	    base64url_encode(raw, (size_t)raw_len, canonical, sizeof(canonical)) != (long)sig_len ||
	    memcmp(canonical, sig, sig_len) != 0)
		goto out;
	signature_len = raw_len;
	if (key->alg == AUTH_PUBKEY_ES256) {
		signature_len = es256_to_der(raw, (size_t)raw_len, der, sizeof(der));
		signature = der;
		if (signature_len <= 0)
			goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_MD_CTX_copy_ex(md, key->verifier) != 1) {
		ret = -1;
		goto out;
	}
	ret = EVP_DigestVerify(md, signature, (size_t)signature_len,
	    (const unsigned char *)input, n) == 1;
out:
	/* a refused signature leaves its reasons queued on this thread */
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return ret;
}
