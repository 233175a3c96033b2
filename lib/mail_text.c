/* mail_text.c: composing mail without I/O; see mail_text.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mail_text.h"

#define HEADER_VALUE_MAX 998        /* RFC 5322 line limit */
#define ENCODED_WORD_RAW_MAX 39     /* bytes per encoded word: 52 base64 chars, fits 78 after "Subject: " */
#define QP_LINE_MAX 76

void
mail_buf_init(struct mail_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
mail_buf_free(struct mail_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int
mail_buf_put(struct mail_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->failed = true;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *data;
		while (cap < b->len + n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (data == NULL) {
			b->failed = true;
			return -1;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
mail_buf_puts(struct mail_buf *b, const char *s)
{
	return mail_buf_put(b, s, strlen(s));
}

void
mail_vars_init(struct mail_vars *v)
{
	v->count = 0;
	v->used = 0;
}

int
mail_vars_set(struct mail_vars *v, const char *name, const char *value)
{
	size_t name_len = strlen(name), value_len = strlen(value);

	if (v->count == MAIL_VARS_MAX || name_len >= MAIL_VAR_NAME_MAX ||
	    mail_vars_get(v, name) != NULL || value_len + 1 > sizeof(v->text) - v->used)
		return -1;
	memcpy(v->items[v->count].name, name, name_len + 1);
	v->items[v->count].value_at = v->used;
	memcpy(v->text + v->used, value, value_len + 1);
	v->used += value_len + 1;
	v->count++;
	return 0;
}

const char *
mail_vars_get(const struct mail_vars *v, const char *name)
{
	int i;

	for (i = 0; i < v->count; i++)
		if (strcmp(v->items[i].name, name) == 0)
			return v->text + v->items[i].value_at;
	return NULL;
}

static int
put_html_escaped(struct mail_buf *out, const char *s)
{
	for (; *s; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		}
		if (rep != NULL ? mail_buf_puts(out, rep) : mail_buf_put(out, s, 1))
			return -1;
	}
	return 0;
}

/* A tag "{{[#^/]name}}" at p (p points at "{{"). Returns its length, with
 * the sigil (or 0) and the name, or 0 when malformed. */
static size_t
tag_parse(const char *p, const char *end, char *sigil, char name[MAIL_VAR_NAME_MAX])
{
	const char *q = p + 2;
	size_t n = 0;

	*sigil = 0;
	if (q < end && (*q == '#' || *q == '^' || *q == '/'))
		*sigil = *q++;
	while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_')) {
		if (n + 1 >= MAIL_VAR_NAME_MAX)
			return 0;
		name[n++] = *q++;
	}
	name[n] = '\0';
	if (n == 0 || end - q < 2 || q[0] != '}' || q[1] != '}')
		return 0;
	return (size_t)(q + 2 - p);
}

/* The "{{/name}}" closing the section opened just before from, or NULL. */
static const char *
section_end(const char *from, const char *end, const char *name, size_t *close_len)
{
	const char *p = from;
	int depth = 0;

	while ((p = strstr(p, "{{")) != NULL && p < end) {
		char sigil, tag[MAIL_VAR_NAME_MAX];
		size_t len = tag_parse(p, end, &sigil, tag);
		if (len == 0) {
			p += 2;
			continue;
		}
		if (strcmp(tag, name) == 0) {
			if (sigil == '#' || sigil == '^') {
				depth++;
			} else if (sigil == '/') {
				if (depth == 0) {
					*close_len = len;
					return p;
				}
				depth--;
			}
		}
		p += len;
	}
	return NULL;
}

static int
render_range(const char *p, const char *end, const struct mail_vars *vars, bool html,
    struct mail_buf *out, int depth, char *err, size_t errlen)
{
	while (p < end) {
		const char *open = strstr(p, "{{");
		char sigil, name[MAIL_VAR_NAME_MAX];
		const char *value, *close;
		size_t len, close_len = 0;

		if (open == NULL || open >= end)
			return mail_buf_put(out, p, (size_t)(end - p));
		if (mail_buf_put(out, p, (size_t)(open - p)) != 0)
			return -1;
		len = tag_parse(open, end, &sigil, name);
		if (len == 0) {
			snprintf(err, errlen, "malformed tag at \"%.20s\"", open);
			return -1;
		}
		value = mail_vars_get(vars, name);
		if (value == NULL) {
			snprintf(err, errlen, "unknown variable \"%s\"", name);
			return -1;
		}
		p = open + len;
		if (sigil == 0) {
			if (html ? put_html_escaped(out, value) : mail_buf_puts(out, value))
				return -1;
			continue;
		}
		if (sigil == '/') {
			snprintf(err, errlen, "\"{{/%s}}\" closes nothing", name);
			return -1;
		}
		close = section_end(p, end, name, &close_len);
		if (close == NULL || depth + 1 > MAIL_TEMPLATE_DEPTH_MAX) {
			snprintf(err, errlen, "section \"%s\" not closed or nested too deep", name);
			return -1;
		}
		if ((sigil == '#') == (value[0] != '\0') &&
		    render_range(p, close, vars, html, out, depth + 1, err, errlen) != 0)
			return -1;
		p = close + close_len;
	}
	return 0;
}

int
mail_render(const char *tmpl, const struct mail_vars *vars, bool html, struct mail_buf *out,
    char *err, size_t errlen)
{
	snprintf(err, errlen, "out of room");
	return render_range(tmpl, tmpl + strlen(tmpl), vars, html, out, 0, err, errlen);
}

int
mail_template_split(char *text, const char **subject, const char **body)
{
	char *nl, *line_end;

	if (strncmp(text, "Subject: ", 9) != 0 || (nl = strchr(text, '\n')) == NULL)
		return -1;
	line_end = nl > text && nl[-1] == '\r' ? nl - 1 : nl;
	*line_end = '\0';
	if (nl[1] == '\n')
		*body = nl + 2;
	else if (nl[1] == '\r' && nl[2] == '\n')
		*body = nl + 3;
	else
		return -1;
	*subject = text + 9;
	return 0;
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ?
		    4 : 0;
	}
	return 0;
}

void
mail_header_neutralise(const char *value, char *out, size_t max)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t n = 0, start;

	if (max == 0)
		return;
	while (*s != '\0') {
		size_t len = utf8_len(s);
		/* C0 controls, DEL and C1 controls (U+0080..U+009F) end nothing
		 * in RFC 5322 but CR and LF do; none belongs in a header */
		bool control = *s < 0x20 || *s == 0x7f || (len == 2 && s[0] == 0xc2 && s[1] < 0xa0);

		if (len == 0 || control) {
			if (n + 1 >= max)
				break;
			out[n++] = len == 0 ? '?' : ' ';
			s += len == 0 ? 1 : len;
			continue;
		}
		if (n + len >= max)
			break;
		memcpy(out + n, s, len);
		n += len;
		s += len;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	for (start = 0; out[start] == ' '; start++)
		;
	if (start > 0)
		memmove(out, out + start, n - start + 1);
}

static void
base64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = alphabet[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = alphabet[in[i + 2] & 63];
	}
	if (i < n) {
		out[o++] = alphabet[in[i] >> 2];
		if (i + 1 < n) {
			out[o++] = alphabet[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			out[o++] = alphabet[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = alphabet[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
}

static bool
plain_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Appends value (neutralised already) as encoded words, folded. */
static int
put_encoded_words(struct mail_buf *out, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	bool first = true;

	while (*s != '\0') {
		char word[ENCODED_WORD_RAW_MAX * 2];
		size_t n = 0, len;

		/* whole UTF-8 sequences only: a word must decode on its own */
		while (s[n] != '\0' && (len = utf8_len(s + n)) > 0 && n + len <= ENCODED_WORD_RAW_MAX)
			n += len;
		if (n == 0)
			return -1;  /* not neutralised */
		base64_encode(s, n, word);
		if ((!first && mail_buf_puts(out, "\r\n ") != 0) ||
		    mail_buf_puts(out, "=?UTF-8?B?") != 0 || mail_buf_puts(out, word) != 0 ||
		    mail_buf_puts(out, "?=") != 0)
			return -1;
		first = false;
		s += n;
	}
	return 0;
}

/* Appends ASCII value folded at spaces so lines stay within 78 where a
 * space allows (col: what the line already holds). */
static int
put_folded(struct mail_buf *out, const char *value, size_t col)
{
	const char *p = value;

	while (*p != '\0') {
		const char *space = strchr(p + 1, ' ');
		size_t word = space != NULL ? (size_t)(space - p) : strlen(p);

		/* the fold goes before the space, which starts the next line */
		if (p != value && *p == ' ' && col + word > 78) {
			if (mail_buf_puts(out, "\r\n") != 0)
				return -1;
			col = 0;
		}
		if (mail_buf_put(out, p, word) != 0)
			return -1;
		col += word;
		p += word;
	}
	return 0;
}

int
mail_header_text(struct mail_buf *out, const char *name, const char *value)
{
	char clean[HEADER_VALUE_MAX];

	mail_header_neutralise(value, clean, sizeof(clean));
	if (mail_buf_puts(out, name) != 0 || mail_buf_puts(out, ": ") != 0)
		return -1;
	if (plain_ascii(clean)) {
		if (put_folded(out, clean, strlen(name) + 2) != 0)
			return -1;
	} else if (put_encoded_words(out, clean) != 0) {
		return -1;
	}
	return mail_buf_puts(out, "\r\n");
}

int
mail_header_address(struct mail_buf *out, const char *name, const char *display,
    const char *address)
{
	char clean[HEADER_VALUE_MAX];
	const char *p;

	if (!mail_address_valid(address))
		return -1;
	mail_header_neutralise(display != NULL ? display : "", clean, sizeof(clean));
	if (mail_buf_puts(out, name) != 0 || mail_buf_puts(out, ": ") != 0)
		return -1;
	if (clean[0] != '\0') {
		if (plain_ascii(clean) && strlen(clean) <= 64) {
			/* a quoted string: any specials in the name stay text */
			if (mail_buf_puts(out, "\"") != 0)
				return -1;
			for (p = clean; *p; p++) {
				if ((*p == '"' || *p == '\\') && mail_buf_puts(out, "\\") != 0)
					return -1;
				if (mail_buf_put(out, p, 1) != 0)
					return -1;
			}
			if (mail_buf_puts(out, "\"") != 0)
				return -1;
		} else if (put_encoded_words(out, clean) != 0) {
			return -1;
		}
		if (mail_buf_puts(out, " <") != 0 || mail_buf_puts(out, address) != 0 ||
		    mail_buf_puts(out, ">") != 0)
			return -1;
	} else if (mail_buf_puts(out, address) != 0) {
		return -1;
	}
	return mail_buf_puts(out, "\r\n");
}

static bool
local_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL);
}

bool
mail_address_valid(const char *address)
{
	size_t len = strlen(address), i, at, label = 0;
	const char *domain;

	if (len < 3 || len > MAIL_ADDRESS_MAX)
		return false;
	domain = strchr(address, '@');
	if (domain == NULL || strchr(domain + 1, '@') != NULL)
		return false;
	at = (size_t)(domain - address);
	if (at == 0 || at > 64 || address[0] == '.' || address[at - 1] == '.')
		return false;
	for (i = 0; i < at; i++)
		if (!local_char(address[i]) || (address[i] == '.' && address[i + 1] == '.'))
			return false;
	domain++;
	if (strchr(domain, '.') == NULL)
		return false;
	for (i = 0; domain[i] != '\0'; i++) {
		char c = domain[i];
		if (c == '.') {
			if (label == 0 || domain[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if ((label == 0 && c == '-') || ++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && domain[i - 1] != '-';
}

int
mail_from_parse(const char *from, char *display, size_t display_max, char *address,
    size_t address_max)
{
	const char *lt, *gt, *p;
	size_t n, start = 0;

	for (p = from; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	gt = strrchr(from, '>');
	lt = strrchr(from, '<');
	if (gt == NULL && lt == NULL) {
		while (*from == ' ')
			from++;
		n = strlen(from);
		while (n > 0 && from[n - 1] == ' ')
			n--;
		if (n >= address_max || display_max == 0)
			return -1;
		memcpy(address, from, n);
		address[n] = '\0';
		display[0] = '\0';
		return mail_address_valid(address) ? 0 : -1;
	}
	if (lt == NULL || gt == NULL || gt < lt || gt[1] != '\0')
		return -1;
	n = (size_t)(gt - lt - 1);
	if (n >= address_max)
		return -1;
	memcpy(address, lt + 1, n);
	address[n] = '\0';
	n = (size_t)(lt - from);
	while (n > 0 && from[n - 1] == ' ')
		n--;
	while (start < n && from[start] == ' ')
		start++;
	if (n - start >= 2 && from[start] == '"' && from[n - 1] == '"') {
		start++;
		n--;
	}
	if (n - start >= display_max)
		return -1;
	memcpy(display, from + start, n - start);
	display[n - start] = '\0';
	return mail_address_valid(address) ? 0 : -1;
}

int
mail_qp_encode(struct mail_buf *out, const char *text, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, col;

	while (i < len) {
		size_t end = i;
		while (end < len && text[end] != '\n')
			end++;
		/* the line is text[i..end), less a CR before the LF */
		size_t line_end = end > i && text[end - 1] == '\r' && end < len ? end - 1 : end;
		col = 0;
		for (; i < line_end; i++) {
			unsigned char c = (unsigned char)text[i];
			char token[4];
			size_t tlen;
			bool last = i + 1 == line_end;

			if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
			    ((c == ' ' || c == '\t') && !last)) {
				token[0] = (char)c;
				tlen = 1;
			} else {
				token[0] = '=';
				token[1] = hex[c >> 4];
				token[2] = hex[c & 15];
				tlen = 3;
			}
			/* room for the soft break's '=' on this line */
			if (col + tlen > QP_LINE_MAX - 1 && !(last && col + tlen <= QP_LINE_MAX)) {
				if (mail_buf_puts(out, "=\r\n") != 0)
					return -1;
				col = 0;
				if (c == '.') {
					token[0] = '=';
					token[1] = '2';
					token[2] = 'E';
					tlen = 3;
				}
			}
			if (mail_buf_put(out, token, tlen) != 0)
				return -1;
			col += tlen;
		}
		if (mail_buf_puts(out, "\r\n") != 0)
			return -1;
		i = end + 1;
	}
	return 0;
}

static const char *const month_names[12] = {
	"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December",
};

/* Year, month (1..12), day and time of t, through pf_time_format. */
static int
civil_parts(pf_time t, int *y, int *m, int *d, char hms[9])
{
	char text[PF_RFC3339_LEN];

	if (pf_time_format(t, text) != 0)
		return -1;
	*y = atoi(text);
	*m = atoi(text + 5);
	*d = atoi(text + 8);
	memcpy(hms, text + 11, 8);
	hms[8] = '\0';
	return 0;
}

int
mail_date_words(pf_time t, char out[MAIL_DATE_WORDS_MAX])
{
	int y, m, d;
	char hms[9];

	if (civil_parts(t, &y, &m, &d, hms) != 0) {
		out[0] = '\0';
		return -1;
	}
	snprintf(out, MAIL_DATE_WORDS_MAX, "%d %s %d", d, month_names[m - 1], y);
	return 0;
}

int
mail_date_header(pf_time t, char out[MAIL_DATE_HEADER_MAX])
{
	static const char *const days[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	int y, m, d;
	char hms[9];

	if (civil_parts(t, &y, &m, &d, hms) != 0) {
		out[0] = '\0';
		return -1;
	}
	snprintf(out, MAIL_DATE_HEADER_MAX, "%s, %02d %.3s %04d %s +0000",
	    days[pf_time_weekday(t)], d, month_names[m - 1], y, hms);
	return 0;
}

int
mail_amount_words(long long minor_units, const char *currency,
    char out[MAIL_AMOUNT_WORDS_MAX])
{
	static const struct {
		const char *code, *symbol;
		int exponent;
	} known[] = {
		{"USD", "$", 2}, {"EUR", "\xe2\x82\xac", 2}, {"GBP", "\xc2\xa3", 2},
		{"JPY", "\xc2\xa5", 0},
	};
	const char *symbol = NULL;
	char digits[24], grouped[32];   /* 19 digits and 6 commas at most */
	int exponent = 2, i, n, g = 0;
	long long major, minor = 0;

	out[0] = '\0';
	if (minor_units < 0 || strlen(currency) != 3 || currency[0] < 'A' || currency[0] > 'Z' ||
	    currency[1] < 'A' || currency[1] > 'Z' || currency[2] < 'A' || currency[2] > 'Z')
		return -1;
	for (i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++)
		if (strcmp(known[i].code, currency) == 0) {
			symbol = known[i].symbol;
			exponent = known[i].exponent;
		}
	major = exponent == 2 ? minor_units / 100 : minor_units;
	if (exponent == 2)
		minor = minor_units % 100;
	n = snprintf(digits, sizeof(digits), "%lld", major);
	for (i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			grouped[g++] = ',';
		grouped[g++] = digits[i];
	}
	grouped[g] = '\0';
	if (symbol != NULL && exponent == 2)
		snprintf(out, MAIL_AMOUNT_WORDS_MAX, "%s%s.%02lld", symbol, grouped, minor);
	else if (symbol != NULL)
		snprintf(out, MAIL_AMOUNT_WORDS_MAX, "%s%s", symbol, grouped);
	else
		snprintf(out, MAIL_AMOUNT_WORDS_MAX, "%s.%02lld %s", grouped, minor, currency);
	return 0;
}

long
mail_backoff_seconds(int failures, long base, long max, uint32_t random)
{
	long delay = base < 1 ? 1 : base, half;
	int i;

	if (max < 1)
		max = 1;
	for (i = 1; i < failures && delay < max; i++)
		delay = delay > max / 2 ? max : delay * 2;
	if (delay > max)
		delay = max;
	half = delay / 2;
	return delay - half + (long)(random % (uint32_t)(half + 1));
}
