/* test_cors.c: PF_CORS_ORIGINS's parser (what it refuses: anything that
 * could never equal a browser's Origin header), exact matching, and the
 * header lines of a preflight, an answer and a refused origin. */
#include <stdio.h>
#include <string.h>

#include "cors.h"
#include "unit.h"

static bool
refused(const char *text)
{
	struct cors_config cfg;
	const char *error = NULL;
	return cors_parse(text, &cfg, &error) == -1 && error != NULL;
}

int
main(void)
{
	struct cors_config cfg;
	const char *error = NULL;
	char buf[1024];

	UNIT_EQ_INT(cors_parse(NULL, &cfg, &error), 0);
	UNIT_EQ_INT(cfg.count, 0);
	UNIT_EQ_INT(cors_parse("  ", &cfg, &error), 0);
	UNIT_EQ_INT(cfg.count, 0);
	UNIT_EQ_INT(cors_parse("https://app.personaforge.xyz, http://localhost:3000 http://[::1]:8080,,",
	    &cfg, &error), 0);
	UNIT_EQ_INT(cfg.count, 3);
	UNIT_EQ_STR(cfg.origins[0], "https://app.personaforge.xyz");
	UNIT_EQ_STR(cfg.origins[1], "http://localhost:3000");
	UNIT_EQ_STR(cfg.origins[2], "http://[::1]:8080");

	UNIT_CHECK(refused("*"));
	UNIT_CHECK(refused("null"));
	UNIT_CHECK(refused("https://*.personaforge.xyz"));
	UNIT_CHECK(refused("https://app.personaforge.xyz/"));
	UNIT_CHECK(refused("https://app.personaforge.xyz/account"));
	UNIT_CHECK(refused("https://App.personaforge.xyz"));
	UNIT_CHECK(refused("app.personaforge.xyz"));
	UNIT_CHECK(refused("ftp://app.personaforge.xyz"));
	UNIT_CHECK(refused("https://"));
	UNIT_CHECK(refused("https://host:"));
	UNIT_CHECK(refused("https://host:123456"));
	UNIT_CHECK(refused("https://[]"));
	UNIT_CHECK(refused("https://[::1"));
	UNIT_CHECK(refused("https://a.b\r\nX-Evil: 1"));
	UNIT_CHECK(refused("https://a.b;https://c.d"));
	{
		char many[16 * 24 + 32] = "";
		int i;
		for (i = 0; i < 17; i++) {
			char one[24];
			snprintf(one, sizeof(one), "http://h%d.example ", i);
			strcat(many, one);
		}
		UNIT_CHECK(refused(many));
	}
	{
		char longest[CORS_ORIGIN_MAX + 16];
		memset(longest, 'a', sizeof(longest));
		memcpy(longest, "https://", 8);
		longest[sizeof(longest) - 1] = '\0';
		UNIT_CHECK(refused(longest));
	}

	UNIT_EQ_INT(cors_parse("https://app.personaforge.xyz http://localhost:3000", &cfg, &error), 0);
	/* exact: no prefix, suffix, case or port tolerance */
	UNIT_EQ_STR(cors_match(&cfg, "https://app.personaforge.xyz"), "https://app.personaforge.xyz");
	UNIT_CHECK(cors_match(&cfg, "https://app.personaforge.xyz.evil.example") == NULL);
	UNIT_CHECK(cors_match(&cfg, "https://app.personaforge.xy") == NULL);
	UNIT_CHECK(cors_match(&cfg, "http://app.personaforge.xyz") == NULL);
	UNIT_CHECK(cors_match(&cfg, "http://localhost:3001") == NULL);
	UNIT_CHECK(cors_match(&cfg, "HTTPS://APP.PERSONAFORGE.XYZ") == NULL);
	UNIT_CHECK(cors_match(&cfg, "null") == NULL);
	UNIT_CHECK(cors_match(&cfg, NULL) == NULL);

	UNIT_EQ_INT(cors_headers(&cfg, "http://localhost:3000", true, "POST", buf, sizeof(buf)), 0);
	UNIT_EQ_STR(buf, "Vary: Origin\r\nAccess-Control-Allow-Origin: http://localhost:3000\r\n"
	    "Access-Control-Allow-Methods: POST\r\n"
	    "Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key\r\n"
	    "Access-Control-Max-Age: 600\r\n");
	UNIT_EQ_INT(cors_headers(&cfg, "http://localhost:3000", true, "GET", buf, sizeof(buf)), 0);
	UNIT_CHECK(strstr(buf, "Access-Control-Allow-Headers: Authorization\r\n") != NULL);
	UNIT_EQ_INT(cors_headers(&cfg, "http://localhost:3000", false, "", buf, sizeof(buf)), 0);
	UNIT_EQ_STR(buf, "Vary: Origin\r\nAccess-Control-Allow-Origin: http://localhost:3000\r\n"
	    "Access-Control-Expose-Headers: Retry-After, Allow, WWW-Authenticate\r\n");
	UNIT_EQ_INT(cors_headers(&cfg, NULL, true, "GET", buf, sizeof(buf)), 0);
	UNIT_EQ_STR(buf, "Vary: Origin\r\n");
	UNIT_EQ_INT(cors_headers(&cfg, "http://localhost:3000", true, "POST", buf, 40), -1);
	UNIT_EQ_STR(buf, "");
	UNIT_EQ_INT(cors_parse("", &cfg, &error), 0);
	UNIT_EQ_INT(cors_headers(&cfg, NULL, false, "", buf, sizeof(buf)), 0);
	UNIT_EQ_STR(buf, "");
	return UNIT_REPORT("test_cors");
}
