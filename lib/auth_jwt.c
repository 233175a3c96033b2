/* auth_jwt.c: "Authorization: Bearer <JWT>" -> verified identity.
 *
 * The signature: HS256 by auth_hs256.c (the configured secret, bound once),
 * RS256/ES256 by auth_pubkey.c (the configured PEM public key, parsed once),
 * always with the configured algorithm and key, whatever the token's header
 * says. Then: the token's shape is checked first, the signature, the header
 * (its "alg" pinned to the configured one) and every claim with its JSON
 * type (neither may hold a key twice), and expiry is judged last so that
 * token_expired is only ever said of a token that is otherwise valid.
 * libjwt (tests/unit/test_auth_jwt.c) signs the tokens these checks are
 * tested against. No global mutable state; nothing is logged. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth_hs256.h"
#include "auth_jwt.h"
#include "auth_pubkey.h"
#include "base64url.h"
#include "json_memory.h"

struct alg_entry {
	const char *name;       /* the exact "alg" header value (RFC 7518) */
	enum auth_pubkey_alg pubkey;    /* RS256/ES256 only */
};

static const struct alg_entry alg_table[] = {
	[AUTH_ALG_HS256] = { "HS256", 0 },
	[AUTH_ALG_RS256] = { "RS256", AUTH_PUBKEY_RS256 },
	[AUTH_ALG_ES256] = { "ES256", AUTH_PUBKEY_ES256 },
};
#define ALG_COUNT (sizeof(alg_table) / sizeof(alg_table[0]))

static const char *const role_names[AUTH_ROLE__MAX] = {
	[AUTH_ROLE_USER] = "user",
	[AUTH_ROLE_SUPPORT] = "support",
	[AUTH_ROLE_SERVICE] = "service",
};

int
auth_alg_from_name(const char *name, enum auth_alg *out)
{
	size_t i;

	if (name == NULL || out == NULL)
		return -1;
	for (i = 0; i < ALG_COUNT; i++) {
		if (strcmp(name, alg_table[i].name) == 0) {
			*out = (enum auth_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *
auth_alg_name(enum auth_alg alg)
{
	if ((unsigned)alg >= ALG_COUNT)
		return NULL;
	return alg_table[alg].name;
}

/* NULL for a value outside the enum. */
const char *
auth_role_name(enum auth_role role)
{
	if ((unsigned)role >= AUTH_ROLE__MAX)
		return NULL;
	return role_names[role];
}

/* ASCII-only, locale-independent case folding. */
static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Whether the first n bytes of s equal the lowercase ASCII word, ignoring case. */
static bool
ascii_prefix_eq_nocase(const char *s, const char *word, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || ascii_lower(s[i]) != word[i])
			return false;
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Finds the token in "Bearer <token>" (scheme in any case, one or more
 * spaces, surrounding blanks ignored). Returns 0 and the token's start and
 * length, or -1 when there is no Bearer token at all (401 unauthenticated). */
static int
bearer_token(const char *header, const char **token, size_t *len)
{
	const char *p, *end;

	if (header == NULL)
		return -1;
	p = header;
	while (is_space(*p))
		p++;
	if (!ascii_prefix_eq_nocase(p, "bearer", 6))
		return -1;
	p += 6;
	if (!is_space(*p))
		return -1;      /* "Bearer" alone, or "Bearerxyz" */
	while (is_space(*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_space(end[-1]))
		end--;
	if (end == p)
		return -1;
	*token = p;
	*len = (size_t)(end - p);
	return 0;
}

/* Exactly three non-empty unpadded base64url segments, none of a length
 * that no byte string encodes to (4k + 1). */
static bool
token_shape_ok(const char *token, size_t len)
{
	size_t i, segment = 0;
	int dots = 0;

	for (i = 0; i < len; i++) {
		if (token[i] == '.') {
			if (segment == 0 || segment % 4 == 1 || ++dots > 2)
				return false;
			segment = 0;
		} else if (base64url_is_char(token[i])) {
			segment++;
		} else {
			return false;
		}
	}
	return dots == 2 && segment > 0 && segment % 4 != 1;
}

/* The configuration must pin an algorithm and a key and name an issuer and
 * audience. */
static bool
config_usable(const struct auth_config *cfg)
{
	return cfg != NULL &&
	    (unsigned)cfg->alg < ALG_COUNT &&
	    cfg->key != NULL && cfg->key_len > 0 && cfg->key_len <= INT_MAX &&
	    memchr(cfg->issuer, '\0', sizeof(cfg->issuer)) != NULL &&
	    cfg->issuer[0] != '\0' &&
	    memchr(cfg->audience, '\0', sizeof(cfg->audience)) != NULL &&
	    cfg->audience[0] != '\0';
}

/* A JSON string without embedded NUL, equal byte for byte to want. */
static bool
json_string_equals(const json_t *value, const char *want)
{
	const char *s;

	if (!json_is_string(value))
		return false;
	s = json_string_value(value);
	return json_string_length(value) == strlen(want) && strcmp(s, want) == 0;
}

/* Whether t lies beyond now + leeway (leeway >= 0), without overflow. */
static bool
is_future_beyond_leeway(json_int_t t, pf_time now, int64_t leeway)
{
	if (now > INT64_MAX - leeway)
		return false;
	return (int64_t)t > now + leeway;
}

/* Whether exp + leeway < now (leeway >= 0), without overflow. */
static bool
is_expired(json_int_t exp, pf_time now, int64_t leeway)
{
	if (now < INT64_MIN + leeway)
		return false;
	return (int64_t)exp < now - leeway;
}

/* Optional integer time claim: absent is fine; any other type is not;
 * a value beyond now + leeway is not. */
static bool
time_claim_ok(const json_t *claims, const char *name, pf_time now, int64_t leeway)
{
	const json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return true;
	if (!json_is_integer(v))
		return false;
	return !is_future_beyond_leeway(json_integer_value(v), now, leeway);
}

/* aud: the configured audience, or an array of strings containing it. */
static bool
audience_ok(const json_t *aud, const char *want)
{
	size_t i;
	const json_t *item;
	bool found = false;

	if (json_is_string(aud))
		return json_string_equals(aud, want);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, item) {
		if (!json_is_string(item))
			return false;
		if (json_string_equals(item, want))
			found = true;
	}
	return found;
}

/* sub: a valid user id (auth_subject.h); copied into out. */
static bool
subject_read(const json_t *sub, char out[AUTH_SUB_MAX + 1])
{
	const char *s;
	size_t len;

	if (!json_is_string(sub))
		return false;
	s = json_string_value(sub);
	len = json_string_length(sub);
	if (!auth_subject_valid(s, len))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* email: absent or null -> no email; else a string of at most
 * AUTH_EMAIL_MAX bytes with an '@' and no C0, DEL or C1 control character
 * (jansson guarantees valid UTF-8 and, by default, no NUL). */
static bool
email_read(const json_t *email, struct auth_identity *id)
{
	const unsigned char *s;
	size_t i, len;
	bool at = false;

	id->has_email = false;
	if (email == NULL || json_is_null(email))
		return true;
	if (!json_is_string(email))
		return false;
	s = (const unsigned char *)json_string_value(email);
	len = json_string_length(email);
	if (len > AUTH_EMAIL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return false;
		if (s[i] == '@')
			at = true;
	}
	if (!at)
		return false;
	memcpy(id->email, s, len);
	id->email[len] = '\0';
	id->has_email = true;
	return true;
}

/* role: absent -> user; else exactly one of the listed names. */
static bool
role_read(const json_t *role, enum auth_role *out)
{
	int i;

	if (role == NULL) {
		*out = AUTH_ROLE_USER;
		return true;
	}
	for (i = 0; i < AUTH_ROLE__MAX; i++) {
		if (json_string_equals(role, role_names[i])) {
			*out = (enum auth_role)i;
			return true;
		}
	}
	return false;
}

/* The decoded JOSE header: "alg" exactly the configured name (case
 * included: "hs256" is not HS256), "typ" absent or the string "JWT" in any
 * case, and no "crit" (we implement no extension). */
static bool
header_ok(const json_t *head, enum auth_alg alg)
{
	const json_t *typ;

	if (!json_is_object(head))
		return false;
	if (!json_string_equals(json_object_get(head, "alg"), alg_table[alg].name))
		return false;
	typ = json_object_get(head, "typ");
	if (typ != NULL) {
		if (!json_is_string(typ) || json_string_length(typ) != 3 ||
		    !ascii_prefix_eq_nocase(json_string_value(typ), "jwt", 3))
			return false;
	}
	return json_object_get(head, "crit") == NULL;
}

int
auth_config_prepare(struct auth_config *cfg)
{
	if (cfg == NULL || cfg->hs256 != NULL || cfg->pubkey != NULL || (unsigned)cfg->alg >= ALG_COUNT)
		return -1;
	if (cfg->alg == AUTH_ALG_HS256) {
		cfg->hs256 = auth_hs256_key_new(cfg->key, cfg->key_len);
		return cfg->hs256 != NULL ? 0 : -1;
	}
	cfg->pubkey = auth_pubkey_new(alg_table[cfg->alg].pubkey, cfg->key, cfg->key_len);
	return cfg->pubkey != NULL ? 0 : -1;
}

void
auth_config_release(struct auth_config *cfg)
{
	if (cfg == NULL)
		return;
	auth_hs256_key_free(cfg->hs256);
	cfg->hs256 = NULL;
	auth_pubkey_free(cfg->pubkey);
	cfg->pubkey = NULL;
}

/* One base64url segment of a token (shape already checked), as JSON. The
 * header and the payload of every algorithm are read here and nowhere else
 * (libjwt parses no token of ours). A key twice, at any depth, refuses the
 * token: jansson would otherwise keep the last value, so a signed
 * {"role":"user",...,"role":"support"} read as support, and a second "sub"
 * as another user, while anything that read the first value saw someone
 * else. */
static enum pf_error
segment_json(const char *segment, size_t len, json_t **out)
{
	unsigned char decoded[AUTH_TOKEN_MAX];
	long n;

	*out = NULL;
	n = base64url_decode(segment, len, decoded, sizeof(decoded));
	if (n < 0)
		return PF_ERR_INVALID_TOKEN;
	json_memory_reset();
	*out = json_loadb((const char *)decoded, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	explicit_bzero(decoded, (size_t)n);
	/* running out of memory is our failure, not a malformed token; and a
	 * document parsed meanwhile may lack what failed (jansson 2.14 can
	 * return one anyway) */
	if (json_memory_ran_out()) {
		json_decref(*out);
		*out = NULL;
		return PF_ERR_INTERNAL;
	}
	return *out != NULL ? PF_OK : PF_ERR_INVALID_TOKEN;
}

/* Whether sig is the signature of input under the configured algorithm and
 * key (bound now when cfg was not prepared). PF_ERR_INTERNAL: a key that
 * cannot be used, which auth_config_prepare would have refused. */
static enum pf_error
signature_check(const struct auth_config *cfg, const char *input, size_t n,
    const char *sig, size_t sig_len)
{
	struct auth_hs256_key *hs256_per_call = NULL;
	struct auth_pubkey *pubkey_per_call = NULL;
	const struct auth_hs256_key *hs256 = cfg->hs256;
	const struct auth_pubkey *pubkey = cfg->pubkey;
	enum pf_error ret = PF_ERR_INTERNAL;
	int verdict;

	if (cfg->alg == AUTH_ALG_HS256) {
		if (hs256 == NULL &&
		    (hs256 = hs256_per_call = auth_hs256_key_new(cfg->key, cfg->key_len)) == NULL)
			goto out;
		verdict = auth_hs256_signature_check(hs256, input, n, sig, sig_len);
	} else {
		if (pubkey == NULL && (pubkey = pubkey_per_call =
		    auth_pubkey_new(alg_table[cfg->alg].pubkey, cfg->key, cfg->key_len)) == NULL)
			goto out;
		verdict = auth_pubkey_signature_check(pubkey, input, n, sig, sig_len);
	}
	ret = verdict == 1 ? PF_OK : verdict == 0 ? PF_ERR_INVALID_TOKEN : PF_ERR_INTERNAL;
out:
	auth_hs256_key_free(hs256_per_call);
	auth_pubkey_free(pubkey_per_call);
	return ret;
}

/* The signature over "header.payload", then both segments as JSON. token
 * has the checked shape (three segments). */
static enum pf_error
token_open(const struct auth_config *cfg, const char *token, size_t len,
    json_t **head, json_t **claims)
{
	const char *dot1, *dot2;
	enum pf_error ret;

	dot1 = memchr(token, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	ret = signature_check(cfg, token, (size_t)(dot2 - token),
	    dot2 + 1, len - (size_t)(dot2 + 1 - token));
	if (ret != PF_OK)
		return ret;
	ret = segment_json(token, (size_t)(dot1 - token), head);
	if (ret == PF_OK)
		ret = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims);
	return ret;
}

enum pf_error
auth_verify_bearer(const struct auth_config *cfg, const char *header,
    pf_time now, struct auth_identity *out)
{
	enum pf_error ret = PF_ERR_INVALID_TOKEN;
	const char *start;
	size_t len;
	json_t *head = NULL, *claims = NULL, *exp;
	struct auth_identity id;
	int64_t leeway;

	memset(&id, 0, sizeof(id));

	if (out == NULL || !config_usable(cfg)) {
		ret = PF_ERR_INTERNAL;
		goto out;
	}
	leeway = cfg->leeway_seconds > 0 ? cfg->leeway_seconds : 0;

	if (bearer_token(header, &start, &len) != 0) {
		ret = PF_ERR_UNAUTHENTICATED;
		goto out;
	}
	if (len > AUTH_TOKEN_MAX || !token_shape_ok(start, len))
		goto out;
	ret = token_open(cfg, start, len, &head, &claims);
	if (ret != PF_OK)
		goto out;
	ret = PF_ERR_INVALID_TOKEN;
	if (!header_ok(head, cfg->alg) || !json_is_object(claims))
		goto out;

	exp = json_object_get(claims, "exp");
	if (!json_is_integer(exp) ||
	    !time_claim_ok(claims, "nbf", now, leeway) ||
	    !time_claim_ok(claims, "iat", now, leeway) ||
	    !json_string_equals(json_object_get(claims, "iss"), cfg->issuer) ||
	    !audience_ok(json_object_get(claims, "aud"), cfg->audience) ||
	    !subject_read(json_object_get(claims, "sub"), id.sub) ||
	    !email_read(json_object_get(claims, "email"), &id) ||
	    !role_read(json_object_get(claims, "role"), &id.role))
		goto out;

	if (is_expired(json_integer_value(exp), now, leeway)) {
		ret = PF_ERR_TOKEN_EXPIRED;
		goto out;
	}

	*out = id;
	ret = PF_OK;
out:
	if (ret != PF_OK && out != NULL)
		memset(out, 0, sizeof(*out));
	json_decref(claims);
	json_decref(head);
	explicit_bzero(&id, sizeof(id));
	return ret;
}
