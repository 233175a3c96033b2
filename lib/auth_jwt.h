/* auth_jwt.h: bearer-token verification. HS256 signatures are checked by
 * auth_hs256.c, RS256/ES256 by auth_pubkey.c, always with the configured
 * algorithm and key; the header's "alg" is pinned to it here, and every
 * claim is checked here with its JSON type. */
#ifndef AUTH_JWT_H
#define AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include "auth_subject.h"
#include "pf_error.h"
#include "pf_time.h"

#define AUTH_TOKEN_MAX 4096     /* longer tokens are refused before decoding */
#define AUTH_EMAIL_MAX 254
#define AUTH_CLAIM_MAX 255      /* issuer, audience */

enum auth_alg { AUTH_ALG_HS256 = 0, AUTH_ALG_RS256, AUTH_ALG_ES256 };

enum auth_role { AUTH_ROLE_USER = 0, AUTH_ROLE_SUPPORT, AUTH_ROLE_SERVICE, AUTH_ROLE__MAX };

struct auth_hs256_key;
struct auth_pubkey;

struct auth_config {
	enum auth_alg alg;
	unsigned char *key;     /* HS256 secret, or PEM public key; owned by the config */
	size_t key_len;
	/* the key made ready once by auth_config_prepare (the HS256 secret
	 * bound, or the PEM public key parsed); NULL: at each verification
	 * (same result, slower) */
	struct auth_hs256_key *hs256;
	struct auth_pubkey *pubkey;
	char issuer[AUTH_CLAIM_MAX + 1];
	char audience[AUTH_CLAIM_MAX + 1];
	int leeway_seconds;     /* default 30 */
};

struct auth_identity {
	char sub[AUTH_SUB_MAX + 1];
	bool has_email;
	char email[AUTH_EMAIL_MAX + 1];
	enum auth_role role;
};

/* Parses "HS256", "RS256", "ES256". Returns 0 or -1. */
int auth_alg_from_name(const char *name, enum auth_alg *out);
/* The algorithm's name, NULL for a value outside the enum. */
const char *auth_alg_name(enum auth_alg alg);

/* Makes the key ready for repeated verification: binds the HS256 secret,
 * or parses the PEM public key and checks that it fits the algorithm (RSA
 * for RS256, EC P-256 for ES256). Returns 0, or -1 with cfg unchanged. */
int auth_config_prepare(struct auth_config *cfg);

/* Frees what auth_config_prepare made (not the key, which the caller owns). */
void auth_config_release(struct auth_config *cfg);

/* "user", "support", "service". */
const char *auth_role_name(enum auth_role role);

/* Verifies the value of an Authorization header at time now.
 *   header NULL or empty, or not "Bearer <token>" with a non-empty token:
 *     PF_ERR_UNAUTHENTICATED
 *   token longer than AUTH_TOKEN_MAX, malformed, bad signature, alg other
 *   than cfg->alg (so "none" always), wrong iss/aud, bad sub syntax, role not
 *   listed, claims of the wrong JSON type (exp must be an integer), nbf/iat in
 *   the future beyond the leeway, missing exp or sub: PF_ERR_INVALID_TOKEN
 *   exp + leeway < now: PF_ERR_TOKEN_EXPIRED
 *   verification failed for lack of memory (ours, not the token's; see
 *   json_memory.h): PF_ERR_INTERNAL
 *   the verification itself failed (out of memory): PF_ERR_INTERNAL
 * On PF_OK fills *out (role defaults to user; email absent -> has_email false). */
enum pf_error auth_verify_bearer(const struct auth_config *cfg, const char *header,
    pf_time now, struct auth_identity *out);

#endif
