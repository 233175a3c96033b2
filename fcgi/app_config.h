/* app_config.h: the service's configuration, read once at start-up from a
 * KEY=VALUE file (PF_CONFIG) and the environment (which wins). */
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

#include <stdbool.h>
#include "auth_jwt.h"
#include "cors.h"
#include "log.h"
#include "peer_allow.h"

#define CONFIG_PATH_MAX 512
#define CONFIG_CONNINFO_MAX 1024

struct app_config {
	char database[CONFIG_CONNINFO_MAX];   /* PF_DATABASE: libpq conninfo */
	bool database_transaction_pool;       /* PF_DATABASE_POOLING=transaction: behind PgBouncer's transaction mode */
	struct auth_config auth;              /* PF_JWT_ALG, PF_JWT_KEY / PF_JWT_KEY_FILE, PF_JWT_ISSUER, PF_JWT_AUDIENCE, PF_JWT_LEEWAY */
	char jwt_key_file[CONFIG_PATH_MAX];   /* PF_JWT_KEY_FILE when the key came from it, else empty */
	int processes;                        /* PF_PROCESSES: worker processes (default 1) */
	int threads;                          /* PF_THREADS: threads per process, one DB connection each (default 8) */
	char socket_path[CONFIG_PATH_MAX];    /* PF_SOCKET: the unix socket, unless PF_LISTEN */
	char listen_address[128];             /* PF_LISTEN: FastCGI over TCP, "127.0.0.1:9000" or "[::1]:9000" */
	struct peer_allow_list fastcgi_allow; /* PF_FASTCGI_ALLOW: TCP peers (default 127.0.0.1, ::1) */
	int socket_mode;                      /* PF_SOCKET_MODE, octal (default 0660) */
	char socket_group[64];                /* PF_SOCKET_GROUP: group given the socket (nginx's), optional */
	int statement_timeout_ms;             /* PF_STATEMENT_TIMEOUT_MS (default 5000) */
	int drain_seconds;                    /* PF_DRAIN_SECONDS: SIGTERM grace (default 10) */
	enum log_level log_level;             /* PF_LOG_LEVEL: applied by config_load, kept to be shown (default info) */
	bool log_requests;                    /* PF_LOG_REQUESTS: on (default) or off, likewise */
	bool metrics;                         /* PF_METRICS: on (default) or off */
	int metrics_refresh_seconds;          /* PF_METRICS_REFRESH_SECONDS: business gauges' age at most (default 15) */
	struct cors_config cors;              /* PF_CORS_ORIGINS: origins allowed cross-origin (default none) */
};

/* The mailer's (cmd/mailer.c) settings: the same PF_CONFIG file and
 * environment as the app's, its own keys beside PF_DATABASE. */
struct mail_config {
	char database[CONFIG_CONNINFO_MAX];   /* PF_DATABASE */
	int statement_timeout_ms;             /* PF_STATEMENT_TIMEOUT_MS (default 5000) */
	char smtp_url[CONFIG_PATH_MAX];       /* PF_SMTP_URL: smtp://host[:port] or smtps://host[:port] */
	char smtp_user[256];                  /* PF_SMTP_USER: AUTH user, optional */
	char *smtp_password;                  /* from PF_SMTP_PASSWORD_FILE; owned, wiped; NULL without AUTH */
	int smtp_starttls;                    /* PF_SMTP_STARTTLS: smtp:// requires STARTTLS (default 1) */
	int smtp_timeout_seconds;             /* PF_SMTP_TIMEOUT_SECONDS: one SMTP transaction (default 30) */
	char mail_from[CONFIG_PATH_MAX];      /* PF_MAIL_FROM: "Name <address>" or an address */
	char support_email[256];              /* PF_SUPPORT_EMAIL (default support@personaforge.xyz) */
	char templates_dir[CONFIG_PATH_MAX];  /* PF_MAIL_TEMPLATES (default: the installed mail/) */
	int sweep_seconds;                    /* PF_MAIL_SWEEP_SECONDS: look without a notification (default 60) */
	int max_attempts;                     /* PF_MAIL_MAX_ATTEMPTS: temporary failures before giving up (default 24) */
	int backoff_base_seconds;             /* PF_MAIL_BACKOFF_BASE_SECONDS (default 60) */
	int backoff_max_seconds;              /* PF_MAIL_BACKOFF_MAX_SECONDS (default 3600) */
	int retention_days;                   /* PF_MAIL_RETENTION_DAYS: delivered rows kept (default 30) */
};

/* Loads the mailer's configuration; templates_default is the directory
 * used when PF_MAIL_TEMPLATES is not set. On failure prints why (never a
 * secret) to stderr and returns -1. */
int config_load_mail(struct mail_config *cfg, const char *templates_default);

/* Wipes and frees the SMTP password. */
void config_free_mail(struct mail_config *cfg);

/* Loads the configuration. On failure prints why (never a secret) to
 * stderr and returns -1. */
int config_load(struct app_config *cfg);

/* Wipes and frees the key. */
void config_free(struct app_config *cfg);

#endif
