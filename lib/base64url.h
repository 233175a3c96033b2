/* base64url.h: unpadded base64url (RFC 4648 section 5), as JWT segments use it. */
#ifndef BASE64URL_H
#define BASE64URL_H

#include <stdbool.h>
#include <stddef.h>

/* Whether c is in the base64url alphabet (A-Z a-z 0-9 - _). */
bool base64url_is_char(char c);

/* Decodes in[0..n) into out (capacity cap). Refuses a character outside the
 * base64url alphabet (so '=' padding too) and a length of 4k + 1, which no
 * byte string encodes to. Bits left over after the last whole byte are
 * ignored, as libjwt's decoder ignores them. Returns the number of bytes
 * written, or -1 (nothing meaningful in out). */
long base64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);

/* Encodes in[0..n) into out (capacity cap, room for a NUL) without padding.
 * Returns the length written (NUL not counted), or -1 if out is too small. */
long base64url_encode(const unsigned char *in, size_t n, char *out, size_t cap);

#endif
