/* cors.c: PF_CORS_ORIGINS: parsing, exact matching, and the header lines. */
#include <stdio.h>
#include <string.h>
#include "cors.h"

/* True for "http(s)://host[:port]" in the form browsers send: lower-case
 * host of letters, digits, '-', '.', or a bracketed IPv6 literal, and an
 * optional port. Anything else could never equal an Origin header. */
static bool
origin_valid(const char *o, size_t len)
{
	size_t i = 0, start;

	if (len > 7 && strncmp(o, "http://", 7) == 0)
		i = 7;
	else if (len > 8 && strncmp(o, "https://", 8) == 0)
		i = 8;
	else
		return false;
	start = i;
	if (o[i] == '[') {
		i++;
		while (i < len && o[i] != ']') {
			if (!((o[i] >= '0' && o[i] <= '9') || (o[i] >= 'a' && o[i] <= 'f') ||
			    o[i] == ':' || o[i] == '.'))
				return false;
			i++;
		}
		if (i == len || i == start + 1)
			return false;
		i++;
	} else {
		while (i < len && ((o[i] >= 'a' && o[i] <= 'z') || (o[i] >= '0' && o[i] <= '9') ||
		    o[i] == '-' || o[i] == '.'))
			i++;
		if (i == start)
			return false;
	}
	if (i < len && o[i] == ':') {
		size_t digits = 0;
		i++;
		while (i < len && o[i] >= '0' && o[i] <= '9' && digits < 5) {
			i++;
			digits++;
		}
		if (digits == 0)
			return false;
	}
	return i == len;
}

int
cors_parse(const char *text, struct cors_config *out, const char **error)
{
	const char *p = text ? text : "";

	memset(out, 0, sizeof(*out));
	for (;;) {
		size_t len;

		p += strspn(p, ", \t");
		if (*p == '\0')
			return 0;
		len = strcspn(p, ", \t");
		if (len >= CORS_ORIGIN_MAX) {
			*error = "an origin is too long";
			return -1;
		}
		if (!origin_valid(p, len)) {
			*error = "each origin is http(s)://host[:port] as the browser sends it: lower case, no path, no trailing slash, no wildcard";
			return -1;
		}
		if (out->count == CORS_ORIGINS_MAX) {
			*error = "at most 16 origins";
			return -1;
		}
		memcpy(out->origins[out->count], p, len);
		out->origins[out->count][len] = '\0';
		out->count++;
		p += len;
	}
}

const char *
cors_match(const struct cors_config *cfg, const char *origin)
{
	int i;

	if (origin == NULL)
		return NULL;
	for (i = 0; i < cfg->count; i++)
		if (strcmp(cfg->origins[i], origin) == 0)
			return cfg->origins[i];
	return NULL;
}

int
cors_headers(const struct cors_config *cfg, const char *allowed, bool preflight,
    const char *allow, char *buf, size_t buflen)
{
	int n = 0;

	if (buflen == 0)
		return -1;
	buf[0] = '\0';
	if (cfg->count == 0)
		return 0;
	if (allowed == NULL)
		n = snprintf(buf, buflen, "Vary: Origin\r\n");
	else if (preflight)
		n = snprintf(buf, buflen,
		    "Vary: Origin\r\nAccess-Control-Allow-Origin: %s\r\n"
		    "Access-Control-Allow-Methods: %s\r\nAccess-Control-Allow-Headers: %s\r\n"
		    "Access-Control-Max-Age: %d\r\n",
		    allowed, allow,
		    strstr(allow, "POST") ? "Authorization, Content-Type, Idempotency-Key" :
			"Authorization",
		    CORS_MAX_AGE);
	else
		/* the headers a page reads that are not CORS-safelisted */
		n = snprintf(buf, buflen,
		    "Vary: Origin\r\nAccess-Control-Allow-Origin: %s\r\n"
		    "Access-Control-Expose-Headers: Retry-After, Allow, WWW-Authenticate\r\n",
		    allowed);
	if (n < 0 || (size_t)n >= buflen) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}
