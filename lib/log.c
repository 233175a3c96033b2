/* log.c: see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Written once before the threads start, read-only afterwards. */
static enum log_level min_level = LOG_INFO;
static bool request_lines = true;

/* Per thread: nothing shared. */
static __thread const char *current_request_id;
static __thread bool batching;
static __thread char batch[LOG_BATCH_MAX];
static __thread size_t batch_len;

static void
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n <= 0)
			return;     /* nowhere to report a failed log write */
		buf += n;
		len -= (size_t)n;
	}
}

void
log_batch_begin(void)
{
	batching = true;
}

void
log_flush(void)
{
	if (batch_len > 0)
		write_all(batch, batch_len);
	batch_len = 0;
}

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_configure(enum log_level level, bool lines)
{
	min_level = level;
	request_lines = lines;
}

int
log_level_parse(const char *text, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(text, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

bool
log_enabled(enum log_level level)
{
	return level >= min_level;
}

bool
log_request_lines(void)
{
	return request_lines;
}

void
log_set_request_id(const char *request_id)
{
	current_request_id = request_id;
}

/* what log_end may add: the truncation mark and the closing "}\n" */
static const char truncated_mark[] = ",\"truncated\":true";
#define LINE_RESERVE (sizeof(truncated_mark) + 2)

static void
append_raw(struct log_line *line, const char *text, size_t n)
{
	if (line->truncated || line->len + n + LINE_RESERVE > sizeof(line->buf)) {
		line->truncated = true;
		return;
	}
	memcpy(line->buf + line->len, text, n);
	line->len += n;
}

/* Appends a JSON string: quotes, escapes for '"', '\\' and control bytes.
 * Bytes of 0x80 and up pass as they are (the values are identifiers and
 * server messages). Runs of plain bytes go in with one copy: the line of
 * every request passes here, and a byte at a time cost more than the rest
 * of the line (make bench-observability). */
static void
append_string(struct log_line *line, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = text;
	char esc[6];

	append_raw(line, "\"", 1);
	for (; *text != '\0' && !line->truncated; text++) {
		unsigned char c = (unsigned char)*text;

		if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7f)
			continue;
		append_raw(line, run, (size_t)(text - run));
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			append_raw(line, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			append_raw(line, esc, 6);
		}
		run = text + 1;
	}
	append_raw(line, run, (size_t)(text - run));
	append_raw(line, "\"", 1);
}

/* Keys are the code's own identifiers (string literals of [a-z_]), so they
 * go in without the escaping scan. */
static void
append_key(struct log_line *line, const char *key)
{
	append_raw(line, ",\"", 2);
	append_raw(line, key, strlen(key));
	append_raw(line, "\":", 2);
}

/* The decimal digits of value; returns their number (at most 20). */
static size_t
format_int(char *out, long long value)
{
	char digits[24];
	unsigned long long rest = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
	size_t n = 0, len = 0;

	do {
		digits[n++] = (char)('0' + rest % 10);
		rest /= 10;
	} while (rest != 0);
	if (value < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = digits[--n];
	return len;
}

/* "YYYY-MM-DDTHH:MM:SS" of the current second, formatted once a second per
 * thread: only the microseconds change from line to line. */
static __thread time_t stamp_second = (time_t)-1;
static __thread char stamp_prefix[64];   /* room for any int fields */

static void
append_time(struct log_line *line, const struct timespec *ts)
{
	long micros = ts->tv_nsec / 1000;
	char fraction[8];
	int i;

	if (ts->tv_sec != stamp_second) {
		struct tm tm;

		gmtime_r(&ts->tv_sec, &tm);
		snprintf(stamp_prefix, sizeof(stamp_prefix), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		stamp_second = ts->tv_sec;
	}
	fraction[0] = '.';
	for (i = 6; i >= 1; i--) {
		fraction[i] = (char)('0' + micros % 10);
		micros /= 10;
	}
	fraction[7] = 'Z';
	append_raw(line, "\"", 1);
	append_raw(line, stamp_prefix, strlen(stamp_prefix));
	append_raw(line, fraction, sizeof(fraction));
	append_raw(line, "\"", 1);
}

void
log_begin(struct log_line *line, enum log_level level, const char *event)
{
	struct timespec ts;

	line->len = 0;
	line->level = level;
	line->truncated = false;
	line->dropped = false;
	clock_gettime(CLOCK_REALTIME, &ts);
	append_raw(line, "{\"time\":", 8);
	append_time(line, &ts);
	append_key(line, "level");
	append_string(line, level_names[level]);
	append_key(line, "event");
	append_string(line, event);
	if (current_request_id != NULL)
		log_str(line, "request_id", current_request_id);
}

/* A field that does not fit whole is left out, and the line says so. */
static void
field_done(struct log_line *line, size_t start)
{
	if (line->truncated) {
		line->len = start;
		line->dropped = true;
		line->truncated = false;
	}
}

void
log_str(struct log_line *line, const char *key, const char *value)
{
	size_t start = line->len;

	append_key(line, key);
	if (value == NULL)
		append_raw(line, "null", 4);
	else
		append_string(line, value);
	field_done(line, start);
}

void
log_int(struct log_line *line, const char *key, long long value)
{
	char text[24];
	size_t n = format_int(text, value);
	size_t start = line->len;

	append_key(line, key);
	append_raw(line, text, n);
	field_done(line, start);
}

void
log_bool(struct log_line *line, const char *key, bool value)
{
	size_t start = line->len;

	append_key(line, key);
	append_raw(line, value ? "true" : "false", value ? 4 : 5);
	field_done(line, start);
}

void
log_end(struct log_line *line)
{
	if (line->dropped) {   /* the reserve keeps room for it */
		memcpy(line->buf + line->len, truncated_mark, sizeof(truncated_mark) - 1);
		line->len += sizeof(truncated_mark) - 1;
	}
	line->buf[line->len++] = '}';
	line->buf[line->len++] = '\n';
	if (batching && line->level <= LOG_INFO) {
		if (batch_len + line->len > sizeof(batch))
			log_flush();
		memcpy(batch + batch_len, line->buf, line->len);
		batch_len += line->len;
		return;
	}
	log_flush();
	write_all(line->buf, line->len);
}

void
log_message(enum log_level level, const char *event, const char *message)
{
	struct log_line line;

	if (!log_enabled(level))
		return;
	log_begin(&line, level, event);
	log_str(&line, "message", message);
	log_end(&line);
}

void
log_messagef(enum log_level level, const char *event, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_message(level, event, text);
}
