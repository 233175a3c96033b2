/* auth_hs256.h: HS256 (HMAC-SHA256) token signatures, with the secret bound
 * into an OpenSSL MAC context once instead of at every verification. */
#ifndef AUTH_HS256_H
#define AUTH_HS256_H

#include <stdbool.h>
#include <stddef.h>

struct auth_hs256_key;

/* The secret bound for HMAC-SHA256, or NULL (out of memory, or OpenSSL
 * without SHA-256). The secret is copied; free with auth_hs256_key_free. */
struct auth_hs256_key *auth_hs256_key_new(const unsigned char *secret, size_t len);
void auth_hs256_key_free(struct auth_hs256_key *key);

/* Whether sig[0..sig_len) is the unpadded base64url HMAC-SHA256 of
 * input[0..n) under key, compared in constant time: the same comparison
 * libjwt makes (its encoding of the computed MAC against the token's text),
 * so only the canonical 43-character encoding matches. Read-only on key:
 * any number of threads may verify with one key at once. Returns 1 when it
 * is, 0 when it is not, -1 when the MAC could not be computed (OpenSSL out
 * of memory; its error queue is cleared): our failure, not the token's. */
int auth_hs256_signature_check(const struct auth_hs256_key *key, const char *input,
    size_t n, const char *sig, size_t sig_len);

#endif
