/* json_text.c: compact JSON text of a jansson value (see json_text.h).
 * Escaping and UTF-8 validation follow jansson 2.14's dump.c and utf.c, so
 * texts stored before and after this printer compare equal;
 * tests/unit/test_json_text.c checks it against json_dumps. */
#include <stdlib.h>
#include <string.h>
#include "json_text.h"

#define JSON_TEXT_INITIAL 256

struct text_buffer {
	char *data;
	size_t len, cap;
	int failed;
};

static void
put(struct text_buffer *buf, const char *bytes, size_t n)
{
	if (buf->failed)
		return;
	if (buf->len + n + 1 > buf->cap) {
		size_t cap = buf->cap ? buf->cap : JSON_TEXT_INITIAL;
		char *grown;

		while (buf->len + n + 1 > cap)
			cap *= 2;
		grown = realloc(buf->data, cap);
		if (grown == NULL) {
			buf->failed = 1;
			return;
		}
		buf->data = grown;
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, bytes, n);
	buf->len += n;
}

static void
put_integer(struct text_buffer *buf, json_int_t value)
{
	char digits[24];
	size_t at = sizeof(digits);
	/* unsigned, so that the most negative value has a magnitude */
	unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
	    : (unsigned long long)value;

	do {
		digits[--at] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude != 0);
	if (value < 0)
		digits[--at] = '-';
	put(buf, digits + at, sizeof(digits) - at);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0:
 * jansson refuses overlong forms, surrogates and code points past U+10FFFF. */
static size_t
utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned c = s[0], value;
	size_t size, i;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	size = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (size > n)
		return 0;
	value = c & (size == 2 ? 0x1f : size == 3 ? 0x0f : 0x07);
	for (i = 1; i < size; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		value = (value << 6) | (s[i] & 0x3f);
	}
	if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
		return 0;
	if ((size == 3 && value < 0x800) || (size == 4 && value < 0x10000))
		return 0;
	return size;
}

static void
put_string(struct text_buffer *buf, const char *text, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)text;
	size_t run = 0, i = 0;

	put(buf, "\"", 1);
	while (i < n) {
		unsigned c = s[i];
		char escape[6] = {'\\', 'u', '0', '0', 0, 0};
		size_t escape_len = 2;
		size_t size;

		if (c >= 0x20 && c != '"' && c != '\\') {
			size = utf8_sequence(s + i, n - i);
			if (size == 0) {
				buf->failed = 1;
				return;
			}
			i += size;
			continue;
		}
		put(buf, text + run, i - run);
		switch (c) {
		case '"': escape[1] = '"'; break;
		case '\\': escape[1] = '\\'; break;
		case '\b': escape[1] = 'b'; break;
		case '\f': escape[1] = 'f'; break;
		case '\n': escape[1] = 'n'; break;
		case '\r': escape[1] = 'r'; break;
		case '\t': escape[1] = 't'; break;
		default:
			escape[4] = hex[c >> 4];
			escape[5] = hex[c & 0xf];
			escape_len = 6;
		}
		put(buf, escape, escape_len);
		i++;
		run = i;
	}
	put(buf, text + run, n - run);
	put(buf, "\"", 1);
}

static void
put_value(struct text_buffer *buf, const json_t *value, int depth)
{
	if (depth > JSON_TEXT_DEPTH_MAX || value == NULL) {
		buf->failed = 1;
		return;
	}
	switch (json_typeof(value)) {
	case JSON_OBJECT: {
		/* jansson's iteration takes a json_t * but only reads through it */
		union { const json_t *in; json_t *iterable; } object = {value};
		const char *key;
		size_t key_len;
		json_t *member;
		const char *separator = "{";

		json_object_keylen_foreach(object.iterable, key, key_len, member) {
			put(buf, separator, 1);
			separator = ",";
			put_string(buf, key, key_len);
			put(buf, ":", 1);
			put_value(buf, member, depth + 1);
		}
		put(buf, *separator == '{' ? "{}" : "}", *separator == '{' ? 2 : 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i, n = json_array_size(value);

		put(buf, "[", 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				put(buf, ",", 1);
			put_value(buf, json_array_get(value, i), depth + 1);
		}
		put(buf, "]", 1);
		break;
	}
	case JSON_STRING:
		put_string(buf, json_string_value(value), json_string_length(value));
		break;
	case JSON_INTEGER:
		put_integer(buf, json_integer_value(value));
		break;
	case JSON_REAL: {
		/* rare here (no amount is a real): jansson's own formatting */
		char *real = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

		if (real == NULL)
			buf->failed = 1;
		else
			put(buf, real, strlen(real));
		free(real);
		break;
	}
	case JSON_TRUE:
		put(buf, "true", 4);
		break;
	case JSON_FALSE:
		put(buf, "false", 5);
		break;
	case JSON_NULL:
		put(buf, "null", 4);
		break;
	default:
		buf->failed = 1;
	}
}

char *
json_text_compact(const json_t *value)
{
	struct text_buffer buf = {NULL, 0, 0, 0};

	put_value(&buf, value, 1);
	if (buf.failed) {
		free(buf.data);
		return NULL;
	}
	buf.data[buf.len] = '\0';
	return buf.data;
}
