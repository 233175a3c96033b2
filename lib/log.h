/* log.h: the service's log: one JSON object per line on stderr (journald
 * keeps it under systemd), written with one write(2) so that lines from
 * threads and processes never interleave. Never give it a token, a secret,
 * a password or a customer's free text: the callers pass identifiers,
 * codes and numbers only (tests/e2e/test_log_hygiene.py checks a whole
 * suite's logs). */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

#define LOG_LINE_MAX 2048
#define LOG_REQUEST_ID_MAX 64

/* Set once at start-up, before any thread: the lowest level written, and
 * whether each request gets its line. */
void log_configure(enum log_level level, bool request_lines);
/* Parses "debug", "info", "warn" or "error". Returns 0 or -1. */
int log_level_parse(const char *text, enum log_level *out);
/* The name log_level_parse takes for level (what a configuration shows). */
const char *log_level_name(enum log_level level);
bool log_enabled(enum log_level level);
bool log_request_lines(void);

/* Lets this thread's info and debug lines wait in a buffer of its own
 * (LOG_BATCH_MAX bytes) and go out together, one write(2) for many
 * requests' lines, instead of one each: log_flush writes them, and does so
 * by itself when the buffer fills or a warning or error comes (which is
 * written after what waits, in order). A worker thread turns it on and
 * flushes before it waits for work, so a line waits only while the thread
 * is busy with the next requests. Lines still waiting when the process
 * dies are lost. */
#define LOG_BATCH_MAX 8192
void log_batch_begin(void);
void log_flush(void);

/* The request this thread is serving: its id goes into every line the
 * thread writes until it is cleared (NULL). The string is borrowed. */
void log_set_request_id(const char *request_id);

/* A line being built: log_begin, then fields, then log_end writes it. */
struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool truncated;         /* the field being appended does not fit */
	bool dropped;           /* a field was left out */
	enum log_level level;
};

void log_begin(struct log_line *line, enum log_level level, const char *event);
void log_str(struct log_line *line, const char *key, const char *value);   /* NULL: null */
void log_int(struct log_line *line, const char *key, long long value);
void log_bool(struct log_line *line, const char *key, bool value);
void log_end(struct log_line *line);

/* One line with a message: log_begin, "message", log_end. */
void log_message(enum log_level level, const char *event, const char *message);
void log_messagef(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
