/* fuzz_jwt.c: auth_verify_bearer on arbitrary Authorization header values.
 *
 * Input: one mode byte, then the header value (up to its first NUL, as a
 * FastCGI parameter would be). mode % 3 picks the configuration, its key
 * made ready once (auth_config_prepare) as the app's configuration does:
 *   0  HS256 with a fixed 39-byte secret
 *   1  RS256 with tests/unit/fixtures/rsa_public.pem
 *   2  ES256 with tests/unit/fixtures/ec_public.pem
 * The fixture directory is FIXTURE_DIR (set by run.sh), or PF_FUZZ_FIXTURES
 * at run time; without the keys, modes 1 and 2 fall back to HS256.
 * The clock is fixed, so the seed tokens stay valid (or expired) forever.
 * PF_FUZZ_VERBOSE=1 prints each input's result, to check what seeds reach.
 *
 * Invariants: the result is one of OK, unauthenticated, invalid, expired
 * (never internal: the configuration is usable); a refused token leaves the
 * identity zeroed; an accepted one has a well-formed sub, a listed role and
 * an email with an '@'; no accepted token's header names an alg other
 * than the configured one; and no accepted token holds a key twice in its
 * header or payload (the *-dup-* seeds are validly signed tokens that do). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth_jwt.h"
#include "fuzz.h"

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/unit/fixtures"
#endif

/* The same values as tests/unit/test_auth_jwt.c, so tokens made for one
 * serve the other. */
#define NOW ((pf_time)1767225600)       /* 2026-01-01T00:00:00Z */
#define ISS "https://auth.personaforge.test/"
#define AUD "personaforge-billing"
#define SECRET "test-only-hs256-secret-0123456789abcdef"

static unsigned char secret[] = SECRET;
static struct auth_config configs[3];
static bool verbose;

/* New buffer with the file's bytes, or NULL. */
static unsigned char *
read_key(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	unsigned char *buf = NULL;
	long n;
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return NULL;
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
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
	cfg->leeway_seconds = 30;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("PF_FUZZ_FIXTURES");
	unsigned char *key;
	size_t len = 0;
	int i;

	(void)argc;
	(void)argv;
	verbose = getenv("PF_FUZZ_VERBOSE") != NULL;
	if (dir == NULL)
		dir = FIXTURE_DIR;
	config_init(&configs[0], AUTH_ALG_HS256, secret, sizeof(secret) - 1);
	configs[1] = configs[0];
	configs[2] = configs[0];
	if ((key = read_key(dir, "rsa_public.pem", &len)) != NULL)
		config_init(&configs[1], AUTH_ALG_RS256, key, len);
	else
		fprintf(stderr, "fuzz_jwt: no %s/rsa_public.pem: mode 1 uses HS256\n", dir);
	if ((key = read_key(dir, "ec_public.pem", &len)) != NULL)
		config_init(&configs[2], AUTH_ALG_ES256, key, len);
	else
		fprintf(stderr, "fuzz_jwt: no %s/ec_public.pem: mode 2 uses HS256\n", dir);
	for (i = 0; i < 3; i++) {
		if (auth_config_prepare(&configs[i]) != 0) {
			fprintf(stderr, "fuzz_jwt: configuration %d: unusable key\n", i);
			return 1;
		}
	}
	return 0;
}

static bool
sub_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > AUTH_SUB_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@:-", *s))
			return false;
	return true;
}

/* Segment which (0 the JOSE header, 1 the payload) of the token in header,
 * decoded here independently of auth_jwt.c and parsed as JSON with flags.
 * New reference or NULL. */
static json_t *
token_segment_json(const char *header, int which, size_t flags)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = header, *end;
	unsigned char out[AUTH_TOKEN_MAX];
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0, i;

	while (*p == ' ' || *p == '\t')
		p++;
	p += 6;                 /* "Bearer", in some case: auth_verify_bearer accepted it */
	while (*p == ' ' || *p == '\t')
		p++;
	for (i = 0; i < which; i++) {
		if ((p = strchr(p, '.')) == NULL)
			return NULL;
		p++;
	}
	end = strchr(p, '.');
	if (end == NULL)
		return NULL;
	for (; p < end; p++) {
		const char *c = strchr(alphabet, *p);
		if (c == NULL || *p == '\0')
			return NULL;
		acc = (acc << 6) | (uint32_t)(c - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == sizeof(out))
				return NULL;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return json_loadb((const char *)out, n, flags, NULL);
}

static bool
all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct auth_config *cfg;
	struct auth_identity id;
	enum pf_error err;
	char *header;

	if (size < 1)
		return -1;
	if (size > 2 * AUTH_TOKEN_MAX)
		return -1;      /* nginx caps header size; longer is refused by length anyway */
	cfg = &configs[data[0] % 3];
	header = fuzz_strndup(data + 1, size - 1);

	memset(&id, 0xa5, sizeof(id));
	err = auth_verify_bearer(cfg, header, NOW, &id);
	if (verbose)
		fprintf(stderr, "fuzz_jwt: mode %d: %s\n", data[0] % 3,
		    err == PF_OK ? "ok" : err == PF_ERR_UNAUTHENTICATED ? "unauthenticated" :
		    err == PF_ERR_INVALID_TOKEN ? "invalid_token" :
		    err == PF_ERR_TOKEN_EXPIRED ? "token_expired" : "other");
	FUZZ_ASSERT(err == PF_OK || err == PF_ERR_UNAUTHENTICATED ||
	    err == PF_ERR_INVALID_TOKEN || err == PF_ERR_TOKEN_EXPIRED);
	if (err != PF_OK) {
		FUZZ_ASSERT(all_zero(&id, sizeof(id)));
	} else {
		FUZZ_ASSERT(sub_ok(id.sub));
		FUZZ_ASSERT((unsigned)id.role < AUTH_ROLE__MAX);
		FUZZ_ASSERT(auth_role_name(id.role) != NULL);
		/* both segments parse with duplicate keys refused: jansson
		 * keeps the last of two, so a token with a key twice could
		 * mean one thing here and another to whoever read the first */
		json_t *head = token_segment_json(header, 0, JSON_REJECT_DUPLICATES);
		json_t *claims = token_segment_json(header, 1, JSON_REJECT_DUPLICATES);
		const json_t *alg = json_object_get(head, "alg");
		FUZZ_ASSERT(head != NULL && claims != NULL);
		FUZZ_ASSERT(json_is_string(alg));
		FUZZ_ASSERT(strcmp(json_string_value(alg), cfg->alg == AUTH_ALG_HS256 ? "HS256" :
		    cfg->alg == AUTH_ALG_RS256 ? "RS256" : "ES256") == 0);
		json_decref(claims);
		json_decref(head);
		if (id.has_email) {
			FUZZ_ASSERT(strlen(id.email) <= AUTH_EMAIL_MAX);
			FUZZ_ASSERT(strchr(id.email, '@') != NULL);
		} else {
			FUZZ_ASSERT(id.email[0] == '\0');
		}
	}
	free(header);
	return 0;
}
