/* sql_mail.h: the statements of the mailer (cmd/mailer.c): claiming the
 * next outbox row due, recording each message's outcome, the wake-up
 * channel and the retention sweep. */
#ifndef SQL_MAIL_H
#define SQL_MAIL_H

#include "db.h"

enum sql_mail {
	SQL_MAIL_CLAIM,          /* $1 now: the oldest row due whose user has nothing older pending, locked (or none) */
	SQL_MAIL_MESSAGE_DONE,   /* $1 id, $2 now, $3 last message, $4 given up (0/1), $5 error or NULL, $6 attempted (0/1) */
	SQL_MAIL_RETRY_LATER,    /* $1 id, $2 not before, $3 error */
	SQL_MAIL_NEXT_RETRY,     /* $1 now: the earliest next_attempt_at after it (next_at, NULL when none) */
	SQL_MAIL_PURGE,          /* $1 delivered before, $2 batch size */
	SQL_MAIL_LISTEN,         /* LISTEN outbox_inserted */
	SQL_MAIL_SESSION,        /* $1 idle_in_transaction_session_timeout, ms */
	SQL_MAIL__MAX
};

extern const struct db_catalog sql_mail_catalog;

#endif
