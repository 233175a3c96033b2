/* mailer.c: pf-mailer, which delivers the outbox by SMTP (libcurl). A
 * daemon woken by PostgreSQL (LISTEN outbox_inserted; an outbox insert
 * notifies at commit) with a periodic sweep as the fallback, or one pass
 * with --once (for a timer).
 *
 * Guarantees, and how:
 * - At least once, each user's mail in outbox id order: a row is marked
 *   only after the SMTP server accepted its message, and only a user's
 *   oldest pending row can be claimed (sql_mail.c).
 * - Never twice from two mailers: each message is one transaction holding
 *   its row's lock (FOR UPDATE SKIP LOCKED) from the claim until its
 *   outcome is recorded. A crash in between (after the server accepted)
 *   releases the lock with the connection and the message is sent again,
 *   that one message only, with the same Message-ID.
 * - A temporary failure (4xx, no connection, timeout) delays the row with
 *   exponential backoff and jitter; a permanent one (5xx, no usable
 *   address), or PF_MAIL_MAX_ATTEMPTS temporary ones in a row, gives the
 *   message up and finishes its row as failed. Either way other users'
 *   rows go on, and every outcome is logged on stderr.
 * - Delivered rows older than PF_MAIL_RETENTION_DAYS are deleted in
 *   batches.
 *
 * Exit status: 0 done (daemon: stopped by SIGTERM/SIGINT); 1 --once met a
 * temporary failure or a database error (the next run resumes); 2 usage or
 * configuration error; 3 the database is unreachable (--once). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "app_config.h"
#include "command_line.h"
#include "db.h"
#include "mail_message.h"
#include "mail_text.h"
#include "sql_mail.h"

#ifndef PF_MAIL_TEMPLATE_DIR
#define PF_MAIL_TEMPLATE_DIR "/usr/local/share/personaforge/mail"
#endif

#define MAILER_TEMPLATE_MAX (64 * 1024)
#define MAILER_TEMPLATES_MAX 32
#define MAILER_ERROR_MAX 500          /* outbox.last_error's CHECK */
#define MAILER_PURGE_BATCH "1000"
#define MAILER_PURGE_BATCHES_MAX 100  /* per sweep; the next sweep goes on */
#define MAILER_DB_RETRY_MAX_SECONDS 30
#define MAILER_SERVER_PAUSE_MAX_SECONDS 60
#define MAILER_CONNECT_TIMEOUT_MAX 10
#define MAILER_IDLE_TX_MARGIN_MS 30000

enum exit_status {
	EXIT_DONE = 0,
	EXIT_INCOMPLETE = 1,
	EXIT_USAGE = 2,
	EXIT_UNAVAILABLE = 3,
};

enum send_result {
	SEND_OK,
	SEND_TEMPORARY,      /* try the message again later */
	SEND_UNREACHABLE,    /* temporary, and about the server, not the message */
	SEND_PERMANENT,
};

/* What one claim did. */
enum step {
	STEP_PROGRESS,       /* a message was sent, given up or delayed */
	STEP_SERVER_DOWN,    /* delayed because the server could not be reached */
	STEP_IDLE,           /* nothing is due */
	STEP_DB_ERROR,
};

struct counts {
	long sent;
	long retried;
	long given_up;
};

struct mailer {
	struct mail_config cfg;
	struct mail_sender from;
	struct mail_template templates[MAILER_TEMPLATES_MAX];
	int template_count;
	struct db db;
	CURL *curl;
	char curl_error[CURL_ERROR_SIZE];
	char smtp_reply[MAILER_ERROR_MAX];  /* the server's last reply line */
	bool listening;
	bool once;
	struct counts counts;
};

struct upload {
	const char *data;
	size_t len;
	size_t sent;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pf-mailer [--once | --version | --help]\n"
	    "Delivers the outbox by SMTP. Configuration: PF_CONFIG and the environment\n"
	    "(PF_DATABASE, PF_SMTP_URL, PF_SMTP_USER, PF_SMTP_PASSWORD_FILE, PF_MAIL_FROM,\n"
	    "PF_SUPPORT_EMAIL, ...; see README \"Notifications (the outbox)\").\n"
	    "  --once   deliver what is due, then exit (for a timer); default: run as a\n"
	    "           daemon woken by LISTEN/NOTIFY, sweeping every PF_MAIL_SWEEP_SECONDS\n");
}

static void
pause_seconds(long seconds)
{
	struct timespec ts = {seconds, 0};
	while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Reads a whole file of at most MAILER_TEMPLATE_MAX bytes (no NUL inside).
 * Returns a new string, or NULL (why in err; missing sets *absent). */
static char *
read_text_file(const char *path, bool *absent, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n;

	*absent = false;
	if (f == NULL) {
		*absent = errno == ENOENT;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(MAILER_TEMPLATE_MAX + 1);
	if (text == NULL)
		goto fail;
	n = fread(text, 1, MAILER_TEMPLATE_MAX + 1, f);
	if (n > MAILER_TEMPLATE_MAX || memchr(text, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: larger than %d bytes, or holds a NUL", path,
		    MAILER_TEMPLATE_MAX);
		goto fail;
	}
	text[n] = '\0';
	fclose(f);
	return text;
fail:
	free(text);
	fclose(f);
	return NULL;
}

static void
templates_free(struct mailer *m)
{
	int i;

	for (i = 0; i < m->template_count; i++) {
		free(m->templates[i].text);
		free(m->templates[i].html);
	}
	m->template_count = 0;
}

/* Loads every template a known event needs; a missing or malformed one
 * refuses the start, rather than rows failing one by one. */
static int
templates_load(struct mailer *m)
{
	char path[CONFIG_PATH_MAX + MAIL_TEMPLATE_NAME_MAX + 8], err[CONFIG_PATH_MAX + 128];
	bool absent;
	int i;

	for (i = 0; mail_template_names[i] != NULL; i++) {
		struct mail_template *t = &m->templates[m->template_count];

		if (m->template_count == MAILER_TEMPLATES_MAX)
			return -1;
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", mail_template_names[i]);
		snprintf(path, sizeof(path), "%s/%s.txt", m->cfg.templates_dir, t->name);
		t->text = read_text_file(path, &absent, err, sizeof(err));
		if (t->text == NULL) {
			fprintf(stderr, "pf-mailer: template %s\n", err);
			return -1;
		}
		m->template_count++;
		if (mail_template_split(t->text, &t->subject, &t->body) != 0) {
			fprintf(stderr, "pf-mailer: template %s: the first line must be \"Subject: ...\","
			    " then an empty line\n", path);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s.html", m->cfg.templates_dir, t->name);
		t->html = read_text_file(path, &absent, err, sizeof(err));
		if (t->html == NULL && !absent) {
			fprintf(stderr, "pf-mailer: template %s\n", err);
			return -1;
		}
	}
	return 0;
}

static const struct mail_template *
template_find(const struct mailer *m, const char *name)
{
	int i;

	for (i = 0; i < m->template_count; i++)
		if (strcmp(m->templates[i].name, name) == 0)
			return &m->templates[i];
	return NULL;
}

static size_t
upload_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
	struct upload *up = userdata;
	size_t n = up->len - up->sent;

	if (n > size * nitems)
		n = size * nitems;
	memcpy(buffer, up->data + up->sent, n);
	up->sent += n;
	return n;
}

/* Keeps the server's last reply line, printable ASCII only, for the log
 * and outbox.last_error. */
static int
smtp_trace(CURL *handle, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct mailer *m = userdata;
	size_t i, n = 0;

	(void)handle;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	for (i = 0; i < size && n + 1 < sizeof(m->smtp_reply); i++) {
		if (data[i] == '\r' || data[i] == '\n')
			break;
		m->smtp_reply[n++] = data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?';
	}
	m->smtp_reply[n] = '\0';
	return 0;
}

static int
curl_setup(struct mailer *m)
{
	long timeout = m->cfg.smtp_timeout_seconds;

	m->curl = curl_easy_init();
	if (m->curl == NULL)
		return -1;
	/* one handle for the process: libcurl keeps the SMTP connection
	 * between messages */
	if (curl_easy_setopt(m->curl, CURLOPT_URL, m->cfg.smtp_url) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps") != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_MAIL_FROM, m->from.address) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_READFUNCTION, upload_read) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT, timeout < MAILER_CONNECT_TIMEOUT_MAX ?
	    timeout : (long)MAILER_CONNECT_TIMEOUT_MAX) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_TIMEOUT, timeout) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_ERRORBUFFER, m->curl_error) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_DEBUGFUNCTION, smtp_trace) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_DEBUGDATA, m) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_VERBOSE, 1L) != CURLE_OK)
		return -1;
	/* smtp:// upgrades with STARTTLS and refuses a server without it,
	 * unless PF_SMTP_STARTTLS=no (a relay on loopback); smtps:// is TLS
	 * from the start. Certificates are always verified. */
	if (strncmp(m->cfg.smtp_url, "smtp://", 7) == 0 &&
	    curl_easy_setopt(m->curl, CURLOPT_USE_SSL,
	    m->cfg.smtp_starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE) != CURLE_OK)
		return -1;
	if (m->cfg.smtp_password != NULL &&
	    (curl_easy_setopt(m->curl, CURLOPT_USERNAME, m->cfg.smtp_user) != CURLE_OK ||
	    curl_easy_setopt(m->curl, CURLOPT_PASSWORD, m->cfg.smtp_password) != CURLE_OK))
		return -1;
	return 0;
}

/* One SMTP transaction: message to one recipient. err gets the server's
 * reply (or libcurl's error) on failure. */
static enum send_result
smtp_send(struct mailer *m, const char *to, const struct mail_buf *message, char *err,
    size_t errlen)
{
	struct curl_slist *rcpt = NULL;
	struct upload up = {message->data, message->len, 0};
	enum send_result result = SEND_UNREACHABLE;
	long code = 0;
	CURLcode rc;

	m->curl_error[0] = '\0';
	m->smtp_reply[0] = '\0';
	rcpt = curl_slist_append(NULL, to);
	if (rcpt == NULL) {
		snprintf(err, errlen, "out of memory");
		return SEND_TEMPORARY;
	}
	curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(m->curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(m->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)message->len);
	rc = curl_easy_perform(m->curl);
	curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(m->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpt);
	if (rc == CURLE_OK)
		return SEND_OK;
	if (rc == CURLE_LOGIN_DENIED)
		/* our credentials, not the message: hold the mail, fix the config */
		result = SEND_UNREACHABLE;
	else if (code >= 500 && code <= 599)
		result = SEND_PERMANENT;
	else if (code >= 400 && code <= 499)
		result = SEND_TEMPORARY;
	/* cut to errlen: the reply comes first, it says the most */
	if (snprintf(err, errlen, "%s%s%s", m->smtp_reply[0] && code >= 400 ? m->smtp_reply : "",
	    m->smtp_reply[0] && code >= 400 ? " / " : "",
	    m->curl_error[0] ? m->curl_error : curl_easy_strerror(rc)) < 0)
		err[0] = '\0';
	return result;
}

/* An outcome's last_error: printable, within the column's CHECK. */
static void
error_text(char *out, size_t max, const char *what)
{
	mail_header_neutralise(what, out, max < MAILER_ERROR_MAX ? max : MAILER_ERROR_MAX);
}

static enum pf_error
record_done(struct mailer *m, const char *id, pf_time now, bool last, bool given_up,
    const char *error, bool attempted)
{
	char now_text[24];
	const char *params[6];

	snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
	params[0] = id;
	params[1] = now_text;
	params[2] = last ? "true" : "false";
	params[3] = given_up ? "1" : "0";
	params[4] = error;
	params[5] = attempted ? "1" : "0";
	/* travels with the COMMIT: one round trip after the send */
	return db_defer(&m->db, &sql_mail_catalog, SQL_MAIL_MESSAGE_DONE, params);
}

static enum pf_error
record_retry(struct mailer *m, const char *id, pf_time at, const char *error)
{
	char at_text[24];
	const char *params[3] = {id, at_text, error};

	snprintf(at_text, sizeof(at_text), "%lld", (long long)at);
	return db_defer(&m->db, &sql_mail_catalog, SQL_MAIL_RETRY_LATER, params);
}

static uint32_t
random_u32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)time(NULL) * 2654435761u;
	return r;
}

/* Sends (or gives up, or delays) the message due of a claimed row, and
 * records the outcome in the claim's transaction. */
static enum step
deliver_claimed(struct mailer *m, const PGresult *res, pf_time now)
{
	const char *id = db_text(res, 0, "id");
	const char *event = db_text(res, 0, "event");
	struct mail_row row;
	struct mail_draft *draft = NULL;
	struct mail_buf message;
	const struct mail_template *t;
	json_t *payload = NULL;
	json_error_t jerr;
	char err[MAILER_ERROR_MAX], why[MAILER_ERROR_MAX + 64];
	int index = (int)db_int(res, 0, "messages_sent");
	int count = mail_event_message_count(event);
	int failures = (int)db_int(res, 0, "failures");
	bool last = index + 1 >= count;
	enum send_result sent = SEND_PERMANENT;
	bool attempted = false;
	enum step step = STEP_PROGRESS;
	enum pf_error dberr;

	mail_buf_init(&message, MAIL_MESSAGE_MAX);
	err[0] = '\0';
	payload = json_loads(db_text(res, 0, "payload"), 0, &jerr);
	draft = malloc(sizeof(*draft));
	memset(&row, 0, sizeof(row));
	row.outbox_id = db_int(res, 0, "id");
	row.user_id = db_text(res, 0, "user_id");
	row.event = event;
	row.payload = payload;
	row.created_at = db_int(res, 0, "created_at");
	row.account_email = db_text(res, 0, "account_email");
	row.support_email = m->cfg.support_email;
	row.charge_description = db_text(res, 0, "charge_description");
	row.charge_amount_cents = db_int(res, 0, "charge_amount_cents");
	row.charge_currency = db_text(res, 0, "charge_currency");
	row.task_kind = db_text(res, 0, "task_kind");
	row.task_credits = db_int(res, 0, "task_credits");

	/* everything that cannot get better by waiting gives the message up */
	if (count == 0)
		snprintf(err, sizeof(err), "no template for event %s", event);
	else if (payload == NULL || draft == NULL)
		snprintf(err, sizeof(err), "payload unreadable");
	else if (mail_draft_prepare(&row, index, draft, err, sizeof(err)) != 0)
		;
	else if (draft->to[0] == '\0')
		snprintf(err, sizeof(err), "no usable address");
	else if ((t = template_find(m, draft->template_name)) == NULL)
		snprintf(err, sizeof(err), "no template %s", draft->template_name);
	else if (mail_compose(t, draft, &m->from, row.outbox_id, index, row.created_at, &message,
	    err, sizeof(err)) != 0)
		;
	else {
		sent = smtp_send(m, draft->to, &message, err, sizeof(err));
		attempted = true;
	}
	if (count == 0)
		last = true;

	if (sent == SEND_OK) {
		dberr = record_done(m, id, now, last, false, NULL, true);
		m->counts.sent++;
		fprintf(stderr, "pf-mailer: outbox %s %s message %d/%d to %s: sent\n", id, event,
		    index + 1, count, draft->to);
	} else if (sent != SEND_PERMANENT && failures + 1 < m->cfg.max_attempts) {
		long delay = mail_backoff_seconds(failures + 1, m->cfg.backoff_base_seconds,
		    m->cfg.backoff_max_seconds, random_u32());
		error_text(why, sizeof(why), err);
		dberr = record_retry(m, id, now + delay, why);
		m->counts.retried++;
		step = sent == SEND_UNREACHABLE ? STEP_SERVER_DOWN : STEP_PROGRESS;
		fprintf(stderr, "pf-mailer: outbox %s %s message %d/%d: temporary failure %d of %d,"
		    " retry in %ld s: %s\n", id, event, index + 1, count, failures + 1,
		    m->cfg.max_attempts, delay, why);
	} else {
		char raw[sizeof(why)];
		if (sent != SEND_PERMANENT)
			snprintf(raw, sizeof(raw), "gave up after %d attempts: %s", failures + 1, err);
		else
			snprintf(raw, sizeof(raw), "%s", err);
		error_text(why, sizeof(why), raw);
		dberr = record_done(m, id, now, last, true, why, attempted);
		m->counts.given_up++;
		fprintf(stderr, "pf-mailer: outbox %s %s message %d/%d: FAILED (given up): %s\n", id,
		    event, index + 1, count > 0 ? count : 1, why);
	}
	if (dberr == PF_OK)
		dberr = db_commit(&m->db);
	if (dberr != PF_OK) {
		/* the row stays as it was: what was sent goes again, same Message-ID */
		fprintf(stderr, "pf-mailer: outbox %s: recording the outcome failed (%s)\n", id,
		    m->db.last_sqlstate[0] ? m->db.last_sqlstate : pf_error_info(dberr)->code);
		step = STEP_DB_ERROR;
	}
	json_decref(payload);
	free(draft);
	mail_buf_free(&message);
	return step;
}

/* Claims the next message due and delivers it: one transaction. */
static enum step
deliver_one(struct mailer *m)
{
	pf_time now = (pf_time)time(NULL);
	char now_text[24];
	const char *params[1] = {now_text};
	PGresult *res = NULL;
	enum step step = STEP_DB_ERROR;

	snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
	if (db_begin(&m->db) != PF_OK ||
	    db_exec(&m->db, &sql_mail_catalog, SQL_MAIL_CLAIM, params, &res) != PF_OK)
		goto out;
	if (PQntuples(res) == 0) {
		step = STEP_IDLE;
		goto out;
	}
	step = deliver_claimed(m, res, now);
out:
	PQclear(res);
	if (m->db.in_transaction)
		db_rollback(&m->db);
	return step;
}

/* Seconds until the earliest delayed row is due (1..cap). A row already
 * due but not claimed is locked by another mailer, which goes on with its
 * user's mail itself: it is no reason to wake early. */
static long
seconds_to_next_retry(struct mailer *m, long cap)
{
	char now_text[24];
	const char *params[1] = {now_text};
	PGresult *res = NULL;
	long long now = (long long)time(NULL);
	long wait = cap;

	snprintf(now_text, sizeof(now_text), "%lld", now);
	if (db_exec(&m->db, &sql_mail_catalog, SQL_MAIL_NEXT_RETRY, params, &res) == PF_OK &&
	    !db_is_null(res, 0, "next_at")) {
		long long at = db_int(res, 0, "next_at") - now;
		if (at < wait)
			wait = at < 1 ? 1 : (long)at;
	}
	PQclear(res);
	return wait;
}

/* Deletes delivered rows past retention, a batch per statement. */
static void
purge_delivered(struct mailer *m)
{
	char before[24];
	const char *params[2] = {before, MAILER_PURGE_BATCH};
	long total = 0;
	int i;

	snprintf(before, sizeof(before), "%lld",
	    (long long)time(NULL) - (long long)m->cfg.retention_days * 86400);
	for (i = 0; i < MAILER_PURGE_BATCHES_MAX && !stop_requested; i++) {
		PGresult *res = NULL;
		long n;

		if (db_exec(&m->db, &sql_mail_catalog, SQL_MAIL_PURGE, params, &res) != PF_OK) {
			fprintf(stderr, "pf-mailer: purging delivered rows failed\n");
			PQclear(res);
			return;
		}
		n = atol(PQcmdTuples(res));
		PQclear(res);
		total += n;
		if (n < atol(MAILER_PURGE_BATCH))
			break;
	}
	if (total > 0)
		fprintf(stderr, "pf-mailer: deleted %ld delivered rows older than %d days\n", total,
		    m->cfg.retention_days);
}

/* Takes the notifications libpq has read; returns how many. A broken
 * connection is dropped (and LISTEN is sent again on the next one). */
static int
drain_notifications(struct mailer *m)
{
	PGnotify *n;
	int count = 0;

	if (m->db.conn == NULL)
		return 0;
	if (PQconsumeInput(m->db.conn) == 0) {
		fprintf(stderr, "pf-mailer: database connection lost\n");
		db_close(&m->db);
		m->listening = false;
		return 0;
	}
	while ((n = PQnotifies(m->db.conn)) != NULL) {
		PQfreemem(n);
		count++;
	}
	return count;
}

/* Sleeps until an outbox insert commits, seconds pass, or a signal. */
static void
wait_for_work(struct mailer *m, long seconds)
{
	struct pollfd pfd;

	if (m->db.conn == NULL || drain_notifications(m) > 0 || seconds <= 0)
		return;
	pfd.fd = PQsocket(m->db.conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, (int)(seconds * 1000)) > 0)
		drain_notifications(m);
}

/* Connects (again) and listens. Returns 0, or -1 while unreachable. */
static int
database_ready(struct mailer *m)
{
	char idle_ms[24];
	const char *params[1] = {idle_ms};

	if (m->db.conn != NULL && m->listening)
		return 0;
	m->listening = false;
	if (db_ensure(&m->db) != PF_OK)
		return -1;
	/* LISTEN before the first claim: an insert committed after the
	 * claim looked is then a notification, never missed */
	snprintf(idle_ms, sizeof(idle_ms), "%d",
	    m->cfg.smtp_timeout_seconds * 1000 + MAILER_IDLE_TX_MARGIN_MS);
	if (db_exec(&m->db, &sql_mail_catalog, SQL_MAIL_SESSION, params, NULL) != PF_OK ||
	    db_exec(&m->db, &sql_mail_catalog, SQL_MAIL_LISTEN, NULL, NULL) != PF_OK) {
		db_close(&m->db);
		return -1;
	}
	m->listening = true;
	return 0;
}

static int
run(struct mailer *m)
{
	long db_pause = 1, server_pause = 1;
	time_t last_purge = 0;
	bool incomplete = false;

	while (!stop_requested) {
		enum step step;

		if (database_ready(m) != 0) {
			if (m->once)
				return EXIT_UNAVAILABLE;
			fprintf(stderr, "pf-mailer: database unreachable; again in %ld s\n", db_pause);
			pause_seconds(db_pause);
			db_pause = db_pause * 2 > MAILER_DB_RETRY_MAX_SECONDS ?
			    MAILER_DB_RETRY_MAX_SECONDS : db_pause * 2;
			continue;
		}
		db_pause = 1;
		drain_notifications(m);
		step = deliver_one(m);
		if (step == STEP_PROGRESS) {
			server_pause = 1;
			continue;
		}
		if (step == STEP_SERVER_DOWN) {
			/* the next row would meet the same closed door: wait for
			 * the server, not only for the row's own backoff */
			incomplete = true;
			if (m->once)
				break;
			pause_seconds(server_pause);
			server_pause = server_pause * 2;
			if (server_pause > m->cfg.backoff_max_seconds)
				server_pause = m->cfg.backoff_max_seconds;
			if (server_pause > MAILER_SERVER_PAUSE_MAX_SECONDS)
				server_pause = MAILER_SERVER_PAUSE_MAX_SECONDS;
			continue;
		}
		if (step == STEP_DB_ERROR) {
			incomplete = true;
			if (m->once)
				break;
			pause_seconds(db_pause);
			continue;
		}
		/* idle: the sweep's chores, then sleep until woken */
		if (time(NULL) - last_purge >= m->cfg.sweep_seconds || m->once) {
			purge_delivered(m);
			last_purge = time(NULL);
		}
		if (m->once)
			break;
		wait_for_work(m, seconds_to_next_retry(m, m->cfg.sweep_seconds));
	}
	/* a daemon stopped by a signal has done its job; a timer's run that
	 * left mail waiting says so */
	if (m->once && m->counts.retried > 0)
		incomplete = true;
	if (!m->once)
		incomplete = false;
	return incomplete ? EXIT_INCOMPLETE : EXIT_DONE;
}

int
main(int argc, char **argv)
{
	struct mailer *m;
	int i, ret = EXIT_USAGE;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return EXIT_USAGE;
	for (i = 1; i < argc; i++) {
		if (command_line_answered("pf-mailer", argv[i], usage)) {
			ret = EXIT_DONE;
			goto out_free;
		}
		if (strcmp(argv[i], "--once") != 0) {
			command_line_bad_argument("pf-mailer", argv[i], usage);
			goto out_free;
		}
		m->once = true;
	}
	if (config_load_mail(&m->cfg, PF_MAIL_TEMPLATE_DIR) != 0)
		goto out_free;
	if (mail_from_parse(m->cfg.mail_from, m->from.display, sizeof(m->from.display),
	    m->from.address, sizeof(m->from.address)) != 0 || templates_load(m) != 0)
		goto out_config;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out_config;
	if (curl_setup(m) != 0) {
		fprintf(stderr, "pf-mailer: libcurl refused the SMTP settings\n");
		goto out_curl;
	}
	/* SIGINT/SIGTERM: finish the message in hand, then stop */
	command_line_stop_on_signals();
	signal(SIGPIPE, SIG_IGN);

	db_init(&m->db, m->cfg.database, m->cfg.statement_timeout_ms);
	fprintf(stderr, "pf-mailer: started%s (from %s, server %s)\n", m->once ? " --once" : "",
	    m->from.address, m->cfg.smtp_url);
	ret = run(m);
	fprintf(stderr, "pf-mailer: %s: sent=%ld retried=%ld given_up=%ld\n",
	    stop_requested ? "stopped" : "done", m->counts.sent, m->counts.retried,
	    m->counts.given_up);
	db_close(&m->db);
out_curl:
	if (m->curl != NULL)
		curl_easy_cleanup(m->curl);
	curl_global_cleanup();
out_config:
	templates_free(m);
	config_free_mail(&m->cfg);
out_free:
	free(m);
	return ret;
}
