/* app_config.h: the service's configuration, read once at start-up from a
 * KEY=VALUE file (PF_CONFIG) and the environment (which wins). */
#ifndef APP_CONFIG_H
#define APP_CONFIG_H

#include "auth_jwt.h"

#define CONFIG_PATH_MAX 512
#define CONFIG_CONNINFO_MAX 1024

struct app_config {
	char database[CONFIG_CONNINFO_MAX];   /* PF_DATABASE: libpq conninfo */
	struct auth_config auth;              /* PF_JWT_ALG, PF_JWT_KEY / PF_JWT_KEY_FILE, PF_JWT_ISSUER, PF_JWT_AUDIENCE, PF_JWT_LEEWAY */
	int processes;                        /* PF_PROCESSES: worker processes (default 1) */
	int threads;                          /* PF_THREADS: threads per process, one DB connection each (default 8) */
	char socket_path[CONFIG_PATH_MAX];    /* PF_SOCKET */
	int socket_mode;                      /* PF_SOCKET_MODE, octal (default 0660) */
	char socket_group[64];                /* PF_SOCKET_GROUP: group given the socket (nginx's), optional */
	int statement_timeout_ms;             /* PF_STATEMENT_TIMEOUT_MS (default 5000) */
	int drain_seconds;                    /* PF_DRAIN_SECONDS: SIGTERM grace (default 10) */
};

/* Loads the configuration. On failure prints why (never a secret) to
 * stderr and returns -1. */
int config_load(struct app_config *cfg);

/* Wipes and frees the key. */
void config_free(struct app_config *cfg);

#endif
