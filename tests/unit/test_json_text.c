/* test_json_text.c: json_text_compact against json_dumps(JSON_COMPACT |
 * JSON_ENCODE_ANY), which it replaces: every scalar form, every escape,
 * every string of one and two bytes, the UTF-8 boundaries of three- and
 * four-byte sequences, random trees, and the refusals (invalid UTF-8,
 * depth). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "unit.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static int mismatches_shown;

/* Both NULL, or the same text. Takes the value's reference. */
static int
same_as_jansson(json_t *value)
{
	char *want = json_dumps(value, DUMP_FLAGS);
	char *got = json_text_compact(value);
	int same = (want == NULL && got == NULL) ||
	    (want != NULL && got != NULL && strcmp(want, got) == 0);

	if (!same && mismatches_shown++ < 5)
		fprintf(stderr, "  json_text \"%s\", json_dumps \"%s\"\n",
		    got ? got : "(null)", want ? want : "(null)");
	free(want);
	free(got);
	json_decref(value);
	return same;
}

/* The string of n raw bytes, unchecked, so invalid UTF-8 reaches the printer. */
static json_t *
raw_string(const unsigned char *bytes, size_t n)
{
	return json_stringn_nocheck((const char *)bytes, n);
}

/* json_text_compact refuses it (and json_dumps too). Takes the reference. */
static int
refused(json_t *value)
{
	char *got = json_text_compact(value), *want = json_dumps(value, DUMP_FLAGS);
	int both = got == NULL && want == NULL;

	free(got);
	free(want);
	json_decref(value);
	return both;
}

static void
test_scalars(void)
{
	static const double reals[] = {0.0, -0.0, 1.0, 0.1, -2.5, 1e300, 1e-300, 123456789.125};
	static const json_int_t integers[] = {0, 1, -1, 9, 10, -10, 1000000, LLONG_MAX, LLONG_MIN,
	    LLONG_MIN + 1};
	size_t i;

	UNIT_CHECK(same_as_jansson(json_true()));
	UNIT_CHECK(same_as_jansson(json_false()));
	UNIT_CHECK(same_as_jansson(json_null()));
	for (i = 0; i < sizeof(integers) / sizeof(integers[0]); i++)
		UNIT_CHECK(same_as_jansson(json_integer(integers[i])));
	for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
		UNIT_CHECK(same_as_jansson(json_real(reals[i])));
	UNIT_CHECK(same_as_jansson(json_string("")));
	UNIT_CHECK(same_as_jansson(json_string("plain / text with \x7f and spaces")));
	UNIT_CHECK(same_as_jansson(json_string("quote \" backslash \\ slash /")));
	UNIT_CHECK(same_as_jansson(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
	UNIT_CHECK(same_as_jansson(raw_string((const unsigned char *)"nul\0inside", 10)));
	UNIT_CHECK(json_text_compact(NULL) == NULL);
}

static void
test_containers(void)
{
	json_t *obj = json_object(), *arr = json_array();
	char *text;

	UNIT_CHECK(same_as_jansson(json_object()));
	UNIT_CHECK(same_as_jansson(json_array()));
	json_object_set_new(obj, "b", json_integer(2));
	json_object_set_new(obj, "a", json_string("x"));
	json_object_set_new(obj, "esc\"aped\n", json_null());
	json_object_setn_new(obj, "nul\0key", 7, json_true());
	json_object_set_new(obj, "nested", json_pack("{s:[i,s,{}],s:{s:[]}}", "list", 1, "two", "o", "e"));
	json_array_append_new(arr, json_incref(obj));
	json_array_append_new(arr, json_array());
	json_array_append_new(arr, json_real(0.5));
	/* insertion order, as jansson keeps it */
	text = json_text_compact(obj);
	UNIT_CHECK(text != NULL && strncmp(text, "{\"b\":2,\"a\":\"x\",", 15) == 0);
	free(text);
	UNIT_CHECK(same_as_jansson(obj));
	UNIT_CHECK(same_as_jansson(arr));
}

/* Every string of one and of two bytes: all escapes, every lead byte, every
 * two-byte sequence, valid or not. */
static void
test_short_strings(void)
{
	unsigned char s[2];
	int a, b, bad = 0;

	for (a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		bad += !same_as_jansson(raw_string(s, 1));
		for (b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			bad += !same_as_jansson(raw_string(s, 2));
		}
	}
	UNIT_EQ_INT(bad, 0);
}

/* Three- and four-byte sequences around every boundary: overlong forms,
 * surrogates, the last code point, and continuation bytes just outside
 * 0x80..0xbf. */
static void
test_long_sequences(void)
{
	static const unsigned char continuation[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90,
	    0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xff};
	const size_t nc = sizeof(continuation);
	unsigned char s[5];
	size_t i, j, k;
	int lead, bad = 0, valid = 0;

	for (lead = 0xe0; lead <= 0xff; lead++)
		for (i = 0; i < nc; i++)
			for (j = 0; j < nc; j++) {
				s[0] = (unsigned char)lead;
				s[1] = continuation[i];
				s[2] = continuation[j];
				s[3] = 'z';
				bad += !same_as_jansson(raw_string(s, 3));
				bad += !same_as_jansson(raw_string(s, 4));
				for (k = 0; k < nc; k++) {
					char *text;
					json_t *v;

					s[3] = continuation[k];
					s[4] = '"';
					v = raw_string(s, 5);
					text = json_text_compact(v);
					valid += text != NULL;
					free(text);
					bad += !same_as_jansson(v);
				}
			}
	UNIT_EQ_INT(bad, 0);
	UNIT_CHECK(valid > 0);  /* the loop met valid sequences, not only refusals */
	/* the named refusals */
	UNIT_CHECK(refused(json_stringn_nocheck("\xed\xa0\x80", 3)));
	UNIT_CHECK(refused(json_stringn_nocheck("\xf4\x90\x80\x80", 4)));
	UNIT_CHECK(refused(json_stringn_nocheck("\xc0\x80", 2)));
	UNIT_CHECK(refused(json_stringn_nocheck("\xe2\x82", 2)));
}

static json_t *
random_value(unsigned *seed, int depth)
{
	static const char *const pieces[] = {"a", "\"", "\\", "\n", "\x01", "\x1f", "/", " ",
	    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "plan", "\x7f", "\t"};
	const size_t np = sizeof(pieces) / sizeof(pieces[0]);
	int kind = (int)(rand_r(seed) % (depth >= 5 ? 5 : 7));
	char text[96];
	int i, n;

	if (kind <= 1) {
		text[0] = '\0';
		n = (int)(rand_r(seed) % 12);
		for (i = 0; i < n; i++)
			strcat(text, pieces[rand_r(seed) % np]);
		return json_string(text);
	}
	if (kind == 2)
		return json_integer((json_int_t)rand_r(seed) - RAND_MAX / 2);
	if (kind == 3)
		return rand_r(seed) % 2 ? json_true() : json_null();
	if (kind == 4)
		return json_false();
	if (kind == 5) {
		json_t *arr = json_array();

		n = (int)(rand_r(seed) % 5);
		for (i = 0; i < n; i++)
			json_array_append_new(arr, random_value(seed, depth + 1));
		return arr;
	} else {
		json_t *obj = json_object();

		n = (int)(rand_r(seed) % 5);
		for (i = 0; i < n; i++) {
			json_t *key = random_value(seed, 99);  /* a leaf: string, number or literal */
			snprintf(text, sizeof(text), "%s%d", json_is_string(key) ? json_string_value(key) : "k", i);
			json_decref(key);
			json_object_set_new(obj, text, random_value(seed, depth + 1));
		}
		return obj;
	}
}

static void
test_random_trees(void)
{
	unsigned seed = 20261126;
	int i, bad = 0;

	for (i = 0; i < 5000; i++)
		bad += !same_as_jansson(random_value(&seed, 0));
	UNIT_EQ_INT(bad, 0);
}

static void
test_depth(void)
{
	json_t *at_limit = json_array(), *over;
	char *text;
	int i;

	for (i = 1; i < JSON_TEXT_DEPTH_MAX; i++)
		at_limit = json_pack("[o]", at_limit);
	text = json_text_compact(at_limit);
	UNIT_CHECK(text != NULL && strlen(text) == 2 * JSON_TEXT_DEPTH_MAX);
	free(text);
	over = json_pack("[O]", at_limit);
	text = json_text_compact(over);
	UNIT_CHECK(text == NULL);
	free(text);
	UNIT_CHECK(same_as_jansson(at_limit));
	json_decref(over);
}

int
main(void)
{
	test_scalars();
	test_containers();
	test_short_strings();
	test_long_sequences();
	test_random_trees();
	test_depth();
	return UNIT_REPORT("test_json_text");
}
