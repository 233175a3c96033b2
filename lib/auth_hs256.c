/* auth_hs256.c: HS256 signature checks for auth_jwt.c.
 *
 * Why not libjwt here: libjwt 1.10 computes each HMAC with OpenSSL 3's
 * one-shot HMAC(), which looks "HMAC" and "SHA256" up in the provider store
 * (taking its locks) on every call, and base64-encodes the result through a
 * BIO chain. Under load that was most of the token's cost, and the token a
 * fifth of the app's CPU per request (perf; README, Benchmark). Here the
 * lookups and the key schedule (the inner and outer padded-key digests) are
 * done once; each check duplicates the keyed context, which only reads it. */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "auth_hs256.h"
#include "base64url.h"

#define HS256_MAC_LEN 32
#define HS256_SIG_LEN 43        /* unpadded base64url of 32 bytes */

struct auth_hs256_key {
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed;     /* initialised with the secret; never updated */
};

struct auth_hs256_key *
auth_hs256_key_new(const unsigned char *secret, size_t len)
{
	struct auth_hs256_key *key = NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[2];

	if (secret == NULL || len == 0)
		goto fail;
	if ((key = calloc(1, sizeof(*key))) == NULL ||
	    (key->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (key->keyed = EVP_MAC_CTX_new(key->mac)) == NULL)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(key->keyed, secret, len, params) != 1)
		goto fail;
	return key;
fail:
	auth_hs256_key_free(key);
	return NULL;
}

void
auth_hs256_key_free(struct auth_hs256_key *key)
{
	if (key == NULL)
		return;
	EVP_MAC_CTX_free(key->keyed);
	EVP_MAC_free(key->mac);
	free(key);
}

int
auth_hs256_signature_check(const struct auth_hs256_key *key, const char *input,
    size_t n, const char *sig, size_t sig_len)
{
	EVP_MAC_CTX *ctx = NULL;
	unsigned char mac[HS256_MAC_LEN];
	char expected[HS256_SIG_LEN + 1];
	size_t mac_len = 0;
	int ret = 0;

	if (key == NULL || input == NULL || sig == NULL || sig_len != HS256_SIG_LEN)
		goto out;
	/* nothing here depends on the token: a failure is OpenSSL's */
	if ((ctx = EVP_MAC_CTX_dup(key->keyed)) == NULL ||
	    EVP_MAC_update(ctx, (const unsigned char *)input, n) != 1 ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 ||
	    mac_len != sizeof(mac)) {
		ERR_clear_error();
		ret = -1;
		goto out;
	}
	if (base64url_encode(mac, sizeof(mac), expected, sizeof(expected)) != HS256_SIG_LEN)
		goto out;
	ret = CRYPTO_memcmp(expected, sig, HS256_SIG_LEN) == 0;
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(expected, sizeof(expected));
	return ret;
}
