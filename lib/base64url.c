/* base64url.c: the JWT segment codec. */
#include <stdint.h>

#include "base64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 outside the alphabet. */
static int
sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool
base64url_is_char(char c)
{
	return sextet(c) >= 0;
}

long
base64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	uint32_t acc = 0;
	size_t i, written = 0;
	int bits = 0;

	if (n % 4 == 1 || need > cap)
		return -1;
	for (i = 0; i < n; i++) {
		int v = sextet(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[written++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)written;
}

long
base64url_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
	size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	size_t i, o = 0;

	if (need + 1 > cap)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return (long)o;
}
