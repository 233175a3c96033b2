/* test_auth_jwt.c: auth_verify_bearer against hand-made tokens. HS256 tokens
 * are assembled here (base64url of header and payload JSON, HMAC() over
 * them) so that wrong claim types, alg "none" and algorithm swaps can be
 * crafted; RS256/ES256 tokens are signed with libjwt from the test-only keys
 * in FIXTURE_DIR, or with OpenSSL over exact JSON texts (token_pem_raw) when
 * the text must hold what no JSON library writes. Negative cases are named
 * *_bad. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth_jwt.h"
#include "auth_pubkey.h"
#include "unit.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/unit/fixtures"
#endif

#define NOW ((pf_time)1767225600)       /* 2026-01-01T00:00:00Z */
#define LEEWAY 30
#define ISS "https://auth.personaforge.test/"
#define AUD "personaforge-billing"
#define SECRET "test-only-hs256-secret-0123456789abcdef"

#define INVALID PF_ERR_INVALID_TOKEN
#define EXPIRED PF_ERR_TOKEN_EXPIRED
#define UNAUTH PF_ERR_UNAUTHENTICATED

static unsigned char secret[] = SECRET;
static struct auth_config hs_cfg, rs_cfg, es_cfg;
static unsigned char *rsa_private, *rsa_public, *ec_private, *ec_public;
static size_t rsa_private_len, rsa_public_len, ec_private_len, ec_public_len;

/* ---- building tokens ---- */

/* New NUL-terminated unpadded base64url of in[0..len). */
static char *
b64url(const void *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n, i, j = 0;

	if (out == NULL)
		abort();
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	for (i = 0; i < n && out[i] != '='; i++)
		out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[j] = '\0';
	return out;
}

static char *
concat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *s = malloc(n);

	if (s == NULL)
		abort();
	snprintf(s, n, "%s.%s.%s", a, b, c);
	return s;
}

/* header.payload.sig where sig is the given text (may be empty). */
static char *
token_raw(const char *head_json, const char *payload_json, const char *sig)
{
	char *h = b64url(head_json, strlen(head_json));
	char *p = b64url(payload_json, strlen(payload_json));
	char *t = concat3(h, p, sig);

	free(h);
	free(p);
	return t;
}

/* header.payload signed with HMAC md over key (any alg in the header). */
static char *
token_hmac(const char *head_json, const char *payload_json, const EVP_MD *md,
    const void *key, size_t key_len)
{
	char *h = b64url(head_json, strlen(head_json));
	char *p = b64url(payload_json, strlen(payload_json));
	size_t n = strlen(h) + strlen(p) + 2;
	char *input = malloc(n), *sig, *t;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	if (input == NULL)
		abort();
	snprintf(input, n, "%s.%s", h, p);
	if (HMAC(md, key, (int)key_len, (const unsigned char *)input, strlen(input),
	    mac, &mac_len) == NULL)
		abort();
	sig = b64url(mac, mac_len);
	t = concat3(h, p, sig);
	free(h);
	free(p);
	free(input);
	free(sig);
	return t;
}

static char *
hs256(const char *payload_json)
{
	return token_hmac("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload_json,
	    EVP_sha256(), SECRET, strlen(SECRET));
}

/* Signed by libjwt with a PEM private key (it writes {"alg":..,"typ":"JWT"}). */
static char *
token_pem(jwt_alg_t alg, const unsigned char *key, size_t key_len, const char *payload_json)
{
	jwt_t *jwt = NULL;
	char *t;

	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, payload_json) != 0 ||
	    jwt_set_alg(jwt, alg, key, (int)key_len) != 0)
		abort();
	t = jwt_encode_str(jwt);
	if (t == NULL)
		abort();
	jwt_free(jwt);
	return t;
}

/* header.payload over the exact JSON texts given (so that a token can hold
 * what no JSON library writes: a key twice), signed with the PEM private
 * key: RS256 (PKCS #1 v1.5) for an RSA key, ES256 for an EC one, its DER
 * signature turned into JOSE's r || s (RFC 7518 3.4). */
static char *
token_pem_raw(const char *head_json, const char *payload_json,
    const unsigned char *pem, size_t pem_len)
{
	char *h = b64url(head_json, strlen(head_json));
	char *p = b64url(payload_json, strlen(payload_json));
	size_t n = strlen(h) + strlen(p) + 2, der_len = 0;
	char *input = malloc(n), *sig, *t;
	unsigned char der[512], rs[64];
	const unsigned char *der_p = der;
	BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (input == NULL || pkey == NULL || md == NULL)
		abort();
	snprintf(input, n, "%s.%s", h, p);
	der_len = sizeof(der);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(md, der, &der_len, (const unsigned char *)input, strlen(input)) != 1)
		abort();
	if (EVP_PKEY_is_a(pkey, "EC")) {
		ECDSA_SIG *ecdsa = d2i_ECDSA_SIG(NULL, &der_p, (long)der_len);

		if (ecdsa == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), rs, 32) != 32 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), rs + 32, 32) != 32)
			abort();
		ECDSA_SIG_free(ecdsa);
		sig = b64url(rs, sizeof(rs));
	} else {
		sig = b64url(der, der_len);
	}
	t = concat3(h, p, sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(h);
	free(p);
	free(input);
	free(sig);
	return t;
}

/* The claims of a valid token, as a new object. */
static json_t *
claims_valid(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
	    "iss", ISS, "aud", AUD, "sub", "u_1",
	    "exp", (json_int_t)(NOW + 3600), "iat", (json_int_t)(NOW - 10),
	    "nbf", (json_int_t)(NOW - 10));

	if (c == NULL)
		abort();
	return c;
}

static char *
dump(json_t *c)
{
	char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		abort();
	json_decref(c);
	return s;
}

/* Valid claims with key set to value (stolen), or removed when value is NULL. */
static char *
payload_with(const char *key, json_t *value)
{
	json_t *c = claims_valid();

	if (value == NULL)
		json_object_del(c, key);
	else if (json_object_set_new(c, key, value) != 0)
		abort();
	return dump(c);
}

/* Valid claims without nbf and iat, expiring at exp. */
static char *
payload_exp_only(json_int_t exp)
{
	json_t *c = claims_valid();

	json_object_del(c, "nbf");
	json_object_del(c, "iat");
	json_object_set_new(c, "exp", json_integer(exp));
	return dump(c);
}

static char *
payload_valid(void)
{
	return dump(claims_valid());
}

/* ---- verifying ---- */

static enum pf_error
verify_at(const struct auth_config *cfg, const char *token, pf_time now,
    struct auth_identity *id)
{
	size_t n = strlen(token) + 8;
	char *header = malloc(n);
	struct auth_identity scratch;
	enum pf_error err;

	if (header == NULL)
		abort();
	snprintf(header, n, "Bearer %s", token);
	err = auth_verify_bearer(cfg, header, now, id ? id : &scratch);
	free(header);
	return err;
}

static enum pf_error
verify(const struct auth_config *cfg, const char *token)
{
	return verify_at(cfg, token, NOW, NULL);
}

/* HS256 token whose claims are the valid ones with key set (value) or
 * removed (NULL); checked against hs_cfg at NOW. */
#define EXPECT_CLAIM(key, value, want) do { \
	char *p_ = payload_with((key), (value)); \
	char *t_ = hs256(p_); \
	UNIT_EQ_INT(verify(&hs_cfg, t_), (want)); \
	free(t_); \
	free(p_); \
} while (0)

#define EXPECT_HEADER(header, want) do { \
	struct auth_identity id_; \
	UNIT_EQ_INT(auth_verify_bearer(&hs_cfg, (header), NOW, &id_), (want)); \
} while (0)

#define EXPECT_TOKEN(cfg, token, want) do { \
	char *t_ = (token); \
	UNIT_EQ_INT(verify((cfg), t_), (want)); \
	free(t_); \
} while (0)

/* ---- fixtures ---- */

static unsigned char *
read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *fp;
	unsigned char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, name);
	fp = fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "cannot open fixture %s\n", path);
		exit(2);
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) <= 0 ||
	    fseek(fp, 0, SEEK_SET) != 0)
		abort();
	buf = malloc((size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size)
		abort();
	buf[size] = '\0';
	fclose(fp);
	*len = (size_t)size;
	return buf;
}

static void
config_init(struct auth_config *cfg, enum auth_alg alg, unsigned char *key, size_t key_len)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->alg = alg;
	cfg->key = key;
	cfg->key_len = key_len;
	snprintf(cfg->issuer, sizeof(cfg->issuer), "%s", ISS);
	snprintf(cfg->audience, sizeof(cfg->audience), "%s", AUD);
	cfg->leeway_seconds = LEEWAY;
}

/* ---- cases ---- */

static void
test_names(void)
{
	enum auth_alg alg = AUTH_ALG_ES256;

	UNIT_EQ_INT(auth_alg_from_name("HS256", &alg), 0);
	UNIT_EQ_INT(alg, AUTH_ALG_HS256);
	UNIT_EQ_INT(auth_alg_from_name("RS256", &alg), 0);
	UNIT_EQ_INT(alg, AUTH_ALG_RS256);
	UNIT_EQ_INT(auth_alg_from_name("ES256", &alg), 0);
	UNIT_EQ_INT(alg, AUTH_ALG_ES256);
	UNIT_EQ_INT(auth_alg_from_name("none", &alg), -1);
	UNIT_EQ_INT(auth_alg_from_name("HS512", &alg), -1);
	UNIT_EQ_INT(auth_alg_from_name("hs256", &alg), -1);
	UNIT_EQ_INT(auth_alg_from_name("", &alg), -1);
	UNIT_EQ_INT(auth_alg_from_name(NULL, &alg), -1);
	UNIT_EQ_INT(alg, AUTH_ALG_ES256);

	UNIT_EQ_STR(auth_role_name(AUTH_ROLE_USER), "user");
	UNIT_EQ_STR(auth_role_name(AUTH_ROLE_SUPPORT), "support");
	UNIT_EQ_STR(auth_role_name(AUTH_ROLE_SERVICE), "service");
	UNIT_CHECK(auth_role_name(AUTH_ROLE__MAX) == NULL);
}

static void
test_valid_hs256(void)
{
	struct auth_identity id;
	json_t *c = claims_valid();
	char *p, *t;

	json_object_set_new(c, "email", json_string("ada@example.com"));
	json_object_set_new(c, "role", json_string("support"));
	p = dump(c);
	t = hs256(p);
	memset(&id, 0x55, sizeof(id));
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_EQ_STR(id.sub, "u_1");
	UNIT_CHECK(id.has_email);
	UNIT_EQ_STR(id.email, "ada@example.com");
	UNIT_EQ_INT(id.role, AUTH_ROLE_SUPPORT);
	free(t);
	free(p);

	/* Minimal valid token: role defaults to user, no email. */
	p = payload_valid();
	t = hs256(p);
	memset(&id, 0x55, sizeof(id));
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_EQ_STR(id.sub, "u_1");
	UNIT_CHECK(!id.has_email);
	UNIT_EQ_INT(id.role, AUTH_ROLE_USER);

	/* *out is cleared on failure: no stale identity to misuse. */
	memset(&id, 0x55, sizeof(id));
	UNIT_EQ_INT(verify_at(&rs_cfg, t, NOW, &id), INVALID);
	UNIT_EQ_STR(id.sub, "");
	UNIT_CHECK(!id.has_email);
	free(t);
	free(p);
}

static void
test_header_bad(void)
{
	char *p = payload_valid(), *t = hs256(p);
	char buf[AUTH_TOKEN_MAX + 64];

	EXPECT_HEADER(NULL, UNAUTH);
	EXPECT_HEADER("", UNAUTH);
	EXPECT_HEADER("   ", UNAUTH);
	EXPECT_HEADER("Basic dXNlcjpwYXNz", UNAUTH);
	EXPECT_HEADER("Bearer", UNAUTH);
	EXPECT_HEADER("Bearer ", UNAUTH);
	EXPECT_HEADER("Bearer    ", UNAUTH);
	EXPECT_HEADER("Bearer\t \t", UNAUTH);
	EXPECT_HEADER("Token abc.def.ghi", UNAUTH);
	snprintf(buf, sizeof(buf), "Bearer%s", t);      /* no separator */
	EXPECT_HEADER(buf, UNAUTH);
	snprintf(buf, sizeof(buf), "Basic %s", t);
	EXPECT_HEADER(buf, UNAUTH);

	/* Tolerated spellings of a good header. */
	snprintf(buf, sizeof(buf), "Bearer %s", t);
	EXPECT_HEADER(buf, PF_OK);
	snprintf(buf, sizeof(buf), "bearer %s", t);
	EXPECT_HEADER(buf, PF_OK);
	snprintf(buf, sizeof(buf), "BEARER    %s  ", t);
	EXPECT_HEADER(buf, PF_OK);
	snprintf(buf, sizeof(buf), "  Bearer\t%s", t);
	EXPECT_HEADER(buf, PF_OK);

	/* A token, but not one: invalid_token, not unauthenticated. */
	EXPECT_HEADER("Bearer abc def", INVALID);
	snprintf(buf, sizeof(buf), "Bearer %s extra", t);
	EXPECT_HEADER(buf, INVALID);
	free(t);
	free(p);
}

static void
test_token_size(void)
{
	json_t *c;
	char *pad, *p, *t = NULL;
	size_t n, len, best_ok = 0;
	int over_seen = 0;

	/* Grow a valid token one payload byte at a time around the limit. */
	pad = malloc(AUTH_TOKEN_MAX);
	if (pad == NULL)
		abort();
	for (n = 2750; n < 2950; n++) {
		memset(pad, 'x', n);
		pad[n] = '\0';
		c = claims_valid();
		json_object_set_new(c, "pad", json_string(pad));
		p = dump(c);
		t = hs256(p);
		len = strlen(t);
		if (len <= AUTH_TOKEN_MAX) {
			UNIT_EQ_INT(verify(&hs_cfg, t), PF_OK);
			if (len > best_ok)
				best_ok = len;
		} else {
			UNIT_EQ_INT(verify(&hs_cfg, t), INVALID);
			over_seen++;
		}
		free(t);
		free(p);
	}
	free(pad);
	UNIT_CHECK(best_ok >= AUTH_TOKEN_MAX - 2);
	UNIT_CHECK(over_seen > 0);

	/* Far over the limit, and of the right shape. */
	pad = malloc(3 * AUTH_TOKEN_MAX + 16);
	if (pad == NULL)
		abort();
	memset(pad, 'A', 3 * AUTH_TOKEN_MAX);
	pad[AUTH_TOKEN_MAX] = '.';
	pad[2 * AUTH_TOKEN_MAX] = '.';
	pad[3 * AUTH_TOKEN_MAX] = '\0';
	UNIT_EQ_INT(verify(&hs_cfg, pad), INVALID);
	free(pad);
}

static void
test_shape_bad(void)
{
	char *p = payload_valid(), *t = hs256(p), *s;
	char buf[AUTH_TOKEN_MAX + 64];
	char *dot2 = strrchr(t, '.');

	EXPECT_TOKEN(&hs_cfg, strdup("abcd.efgh"), INVALID);
	EXPECT_TOKEN(&hs_cfg, strdup("abcd"), INVALID);
	EXPECT_TOKEN(&hs_cfg, strdup("abcd.efgh.ijkl.mnop"), INVALID);
	EXPECT_TOKEN(&hs_cfg, strdup(".."), INVALID);
	EXPECT_TOKEN(&hs_cfg, strdup("abcd..ijkl"), INVALID);
	EXPECT_TOKEN(&hs_cfg, strdup("!!!!.????.****"), INVALID);
	EXPECT_TOKEN(&hs_cfg, strdup("abcd.efgh.ijkl"), INVALID);    /* not JSON */
	EXPECT_TOKEN(&hs_cfg, strdup("abcde.efgh.ijkl"), INVALID);   /* 4k+1 chars */
	EXPECT_TOKEN(&hs_cfg, strdup("abc=.efgh.ijkl"), INVALID);    /* padding */

	/* A valid token with a dot, a fourth segment or padding added. */
	snprintf(buf, sizeof(buf), "%s.", t);
	EXPECT_TOKEN(&hs_cfg, strdup(buf), INVALID);
	snprintf(buf, sizeof(buf), "%s.AAAA", t);
	EXPECT_TOKEN(&hs_cfg, strdup(buf), INVALID);
	snprintf(buf, sizeof(buf), "%s==", t);
	EXPECT_TOKEN(&hs_cfg, strdup(buf), INVALID);
	/* Standard base64 instead of base64url in the signature. */
	s = strdup(t);
	s[dot2 - t + 1] = '+';
	EXPECT_TOKEN(&hs_cfg, s, INVALID);
	/* Valid JSON segments, signature removed. */
	snprintf(buf, sizeof(buf), "%.*s.", (int)(dot2 - t), t);
	EXPECT_TOKEN(&hs_cfg, strdup(buf), INVALID);
	/* Payload not an object. */
	EXPECT_TOKEN(&hs_cfg, hs256("[1,2,3]"), INVALID);
	EXPECT_TOKEN(&hs_cfg, hs256("{}"), INVALID);
	EXPECT_TOKEN(&hs_cfg, hs256("{\"exp\":99999999999999999999999}"), INVALID);
	/* Header not an object, or not JSON. */
	EXPECT_TOKEN(&hs_cfg, token_hmac("[\"HS256\"]", p, EVP_sha256(), SECRET, strlen(SECRET)), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"HS256\"", p, EVP_sha256(), SECRET, strlen(SECRET)), INVALID);
	free(t);
	free(p);
}

static void
test_signature_bad(void)
{
	char *p = payload_valid(), *t = hs256(p), *s, *other;
	char *dot2 = strrchr(t, '.');
	size_t i = (size_t)(dot2 - t) + 5;      /* well inside the signature */
	const char *wrong = "another-secret-another-secret-0123";

	s = strdup(t);
	s[i] = s[i] == 'A' ? 'B' : 'A';
	EXPECT_TOKEN(&hs_cfg, s, INVALID);

	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p,
	    EVP_sha256(), wrong, strlen(wrong)), INVALID);

	/* The payload of another (validly signed) token spliced in. */
	other = hs256("{\"sub\":\"admin\"}");
	s = malloc(strlen(t) + strlen(other) + 1);
	if (s == NULL)
		abort();
	{
		const char *o1 = strchr(other, '.'), *o2 = strrchr(other, '.');
		const char *t1 = strchr(t, '.');
		sprintf(s, "%.*s%.*s%s", (int)(t1 - t), t, (int)(o2 - o1), o1, dot2);
	}
	EXPECT_TOKEN(&hs_cfg, s, INVALID);
	free(other);

	/* Signature truncated by one character. */
	s = strdup(t);
	s[strlen(s) - 1] = '\0';
	EXPECT_TOKEN(&hs_cfg, s, INVALID);
	free(t);
	free(p);
}

/* HS256 tokens signed by libjwt itself verify; every other character in
 * any signature position, and a non-canonical last character (same MAC
 * bits, different unused bits), does not: the comparison is libjwt's, of
 * the canonical encoding. */
static void
test_signature_libjwt_made(void)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *p = payload_valid();
	char *t = token_pem(JWT_ALG_HS256, secret, strlen(SECRET), p);
	char *sig = strrchr(t, '.') + 1;
	size_t i, sig_len = strlen(sig);
	int accepted = 0, tried = 0;
	const char *last;

	UNIT_EQ_INT(sig_len, 43);
	UNIT_EQ_INT(verify(&hs_cfg, t), PF_OK);
	for (i = 0; i < sig_len; i++) {
		char keep = sig[i];
		const char *c;

		for (c = alphabet; *c != '\0'; c++) {
			if (*c == keep)
				continue;
			sig[i] = *c;
			tried++;
			if (verify(&hs_cfg, t) != INVALID)
				accepted++;
		}
		sig[i] = keep;
	}
	UNIT_EQ_INT(tried, 43 * 63);
	UNIT_EQ_INT(accepted, 0);

	/* The last character carries 4 bits of the MAC and 2 unused bits. */
	last = strchr(alphabet, sig[sig_len - 1]);
	UNIT_CHECK(last != NULL && (last - alphabet) % 4 == 0);
	for (i = 1; i < 4 && last != NULL; i++) {
		char keep = sig[sig_len - 1];

		sig[sig_len - 1] = alphabet[(last - alphabet) + (long)i];
		UNIT_EQ_INT(verify(&hs_cfg, t), INVALID);
		sig[sig_len - 1] = keep;
	}
	UNIT_EQ_INT(verify(&hs_cfg, t), PF_OK);
	free(t);
	free(p);
}

static void
test_alg_bad(void)
{
	char *p = payload_valid();
	const char *none_heads[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
	};
	size_t i;
	jwt_t *jwt = NULL;
	char *t;

	for (i = 0; i < sizeof(none_heads) / sizeof(none_heads[0]); i++) {
		/* Unsigned, as "none" means: refused by the shape check. */
		EXPECT_TOKEN(&hs_cfg, token_raw(none_heads[i], p, ""), INVALID);
		/* With a signature segment, so libjwt sees it. */
		EXPECT_TOKEN(&hs_cfg, token_raw(none_heads[i], p, "c2lnbmF0dXJl"), INVALID);
		EXPECT_TOKEN(&hs_cfg, token_hmac(none_heads[i], p, EVP_sha256(),
		    SECRET, strlen(SECRET)), INVALID);
		EXPECT_TOKEN(&rs_cfg, token_raw(none_heads[i], p, "c2lnbmF0dXJl"), INVALID);
		EXPECT_TOKEN(&es_cfg, token_raw(none_heads[i], p, "c2lnbmF0dXJl"), INVALID);
	}
	/* libjwt 1.10 itself: with no key, alg none passes and every token
	 * "verifies" as alg none; with a key, alg none is refused. */
	t = token_raw("{\"alg\":\"none\"}", p, "");
	UNIT_EQ_INT(jwt_decode(&jwt, t, NULL, 0), 0);
	UNIT_EQ_INT(jwt_get_alg(jwt), JWT_ALG_NONE);
	jwt_free(jwt);
	jwt = NULL;
	UNIT_CHECK(jwt_decode(&jwt, t, secret, (int)strlen(SECRET)) != 0);
	UNIT_CHECK(jwt == NULL);
	free(t);
	t = hs256(p);
	UNIT_EQ_INT(jwt_decode(&jwt, t, NULL, 0), 0);
	UNIT_EQ_INT(jwt_get_alg(jwt), JWT_ALG_NONE);
	jwt_free(jwt);
	jwt = NULL;
	free(t);

	/* Other HMAC sizes signed with our own secret (libjwt accepts them). */
	t = token_hmac("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", p, EVP_sha512(), SECRET, strlen(SECRET));
	UNIT_EQ_INT(jwt_decode(&jwt, t, secret, (int)strlen(SECRET)), 0);
	UNIT_EQ_INT(jwt_get_alg(jwt), JWT_ALG_HS512);
	jwt_free(jwt);
	jwt = NULL;
	EXPECT_TOKEN(&hs_cfg, t, INVALID);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"HS384\"}", p, EVP_sha384(),
	    SECRET, strlen(SECRET)), INVALID);
	/* libjwt matches alg names case-insensitively; RFC 7515 does not. */
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"hs256\"}", p, EVP_sha256(),
	    SECRET, strlen(SECRET)), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"HS256 \"}", p, EVP_sha256(),
	    SECRET, strlen(SECRET)), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":256}", p, EVP_sha256(),
	    SECRET, strlen(SECRET)), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"typ\":\"JWT\"}", p, EVP_sha256(),
	    SECRET, strlen(SECRET)), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"XS256\"}", p, EVP_sha256(),
	    SECRET, strlen(SECRET)), INVALID);

	/* Asymmetric tokens when HS256 is configured. */
	EXPECT_TOKEN(&hs_cfg, token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_pem(JWT_ALG_ES256, ec_private, ec_private_len, p), INVALID);
	free(p);
}

static void
test_typ(void)
{
	char *p = payload_valid();

#define HS(head) token_hmac((head), p, EVP_sha256(), SECRET, strlen(SECRET))
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\"}"), PF_OK);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"), PF_OK);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":\"jwt\"}"), PF_OK);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"kid\":\"k1\"}"), PF_OK);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}"), INVALID);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":\"JWTX\"}"), INVALID);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":\"JWS\"}"), INVALID);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":123}"), INVALID);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"typ\":null}"), INVALID);
	EXPECT_TOKEN(&hs_cfg, HS("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}"), INVALID);
#undef HS
	free(p);
}

/* libjwt 1.10 decodes RS/ES signatures leniently: it accepts a signature
 * with '=' or '==' appended, with characters outside base64url ('!', '*',
 * ' ') inserted, or in standard base64. Each token string must have one
 * spelling, so the shape check refuses them all. */
static void
expect_malleated_bad(const struct auth_config *cfg, const char *t, int line)
{
	const char *sig = strrchr(t, '.') + 1;
	size_t n = strlen(t) + 8, prefix = (size_t)(sig - t), i;
	char *s = malloc(n);
	const char *inserts[] = { "*", "!!", " ", "=" };
	int failed_before = unit_failed;
	bool converted = false;

	if (s == NULL)
		abort();
	UNIT_EQ_INT(verify(cfg, t), PF_OK);
	snprintf(s, n, "%s=", t);
	UNIT_EQ_INT(verify(cfg, s), INVALID);
	snprintf(s, n, "%s==", t);
	UNIT_EQ_INT(verify(cfg, s), INVALID);
	snprintf(s, n, "%s!!", t);
	UNIT_EQ_INT(verify(cfg, s), INVALID);
	for (i = 0; i < sizeof(inserts) / sizeof(inserts[0]); i++) {
		snprintf(s, n, "%.*s%s%s", (int)(prefix + 10), t, inserts[i], t + prefix + 10);
		UNIT_EQ_INT(verify(cfg, s), INVALID);
	}
	snprintf(s, n, "%s", t);
	for (i = prefix; s[i] != '\0'; i++) {
		if (s[i] == '-' || s[i] == '_') {
			s[i] = s[i] == '-' ? '+' : '/';
			converted = true;
		}
	}
	/* a token with neither character still gets a '+' of the standard
	 * alphabet, so this check runs whatever the clock made the token */
	if (!converted)
		s[strlen(s) - 2] = '+';
	UNIT_EQ_INT(verify(cfg, s), INVALID);
	if (unit_failed != failed_before)
		fprintf(stderr, "  (from line %d)\n", line);
	free(s);
}

static void
test_rs256(void)
{
	char *p, *t;
	struct auth_identity id;
	json_t *c = claims_valid();
	jwt_t *jwt = NULL;

	json_object_set_new(c, "role", json_string("service"));
	json_object_set_new(c, "sub", json_string("svc:worker-1"));
	p = dump(c);
	t = token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p);
	memset(&id, 0, sizeof(id));
	UNIT_EQ_INT(verify_at(&rs_cfg, t, NOW, &id), PF_OK);
	UNIT_EQ_STR(id.sub, "svc:worker-1");
	UNIT_EQ_INT(id.role, AUTH_ROLE_SERVICE);
	UNIT_CHECK(!id.has_email);
	UNIT_EQ_INT(verify(&es_cfg, t), INVALID);
	UNIT_EQ_INT(verify(&hs_cfg, t), INVALID);
	expect_malleated_bad(&rs_cfg, t, __LINE__);
	free(t);

	/* Algorithm confusion: HS256 keyed with the RSA public key PEM. libjwt
	 * accepts it when handed the PEM as the key; the pin refuses it. */
	t = token_hmac("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p, EVP_sha256(),
	    rsa_public, rsa_public_len);
	UNIT_EQ_INT(jwt_decode(&jwt, t, rsa_public, (int)rsa_public_len), 0);
	UNIT_EQ_INT(jwt_get_alg(jwt), JWT_ALG_HS256);
	jwt_free(jwt);
	UNIT_EQ_INT(verify(&rs_cfg, t), INVALID);
	free(t);
	/* Same with the PEM minus its final newline. */
	EXPECT_TOKEN(&rs_cfg, token_hmac("{\"alg\":\"HS256\"}", p, EVP_sha256(),
	    rsa_public, rsa_public_len - 1), INVALID);
	/* And HS256 with our HMAC secret against the RS256 config. */
	EXPECT_TOKEN(&rs_cfg, hs256(p), INVALID);
	/* An ES256 token when RS256 is configured. */
	EXPECT_TOKEN(&rs_cfg, token_pem(JWT_ALG_ES256, ec_private, ec_private_len, p), INVALID);
	/* RS512 with the right key is still not RS256. */
	EXPECT_TOKEN(&rs_cfg, token_pem(JWT_ALG_RS512, rsa_private, rsa_private_len, p), INVALID);
	free(p);

	/* Claims are checked for RS256 too. */
	p = payload_with("aud", json_string("someone-else"));
	EXPECT_TOKEN(&rs_cfg, token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p), INVALID);
	free(p);
	p = payload_with("exp", json_integer(NOW - 3600));
	EXPECT_TOKEN(&rs_cfg, token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p), EXPIRED);
	free(p);
}

static void
test_es256(void)
{
	char *p, *t, *s;
	struct auth_identity id;
	json_t *c = claims_valid();

	json_object_set_new(c, "email", json_string("grace@example.org"));
	p = dump(c);
	t = token_pem(JWT_ALG_ES256, ec_private, ec_private_len, p);
	UNIT_EQ_INT(strlen(strrchr(t, '.') + 1), 86);   /* JOSE r||s, 64 bytes */
	memset(&id, 0, sizeof(id));
	UNIT_EQ_INT(verify_at(&es_cfg, t, NOW, &id), PF_OK);
	UNIT_EQ_STR(id.sub, "u_1");
	UNIT_CHECK(id.has_email);
	UNIT_EQ_STR(id.email, "grace@example.org");
	UNIT_EQ_INT(id.role, AUTH_ROLE_USER);
	UNIT_EQ_INT(verify(&rs_cfg, t), INVALID);
	UNIT_EQ_INT(verify(&hs_cfg, t), INVALID);
	expect_malleated_bad(&es_cfg, t, __LINE__);
	s = strdup(t);
	s[strlen(s) - 10] = s[strlen(s) - 10] == 'A' ? 'B' : 'A';
	EXPECT_TOKEN(&es_cfg, s, INVALID);
	free(t);

	EXPECT_TOKEN(&es_cfg, token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p), INVALID);
	EXPECT_TOKEN(&es_cfg, token_hmac("{\"alg\":\"HS256\"}", p, EVP_sha256(),
	    ec_public, ec_public_len), INVALID);
	free(p);
}

/* RS256 and ES256 tokens signed by libjwt: every other character in a
 * signature position is refused, including those that change only the
 * unused trailing bits of the last one (one spelling per signature). Every
 * position of the ES256 signature; of the RS256 one (each check costs an
 * RSA verification) the first and last eight and every seventeenth. */
static void
test_pubkey_signature_mutations(void)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct {
		const struct auth_config *cfg;
		jwt_alg_t alg;
		const unsigned char *key;
		size_t key_len;
		size_t sig_len;
		size_t stride;
		int positions;
	} cases[] = {
		{ &rs_cfg, JWT_ALG_RS256, rsa_private, rsa_private_len, 342, 17, 35 },  /* 256 bytes */
		{ &es_cfg, JWT_ALG_ES256, ec_private, ec_private_len, 86, 1, 86 },      /* 64 bytes */
	};
	char *p = payload_valid();
	size_t c, i;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *t = token_pem(cases[c].alg, cases[c].key, cases[c].key_len, p);
		char *sig = strrchr(t, '.') + 1;
		int tried = 0, accepted = 0;

		UNIT_EQ_INT(strlen(sig), cases[c].sig_len);
		UNIT_EQ_INT(verify(cases[c].cfg, t), PF_OK);
		for (i = 0; sig[i] != '\0'; i++) {
			char original = sig[i];
			const char *a;

			if (i >= 8 && i + 8 < cases[c].sig_len && i % cases[c].stride != 0)
				continue;
			for (a = alphabet; *a != '\0'; a++) {
				if (*a == original)
					continue;
				sig[i] = *a;
				tried++;
				accepted += verify(cases[c].cfg, t) != INVALID;
			}
			sig[i] = original;
		}
		UNIT_EQ_INT(tried, cases[c].positions * 63);
		UNIT_EQ_INT(accepted, 0);
		UNIT_EQ_INT(verify(cases[c].cfg, t), PF_OK);
		free(t);
	}
	free(p);
}

/* Only a public key of the algorithm's own type is taken: RSA for RS256,
 * EC on P-256 for ES256. */
static bool
key_refused(enum auth_pubkey_alg alg, const unsigned char *pem, size_t len)
{
	struct auth_pubkey *key = auth_pubkey_new(alg, pem, len);

	auth_pubkey_free(key);
	return key == NULL;
}

static void
test_key_types(void)
{
	static const unsigned char garbage[] = "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n";
	size_t p384_len;
	unsigned char *p384 = read_fixture("ec384_public.pem", &p384_len);
	struct auth_config cfg;
	char *p = payload_valid();

	UNIT_CHECK(!key_refused(AUTH_PUBKEY_RS256, rsa_public, rsa_public_len));
	UNIT_CHECK(!key_refused(AUTH_PUBKEY_ES256, ec_public, ec_public_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, ec_public, ec_public_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_ES256, rsa_public, rsa_public_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_ES256, p384, p384_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, p384, p384_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, rsa_private, rsa_private_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_ES256, ec_private, ec_private_len));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, rsa_public, rsa_public_len / 2));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, garbage, sizeof(garbage) - 1));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, rsa_public, 0));
	UNIT_CHECK(key_refused(AUTH_PUBKEY_RS256, NULL, 10));
	UNIT_EQ_INT(auth_pubkey_signature_check(NULL, "a.b", 3, "c", 1), 0);

	/* A configuration with the wrong type of key is refused and left as
	 * it was; used unprepared, the key is the service's fault (500), not
	 * the token's. */
	config_init(&cfg, AUTH_ALG_ES256, p384, p384_len);
	UNIT_EQ_INT(auth_config_prepare(&cfg), -1);
	UNIT_CHECK(cfg.pubkey == NULL && cfg.hs256 == NULL);
	EXPECT_TOKEN(&cfg, token_pem(JWT_ALG_ES256, ec_private, ec_private_len, p), PF_ERR_INTERNAL);
	config_init(&cfg, AUTH_ALG_RS256, ec_public, ec_public_len);
	UNIT_EQ_INT(auth_config_prepare(&cfg), -1);
	EXPECT_TOKEN(&cfg, token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p), PF_ERR_INTERNAL);
	free(p);
	free(p384);
}

static void
test_exp(void)
{
	char *p, *t;

	EXPECT_CLAIM("exp", NULL, INVALID);
	EXPECT_CLAIM("exp", json_string("9999999999"), INVALID);
	EXPECT_CLAIM("exp", json_real((double)(NOW + 3600)), INVALID);
	EXPECT_CLAIM("exp", json_real(NOW + 3600.5), INVALID);
	EXPECT_CLAIM("exp", json_true(), INVALID);
	EXPECT_CLAIM("exp", json_null(), INVALID);
	EXPECT_CLAIM("exp", json_pack("[I]", (json_int_t)(NOW + 3600)), INVALID);

	EXPECT_CLAIM("exp", json_integer(NOW - LEEWAY - 1), EXPIRED);
	EXPECT_CLAIM("exp", json_integer(NOW - 86400), EXPIRED);
	EXPECT_CLAIM("exp", json_integer(0), EXPIRED);
	EXPECT_CLAIM("exp", json_integer(-1), EXPIRED);
	EXPECT_CLAIM("exp", json_integer(INT64_MIN), EXPIRED);
	EXPECT_CLAIM("exp", json_integer(NOW - LEEWAY), PF_OK);
	EXPECT_CLAIM("exp", json_integer(NOW - 1), PF_OK);
	EXPECT_CLAIM("exp", json_integer(NOW), PF_OK);
	EXPECT_CLAIM("exp", json_integer(INT64_MAX), PF_OK);

	/* Expired is only said of an otherwise valid token. */
	{
		json_t *c = claims_valid();
		json_object_set_new(c, "exp", json_integer(NOW - 3600));
		json_object_set_new(c, "iss", json_string("https://evil.test/"));
		p = dump(c);
		EXPECT_TOKEN(&hs_cfg, hs256(p), INVALID);
		free(p);
	}
	p = payload_with("exp", json_integer(NOW - 3600));
	t = hs256(p);
	UNIT_EQ_INT(verify(&hs_cfg, t), EXPIRED);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	UNIT_EQ_INT(verify(&hs_cfg, t), INVALID);
	free(t);
	EXPECT_TOKEN(&hs_cfg, token_hmac("{\"alg\":\"HS512\"}", p, EVP_sha512(),
	    SECRET, strlen(SECRET)), INVALID);
	EXPECT_TOKEN(&hs_cfg, token_raw("{\"alg\":\"none\"}", p, "c2ln"), INVALID);
	free(p);

	/* Extreme clocks do not overflow (run under -fsanitize=undefined). */
	p = payload_exp_only(INT64_MAX);
	t = hs256(p);
	UNIT_EQ_INT(verify_at(&hs_cfg, t, INT64_MIN, NULL), PF_OK);
	UNIT_EQ_INT(verify_at(&hs_cfg, t, INT64_MAX, NULL), PF_OK);
	free(t);
	free(p);
	{
		json_t *c = claims_valid();
		json_object_set_new(c, "exp", json_integer(INT64_MIN));
		json_object_set_new(c, "nbf", json_integer(INT64_MIN));
		json_object_set_new(c, "iat", json_integer(INT64_MAX));
		p = dump(c);
		t = hs256(p);
		UNIT_EQ_INT(verify_at(&hs_cfg, t, INT64_MAX, NULL), EXPIRED);
		UNIT_EQ_INT(verify_at(&hs_cfg, t, INT64_MIN, NULL), INVALID);   /* iat */
		free(t);
		free(p);
	}
}

static void
test_nbf_iat(void)
{
	EXPECT_CLAIM("nbf", NULL, PF_OK);
	EXPECT_CLAIM("nbf", json_integer(NOW), PF_OK);
	EXPECT_CLAIM("nbf", json_integer(NOW + LEEWAY), PF_OK);
	EXPECT_CLAIM("nbf", json_integer(NOW + LEEWAY + 1), INVALID);
	EXPECT_CLAIM("nbf", json_integer(NOW + 86400), INVALID);
	EXPECT_CLAIM("nbf", json_integer(INT64_MAX), INVALID);
	EXPECT_CLAIM("nbf", json_string("0"), INVALID);
	EXPECT_CLAIM("nbf", json_real(0.0), INVALID);
	EXPECT_CLAIM("nbf", json_null(), INVALID);

	EXPECT_CLAIM("iat", NULL, PF_OK);
	EXPECT_CLAIM("iat", json_integer(NOW), PF_OK);
	EXPECT_CLAIM("iat", json_integer(NOW + LEEWAY), PF_OK);
	EXPECT_CLAIM("iat", json_integer(NOW + LEEWAY + 1), INVALID);
	EXPECT_CLAIM("iat", json_integer(NOW + 86400), INVALID);
	EXPECT_CLAIM("iat", json_string("1767225600"), INVALID);
	EXPECT_CLAIM("iat", json_real((double)NOW), INVALID);
}

static void
test_iss_aud(void)
{
	EXPECT_CLAIM("iss", NULL, INVALID);
	EXPECT_CLAIM("iss", json_string("https://evil.test/"), INVALID);
	EXPECT_CLAIM("iss", json_string("https://auth.personaforge.test"), INVALID);
	EXPECT_CLAIM("iss", json_string("HTTPS://AUTH.PERSONAFORGE.TEST/"), INVALID);
	EXPECT_CLAIM("iss", json_string(""), INVALID);
	EXPECT_CLAIM("iss", json_integer(1), INVALID);
	EXPECT_CLAIM("iss", json_pack("[s]", ISS), INVALID);

	EXPECT_CLAIM("aud", json_string(AUD), PF_OK);
	EXPECT_CLAIM("aud", json_pack("[s]", AUD), PF_OK);
	EXPECT_CLAIM("aud", json_pack("[s,s]", "other-service", AUD), PF_OK);
	EXPECT_CLAIM("aud", json_pack("[s,s]", "other-service", "third"), INVALID);
	EXPECT_CLAIM("aud", json_pack("[]"), INVALID);
	EXPECT_CLAIM("aud", json_pack("[s,i]", AUD, 7), INVALID);
	EXPECT_CLAIM("aud", json_pack("[[s]]", AUD), INVALID);
	EXPECT_CLAIM("aud", json_integer(42), INVALID);
	EXPECT_CLAIM("aud", json_null(), INVALID);
	EXPECT_CLAIM("aud", json_pack("{s:s}", "aud", AUD), INVALID);
	EXPECT_CLAIM("aud", json_string("personaforge"), INVALID);
	EXPECT_CLAIM("aud", json_string(AUD "x"), INVALID);
	EXPECT_CLAIM("aud", NULL, INVALID);
}

static void
test_sub(void)
{
	char s65[66], s64[65];
	struct auth_identity id;
	char *p, *t;

	memset(s65, 'a', 65);
	s65[65] = '\0';
	memset(s64, 'b', 64);
	s64[64] = '\0';

	EXPECT_CLAIM("sub", NULL, INVALID);
	EXPECT_CLAIM("sub", json_string(""), INVALID);
	EXPECT_CLAIM("sub", json_string(s65), INVALID);
	EXPECT_CLAIM("sub", json_string(s64), PF_OK);
	EXPECT_CLAIM("sub", json_string("a"), PF_OK);
	EXPECT_CLAIM("sub", json_string("Az09_.@:-"), PF_OK);
	EXPECT_CLAIM("sub", json_string("user 1"), INVALID);
	EXPECT_CLAIM("sub", json_string("user/1"), INVALID);
	EXPECT_CLAIM("sub", json_string("user\n"), INVALID);
	EXPECT_CLAIM("sub", json_string("us'er"), INVALID);
	EXPECT_CLAIM("sub", json_string("j\xc3\xb6rg"), INVALID);
	EXPECT_CLAIM("sub", json_integer(12345), INVALID);
	EXPECT_CLAIM("sub", json_null(), INVALID);
	EXPECT_CLAIM("sub", json_pack("[s]", "u_1"), INVALID);

	p = payload_with("sub", json_string(s64));
	t = hs256(p);
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_EQ_STR(id.sub, s64);
	free(t);
	free(p);
}

static void
test_role(void)
{
	static const struct { const char *name; enum auth_role role; } ok[] = {
		{ "user", AUTH_ROLE_USER },
		{ "support", AUTH_ROLE_SUPPORT },
		{ "service", AUTH_ROLE_SERVICE },
	};
	struct auth_identity id;
	size_t i;
	char *p, *t;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		p = payload_with("role", json_string(ok[i].name));
		t = hs256(p);
		memset(&id, 0x55, sizeof(id));
		UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
		UNIT_EQ_INT(id.role, ok[i].role);
		free(t);
		free(p);
	}
	EXPECT_CLAIM("role", NULL, PF_OK);
	EXPECT_CLAIM("role", json_string("admin"), INVALID);
	EXPECT_CLAIM("role", json_string("User"), INVALID);
	EXPECT_CLAIM("role", json_string(""), INVALID);
	EXPECT_CLAIM("role", json_string("user "), INVALID);
	EXPECT_CLAIM("role", json_integer(0), INVALID);
	EXPECT_CLAIM("role", json_integer(1), INVALID);
	EXPECT_CLAIM("role", json_null(), INVALID);
	EXPECT_CLAIM("role", json_pack("[s]", "user"), INVALID);
}

static void
test_email(void)
{
	struct auth_identity id;
	char *p, *t;
	char e254[AUTH_EMAIL_MAX + 1], e255[AUTH_EMAIL_MAX + 2];

	/* absent */
	p = payload_valid();
	t = hs256(p);
	memset(&id, 0x55, sizeof(id));
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_CHECK(!id.has_email);
	free(t);
	free(p);
	/* null: as absent */
	p = payload_with("email", json_null());
	t = hs256(p);
	memset(&id, 0x55, sizeof(id));
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_CHECK(!id.has_email);
	free(t);
	free(p);
	/* a string, UTF-8 included */
	p = payload_with("email", json_string("j\xc3\xb6rg@example.com"));
	t = hs256(p);
	memset(&id, 0x55, sizeof(id));
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_CHECK(id.has_email);
	UNIT_EQ_STR(id.email, "j\xc3\xb6rg@example.com");
	free(t);
	free(p);

	memset(e254, 'a', sizeof(e254) - 1);
	e254[sizeof(e254) - 1] = '\0';
	e254[100] = '@';
	memcpy(e255, e254, sizeof(e254) - 1);
	e255[sizeof(e255) - 2] = 'z';
	e255[sizeof(e255) - 1] = '\0';
	p = payload_with("email", json_string(e254));
	t = hs256(p);
	UNIT_EQ_INT(verify_at(&hs_cfg, t, NOW, &id), PF_OK);
	UNIT_EQ_STR(id.email, e254);
	free(t);
	free(p);
	EXPECT_CLAIM("email", json_string(e255), INVALID);

	EXPECT_CLAIM("email", json_integer(5), INVALID);
	EXPECT_CLAIM("email", json_true(), INVALID);
	EXPECT_CLAIM("email", json_pack("[s]", "a@b.c"), INVALID);
	EXPECT_CLAIM("email", json_string(""), INVALID);
	EXPECT_CLAIM("email", json_string("no-at-sign.example.com"), INVALID);
	EXPECT_CLAIM("email", json_string("a@b.c\r\nBcc: x@y.z"), INVALID);
	EXPECT_CLAIM("email", json_string("a\tb@c.d"), INVALID);
	EXPECT_CLAIM("email", json_string("a\x7f@c.d"), INVALID);
	EXPECT_CLAIM("email", json_string("a\xc2\x85@c.d"), INVALID);       /* U+0085 */
}

static void
test_config(void)
{
	struct auth_config cfg;
	struct auth_identity id;
	char *p = payload_valid(), *t = hs256(p);
	size_t n = strlen(t) + 8;
	char *header = malloc(n);

	if (header == NULL)
		abort();
	snprintf(header, n, "Bearer %s", t);

	cfg = hs_cfg;
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), PF_OK);
	UNIT_EQ_INT(auth_verify_bearer(NULL, header, NOW, &id), PF_ERR_INTERNAL);
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, NULL), PF_ERR_INTERNAL);
	/* No key: libjwt would verify nothing. Fail closed. */
	cfg.key = NULL;
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), PF_ERR_INTERNAL);
	cfg = hs_cfg;
	cfg.key_len = 0;
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), PF_ERR_INTERNAL);
	cfg = hs_cfg;
	cfg.issuer[0] = '\0';
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), PF_ERR_INTERNAL);
	cfg = hs_cfg;
	cfg.audience[0] = '\0';
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), PF_ERR_INTERNAL);
	cfg = hs_cfg;
	cfg.alg = (enum auth_alg)7;
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), PF_ERR_INTERNAL);

	/* A shorter secret: the signature no longer matches. (A bound secret
	 * is the config's; this config is changed without rebinding.) */
	cfg = hs_cfg;
	cfg.hs256 = NULL;
	cfg.key_len--;
	UNIT_EQ_INT(auth_verify_bearer(&cfg, header, NOW, &id), INVALID);

	/* Leeway: 0 is strict, negative counts as 0, a large one is honoured. */
	free(t);
	free(p);
	p = payload_exp_only(NOW - 1);
	t = hs256(p);
	cfg = hs_cfg;
	cfg.leeway_seconds = 0;
	UNIT_EQ_INT(verify_at(&cfg, t, NOW, NULL), EXPIRED);
	UNIT_EQ_INT(verify_at(&cfg, t, NOW - 1, NULL), PF_OK);
	cfg.leeway_seconds = -100;
	UNIT_EQ_INT(verify_at(&cfg, t, NOW, NULL), EXPIRED);
	cfg.leeway_seconds = INT_MAX;
	UNIT_EQ_INT(verify_at(&cfg, t, NOW, NULL), PF_OK);
	UNIT_EQ_INT(verify_at(&cfg, t, INT64_MAX, NULL), EXPIRED);
	UNIT_EQ_INT(verify_at(&cfg, t, INT64_MIN, NULL), PF_OK);
	free(t);
	free(p);
	free(header);
}

/* One prepared key per algorithm, verified from several threads at once
 * (as the app's threads do): each thread's good tokens pass and forged ones
 * fail. */
struct concurrent_verifier {
	const struct auth_config *cfg;
	const char *good, *forged;
	int rounds, passed, refused;
};

static void *
concurrent_verify(void *arg)
{
	struct concurrent_verifier *v = arg;
	int i;

	for (i = 0; i < v->rounds; i++) {
		if (verify(v->cfg, v->good) == PF_OK)
			v->passed++;
		if (verify(v->cfg, v->forged) == INVALID)
			v->refused++;
	}
	return NULL;
}

static void
test_concurrent_verification(void)
{
	enum { THREADS = 6 };
	struct concurrent_verifier v[THREADS];
	pthread_t tid[THREADS];
	char *p = payload_valid();
	char *good[3], *forged[3];
	const struct auth_config *cfgs[3] = { &hs_cfg, &rs_cfg, &es_cfg };
	int i;

	good[0] = hs256(p);
	good[1] = token_pem(JWT_ALG_RS256, rsa_private, rsa_private_len, p);
	good[2] = token_pem(JWT_ALG_ES256, ec_private, ec_private_len, p);
	for (i = 0; i < 3; i++) {
		size_t n = strlen(good[i]);

		if ((forged[i] = strdup(good[i])) == NULL)
			abort();
		forged[i][n - 5] = forged[i][n - 5] == 'A' ? 'B' : 'A';
	}
	for (i = 0; i < THREADS; i++) {
		/* fewer rounds for the public keys: each is an RSA or ECDSA check */
		v[i] = (struct concurrent_verifier){ cfgs[i % 3], good[i % 3], forged[i % 3],
		    i % 3 == 0 ? 2000 : 200, 0, 0 };
		UNIT_EQ_INT(pthread_create(&tid[i], NULL, concurrent_verify, &v[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		UNIT_EQ_INT(v[i].passed, v[i].rounds);
		UNIT_EQ_INT(v[i].refused, v[i].rounds);
	}
	for (i = 0; i < 3; i++) {
		free(forged[i]);
		free(good[i]);
	}
	free(p);
}

/* tmpl with each '$' replaced by value, into out[0..n). */
static void
fill(char *out, size_t n, const char *tmpl, const char *value)
{
	size_t len = 0, v = strlen(value);

	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl == '$') {
			if (len + v >= n)
				abort();
			memcpy(out + len, value, v);
			len += v;
		} else {
			if (len + 1 >= n)
				abort();
			out[len++] = *tmpl;
		}
	}
	out[len] = '\0';
}

/* Duplicate keys in the header or the payload. jansson keeps the last of
 * two equal keys by default, so {"role":"user",...,"role":"support"} read
 * as support and a second "sub" as another user: whoever checked the
 * first value (a gateway, a log, another parser keeping the first) saw
 * someone else than the service acted for. Every token with a key twice,
 * at any depth and however its name is escaped, is refused, for every
 * algorithm. Each is validly signed, and the same token without the
 * repeated key verifies, so only the duplicate is refused. */
static void
test_duplicate_keys(void)
{
	static const char *const payloads[] = {
		"{$,\"role\":\"user\",\"role\":\"support\"}",
		"{\"role\":\"service\",$,\"role\":\"user\"}",
		"{$,\"role\":\"user\",\"r\\u006fle\":\"support\"}",     /* "role" escaped */
		"{$,\"sub\":\"bob\"}",               /* the valid claims have "sub":"u_1" */
		"{\"sub\":\"alice\",$}",
		"{\"exp\":1767222000,$}",             /* expired, then the valid exp */
		"{$,\"exp\":1767222000}",             /* the valid exp, then expired */
		"{\"iss\":\"https://evil.example/\",$}",
		"{\"aud\":\"someone-else\",$}",
		"{\"nbf\":1767229200,$}",             /* not before an hour from NOW */
		"{$,\"email\":\"a@example.com\",\"email\":\"b@example.com\"}",
		"{$,\"x\":1,\"x\":1}",                /* any claim, even with the same value */
		"{$,\"ext\":{\"a\":1,\"a\":2}}",      /* nested */
		"{$,\"ext\":[{\"a\":1,\"a\":1}]}",    /* inside an array */
	};
	static const char *const heads[] = {
		"{\"alg\":\"$\",\"alg\":\"$\"}",
		"{\"alg\":\"none\",\"alg\":\"$\"}",
		"{\"alg\":\"$\",\"typ\":\"JWT\",\"typ\":\"JWT\"}",
		"{\"typ\":\"JOSE\",\"alg\":\"$\",\"typ\":\"JWT\"}",
		"{\"alg\":\"$\",\"kid\":\"k1\",\"kid\":\"k2\"}",
		"{\"a\\u006cg\":\"none\",\"alg\":\"$\"}",           /* "alg" escaped */
	};
	const struct {
		const struct auth_config *cfg;
		const char *alg;
		const unsigned char *key;       /* NULL: HS256 with SECRET */
		size_t key_len;
	} algs[] = {
		{ &hs_cfg, "HS256", NULL, 0 },
		{ &rs_cfg, "RS256", rsa_private, rsa_private_len },
		{ &es_cfg, "ES256", ec_private, ec_private_len },
	};
	char *valid = payload_valid();
	char inner[1024], head[256], good_head[64], payload[2048];
	size_t a, i;
	char *t;

	/* the valid claims without their braces, to place keys around them */
	snprintf(inner, sizeof(inner), "%.*s", (int)strlen(valid) - 2, valid + 1);
	for (a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
#define SIGN(h, pl) (algs[a].key == NULL ? \
	token_hmac((h), (pl), EVP_sha256(), SECRET, strlen(SECRET)) : \
	token_pem_raw((h), (pl), algs[a].key, algs[a].key_len))
#define EXPECT_SIGNED(h, pl, want) do { \
	int failed_ = unit_failed; \
	t = SIGN((h), (pl)); \
	UNIT_EQ_INT(verify(algs[a].cfg, t), (want)); \
	if (unit_failed != failed_) \
		fprintf(stderr, "  (%s, header %s, payload %s)\n", algs[a].alg, (h), (pl)); \
	free(t); \
} while (0)
		fill(good_head, sizeof(good_head), "{\"alg\":\"$\",\"typ\":\"JWT\"}", algs[a].alg);
		/* the token made here verifies: what is refused below is the
		 * duplicate, not the signing */
		EXPECT_SIGNED(good_head, valid, PF_OK);
		fill(payload, sizeof(payload), "{$,\"role\":\"support\"}", inner);
		EXPECT_SIGNED(good_head, payload, PF_OK);
		for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
			fill(payload, sizeof(payload), payloads[i], inner);
			EXPECT_SIGNED(good_head, payload, INVALID);
		}
		for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
			fill(head, sizeof(head), heads[i], algs[a].alg);
			EXPECT_SIGNED(head, valid, INVALID);
		}
#undef EXPECT_SIGNED
#undef SIGN
	}
	free(valid);
}

static void
run_cases(void)
{
	test_valid_hs256();
	test_header_bad();
	test_token_size();
	test_shape_bad();
	test_signature_bad();
	test_signature_libjwt_made();
	test_alg_bad();
	test_typ();
	test_rs256();
	test_es256();
	test_pubkey_signature_mutations();
	test_key_types();
	test_exp();
	test_nbf_iat();
	test_iss_aud();
	test_sub();
	test_role();
	test_email();
	test_config();
	test_duplicate_keys();
	test_concurrent_verification();
}

/* The one user-id rule (auth_subject.c): what a token's sub, the
 * provisioning webhook's user_id and pf-billing-cycle --user accept. */
static void
test_subject_rule(void)
{
	char s64[65], s65[66];

	memset(s64, 'a', 64);
	s64[64] = '\0';
	memset(s65, 'a', 65);
	s65[65] = '\0';
	UNIT_CHECK(auth_subject_valid("user_1.x@y:z-Z9", 15));
	UNIT_CHECK(auth_subject_valid(s64, 64));
	UNIT_CHECK(!auth_subject_valid(s65, 65));
	UNIT_CHECK(!auth_subject_valid("", 0));
	UNIT_CHECK(!auth_subject_valid("a\0b", 3));
	UNIT_CHECK(!auth_subject_valid("a b", 3));
	UNIT_CHECK(!auth_subject_valid("a/b", 3));
	UNIT_CHECK(!auth_subject_valid("j\xc3\xb6rg", 5));
	/* len is the bound, not the NUL */
	UNIT_CHECK(auth_subject_valid("ab/", 2));
}

int
main(void)
{
	rsa_private = read_fixture("rsa_private.pem", &rsa_private_len);
	rsa_public = read_fixture("rsa_public.pem", &rsa_public_len);
	ec_private = read_fixture("ec_private.pem", &ec_private_len);
	ec_public = read_fixture("ec_public.pem", &ec_public_len);
	config_init(&hs_cfg, AUTH_ALG_HS256, secret, strlen(SECRET));
	config_init(&rs_cfg, AUTH_ALG_RS256, rsa_public, rsa_public_len);
	config_init(&es_cfg, AUTH_ALG_ES256, ec_public, ec_public_len);

	test_names();
	/* Everything twice: with the key made ready at each call, then once
	 * (as the app's config does: the HS256 secret bound, the PEM parsed). */
	run_cases();
	UNIT_EQ_INT(auth_config_prepare(&hs_cfg), 0);
	UNIT_CHECK(hs_cfg.hs256 != NULL && hs_cfg.pubkey == NULL);
	UNIT_EQ_INT(auth_config_prepare(&hs_cfg), -1);  /* already bound */
	UNIT_EQ_INT(auth_config_prepare(&rs_cfg), 0);
	UNIT_CHECK(rs_cfg.pubkey != NULL && rs_cfg.hs256 == NULL);
	UNIT_EQ_INT(auth_config_prepare(&es_cfg), 0);
	UNIT_CHECK(es_cfg.pubkey != NULL && es_cfg.hs256 == NULL);
	UNIT_EQ_INT(auth_config_prepare(&es_cfg), -1);  /* already parsed */
	run_cases();
	auth_config_release(&hs_cfg);
	auth_config_release(&rs_cfg);
	auth_config_release(&es_cfg);
	UNIT_CHECK(hs_cfg.hs256 == NULL && rs_cfg.pubkey == NULL && es_cfg.pubkey == NULL);
	auth_config_release(&hs_cfg);                   /* twice is harmless */

	free(rsa_private);
	free(rsa_public);
	free(ec_private);
	free(ec_public);
	test_subject_rule();
	return UNIT_REPORT("test_auth_jwt");
}
