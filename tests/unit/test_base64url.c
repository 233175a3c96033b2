/* test_base64url.c: the JWT segment codec against RFC 4648's vectors (in
 * the URL alphabet), OpenSSL's encoder for every length up to 200 bytes,
 * and its refusals. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64url.h"
#include "unit.h"

/* OpenSSL's padded standard base64, turned into unpadded base64url. */
static void
reference_encode(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n), i, j = 0;

	for (i = 0; i < len && out[i] != '='; i++)
		out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[j] = '\0';
}

static void
test_rfc4648_vectors(void)
{
	static const struct { const char *plain, *encoded; } vectors[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	char enc[16];
	unsigned char dec[16];
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t n = strlen(vectors[i].plain);

		UNIT_EQ_INT(base64url_encode((const unsigned char *)vectors[i].plain, n,
		    enc, sizeof(enc)), (long)strlen(vectors[i].encoded));
		UNIT_EQ_STR(enc, vectors[i].encoded);
		UNIT_EQ_INT(base64url_decode(vectors[i].encoded, strlen(vectors[i].encoded),
		    dec, sizeof(dec)), (long)n);
		UNIT_CHECK(memcmp(dec, vectors[i].plain, n) == 0);
	}
	/* The two characters that differ from standard base64. */
	UNIT_EQ_INT(base64url_encode((const unsigned char *)"\xfb\xff", 2, enc, sizeof(enc)), 3);
	UNIT_EQ_STR(enc, "-_8");
}

static void
test_against_openssl(void)
{
	unsigned char in[200], dec[200];
	char ours[280], ref[280];
	size_t n, i;
	int mismatches = 0;

	srand(4648);
	for (n = 0; n <= sizeof(in); n++) {
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		reference_encode(in, n, ref);
		if (base64url_encode(in, n, ours, sizeof(ours)) != (long)strlen(ref) ||
		    strcmp(ours, ref) != 0 ||
		    base64url_decode(ours, strlen(ours), dec, sizeof(dec)) != (long)n ||
		    memcmp(dec, in, n) != 0)
			mismatches++;
	}
	UNIT_EQ_INT(mismatches, 0);
}

static void
test_refusals(void)
{
	unsigned char dec[8];
	char enc[16];

	UNIT_EQ_INT(base64url_decode("Zm9v=", 5, dec, sizeof(dec)), -1);    /* padding */
	UNIT_EQ_INT(base64url_decode("Zg==", 4, dec, sizeof(dec)), -1);
	UNIT_EQ_INT(base64url_decode("Zm+v", 4, dec, sizeof(dec)), -1);     /* standard alphabet */
	UNIT_EQ_INT(base64url_decode("Zm/v", 4, dec, sizeof(dec)), -1);
	UNIT_EQ_INT(base64url_decode("Zm9 ", 4, dec, sizeof(dec)), -1);
	UNIT_EQ_INT(base64url_decode("Zm\0v", 4, dec, sizeof(dec)), -1);
	UNIT_EQ_INT(base64url_decode("Z", 1, dec, sizeof(dec)), -1);        /* 4k + 1 */
	UNIT_EQ_INT(base64url_decode("Zm9vY", 5, dec, sizeof(dec)), -1);
	/* Exactly the room needed, and one byte less. */
	UNIT_EQ_INT(base64url_decode("Zm9vYmFy", 8, dec, 6), 6);
	UNIT_EQ_INT(base64url_decode("Zm9vYmFy", 8, dec, 5), -1);
	UNIT_EQ_INT(base64url_decode("Zm9vYmE", 7, dec, 5), 5);
	UNIT_EQ_INT(base64url_decode("Zm9vYmE", 7, dec, 4), -1);
	/* The alphabet, and its edges. */
	UNIT_CHECK(base64url_is_char('A') && base64url_is_char('z') && base64url_is_char('0') &&
	    base64url_is_char('9') && base64url_is_char('-') && base64url_is_char('_'));
	UNIT_CHECK(!base64url_is_char('+') && !base64url_is_char('/') && !base64url_is_char('=') &&
	    !base64url_is_char('@') && !base64url_is_char('[') && !base64url_is_char('`') &&
	    !base64url_is_char('{') && !base64url_is_char('\0') && !base64url_is_char((char)0xc3));
	/* Unused trailing bits are ignored, as libjwt's decoder ignores them. */
	UNIT_EQ_INT(base64url_decode("Zh", 2, dec, sizeof(dec)), 1);
	UNIT_EQ_INT(dec[0], 'f');
	/* The encoder needs room for the NUL. */
	UNIT_EQ_INT(base64url_encode((const unsigned char *)"foobar", 6, enc, 8), -1);
	UNIT_EQ_INT(base64url_encode((const unsigned char *)"foobar", 6, enc, 9), 8);
	UNIT_EQ_INT(base64url_encode((const unsigned char *)"", 0, enc, 0), -1);
}

int
main(void)
{
	test_rfc4648_vectors();
	test_against_openssl();
	test_refusals();
	return UNIT_REPORT("test_base64url");
}
