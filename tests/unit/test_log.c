/* test_log.c: the JSON lines of lib/log.c. Every byte a string field can
 * hold comes back from a JSON parser as it went in; integers at their
 * limits; the time stamp's shape and its second across a change of second
 * (it is formatted once a second per thread); a field that does not fit is
 * left out whole and the line says so; what log_end writes is one line. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "unit.h"

/* The line as log_end would close it, parsed (NULL if it is not JSON). */
static json_t *
parsed(const struct log_line *line)
{
	char text[LOG_LINE_MAX + 4];

	memcpy(text, line->buf, line->len);
	memcpy(text + line->len, "}", 2);
	return json_loads(text, JSON_REJECT_DUPLICATES, NULL);
}

static void
check_every_ascii_byte(void)
{
	struct log_line line;
	char value[128];
	json_t *root;
	int c;

	for (c = 1; c < 128; c++)
		value[c - 1] = (char)c;
	value[127] = '\0';
	log_begin(&line, LOG_INFO, "bytes");
	log_str(&line, "value", value);
	log_str(&line, "quoted", "a \"b\" \\c\\ \n");
	root = parsed(&line);
	UNIT_CHECK(root != NULL);
	UNIT_EQ_STR(json_string_value(json_object_get(root, "value")), value);
	UNIT_EQ_STR(json_string_value(json_object_get(root, "quoted")), "a \"b\" \\c\\ \n");
	UNIT_EQ_STR(json_string_value(json_object_get(root, "event")), "bytes");
	UNIT_EQ_STR(json_string_value(json_object_get(root, "level")), "info");
	json_decref(root);
	/* control bytes as \u00XX, lower case, nothing else escaped */
	log_begin(&line, LOG_INFO, "controls");
	log_str(&line, "v", "\x01\x1f\x7f/");
	UNIT_CHECK(line.len > 30 && strstr(line.buf, "\"v\":\"\\u0001\\u001f\\u007f/\"") != NULL);
}

static void
check_bytes_above_ascii_pass_unchanged(void)
{
	struct log_line line;
	const char *utf8 = "caf\xc3\xa9 \xe2\x82\xac";  /* as the server may send them */
	json_t *root;

	log_begin(&line, LOG_WARN, "utf8");
	log_str(&line, "message", utf8);
	root = parsed(&line);
	UNIT_CHECK(root != NULL);
	UNIT_EQ_STR(json_string_value(json_object_get(root, "message")), utf8);
	json_decref(root);
}

static void
check_integers_and_null(void)
{
	static const long long values[] = {0, 1, -1, 9, 10, -10, 1234567890123LL, LLONG_MAX, LLONG_MIN};
	struct log_line line;
	json_t *root;
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		log_begin(&line, LOG_INFO, "int");
		log_int(&line, "n", values[i]);
		log_str(&line, "none", NULL);
		log_bool(&line, "yes", true);
		root = parsed(&line);
		UNIT_CHECK(root != NULL);
		UNIT_EQ_INT(json_integer_value(json_object_get(root, "n")), values[i]);
		UNIT_CHECK(json_is_null(json_object_get(root, "none")));
		UNIT_CHECK(json_is_true(json_object_get(root, "yes")));
		json_decref(root);
	}
}

/* The stamp's second, and whether it has the shape YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
static time_t
stamp_second(const struct log_line *line, bool *shaped)
{
	json_t *root = parsed(line);
	const char *stamp = json_string_value(json_object_get(root, "time"));
	struct tm tm;
	int i;
	time_t second = (time_t)-1;

	*shaped = stamp != NULL && strlen(stamp) == 27 && stamp[26] == 'Z' && stamp[19] == '.';
	for (i = 20; *shaped && i < 26; i++)
		*shaped = stamp[i] >= '0' && stamp[i] <= '9';
	memset(&tm, 0, sizeof(tm));
	if (*shaped && sscanf(stamp, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		second = timegm(&tm);
	}
	json_decref(root);
	return second;
}

static void
check_time_stamp_follows_the_clock(void)
{
	struct log_line line;
	struct timespec before, after;
	bool shaped;
	time_t first, second;
	int turns = 0;

	clock_gettime(CLOCK_REALTIME, &before);
	log_begin(&line, LOG_INFO, "time");
	clock_gettime(CLOCK_REALTIME, &after);
	first = stamp_second(&line, &shaped);
	UNIT_CHECK(shaped);
	UNIT_CHECK(first >= before.tv_sec && first <= after.tv_sec);
	/* the next second: the thread's cached date and time must move on */
	do {
		struct timespec pause = {0, 20 * 1000 * 1000};
		nanosleep(&pause, NULL);
		clock_gettime(CLOCK_REALTIME, &before);
	} while (before.tv_sec == first && ++turns < 100);
	log_begin(&line, LOG_INFO, "time");
	clock_gettime(CLOCK_REALTIME, &after);
	second = stamp_second(&line, &shaped);
	UNIT_CHECK(shaped);
	UNIT_CHECK(second > first);
	UNIT_CHECK(second >= before.tv_sec && second <= after.tv_sec);
}

static void
check_a_field_that_does_not_fit_is_left_out(void)
{
	struct log_line line;
	char *big = malloc(LOG_LINE_MAX);
	char out[LOG_LINE_MAX + 64];
	FILE *capture = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;
	json_t *root;

	if (big == NULL || capture == NULL || saved < 0) {
		UNIT_CHECK(!"setup");
		goto out;
	}
	memset(big, 'x', LOG_LINE_MAX - 1);
	big[LOG_LINE_MAX - 1] = '\0';
	log_begin(&line, LOG_ERROR, "big");
	log_str(&line, "before", "kept");
	log_str(&line, "huge", big);
	log_int(&line, "after", 7);
	UNIT_CHECK(line.dropped);
	fflush(stderr);
	dup2(fileno(capture), STDERR_FILENO);
	log_end(&line);
	dup2(saved, STDERR_FILENO);
	rewind(capture);
	n = fread(out, 1, sizeof(out) - 1, capture);
	out[n] = '\0';
	UNIT_CHECK(n > 0 && out[n - 1] == '\n' && memchr(out, '\n', n) == out + n - 1);
	root = json_loads(out, 0, NULL);
	UNIT_CHECK(root != NULL);
	UNIT_EQ_STR(json_string_value(json_object_get(root, "before")), "kept");
	UNIT_CHECK(json_object_get(root, "huge") == NULL);
	UNIT_EQ_INT(json_integer_value(json_object_get(root, "after")), 7);
	UNIT_CHECK(json_is_true(json_object_get(root, "truncated")));
	json_decref(root);
out:
	if (saved >= 0)
		close(saved);
	if (capture != NULL)
		fclose(capture);
	free(big);
}

int
main(void)
{
	check_every_ascii_byte();
	check_bytes_above_ascii_pass_unchanged();
	check_integers_and_null();
	check_time_stamp_follows_the_clock();
	check_a_field_that_does_not_fit_is_left_out();
	return UNIT_REPORT("test_log");
}
