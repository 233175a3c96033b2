/* mail_message.h: from an outbox row to the bytes of each message it
 * produces, without I/O: which messages an event sends, to whom, with
 * which template variables (the customer's wording of the payload), and
 * the RFC 5322 message around a rendered template. */
#ifndef MAIL_MESSAGE_H
#define MAIL_MESSAGE_H

#include <jansson.h>
#include "mail_text.h"

#define MAIL_MESSAGE_MAX (256 * 1024)
#define MAIL_TEMPLATE_NAME_MAX 64
#define MAIL_MESSAGES_PER_ROW_MAX 2
#define MAIL_MESSAGE_ID_MAX (MAIL_ADDRESS_MAX + 48)

/* What the mailer knows about one outbox row; everything borrowed. */
struct mail_row {
	long long outbox_id;
	const char *user_id;
	const char *event;
	const json_t *payload;
	pf_time created_at;
	const char *account_email;      /* users.email; NULL when unknown */
	const char *support_email;      /* PF_SUPPORT_EMAIL */
	/* a refund request's record (NULL / 0 when it is not about one) */
	const char *charge_description;
	long long charge_amount_cents;
	const char *charge_currency;
	const char *task_kind;
	long long task_credits;
};

/* One message to render: its template, its recipient and its variables. */
struct mail_draft {
	char template_name[MAIL_TEMPLATE_NAME_MAX];
	char to[MAIL_ADDRESS_MAX + 1];  /* "" when the row has no usable address */
	struct mail_vars vars;
};

/* A template as loaded from mail/<name>.txt (and .html); owned strings. */
struct mail_template {
	char name[MAIL_TEMPLATE_NAME_MAX];
	char *text;                /* the .txt file; subject and body point into it */
	const char *subject;
	const char *body;
	char *html;                /* the .html file, or NULL */
};

struct mail_sender {
	char display[128];
	char address[MAIL_ADDRESS_MAX + 1];
};

/* The template names every known event needs, NULL-terminated. */
extern const char *const mail_template_names[];

/* How many messages the event sends (1, or 2 for a new refund request:
 * the customer's acknowledgement, then support's notification); 0 for an
 * event this mailer does not know. */
int mail_event_message_count(const char *event);

/* Fills the index-th message of row. Returns 0, or -1 with why in err (a
 * payload without a field the wording needs). An address that fails
 * mail_address_valid leaves draft->to empty: the caller gives the message
 * up, since no header or envelope may carry it. */
int mail_draft_prepare(const struct mail_row *row, int index, struct mail_draft *draft,
    char *err, size_t errlen);

/* "pf-outbox-<id>-<index>@<sender's domain>": the same for every attempt,
 * so a message sent twice is recognisably the same message. */
int mail_message_id(long long outbox_id, int index, const struct mail_sender *from,
    char out[MAIL_MESSAGE_ID_MAX]);

/* Renders t with draft's variables into a whole message (headers, a
 * quoted-printable text/plain part and, when t has one, a text/html
 * alternative) addressed to draft->to. date is the Date header (the
 * row's creation, so a resend is byte for byte the same). Returns 0, or -1
 * with why in err. */
int mail_compose(const struct mail_template *t, const struct mail_draft *draft,
    const struct mail_sender *from, long long outbox_id, int index, pf_time date,
    struct mail_buf *out, char *err, size_t errlen);

#endif
