/* mail_message.c: outbox rows to messages, without I/O; see mail_message.h. */
#include <stdio.h>
#include <string.h>
#include "mail_message.h"
#include "policy_refund.h"

#define SUPPORT_SUFFIX ".support"

/* Every event of README's outbox table. A new event needs an entry here and
 * its templates, or its rows are given up ("no template"), never mailed
 * blank. */
static const struct {
	const char *event;
	int messages;
} events[] = {
	{"subscription_started", 1},
	{"subscription_cancel_scheduled", 1},
	{"subscription_resumed", 1},
	{"subscription_downgrade_scheduled", 1},
	{"subscription_downgrade_withdrawn", 1},
	{"subscription_renewed", 1},
	{"subscription_plan_changed", 1},
	{"subscription_ended", 1},
	{"refund_request_received", 2},
	{"refund_request_decided", 1},
	{"account_suspended", 1},
};

const char *const mail_template_names[] = {
	"subscription_started",
	"subscription_cancel_scheduled",
	"subscription_resumed",
	"subscription_downgrade_scheduled",
	"subscription_downgrade_withdrawn",
	"subscription_renewed",
	"subscription_plan_changed",
	"subscription_ended",
	"refund_request_received",
	"refund_request_received" SUPPORT_SUFFIX,
	"refund_request_decided",
	"account_suspended",
	NULL,
};

int
mail_event_message_count(const char *event)
{
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strcmp(events[i].event, event) == 0)
			return events[i].messages;
	return 0;
}

/* Building the variables: the first failure is remembered in err. */
struct draft_builder {
	struct mail_draft *draft;
	char *err;
	size_t errlen;
	int failed;
};

static void
put(struct draft_builder *b, const char *name, const char *value)
{
	if (b->failed)
		return;
	if (value == NULL) {
		snprintf(b->err, b->errlen, "payload has no %s", name);
		b->failed = 1;
	} else if (mail_vars_set(&b->draft->vars, name, value) != 0) {
		snprintf(b->err, b->errlen, "variable %s does not fit", name);
		b->failed = 1;
	}
}

static const char *
json_text_at(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* "Pro" for "pro", "Free" for "free": plan names as the customer sees them. */
static void
put_plan(struct draft_builder *b, const char *name, const char *plan)
{
	char text[64];

	if (plan == NULL) {
		put(b, name, NULL);
		return;
	}
	snprintf(text, sizeof(text), "%s", plan);
	if (text[0] >= 'a' && text[0] <= 'z')
		text[0] = (char)(text[0] - 'a' + 'A');
	put(b, name, text);
}

/* An RFC 3339 time of the payload as "31 December 2026". */
static void
put_date(struct draft_builder *b, const char *name, const char *rfc3339)
{
	char words[MAIL_DATE_WORDS_MAX];
	pf_time t;

	if (rfc3339 == NULL || pf_time_parse(rfc3339, &t) != 0 || mail_date_words(t, words) != 0) {
		put(b, name, NULL);
		return;
	}
	put(b, name, words);
}

static void
put_amount(struct draft_builder *b, const char *name, long long cents, const char *currency)
{
	char words[MAIL_AMOUNT_WORDS_MAX];

	put(b, name, currency != NULL && mail_amount_words(cents, currency, words) == 0 ?
	    words : NULL);
}

static void
put_flag(struct draft_builder *b, const char *name, bool on)
{
	put(b, name, on ? "yes" : "");
}

/* The recipient: a valid address, or "" (the message is given up). */
static void
set_recipient(struct mail_draft *draft, const char *address)
{
	draft->to[0] = '\0';
	if (address != NULL && mail_address_valid(address))
		snprintf(draft->to, sizeof(draft->to), "%s", address);
}

static void
subscription_vars(struct draft_builder *b, const char *event, const json_t *payload)
{
	const json_t *sub = json_object_get(payload, "subscription");
	const json_t *change = json_object_get(sub, "scheduled_change");

	put_plan(b, "plan", json_text_at(sub, "plan"));
	put_date(b, "period_end", json_text_at(sub, "current_period_end"));
	if (strcmp(event, "subscription_downgrade_scheduled") == 0) {
		put_plan(b, "new_plan", json_text_at(change, "plan"));
		put_date(b, "effective_on", json_text_at(change, "effective_at"));
	} else if (strcmp(event, "subscription_cancel_scheduled") != 0) {
		put_date(b, "renews_on", json_text_at(sub, "renews_at"));
	}
}

static void
period_vars(struct draft_builder *b, const json_t *payload)
{
	const json_t *amount = json_object_get(payload, "amount_cents");

	put_plan(b, "plan", json_text_at(payload, "plan"));
	put_date(b, "period_start", json_text_at(payload, "period_start"));
	put_date(b, "period_end", json_text_at(payload, "period_end"));
	if (!json_is_integer(amount))
		put(b, "amount", NULL);
	else
		put_amount(b, "amount", json_integer_value(amount), json_text_at(payload, "currency"));
}

static void
ended_vars(struct draft_builder *b, const json_t *payload)
{
	const char *cause = json_text_at(payload, "cause");

	put_plan(b, "plan", json_text_at(json_object_get(payload, "previous"), "plan"));
	put_date(b, "ended_on", json_text_at(payload, "ended_at"));
	put_flag(b, "suspended", cause != NULL && strcmp(cause, "suspended") == 0);
}

static const char *
reason_label(const char *code)
{
	enum refund_reason r;

	if (code == NULL || refund_reason_from_code(code, &r) != 0)
		return code;
	return refund_reason_info(r)->label;
}

/* What the request is about, in words, and its amount. */
static void
refund_record_vars(struct draft_builder *b, const struct mail_row *row, const json_t *request)
{
	const char *charge_id = json_text_at(request, "charge_id");
	const char *task_id = json_text_at(request, "task_id");
	char text[512];

	put_flag(b, "is_charge", charge_id != NULL);
	if (charge_id != NULL && row->charge_currency != NULL) {
		snprintf(text, sizeof(text), "%s (%s)", row->charge_description ?
		    row->charge_description : "a charge", charge_id);
		put(b, "record", text);
		put_amount(b, "amount", row->charge_amount_cents, row->charge_currency);
	} else if (task_id != NULL && row->task_kind != NULL) {
		snprintf(text, sizeof(text), "your %s task %s", row->task_kind, task_id);
		put(b, "record", text);
		snprintf(text, sizeof(text), "%lld credits", row->task_credits);
		put(b, "amount", text);
	} else {
		snprintf(b->err, b->errlen, "the refund request's charge or task is gone");
		b->failed = 1;
	}
}

static void
refund_vars(struct draft_builder *b, const struct mail_row *row, int index)
{
	const json_t *request = json_object_get(row->payload, "refund_request");
	const char *respond_by = json_text_at(row->payload, "respond_by");
	const char *status = json_text_at(request, "status");
	const json_t *refunded = json_object_get(request, "refunded_cents");
	const char *note = json_text_at(request, "decision_note");

	put(b, "request_id", json_text_at(request, "id"));
	put(b, "reason", reason_label(json_text_at(request, "reason")));
	put(b, "description", json_text_at(request, "description"));
	refund_record_vars(b, row, request);
	if (strcmp(row->event, "refund_request_received") == 0) {
		put_date(b, "respond_by", respond_by != NULL ? respond_by :
		    json_text_at(request, "respond_by"));
		put_date(b, "submitted_on", json_text_at(request, "submitted_at"));
		if (index == 1) {
			put(b, "user_id", row->user_id);
			put(b, "account_email", row->account_email ? row->account_email : "(none)");
			put(b, "contact_email", json_text_at(request, "email") ?
			    json_text_at(request, "email") : "(the account's)");
			put(b, "reason_code", json_text_at(request, "reason"));
		}
		return;
	}
	put_flag(b, "approved", status != NULL && strcmp(status, "approved") == 0);
	put(b, "decision_note", note != NULL ? note : "");
	if (json_is_integer(refunded) && row->charge_currency != NULL)
		put_amount(b, "refunded", json_integer_value(refunded), row->charge_currency);
	else
		put(b, "refunded", "");
}

int
mail_draft_prepare(const struct mail_row *row, int index, struct mail_draft *draft,
    char *err, size_t errlen)
{
	struct draft_builder b = {draft, err, errlen, 0};
	const char *event = row->event;
	const json_t *request = json_object_get(row->payload, "refund_request");

	memset(draft->template_name, 0, sizeof(draft->template_name));
	draft->to[0] = '\0';
	mail_vars_init(&draft->vars);
	if (index < 0 || index >= mail_event_message_count(event)) {
		snprintf(err, errlen, "no message %d for event %.64s", index, event);
		return -1;
	}
	snprintf(draft->template_name, sizeof(draft->template_name), "%s%s", event,
	    index == 1 ? SUPPORT_SUFFIX : "");
	/* refund mail goes to the contact address given on the form (its
	 * default is the account's); support's copy to support */
	if (index == 1)
		set_recipient(draft, row->support_email);
	else if (request != NULL && json_text_at(request, "email") != NULL)
		set_recipient(draft, json_text_at(request, "email"));
	else
		set_recipient(draft, row->account_email);
	put(&b, "support_email", row->support_email);
	if (strncmp(event, "refund_request_", 15) == 0)
		refund_vars(&b, row, index);
	else if (strcmp(event, "subscription_renewed") == 0 ||
	    strcmp(event, "subscription_plan_changed") == 0)
		period_vars(&b, row->payload);
	else if (strcmp(event, "subscription_ended") == 0)
		ended_vars(&b, row->payload);
	else if (strcmp(event, "account_suspended") == 0)
		put_date(&b, "suspended_on", json_text_at(row->payload, "suspended_at"));
	else
		subscription_vars(&b, event, row->payload);
	return b.failed ? -1 : 0;
}

int
mail_message_id(long long outbox_id, int index, const struct mail_sender *from,
    char out[MAIL_MESSAGE_ID_MAX])
{
	const char *domain = strchr(from->address, '@');

	if (domain == NULL)
		return -1;
	snprintf(out, MAIL_MESSAGE_ID_MAX, "pf-outbox-%lld-%d%s", outbox_id, index, domain);
	return 0;
}

/* A part's headers and quoted-printable body. */
static int
put_part(struct mail_buf *out, const char *type, const char *body)
{
	if (mail_buf_puts(out, "Content-Type: ") != 0 || mail_buf_puts(out, type) != 0 ||
	    mail_buf_puts(out, "; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n") != 0)
		return -1;
	return mail_qp_encode(out, body, strlen(body));
}

int
mail_compose(const struct mail_template *t, const struct mail_draft *draft,
    const struct mail_sender *from, long long outbox_id, int index, pf_time date,
    struct mail_buf *out, char *err, size_t errlen)
{
	struct mail_buf subject, text, html;
	char message_id[MAIL_MESSAGE_ID_MAX + 2], date_text[MAIL_DATE_HEADER_MAX];
	char boundary[64];
	int ret = -1;

	mail_buf_init(&subject, 4096);
	mail_buf_init(&text, MAIL_MESSAGE_MAX / 2);
	mail_buf_init(&html, MAIL_MESSAGE_MAX / 2);
	if (mail_render(t->subject, &draft->vars, false, &subject, err, errlen) != 0 ||
	    mail_render(t->body, &draft->vars, false, &text, err, errlen) != 0 ||
	    (t->html != NULL && mail_render(t->html, &draft->vars, true, &html, err, errlen) != 0))
		goto out;
	snprintf(err, errlen, "the message does not fit, or a header is unusable");
	message_id[0] = '<';
	if (mail_message_id(outbox_id, index, from, message_id + 1) != 0 ||
	    mail_date_header(date, date_text) != 0)
		goto out;
	strcat(message_id, ">");
	/* From and To refuse an address that could carry a header; Subject
	 * is neutralised; the rest is ours */
	if (mail_header_address(out, "From", from->display, from->address) != 0 ||
	    mail_header_address(out, "To", "", draft->to) != 0 ||
	    mail_header_text(out, "Subject", subject.data ? subject.data : "") != 0 ||
	    mail_header_text(out, "Date", date_text) != 0 ||
	    mail_header_text(out, "Message-ID", message_id) != 0 ||
	    mail_header_text(out, "Auto-Submitted", "auto-generated") != 0 ||
	    mail_buf_puts(out, "MIME-Version: 1.0\r\n") != 0)
		goto out;
	if (t->html == NULL) {
		if (put_part(out, "text/plain", text.data ? text.data : "") != 0)
			goto out;
	} else {
		/* "=_" never occurs in quoted-printable text, so the boundary
		 * cannot appear inside a part */
		snprintf(boundary, sizeof(boundary), "=_pf-outbox-%lld-%d", outbox_id, index);
		if (mail_buf_puts(out, "Content-Type: multipart/alternative; boundary=\"") != 0 ||
		    mail_buf_puts(out, boundary) != 0 || mail_buf_puts(out, "\"\r\n\r\n--") != 0 ||
		    mail_buf_puts(out, boundary) != 0 || mail_buf_puts(out, "\r\n") != 0 ||
		    put_part(out, "text/plain", text.data ? text.data : "") != 0 ||
		    mail_buf_puts(out, "--") != 0 || mail_buf_puts(out, boundary) != 0 ||
		    mail_buf_puts(out, "\r\n") != 0 ||
		    put_part(out, "text/html", html.data ? html.data : "") != 0 ||
		    mail_buf_puts(out, "--") != 0 || mail_buf_puts(out, boundary) != 0 ||
		    mail_buf_puts(out, "--\r\n") != 0)
			goto out;
	}
	ret = 0;
out:
	mail_buf_free(&subject);
	mail_buf_free(&text);
	mail_buf_free(&html);
	return ret;
}
