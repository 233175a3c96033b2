/* app_config.c: configuration loading. Secrets are read, never printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "app_config.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_KEY_FILE_MAX (64 * 1024)

/* Values from the PF_CONFIG file; the environment overrides them. */
struct file_value {
	char key[64];
	char *value;
};

struct file_values {
	struct file_value items[64];
	int count;
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

static int
file_values_read(const char *path, struct file_values *fv)
{
	char line[CONFIG_LINE_MAX];
	FILE *f;
	int ret = -1;

	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "config: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq, *end;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		end = line + strcspn(line, "\r\n");
		*end = '\0';
		eq = strchr(line, '=');
		if (eq == NULL || (size_t)(eq - line) >= sizeof(fv->items[0].key) ||
		    fv->count == (int)(sizeof(fv->items) / sizeof(fv->items[0]))) {
			fprintf(stderr, "config: %s: bad line\n", path);
			goto out;
		}
		*eq = '\0';
		memcpy(fv->items[fv->count].key, line, (size_t)(eq - line) + 1);
		fv->items[fv->count].value = strdup(eq + 1);
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
		fprintf(stderr, "config: %s must be a number from %d to %d\n", key, min, max);
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
		fprintf(stderr, "config: %s is required\n", key);
		return -1;
	}
	if (strlen(text) >= dstlen) {
		fprintf(stderr, "config: %s is too long\n", key);
		return -1;
	}
	snprintf(dst, dstlen, "%s", text);
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
		fprintf(stderr, "config: cannot open PF_JWT_KEY_FILE: %s\n", strerror(errno));
		return -1;
	}
	buf = malloc(CONFIG_KEY_FILE_MAX + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, CONFIG_KEY_FILE_MAX + 1, f);
	if (n == 0 || n > CONFIG_KEY_FILE_MAX) {
		fprintf(stderr, "config: PF_JWT_KEY_FILE is empty or too large\n");
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
	    int_setting(&fv, "PF_DRAIN_SECONDS", 10, 0, 600, 10, &cfg->drain_seconds) != 0)
		goto out;
	alg = lookup(&fv, "PF_JWT_ALG");
	if (alg == NULL || auth_alg_from_name(alg, &cfg->auth.alg) != 0) {
		fprintf(stderr, "config: PF_JWT_ALG must be HS256, RS256 or ES256\n");
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
		if (read_key_file(key_file, &cfg->auth) != 0)
			goto out;
	} else {
		/* no key, no signature check: refuse to start rather than serve */
		fprintf(stderr, "config: PF_JWT_KEY or PF_JWT_KEY_FILE is required\n");
		goto out;
	}
	if (cfg->auth.alg == AUTH_ALG_HS256 && cfg->auth.key_len < 32) {
		fprintf(stderr, "config: an HS256 secret must be at least 32 bytes\n");
		goto out;
	}
	if (auth_config_prepare(&cfg->auth) != 0) {
		fprintf(stderr, "config: unusable PF_JWT key: an HS256 secret OpenSSL cannot bind, or not a PEM public key of the algorithm's type (RS256: RSA, ES256: EC P-256)\n");
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
