/* mail_text.h: the pure parts of composing mail: a bounded text buffer,
 * template rendering, header encoding that cannot be made to add a header,
 * address checks, quoted-printable bodies, the customer's wording of dates
 * and amounts, and the retry backoff. No I/O, no clock, no locale. */
#ifndef MAIL_TEXT_H
#define MAIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pf_time.h"

#define MAIL_ADDRESS_MAX 254        /* RFC 5321 path limit less the brackets */
#define MAIL_VARS_MAX 32
#define MAIL_VAR_NAME_MAX 32
#define MAIL_VARS_TEXT_MAX 16384    /* every value of one message together */
#define MAIL_DATE_WORDS_MAX 32      /* "Wednesday 30 September 2026" fits */
#define MAIL_AMOUNT_WORDS_MAX 48
#define MAIL_DATE_HEADER_MAX 40     /* "Thu, 31 Dec 2026 23:59:59 +0000" */
#define MAIL_TEMPLATE_DEPTH_MAX 4   /* nested {{#section}}s */

/* A growing buffer that refuses to pass max bytes (then failed is set and
 * every later put fails too); data is NUL-terminated while not failed.
 * Owns data. */
struct mail_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	bool failed;
};

void mail_buf_init(struct mail_buf *b, size_t max);
void mail_buf_free(struct mail_buf *b);
int mail_buf_put(struct mail_buf *b, const char *s, size_t n);
int mail_buf_puts(struct mail_buf *b, const char *s);

/* Template variables: names and values copied into the struct (no
 * allocation), values bounded all together by MAIL_VARS_TEXT_MAX. */
struct mail_vars {
	struct {
		char name[MAIL_VAR_NAME_MAX];
		size_t value_at;          /* offset into text */
	} items[MAIL_VARS_MAX];
	int count;
	size_t used;
	char text[MAIL_VARS_TEXT_MAX];
};

void mail_vars_init(struct mail_vars *v);
/* Adds (or replaces nothing: a second set of a name is an error) name =
 * value. Returns 0, or -1 when full or the name is too long. */
int mail_vars_set(struct mail_vars *v, const char *name, const char *value);
/* The value of name (borrowed), or NULL when not set. */
const char *mail_vars_get(const struct mail_vars *v, const char *name);

/* Renders tmpl: {{name}} is the value of name (HTML-escaped when html),
 * {{#name}}...{{/name}} is kept when name's value is not empty,
 * {{^name}}...{{/name}} when it is. A name not set is an error, so a typo
 * in a template fails instead of mailing a blank. Appends to out; returns
 * 0, or -1 with why in err. */
int mail_render(const char *tmpl, const struct mail_vars *vars, bool html, struct mail_buf *out,
    char *err, size_t errlen);

/* Splits a template file's text into its "Subject: " first line and the
 * body after the blank line that follows; both borrowed from, and the
 * subject NUL-terminated in, text. Returns 0, or -1 when not that shape. */
int mail_template_split(char *text, const char **subject, const char **body);

/* Copies value with every control character (CR and LF included), and
 * every byte of invalid UTF-8, replaced by a space or '?', trimmed, at
 * most max - 1 bytes without cutting a UTF-8 sequence. What a header
 * value may hold: nothing in it can end the header line. */
void mail_header_neutralise(const char *value, char *out, size_t max);

/* Appends "Name: value\r\n" with value neutralised and, when it is not
 * plain ASCII, as RFC 2047 encoded words (UTF-8, base64), folded so no
 * line passes 78 characters. Returns 0 or -1 (buffer full). */
int mail_header_text(struct mail_buf *out, const char *name, const char *value);

/* Appends "Name: display <address>\r\n" (or the bare address when display
 * is empty); display neutralised and quoted or encoded. The address must
 * pass mail_address_valid: returns -1 otherwise, adding nothing. */
int mail_header_address(struct mail_buf *out, const char *name, const char *display,
    const char *address);

/* True for a plain mailbox local@domain we are willing to put in a header
 * and an SMTP envelope: printable ASCII without spaces, quotes, brackets,
 * commas or semicolons, one '@', a dotted domain of letters, digits and
 * hyphens, at most MAIL_ADDRESS_MAX bytes. */
bool mail_address_valid(const char *address);

/* Splits "Display Name <local@domain>" or "local@domain" into its parts.
 * Returns 0, or -1 when the address is not valid or the name holds a
 * control character. */
int mail_from_parse(const char *from, char *display, size_t display_max, char *address,
    size_t address_max);

/* Appends text (LF or CRLF lines) as quoted-printable with CRLF lines of at
 * most 76 characters; a line starting with '.' has it encoded, so the
 * SMTP end-of-data line cannot appear. Returns 0 or -1 (buffer full). */
int mail_qp_encode(struct mail_buf *out, const char *text, size_t len);

/* "31 December 2026" (UTC). Returns 0, or -1 outside years 1..9999. */
int mail_date_words(pf_time t, char out[MAIL_DATE_WORDS_MAX]);

/* RFC 5322 date: "Thu, 31 Dec 2026 23:59:59 +0000". 0 or -1. */
int mail_date_header(pf_time t, char out[MAIL_DATE_HEADER_MAX]);

/* "$29.00", "€9.50", "£1,234.00", "¥500", "12.00 CHF": minor units in the
 * currency's own exponent. Returns 0, or -1 for a code that is not three
 * capital letters or an amount below zero. */
int mail_amount_words(long long minor_units, const char *currency,
    char out[MAIL_AMOUNT_WORDS_MAX]);

/* Seconds to wait after the failures-th temporary failure in a row
 * (failures >= 1): base doubled per failure, capped at max, then "equal
 * jitter": half of it fixed, the other half scaled by random (any
 * uint32_t), so mailers that failed together do not retry together.
 * Always within [delay/2, delay] of the capped delay, and >= 1. */
long mail_backoff_seconds(int failures, long base, long max, uint32_t random);

#endif
