/* test_mail.c: the mailer's pure parts (lib/mail_text.c, lib/mail_message.c):
 * template rendering, header encoding and neutralising, addresses,
 * quoted-printable, date and amount wording, the backoff, and whole
 * messages rendered from the shipped templates (mail/). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_message.h"
#include "mail_text.h"
#include "unit.h"

#ifndef MAIL_TEMPLATE_SRC
#define MAIL_TEMPLATE_SRC "mail"
#endif

static pf_time
at(const char *rfc3339)
{
	pf_time t = 0;
	pf_time_parse(rfc3339, &t);
	return t;
}

/* Renders tmpl with vars; returns a static copy of the output, or "ERR". */
static const char *
render(const char *tmpl, const struct mail_vars *vars, bool html)
{
	static char result[4096];
	struct mail_buf out;
	char err[128];

	mail_buf_init(&out, sizeof(result) - 1);
	if (mail_render(tmpl, vars, html, &out, err, sizeof(err)) != 0)
		snprintf(result, sizeof(result), "ERR");
	else
		snprintf(result, sizeof(result), "%s", out.data ? out.data : "");
	mail_buf_free(&out);
	return result;
}

static void
test_render(void)
{
	static struct mail_vars v;

	mail_vars_init(&v);
	UNIT_EQ_INT(mail_vars_set(&v, "plan", "Pro"), 0);
	UNIT_EQ_INT(mail_vars_set(&v, "empty", ""), 0);
	UNIT_EQ_INT(mail_vars_set(&v, "note", "<b>&'\"</b>"), 0);
	UNIT_EQ_INT(mail_vars_set(&v, "plan", "again"), -1);        /* set once */
	UNIT_EQ_STR(render("Your {{plan}} plan", &v, false), "Your Pro plan");
	UNIT_EQ_STR(render("{{#plan}}on {{plan}}{{/plan}}{{^plan}}none{{/plan}}", &v, false), "on Pro");
	UNIT_EQ_STR(render("{{#empty}}shown{{/empty}}{{^empty}}hidden{{/empty}}", &v, false), "hidden");
	UNIT_EQ_STR(render("{{#plan}}a{{#empty}}b{{/empty}}c{{/plan}}", &v, false), "ac");
	UNIT_EQ_STR(render("{{#plan}}{{#plan}}x{{/plan}}y{{/plan}}", &v, false), "xy");
	/* values are text: HTML escaped in the HTML part, verbatim in text */
	UNIT_EQ_STR(render("{{note}}", &v, true), "&lt;b&gt;&amp;&#39;&quot;&lt;/b&gt;");
	UNIT_EQ_STR(render("{{note}}", &v, false), "<b>&'\"</b>");
	/* a value is never parsed as a template */
	mail_vars_init(&v);
	mail_vars_set(&v, "x", "{{y}}");
	UNIT_EQ_STR(render("{{x}}", &v, false), "{{y}}");
	/* -bad: unknown names, unclosed sections, stray closes, malformed tags */
	UNIT_EQ_STR(render("{{missing}}", &v, false), "ERR");
	UNIT_EQ_STR(render("{{#x}}open", &v, false), "ERR");
	UNIT_EQ_STR(render("{{/x}}", &v, false), "ERR");
	UNIT_EQ_STR(render("{{ x }}", &v, false), "ERR");
	UNIT_EQ_STR(render("{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}deep{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}", &v, false),
	    "ERR");
	UNIT_EQ_STR(render("no tags at all", &v, false), "no tags at all");
}

static void
test_vars_bounds(void)
{
	static struct mail_vars v;
	static char big[MAIL_VARS_TEXT_MAX + 1];
	char name[16];
	int i;

	mail_vars_init(&v);
	memset(big, 'a', MAIL_VARS_TEXT_MAX);
	big[MAIL_VARS_TEXT_MAX] = '\0';
	UNIT_EQ_INT(mail_vars_set(&v, "big", big), -1);              /* no room for its NUL */
	big[MAIL_VARS_TEXT_MAX - 1] = '\0';
	UNIT_EQ_INT(mail_vars_set(&v, "big", big), 0);
	UNIT_EQ_INT(mail_vars_set(&v, "one", "x"), -1);              /* text full */
	mail_vars_init(&v);
	for (i = 0; i < MAIL_VARS_MAX; i++) {
		snprintf(name, sizeof(name), "v%d", i);
		UNIT_EQ_INT(mail_vars_set(&v, name, "x"), 0);
	}
	UNIT_EQ_INT(mail_vars_set(&v, "more", "x"), -1);
	UNIT_EQ_INT(mail_vars_set(&v, "a_name_of_exactly_thirty_two_chr", "x"), -1);
}

static void
test_template_split(void)
{
	char ok[] = "Subject: Hello {{plan}}\n\nBody\nline\n";
	char crlf[] = "Subject: Hi\r\n\r\nBody";
	char no_blank[] = "Subject: Hi\nBody";
	char no_subject[] = "Hello\n\nBody";
	const char *subject, *body;

	UNIT_EQ_INT(mail_template_split(ok, &subject, &body), 0);
	UNIT_EQ_STR(subject, "Hello {{plan}}");
	UNIT_EQ_STR(body, "Body\nline\n");
	UNIT_EQ_INT(mail_template_split(crlf, &subject, &body), 0);
	UNIT_EQ_STR(subject, "Hi");
	UNIT_EQ_STR(body, "Body");
	UNIT_EQ_INT(mail_template_split(no_blank, &subject, &body), -1);
	UNIT_EQ_INT(mail_template_split(no_subject, &subject, &body), -1);
}

/* The header block: one header per CRLF line, continuation lines start
 * with a space, no line over 78, every byte printable ASCII. */
static int
header_lines_sane(const char *h)
{
	const char *line = h;

	while (*line != '\0') {
		const char *end = strstr(line, "\r\n");
		const char *p;
		if (end == NULL || end - line > 78)
			return 0;
		for (p = line; p < end; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				return 0;
		line = end + 2;
	}
	return 1;
}

static void
test_header_text(void)
{
	struct mail_buf b;
	char clean[64];

	mail_header_neutralise("a\r\nBcc: x@y.z", clean, sizeof(clean));
	UNIT_EQ_STR(clean, "a  Bcc: x@y.z");
	mail_header_neutralise("\n\t trim me \r", clean, sizeof(clean));
	UNIT_EQ_STR(clean, "trim me");
	mail_header_neutralise("bad \xff\xfe utf8 \xc2\x85(NEL)", clean, sizeof(clean));
	UNIT_EQ_STR(clean, "bad ?? utf8  (NEL)");
	mail_header_neutralise("caf\xc3\xa9\xc3\xa9", clean, 6);     /* never cuts a sequence */
	UNIT_EQ_STR(clean, "caf\xc3\xa9");

	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_text(&b, "Subject", "Your Pro plan"), 0);
	UNIT_EQ_STR(b.data, "Subject: Your Pro plan\r\n");
	mail_buf_free(&b);

	/* an injection attempt stays one header */
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_text(&b, "Subject", "Hi\r\nBcc: victim@example.com\r\n\r\nbody"), 0);
	UNIT_EQ_STR(b.data, "Subject: Hi  Bcc: victim@example.com    body\r\n");
	UNIT_CHECK(strstr(b.data, "\r\nBcc") == NULL);
	mail_buf_free(&b);

	/* non-ASCII: encoded words, each whole UTF-8, folded under 78 */
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_text(&b, "Subject", "R\xc3\xa9sum\xc3\xa9 \xe2\x82\xac"), 0);
	UNIT_EQ_STR(b.data, "Subject: =?UTF-8?B?UsOpc3Vtw6kg4oKs?=\r\n");
	mail_buf_free(&b);
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_text(&b, "Subject",
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 and\r\nBcc: x@y.z"), 0);
	UNIT_CHECK(header_lines_sane(b.data));
	UNIT_CHECK(strstr(b.data, "\r\n =?UTF-8?B?") != NULL);      /* folded */
	UNIT_CHECK(strstr(b.data, "Bcc") == NULL);                 /* inside base64 only */
	mail_buf_free(&b);
	/* a long ASCII value is folded at a space, rather than passing 78 */
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_text(&b, "Subject", "Refund request rr_0123456789abcdef0123456789abcdef"
	    " from u_0123456789: respond by 31 December 2026"), 0);
	UNIT_EQ_STR(b.data, "Subject: Refund request rr_0123456789abcdef0123456789abcdef from"
	    " u_0123456789:\r\n respond by 31 December 2026\r\n");    /* the first line is 78 */
	UNIT_CHECK(header_lines_sane(b.data));
	mail_buf_free(&b);
}

static void
test_header_address(void)
{
	struct mail_buf b;

	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_address(&b, "From", "PersonaForge", "no-reply@personaforge.xyz"), 0);
	UNIT_EQ_STR(b.data, "From: \"PersonaForge\" <no-reply@personaforge.xyz>\r\n");
	mail_buf_free(&b);
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_address(&b, "To", "", "a@example.com"), 0);
	UNIT_EQ_STR(b.data, "To: a@example.com\r\n");
	mail_buf_free(&b);
	/* a name with quotes, a backslash and CRLF stays one quoted phrase */
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_address(&b, "To", "Eve \"x\\\"\r\nBcc: z@z.z", "a@example.com"), 0);
	UNIT_EQ_STR(b.data, "To: \"Eve \\\"x\\\\\\\"  Bcc: z@z.z\" <a@example.com>\r\n");
	mail_buf_free(&b);
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_address(&b, "From", "Persona\xc3\x9f", "a@example.com"), 0);
	UNIT_EQ_STR(b.data, "From: =?UTF-8?B?UGVyc29uYcOf?= <a@example.com>\r\n");
	mail_buf_free(&b);
	/* -bad: an address that could carry a header adds nothing */
	mail_buf_init(&b, 4096);
	UNIT_EQ_INT(mail_header_address(&b, "To", "", "a@example.com\r\nBcc: z@z.z"), -1);
	UNIT_EQ_INT(mail_header_address(&b, "To", "", "a@example.com>, <z@z.z"), -1);
	UNIT_CHECK(b.len == 0);
	mail_buf_free(&b);
}

static void
test_address_valid(void)
{
	static const char *const good[] = {
		"a@example.com", "first.last+tag@mail.example.co.uk", "x_y-z@a-b.io",
		"o'brien@example.com", "u1@1.example",
	};
	static const char *const bad[] = {
		"", "a", "@example.com", "a@", "a@example", "a@@example.com", "a@b@example.com",
		"a b@example.com", "a@exa mple.com", "a@example.com\r\nBcc: x@y.z", "a\n@example.com",
		"<a@example.com>", "a@example.com,b@example.com", "a;b@example.com", "\"a\"@example.com",
		".a@example.com", "a.@example.com", "a..b@example.com", "a@-example.com",
		"a@example-.com", "a@example..com", "a@.example.com", "a@example.com.",
		"caf\xc3\xa9@example.com", "a@ex\x7f" "ample.com",
	};
	char longest[MAIL_ADDRESS_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		UNIT_CHECK(mail_address_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mail_address_valid(bad[i])) {
			UNIT_CHECK(!"an invalid address passed");
			fprintf(stderr, "  address: %s\n", bad[i]);
		}
	/* 64 + 1 + 189 = 254 bytes: the limit, then one more */
	memset(longest, 'a', 64);
	longest[64] = '@';
	memset(longest + 65, 'b', 189);
	for (i = 65 + 60; i < 254; i += 61)
		longest[i] = '.';
	longest[254] = '\0';
	UNIT_CHECK(mail_address_valid(longest));
	longest[254] = 'c';
	longest[255] = '\0';
	UNIT_CHECK(!mail_address_valid(longest));
}

static void
test_from_parse(void)
{
	char display[64], address[MAIL_ADDRESS_MAX + 1];

	UNIT_EQ_INT(mail_from_parse("PersonaForge <no-reply@personaforge.xyz>", display,
	    sizeof(display), address, sizeof(address)), 0);
	UNIT_EQ_STR(display, "PersonaForge");
	UNIT_EQ_STR(address, "no-reply@personaforge.xyz");
	UNIT_EQ_INT(mail_from_parse("\"Persona Forge\" <a@example.com>", display, sizeof(display),
	    address, sizeof(address)), 0);
	UNIT_EQ_STR(display, "Persona Forge");
	UNIT_EQ_INT(mail_from_parse(" a@example.com ", display, sizeof(display), address,
	    sizeof(address)), 0);
	UNIT_EQ_STR(display, "");
	UNIT_EQ_STR(address, "a@example.com");
	UNIT_EQ_INT(mail_from_parse("Name\r\nBcc: x@y.z <a@example.com>", display, sizeof(display),
	    address, sizeof(address)), -1);
	UNIT_EQ_INT(mail_from_parse("Name <a@example.com> trailing", display, sizeof(display),
	    address, sizeof(address)), -1);
	UNIT_EQ_INT(mail_from_parse("Name <not an address>", display, sizeof(display), address,
	    sizeof(address)), -1);
}

static const char *
qp(const char *text)
{
	static char result[4096];
	struct mail_buf b;

	mail_buf_init(&b, sizeof(result) - 1);
	if (mail_qp_encode(&b, text, strlen(text)) != 0)
		snprintf(result, sizeof(result), "ERR");
	else
		snprintf(result, sizeof(result), "%s", b.data ? b.data : "");
	mail_buf_free(&b);
	return result;
}

static void
test_qp(void)
{
	char long_line[200];
	const char *out, *line;

	UNIT_EQ_STR(qp("a=b\n"), "a=3Db\r\n");
	UNIT_EQ_STR(qp("one\r\ntwo"), "one\r\ntwo\r\n");
	UNIT_EQ_STR(qp("trailing \nspace\t\n"), "trailing=20\r\nspace=09\r\n");
	UNIT_EQ_STR(qp(".\n..x\n"), "=2E\r\n=2E.x\r\n");               /* no SMTP end-of-data line */
	UNIT_EQ_STR(qp("31 d\xc3\xa9" "cembre\n"), "31 d=C3=A9cembre\r\n");
	UNIT_EQ_STR(qp("bare\rcr\n"), "bare=0Dcr\r\n");
	UNIT_EQ_STR(qp("\n\n"), "\r\n\r\n");
	memset(long_line, 'x', 150);
	long_line[150] = '\0';
	out = qp(long_line);
	for (line = out; *line; ) {
		const char *end = strstr(line, "\r\n");
		UNIT_CHECK(end != NULL && end - line <= 76);
		if (end == NULL)
			break;
		line = end + 2;
	}
	UNIT_CHECK(strncmp(out, "xxxxxxxxxx", 10) == 0 && strstr(out, "=\r\n") != NULL);
	/* exactly 76 characters fit on one line */
	memset(long_line, 'y', 76);
	long_line[76] = '\0';
	out = qp(long_line);
	UNIT_CHECK(strstr(out, "=\r\n") == NULL && strlen(out) == 78);
	/* an escape is never split by a soft break */
	memset(long_line, 'z', 74);
	strcpy(long_line + 74, "==");
	out = qp(long_line);
	UNIT_EQ_STR(out + 74, "=\r\n=3D=3D\r\n");
}

static void
test_date_and_amount_words(void)
{
	char words[MAIL_DATE_WORDS_MAX], header[MAIL_DATE_HEADER_MAX];
	char amount[MAIL_AMOUNT_WORDS_MAX];

	UNIT_EQ_INT(mail_date_words(at("2026-12-31T23:59:59Z"), words), 0);
	UNIT_EQ_STR(words, "31 December 2026");
	UNIT_EQ_INT(mail_date_words(at("2027-01-01T00:00:00Z"), words), 0);
	UNIT_EQ_STR(words, "1 January 2027");
	UNIT_EQ_INT(mail_date_words(at("2028-02-29T12:00:00Z"), words), 0);
	UNIT_EQ_STR(words, "29 February 2028");
	UNIT_EQ_INT(mail_date_words((pf_time)-62135596801LL, words), -1);  /* year 0 */
	UNIT_EQ_INT(mail_date_header(at("2026-12-31T23:59:59Z"), header), 0);
	UNIT_EQ_STR(header, "Thu, 31 Dec 2026 23:59:59 +0000");
	UNIT_EQ_INT(mail_date_header(at("2026-12-07T08:05:09Z"), header), 0);
	UNIT_EQ_STR(header, "Mon, 07 Dec 2026 08:05:09 +0000");

	UNIT_EQ_INT(mail_amount_words(2900, "USD", amount), 0);
	UNIT_EQ_STR(amount, "$29.00");
	UNIT_EQ_INT(mail_amount_words(5, "USD", amount), 0);
	UNIT_EQ_STR(amount, "$0.05");
	UNIT_EQ_INT(mail_amount_words(123456, "EUR", amount), 0);
	UNIT_EQ_STR(amount, "\xe2\x82\xac" "1,234.56");
	UNIT_EQ_INT(mail_amount_words(99900, "GBP", amount), 0);
	UNIT_EQ_STR(amount, "\xc2\xa3" "999.00");
	UNIT_EQ_INT(mail_amount_words(1500, "JPY", amount), 0);
	UNIT_EQ_STR(amount, "\xc2\xa5" "1,500");
	UNIT_EQ_INT(mail_amount_words(1200, "CHF", amount), 0);
	UNIT_EQ_STR(amount, "12.00 CHF");
	UNIT_EQ_INT(mail_amount_words(100000000, "USD", amount), 0);
	UNIT_EQ_STR(amount, "$1,000,000.00");
	UNIT_EQ_INT(mail_amount_words(0, "USD", amount), 0);
	UNIT_EQ_STR(amount, "$0.00");
	UNIT_EQ_INT(mail_amount_words(-1, "USD", amount), -1);
	UNIT_EQ_INT(mail_amount_words(100, "usd", amount), -1);
	UNIT_EQ_INT(mail_amount_words(100, "US", amount), -1);
	UNIT_EQ_INT(mail_amount_words(INT64_MAX, "USD", amount), 0);   /* fits, no overflow */
}

static void
test_backoff(void)
{
	long d;
	int f;

	/* equal jitter: within [delay/2, delay] of base * 2^(failures-1) */
	UNIT_EQ_INT(mail_backoff_seconds(1, 60, 3600, 0), 30);
	UNIT_EQ_INT(mail_backoff_seconds(1, 60, 3600, 30), 60);
	UNIT_EQ_INT(mail_backoff_seconds(1, 60, 3600, 31), 30);        /* random mod (half + 1) */
	UNIT_EQ_INT(mail_backoff_seconds(3, 60, 3600, 0), 120);
	UNIT_EQ_INT(mail_backoff_seconds(3, 60, 3600, 120), 240);
	UNIT_EQ_INT(mail_backoff_seconds(7, 60, 3600, 0), 1800);       /* 3840 capped at 3600 */
	UNIT_EQ_INT(mail_backoff_seconds(7, 60, 3600, 1800), 3600);
	UNIT_EQ_INT(mail_backoff_seconds(1000000, 60, 3600, UINT32_MAX) <= 3600, 1);
	UNIT_EQ_INT(mail_backoff_seconds(1, 1, 2, 0), 1);              /* never 0 */
	UNIT_EQ_INT(mail_backoff_seconds(1, 1, 2, UINT32_MAX), 1);
	UNIT_EQ_INT(mail_backoff_seconds(0, 0, 0, 7), 1);
	UNIT_EQ_INT(mail_backoff_seconds(2, 1, 2, 1), 2);
	/* grows monotonically (at the lower bound) up to the cap */
	for (f = 1, d = 0; f < 40; f++) {
		long next = mail_backoff_seconds(f, 60, 86400, 0);
		UNIT_CHECK(next >= d && next <= 43200);
		d = next;
	}
	UNIT_EQ_INT(d, 43200);
	UNIT_EQ_INT(mail_backoff_seconds(2, 86400, 7 * 86400, UINT32_MAX) <= 172800, 1);
}

/* The shipped templates, loaded like the mailer loads them. */
static struct mail_template templates[32];
static int template_count;

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;

	if (f == NULL)
		return NULL;
	text = malloc(65537);
	n = text ? fread(text, 1, 65536, f) : 0;
	if (text != NULL)
		text[n] = '\0';
	fclose(f);
	return text;
}

static int
load_templates(void)
{
	char path[512];
	int i;

	for (i = 0; mail_template_names[i] != NULL; i++) {
		struct mail_template *t = &templates[template_count++];
		snprintf(t->name, sizeof(t->name), "%s", mail_template_names[i]);
		snprintf(path, sizeof(path), "%s/%s.txt", MAIL_TEMPLATE_SRC, t->name);
		t->text = read_file(path);
		if (t->text == NULL || mail_template_split(t->text, &t->subject, &t->body) != 0) {
			fprintf(stderr, "cannot load %s\n", path);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s.html", MAIL_TEMPLATE_SRC, t->name);
		t->html = read_file(path);
	}
	return 0;
}

static const struct mail_template *
template_named(const char *name)
{
	int i;
	for (i = 0; i < template_count; i++)
		if (strcmp(templates[i].name, name) == 0)
			return &templates[i];
	return NULL;
}

static const struct mail_sender sender = {"PersonaForge", "no-reply@personaforge.xyz"};

/* Renders message index of an event; returns a static copy, "" on error. */
static const char *
compose(const char *event, const char *payload_json, int index, const char *account_email,
    char *to, size_t to_len)
{
	static char result[MAIL_MESSAGE_MAX];
	static struct mail_draft draft;
	struct mail_row row;
	struct mail_buf out;
	json_t *payload = json_loads(payload_json, 0, NULL);
	char err[256];

	memset(&row, 0, sizeof(row));
	row.outbox_id = 42;
	row.user_id = "u_1";
	row.event = event;
	row.payload = payload;
	row.created_at = at("2026-12-04T18:30:00Z");
	row.account_email = account_email;
	row.support_email = "support@personaforge.xyz";
	row.charge_description = "Pro plan, monthly subscription 2026-12-01 to 2027-01-01";
	row.charge_amount_cents = 2900;
	row.charge_currency = "USD";
	result[0] = '\0';
	to[0] = '\0';
	mail_buf_init(&out, MAIL_MESSAGE_MAX - 1);
	if (payload == NULL || mail_draft_prepare(&row, index, &draft, err, sizeof(err)) != 0) {
		fprintf(stderr, "  prepare %s: %s\n", event, payload ? err : "bad JSON");
	} else {
		snprintf(to, to_len, "%s", draft.to);
		if (draft.to[0] != '\0' && mail_compose(template_named(draft.template_name), &draft,
		    &sender, row.outbox_id, index, row.created_at, &out, err, sizeof(err)) != 0)
			fprintf(stderr, "  compose %s: %s\n", event, err);
		else if (out.data != NULL)
			snprintf(result, sizeof(result), "%s", out.data);
	}
	mail_buf_free(&out);
	json_decref(payload);
	return result;
}

/* The headers of a message (up to the blank line). */
static const char *
headers_of(const char *message)
{
	static char h[8192];
	const char *end = strstr(message, "\r\n\r\n");
	size_t n = end ? (size_t)(end - message) + 2 : 0;

	if (n >= sizeof(h))
		n = 0;
	memcpy(h, message, n);
	h[n] = '\0';
	return h;
}

#define SUB_PRO_CANCELLED \
	"{\"subscription\": {\"plan\": \"pro\", \"status\": \"active\"," \
	" \"current_period_start\": \"2026-12-01T10:00:00Z\", \"current_period_end\": \"2026-12-31T10:00:00Z\"," \
	" \"cancel_at_period_end\": true, \"scheduled_change\": null, \"renews_at\": null}}"

static void
test_messages(void)
{
	char to[MAIL_ADDRESS_MAX + 1];
	const char *m, *h;

	UNIT_EQ_INT(load_templates(), 0);
	UNIT_EQ_INT(mail_event_message_count("subscription_cancel_scheduled"), 1);
	UNIT_EQ_INT(mail_event_message_count("refund_request_received"), 2);
	UNIT_EQ_INT(mail_event_message_count("no_such_event"), 0);

	m = compose("subscription_cancel_scheduled", SUB_PRO_CANCELLED, 0, "u1@example.com", to,
	    sizeof(to));
	h = headers_of(m);
	UNIT_EQ_STR(to, "u1@example.com");
	UNIT_CHECK(strstr(h, "From: \"PersonaForge\" <no-reply@personaforge.xyz>\r\n") != NULL);
	UNIT_CHECK(strstr(h, "To: u1@example.com\r\n") != NULL);
	UNIT_CHECK(strstr(h, "Subject: Your Pro plan stays active until 31 December 2026\r\n") != NULL);
	UNIT_CHECK(strstr(h, "Date: Fri, 04 Dec 2026 18:30:00 +0000\r\n") != NULL);
	UNIT_CHECK(strstr(h, "Message-ID: <pf-outbox-42-0@personaforge.xyz>\r\n") != NULL);
	UNIT_CHECK(strstr(h, "Auto-Submitted: auto-generated\r\n") != NULL);
	UNIT_CHECK(strstr(h, "multipart/alternative") != NULL);   /* it has an HTML part */
	UNIT_CHECK(header_lines_sane(h));
	UNIT_CHECK(strstr(m, "Your Pro plan stays active until\r\n31 December 2026; you will not be"
	    " charged again.") != NULL);
	UNIT_CHECK(strstr(m, "Content-Type: text/html; charset=UTF-8") != NULL);
	UNIT_CHECK(strstr(m, "<strong>Pro</strong>") != NULL);
	/* the same row renders the same bytes: a resend is the same message */
	{
		static char first[MAIL_MESSAGE_MAX];
		snprintf(first, sizeof(first), "%s", m);
		UNIT_EQ_STR(compose("subscription_cancel_scheduled", SUB_PRO_CANCELLED, 0,
		    "u1@example.com", to, sizeof(to)), first);
	}

	/* no usable address: nothing is composed, the caller gives it up */
	m = compose("subscription_cancel_scheduled", SUB_PRO_CANCELLED, 0, NULL, to, sizeof(to));
	UNIT_EQ_STR(to, "");
	m = compose("subscription_cancel_scheduled", SUB_PRO_CANCELLED, 0,
	    "u1@example.com\r\nBcc: victim@example.com", to, sizeof(to));
	UNIT_EQ_STR(to, "");
	UNIT_EQ_STR(m, "");

	m = compose("subscription_downgrade_scheduled",
	    "{\"subscription\": {\"plan\": \"studio\", \"current_period_end\": \"2027-01-15T00:00:00Z\","
	    " \"renews_at\": \"2027-01-15T00:00:00Z\", \"scheduled_change\": {\"plan\": \"pro\","
	    " \"effective_at\": \"2027-01-15T00:00:00Z\"}}}", 0, "u1@example.com", to, sizeof(to));
	UNIT_CHECK(strstr(headers_of(m), "Subject: Your plan changes to Pro on 15 January 2027\r\n")
	    != NULL);
	UNIT_CHECK(strstr(m, "from Studio to Pro") != NULL);

	m = compose("subscription_renewed", "{\"plan\": \"pro\", \"period_start\": \"2026-12-01T10:00:00Z\","
	    " \"period_end\": \"2027-01-01T10:00:00Z\", \"amount_cents\": 2900, \"currency\": \"USD\"}",
	    0, "u1@example.com", to, sizeof(to));
	UNIT_CHECK(strstr(m, "We charged $29.00") != NULL);
	UNIT_CHECK(strstr(headers_of(m), "Content-Type: text/plain; charset=UTF-8") != NULL);

	m = compose("subscription_ended", "{\"cause\": \"cancelled\", \"previous\": {\"plan\": \"pro\"},"
	    " \"ended_at\": \"2026-12-31T10:00:00Z\"}", 0, "u1@example.com", to, sizeof(to));
	UNIT_CHECK(strstr(m, "As you asked, your Pro subscription ended on 31 December 2026") != NULL);
	UNIT_CHECK(strstr(m, "suspended") == NULL);
}

#define REFUND_REQUEST(email, status, note, refunded) \
	"{\"refund_request\": {\"id\": \"rr_abc\", \"status\": \"" status "\"," \
	" \"reason\": \"billing_error\", \"charge_id\": \"ch_1\", \"description\": \"Charged twice.\\nPlease fix.\"," \
	" \"email\": " email ", \"submitted_at\": \"2026-12-04T18:30:00Z\"," \
	" \"respond_by\": \"2026-12-11T23:59:59Z\", \"decision_note\": " note "," \
	" \"refunded_cents\": " refunded "}, \"respond_by\": \"2026-12-11T23:59:59Z\"}"

static void
test_refund_messages(void)
{
	char to[MAIL_ADDRESS_MAX + 1];
	const char *m, *h;

	/* the acknowledgement goes to the contact address of the form */
	m = compose("refund_request_received",
	    REFUND_REQUEST("\"contact@example.org\"", "pending", "null", "null"), 0,
	    "u1@example.com", to, sizeof(to));
	h = headers_of(m);
	UNIT_EQ_STR(to, "contact@example.org");
	UNIT_CHECK(strstr(h, "Subject: We received your refund request rr_abc\r\n") != NULL);
	UNIT_CHECK(strstr(h, "Message-ID: <pf-outbox-42-0@personaforge.xyz>") != NULL);
	UNIT_CHECK(strstr(m, "answer by 11 December 2026") != NULL);
	UNIT_CHECK(strstr(m, "Amount:     $29.00") != NULL);
	/* ... and support's notification to PF_SUPPORT_EMAIL, its own Message-ID */
	m = compose("refund_request_received",
	    REFUND_REQUEST("\"contact@example.org\"", "pending", "null", "null"), 1,
	    "u1@example.com", to, sizeof(to));
	h = headers_of(m);
	UNIT_EQ_STR(to, "support@personaforge.xyz");
	UNIT_CHECK(strstr(h, "Message-ID: <pf-outbox-42-1@personaforge.xyz>") != NULL);
	UNIT_CHECK(strstr(h, "Subject: Refund request rr_abc from u_1: respond by 11 December 2026")
	    != NULL);
	UNIT_CHECK(strstr(m, "User:        u_1 (account email: u1@example.com)") != NULL);
	UNIT_CHECK(strstr(m, "Amount:      $29.00") != NULL);
	UNIT_CHECK(strstr(m, "Reason:      ") != NULL && strstr(m, "(billing_error)") != NULL);
	UNIT_CHECK(strstr(m, "Respond by:  11 December 2026") != NULL);
	UNIT_CHECK(strstr(m, "Charged twice.\r\nPlease fix.") != NULL);
	/* no contact address on the request: the account's */
	compose("refund_request_received", REFUND_REQUEST("null", "pending", "null", "null"), 0,
	    "u1@example.com", to, sizeof(to));
	UNIT_EQ_STR(to, "u1@example.com");
	/* -bad: a contact address carrying a header is refused, not the account's used */
	compose("refund_request_received",
	    REFUND_REQUEST("\"a@example.org\\r\\nBcc: victim@example.com\"", "pending", "null", "null"),
	    0, "u1@example.com", to, sizeof(to));
	UNIT_EQ_STR(to, "");

	/* the decision: amount refunded and support's note; a note's line
	 * breaks stay in the body */
	m = compose("refund_request_decided",
	    REFUND_REQUEST("\"contact@example.org\"", "approved",
	    "\"Sorry!\\r\\nBcc: victim@example.com\"", "1450"), 0, "u1@example.com", to, sizeof(to));
	h = headers_of(m);
	UNIT_EQ_STR(to, "contact@example.org");
	UNIT_CHECK(strstr(h, "Subject: Your refund request rr_abc is approved\r\n") != NULL);
	UNIT_CHECK(strstr(h, "Bcc") == NULL);
	UNIT_CHECK(strstr(m, "Refunded:   $14.50\r\n") != NULL);
	UNIT_CHECK(strstr(m, "Sorry!\r\nBcc: victim@example.com") != NULL);
	m = compose("refund_request_decided",
	    REFUND_REQUEST("\"contact@example.org\"", "denied", "\"Outside the policy.\"", "null"), 0,
	    "u1@example.com", to, sizeof(to));
	UNIT_CHECK(strstr(headers_of(m), "Subject: Your refund request rr_abc was declined\r\n") != NULL);
	UNIT_CHECK(strstr(m, "we cannot\r\napprove it.") != NULL && strstr(m, "Outside the policy.") != NULL);
	UNIT_CHECK(strstr(m, "efunded") == NULL);

	/* -bad: a payload without what the wording needs is an error, not a blank */
	UNIT_EQ_STR(compose("subscription_cancel_scheduled", "{}", 0, "u1@example.com", to,
	    sizeof(to)), "");
}

int
main(void)
{
	int i;

	test_render();
	test_vars_bounds();
	test_template_split();
	test_header_text();
	test_header_address();
	test_address_valid();
	test_from_parse();
	test_qp();
	test_date_and_amount_words();
	test_backoff();
	test_messages();
	test_refund_messages();
	for (i = 0; i < template_count; i++) {
		free(templates[i].text);
		free(templates[i].html);
	}
	return UNIT_REPORT("test_mail");
}
