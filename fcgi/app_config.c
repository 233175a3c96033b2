/* app_config.c: configuration loading. Secrets are read, never printed. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "app_config.h"
#include "log.h"
#include "mail_text.h"
#include "policy_refund.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_KEY_FILE_MAX (64 * 1024)

/* Every key a program reads from the PF_CONFIG file. pf-account and
 * pf-mailer share the file, so each accepts the other's keys; any other key
 * is a mistake (a typo would otherwise leave a setting at its default
 * without a word) and stops the program at start. The environment is not
 * checked this way: it carries other PF_ variables (the stack's, the test
 * harness's).
 *
 * pf-account's keys (config_load): `pf-account --check-config` prints
 * every one of them, secrets by their length only, and
 * tests/e2e/test_command_line.py takes this list as the one to check that
 * output and pf-account.conf(5) against. */
static const char *const app_keys[] = {
	"PF_DATABASE", "PF_DATABASE_POOLING", "PF_STATEMENT_TIMEOUT_MS",
	"PF_JWT_ALG", "PF_JWT_KEY", "PF_JWT_KEY_FILE", "PF_JWT_ISSUER", "PF_JWT_AUDIENCE",
	"PF_JWT_LEEWAY", "PF_SOCKET", "PF_SOCKET_MODE", "PF_SOCKET_GROUP", "PF_LISTEN",
	"PF_FASTCGI_ALLOW", "PF_PROCESSES", "PF_THREADS", "PF_DRAIN_SECONDS",
	"PF_LOG_LEVEL", "PF_LOG_REQUESTS", "PF_METRICS", "PF_METRICS_REFRESH_SECONDS",
	"PF_CORS_ORIGINS",
};

/* pf-mailer's keys (config_load_mail, beside PF_DATABASE and
 * PF_STATEMENT_TIMEOUT_MS above) */
static const char *const mailer_keys[] = {
	"PF_SMTP_URL", "PF_SMTP_USER", "PF_SMTP_PASSWORD_FILE", "PF_SMTP_STARTTLS",
	"PF_SMTP_TIMEOUT_SECONDS", "PF_MAIL_FROM", "PF_SUPPORT_EMAIL", "PF_MAIL_TEMPLATES",
	"PF_MAIL_SWEEP_SECONDS", "PF_MAIL_MAX_ATTEMPTS", "PF_MAIL_BACKOFF_BASE_SECONDS",
	"PF_MAIL_BACKOFF_MAX_SECONDS", "PF_MAIL_RETENTION_DAYS",
};

/* Values from the PF_CONFIG file; the environment overrides them. */
struct file_value {
	char key[64];
	char *value;
	int line;               /* where it was set, for error messages */
};

struct file_values {
	struct file_value items[64];
	int count;
	const char *path;
};

static void
file_values_free(struct file_values *fv)
{
	int i;
	for (i = 0; i < fv->count; i++) {
		explicit_bzero(fv->items[i].value, strlen(fv->items[i].value));
		free(fv->items[i].value);
	}
	fv->count = 0;
}

static bool
key_in(const char *const *keys, size_t count, const char *key)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

static bool
key_known(const char *key)
{
	return key_in(app_keys, sizeof(app_keys) / sizeof(app_keys[0]), key) ||
	    key_in(mailer_keys, sizeof(mailer_keys) / sizeof(mailer_keys[0]), key);
}

/* s without its leading and trailing blanks (in place) */
static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	return s;
}

/* A file that holds secrets (the configuration: the database conninfo, maybe
 * PF_JWT_KEY; a key or password file) readable by every local user is
 * worth a warning, not a refusal: the mode is the operator's to set, and a
 * deployment that relies on it (a shared read-only mount) still starts. */
static void
warn_if_world_readable(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH) != 0)
		log_messagef(LOG_WARN, "config_warning", "%s: %s is readable by every user "
		    "(mode %04o); it holds secrets: chmod o-r", path, what,
		    (unsigned)(st.st_mode & 07777));
}

static int
file_values_read(const char *path, struct file_values *fv)
{
	char line[CONFIG_LINE_MAX];
	FILE *f;
	int ret = -1, number = 0;

	fv->path = path;
	f = fopen(path, "r");
	if (f == NULL) {
		log_messagef(LOG_ERROR, "config_error", "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	warn_if_world_readable(path, "the configuration file");
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq, *key, *value, *start;
		int i;

		number++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			log_messagef(LOG_ERROR, "config_error", "%s:%d: line longer than %d bytes",
			    path, number, CONFIG_LINE_MAX - 2);
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		start = trim(line);
		if (start[0] == '#' || start[0] == '\0')
			continue;
		eq = strchr(start, '=');
		if (eq == NULL) {
			log_messagef(LOG_ERROR, "config_error", "%s:%d: not KEY=VALUE", path, number);
			goto out;
		}
		*eq = '\0';
		key = trim(start);
		value = trim(eq + 1);
		if (!key_known(key)) {
			log_messagef(LOG_ERROR, "config_error", "%s:%d: unknown key %.64s (the keys: "
			    "pf-account.conf(5))", path, number, key);
			goto out;
		}
		for (i = 0; i < fv->count; i++)
			if (strcmp(fv->items[i].key, key) == 0) {
				log_messagef(LOG_ERROR, "config_error", "%s:%d: %s set again (first "
				    "on line %d)", path, number, key, fv->items[i].line);
				goto out;
			}
		/* known keys fit; the table has fewer entries than items[] */
		snprintf(fv->items[fv->count].key, sizeof(fv->items[0].key), "%s", key);
		fv->items[fv->count].line = number;
		fv->items[fv->count].value = strdup(value);
		if (fv->items[fv->count].value == NULL)
			goto out;
		fv->count++;
	}
	ret = 0;
out:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return ret;
}

static const char *
lookup(const struct file_values *fv, const char *key)
{
	const char *env = getenv(key);
	int i;

	if (env != NULL && env[0] != '\0')
		return env;
	for (i = 0; i < fv->count; i++)
		if (strcmp(fv->items[i].key, key) == 0)
			return fv->items[i].value;
	return NULL;
}

/* An error about key's value, prefixed with where that value came from:
 * "FILE:LINE: " for the file, "environment: " for the environment. */
static void
value_errorf(const struct file_values *fv, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
value_errorf(const struct file_values *fv, const char *key, const char *fmt, ...)
{
	char message[512], where[CONFIG_PATH_MAX + 32] = "";
	const char *env = getenv(key);
	va_list ap;
	int i;

	if (env != NULL && env[0] != '\0')
		snprintf(where, sizeof(where), "environment: ");
	else
		for (i = 0; i < fv->count; i++)
			if (strcmp(fv->items[i].key, key) == 0)
				snprintf(where, sizeof(where), "%s:%d: ", fv->path, fv->items[i].line);
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	log_messagef(LOG_ERROR, "config_error", "%s%s", where, message);
}

static int
int_setting(const struct file_values *fv, const char *key, int def, int min, int max,
    int base, int *out)
{
	const char *text = lookup(fv, key);
	char *end;
	long value;

	if (text == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	value = strtol(text, &end, base);
	if (errno != 0 || *end != '\0' || end == text || value < min || value > max) {
		value_errorf(fv, key, "%s must be a number from %d to %d", key, min, max);
		return -1;
	}
	*out = (int)value;
	return 0;
}

static int
string_setting(const struct file_values *fv, const char *key, const char *def, char *dst,
    size_t dstlen)
{
	const char *text = lookup(fv, key);

	if (text == NULL)
		text = def;
	if (text == NULL) {
		log_messagef(LOG_ERROR, "config_error", "%s is required", key);
		return -1;
	}
	if (strlen(text) >= dstlen) {
		value_errorf(fv, key, "%s is too long", key);
		return -1;
	}
	snprintf(dst, dstlen, "%s", text);
	return 0;
}

static int
on_off_setting(const struct file_values *fv, const char *key, bool def, bool *out)
{
	const char *text = lookup(fv, key);

	if (text == NULL)
		*out = def;
	else if (strcmp(text, "on") == 0)
		*out = true;
	else if (strcmp(text, "off") == 0)
		*out = false;
	else {
		value_errorf(fv, key, "%s must be on or off", key);
		return -1;
	}
	return 0;
}

/* PF_LOG_LEVEL (debug, info, warn, error) and PF_LOG_REQUESTS (on, off):
 * applied at once, so that what follows logs at the chosen level, and kept
 * in cfg for --check-config to show. */
static int
log_settings(const struct file_values *fv, struct app_config *cfg)
{
	const char *level_text = lookup(fv, "PF_LOG_LEVEL");
	enum log_level level = LOG_INFO;
	bool requests;

	if (level_text != NULL && log_level_parse(level_text, &level) != 0) {
		value_errorf(fv, "PF_LOG_LEVEL", "PF_LOG_LEVEL must be debug, info, warn or error");
		return -1;
	}
	if (on_off_setting(fv, "PF_LOG_REQUESTS", true, &requests) != 0)
		return -1;
	log_configure(level, requests);
	cfg->log_level = level;
	cfg->log_requests = requests;
	return 0;
}

/* PF_DATABASE_POOLING: "none" (a connection of its own per thread, or a
 * pool in session mode) or "transaction" (PgBouncer's transaction mode). */
static int
pooling_setting(const struct file_values *fv, struct app_config *cfg)
{
	const char *text = lookup(fv, "PF_DATABASE_POOLING");

	if (text == NULL || strcmp(text, "none") == 0)
		cfg->database_transaction_pool = false;
	else if (strcmp(text, "transaction") == 0)
		cfg->database_transaction_pool = true;
	else {
		value_errorf(fv, "PF_DATABASE_POOLING", "PF_DATABASE_POOLING must be none or transaction");
		return -1;
	}
	return 0;
}

/* PF_FASTCGI_ALLOW: who may connect when the app listens on TCP. */
static int
allow_setting(const struct file_values *fv, struct app_config *cfg)
{
	const char *text = lookup(fv, "PF_FASTCGI_ALLOW");
	const char *error = NULL;

	if (text == NULL)
		text = "127.0.0.1, ::1";
	if (peer_allow_parse(text, &cfg->fastcgi_allow, &error) != 0) {
		value_errorf(fv, "PF_FASTCGI_ALLOW", "PF_FASTCGI_ALLOW: %s", error);
		return -1;
	}
	if (cfg->listen_address[0] != '\0' && cfg->fastcgi_allow.count == 0) {
		log_messagef(LOG_ERROR, "config_error", "PF_LISTEN needs PF_FASTCGI_ALLOW to name the web servers");
		return -1;
	}
	return 0;
}

/* PF_CORS_ORIGINS: exact origins a browser may call the API from (cors.h). */
static int
cors_setting(const struct file_values *fv, struct app_config *cfg)
{
	const char *error = NULL;

	if (cors_parse(lookup(fv, "PF_CORS_ORIGINS"), &cfg->cors, &error) != 0) {
		value_errorf(fv, "PF_CORS_ORIGINS", "PF_CORS_ORIGINS: %s", error);
		return -1;
	}
	return 0;
}

static int
read_key_file(const char *path, struct auth_config *auth)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n;
	int ret = -1;

	if (f == NULL) {
		log_messagef(LOG_ERROR, "config_error", "cannot open PF_JWT_KEY_FILE: %s", strerror(errno));
		return -1;
	}
	warn_if_world_readable(path, "PF_JWT_KEY_FILE");
	buf = malloc(CONFIG_KEY_FILE_MAX + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, CONFIG_KEY_FILE_MAX + 1, f);
	if (n == 0 || n > CONFIG_KEY_FILE_MAX) {
		log_messagef(LOG_ERROR, "config_error", "PF_JWT_KEY_FILE is empty or too large");
		goto out;
	}
	/* a trailing newline is editor noise for an HS256 secret, part of a PEM */
	if (auth->alg == AUTH_ALG_HS256)
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
	buf[n] = '\0';
	auth->key = buf;
	auth->key_len = n;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	fclose(f);
	return ret;
}

int
config_load(struct app_config *cfg)
{
	struct file_values fv = {0};
	const char *path = getenv("PF_CONFIG");
	const char *alg, *key, *key_file;
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (path != NULL && path[0] != '\0' && file_values_read(path, &fv) != 0)
		goto out;
	if (log_settings(&fv, cfg) != 0)
		goto out;
	if (string_setting(&fv, "PF_DATABASE", "dbname=personaforge", cfg->database,
	    sizeof(cfg->database)) != 0 ||
	    string_setting(&fv, "PF_SOCKET", "/run/personaforge/app.sock", cfg->socket_path,
	    sizeof(cfg->socket_path)) != 0 ||
	    string_setting(&fv, "PF_SOCKET_GROUP", "", cfg->socket_group,
	    sizeof(cfg->socket_group)) != 0 ||
	    string_setting(&fv, "PF_JWT_ISSUER", NULL, cfg->auth.issuer,
	    sizeof(cfg->auth.issuer)) != 0 ||
	    string_setting(&fv, "PF_JWT_AUDIENCE", NULL, cfg->auth.audience,
	    sizeof(cfg->auth.audience)) != 0 ||
	    int_setting(&fv, "PF_JWT_LEEWAY", 30, 0, 3600, 10, &cfg->auth.leeway_seconds) != 0 ||
	    int_setting(&fv, "PF_PROCESSES", 1, 1, 64, 10, &cfg->processes) != 0 ||
	    int_setting(&fv, "PF_THREADS", 8, 1, 256, 10, &cfg->threads) != 0 ||
	    int_setting(&fv, "PF_SOCKET_MODE", 0660, 0, 0777, 8, &cfg->socket_mode) != 0 ||
	    int_setting(&fv, "PF_STATEMENT_TIMEOUT_MS", 5000, 100, 600000, 10,
	    &cfg->statement_timeout_ms) != 0 ||
	    int_setting(&fv, "PF_DRAIN_SECONDS", 10, 0, 600, 10, &cfg->drain_seconds) != 0 ||
	    string_setting(&fv, "PF_LISTEN", "", cfg->listen_address,
	    sizeof(cfg->listen_address)) != 0 ||
	    allow_setting(&fv, cfg) != 0 ||
	    pooling_setting(&fv, cfg) != 0 ||
	    on_off_setting(&fv, "PF_METRICS", true, &cfg->metrics) != 0 ||
	    int_setting(&fv, "PF_METRICS_REFRESH_SECONDS", 15, 1, 3600, 10,
	    &cfg->metrics_refresh_seconds) != 0 ||
	    cors_setting(&fv, cfg) != 0)
		goto out;
	alg = lookup(&fv, "PF_JWT_ALG");
	if (alg == NULL || auth_alg_from_name(alg, &cfg->auth.alg) != 0) {
		value_errorf(&fv, "PF_JWT_ALG", "PF_JWT_ALG must be HS256, RS256 or ES256");
		goto out;
	}
	key = lookup(&fv, "PF_JWT_KEY");
	key_file = lookup(&fv, "PF_JWT_KEY_FILE");
	if (key != NULL && key[0] != '\0') {
		cfg->auth.key_len = strlen(key);
		cfg->auth.key = (unsigned char *)strdup(key);
		if (cfg->auth.key == NULL)
			goto out;
	} else if (key_file != NULL && key_file[0] != '\0') {
		/* the path is shown by --check-config, never the key */
		if (string_setting(&fv, "PF_JWT_KEY_FILE", NULL, cfg->jwt_key_file,
		    sizeof(cfg->jwt_key_file)) != 0 ||
		    read_key_file(key_file, &cfg->auth) != 0)
			goto out;
	} else {
		/* no key, no signature check: refuse to start rather than serve */
		log_messagef(LOG_ERROR, "config_error", "PF_JWT_KEY or PF_JWT_KEY_FILE is required");
		goto out;
	}
	if (cfg->auth.alg == AUTH_ALG_HS256 && cfg->auth.key_len < 32) {
		log_messagef(LOG_ERROR, "config_error", "an HS256 secret must be at least 32 bytes");
		goto out;
	}
	if (auth_config_prepare(&cfg->auth) != 0) {
		log_messagef(LOG_ERROR, "config_error", "unusable PF_JWT key: an HS256 secret OpenSSL cannot bind, or not a PEM public key of the algorithm's type (RS256: RSA, ES256: EC P-256)");
		goto out;
	}
	ret = 0;
out:
	file_values_free(&fv);
	if (ret != 0)
		config_free(cfg);
	return ret;
}

void
config_free(struct app_config *cfg)
{
	auth_config_release(&cfg->auth);
	if (cfg->auth.key != NULL) {
		explicit_bzero(cfg->auth.key, cfg->auth.key_len);
		free(cfg->auth.key);
	}
	cfg->auth.key = NULL;
	cfg->auth.key_len = 0;
}

/* The SMTP password: a file, so it is never in the environment or the
 * process list. One trailing newline is editor noise. */
static int
read_password_file(const char *path, char **out)
{
	char buf[1025];
	FILE *f = fopen(path, "r");
	size_t n;
	int ret = -1;

	if (f == NULL) {
		log_messagef(LOG_ERROR, "config_error", "cannot open PF_SMTP_PASSWORD_FILE: %s", strerror(errno));
		return -1;
	}
	warn_if_world_readable(path, "PF_SMTP_PASSWORD_FILE");
	n = fread(buf, 1, sizeof(buf), f);
	if (n == 0 || n == sizeof(buf)) {
		log_messagef(LOG_ERROR, "config_error", "PF_SMTP_PASSWORD_FILE is empty or larger than 1 KiB");
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*out = strdup(buf);
	ret = *out != NULL ? 0 : -1;
out:
	explicit_bzero(buf, sizeof(buf));
	fclose(f);
	return ret;
}

static int
bool_setting(const struct file_values *fv, const char *key, int def, int *out)
{
	const char *text = lookup(fv, key);

	*out = def;
	if (text == NULL)
		return 0;
	if (strcmp(text, "yes") == 0 || strcmp(text, "1") == 0)
		*out = 1;
	else if (strcmp(text, "no") == 0 || strcmp(text, "0") == 0)
		*out = 0;
	else {
		value_errorf(fv, key, "%s must be yes or no", key);
		return -1;
	}
	return 0;
}

int
config_load_mail(struct mail_config *cfg, const char *templates_default)
{
	struct file_values fv = {0};
	const char *path = getenv("PF_CONFIG");
	const char *password_file;
	char display[128], address[MAIL_ADDRESS_MAX + 1];
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (path != NULL && path[0] != '\0' && file_values_read(path, &fv) != 0)
		goto out;
	if (string_setting(&fv, "PF_DATABASE", "dbname=personaforge", cfg->database,
	    sizeof(cfg->database)) != 0 ||
	    int_setting(&fv, "PF_STATEMENT_TIMEOUT_MS", 5000, 100, 600000, 10,
	    &cfg->statement_timeout_ms) != 0 ||
	    string_setting(&fv, "PF_SMTP_URL", NULL, cfg->smtp_url, sizeof(cfg->smtp_url)) != 0 ||
	    string_setting(&fv, "PF_SMTP_USER", "", cfg->smtp_user, sizeof(cfg->smtp_user)) != 0 ||
	    bool_setting(&fv, "PF_SMTP_STARTTLS", 1, &cfg->smtp_starttls) != 0 ||
	    int_setting(&fv, "PF_SMTP_TIMEOUT_SECONDS", 30, 1, 300, 10,
	    &cfg->smtp_timeout_seconds) != 0 ||
	    string_setting(&fv, "PF_MAIL_FROM", NULL, cfg->mail_from, sizeof(cfg->mail_from)) != 0 ||
	    string_setting(&fv, "PF_SUPPORT_EMAIL", REFUND_SUPPORT_EMAIL, cfg->support_email,
	    sizeof(cfg->support_email)) != 0 ||
	    string_setting(&fv, "PF_MAIL_TEMPLATES", templates_default, cfg->templates_dir,
	    sizeof(cfg->templates_dir)) != 0 ||
	    int_setting(&fv, "PF_MAIL_SWEEP_SECONDS", 60, 1, 3600, 10, &cfg->sweep_seconds) != 0 ||
	    int_setting(&fv, "PF_MAIL_MAX_ATTEMPTS", 24, 1, 1000, 10, &cfg->max_attempts) != 0 ||
	    int_setting(&fv, "PF_MAIL_BACKOFF_BASE_SECONDS", 60, 1, 86400, 10,
	    &cfg->backoff_base_seconds) != 0 ||
	    int_setting(&fv, "PF_MAIL_BACKOFF_MAX_SECONDS", 3600, 1, 7 * 86400, 10,
	    &cfg->backoff_max_seconds) != 0 ||
	    int_setting(&fv, "PF_MAIL_RETENTION_DAYS", 30, 1, 3650, 10, &cfg->retention_days) != 0)
		goto out;
	if (strncmp(cfg->smtp_url, "smtp://", 7) != 0 && strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
		value_errorf(&fv, "PF_SMTP_URL", "PF_SMTP_URL must start with smtp:// or smtps://");
		goto out;
	}
	/* checked here so that no header can be made of them later */
	if (mail_from_parse(cfg->mail_from, display, sizeof(display), address,
	    sizeof(address)) != 0) {
		value_errorf(&fv, "PF_MAIL_FROM", "PF_MAIL_FROM must be an address or \"Name <address>\"");
		goto out;
	}
	if (!mail_address_valid(cfg->support_email)) {
		value_errorf(&fv, "PF_SUPPORT_EMAIL", "PF_SUPPORT_EMAIL is not an address");
		goto out;
	}
	password_file = lookup(&fv, "PF_SMTP_PASSWORD_FILE");
	if (password_file != NULL && password_file[0] != '\0' &&
	    read_password_file(password_file, &cfg->smtp_password) != 0)
		goto out;
	if ((cfg->smtp_user[0] != '\0') != (cfg->smtp_password != NULL)) {
		log_messagef(LOG_ERROR, "config_error", "PF_SMTP_USER and PF_SMTP_PASSWORD_FILE go together");
		goto out;
	}
	ret = 0;
out:
	file_values_free(&fv);
	if (ret != 0)
		config_free_mail(cfg);
	return ret;
}

void
config_free_mail(struct mail_config *cfg)
{
	if (cfg->smtp_password != NULL) {
		explicit_bzero(cfg->smtp_password, strlen(cfg->smtp_password));
		free(cfg->smtp_password);
	}
	cfg->smtp_password = NULL;
}
