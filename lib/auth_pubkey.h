/* auth_pubkey.h: RS256 and ES256 token signatures, with the PEM public key
 * parsed once instead of at every verification. */
#ifndef AUTH_PUBKEY_H
#define AUTH_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>

enum auth_pubkey_alg { AUTH_PUBKEY_RS256, AUTH_PUBKEY_ES256 };

struct auth_pubkey;

/* The PEM public key pem[0..len) parsed for alg, or NULL: not a PEM public
 * key, or not one alg may use (RS256: an RSA key; ES256: an EC key on
 * P-256), or no memory. Free with auth_pubkey_free. */
struct auth_pubkey *auth_pubkey_new(enum auth_pubkey_alg alg, const unsigned char *pem, size_t len);
void auth_pubkey_free(struct auth_pubkey *key);

/* Whether sig[0..sig_len), unpadded base64url in its canonical form, is a
 * valid signature of input[0..n) under key: RSASSA-PKCS1-v1_5 with SHA-256,
 * or ECDSA P-256 with SHA-256 given as the 64 bytes r || s (RFC 7518 3.4).
 * Read-only on key: any number of threads may verify with one key at once.
 * Returns 1 when it is, 0 when it is not, -1 when the verifier could not be
 * made (OpenSSL out of memory): our failure, not the token's. A failure
 * inside OpenSSL's verification itself cannot be told from a bad signature
 * and is 0. OpenSSL's error queue is left empty. */
int auth_pubkey_signature_check(const struct auth_pubkey *key, const char *input,
    size_t n, const char *sig, size_t sig_len);

#endif
