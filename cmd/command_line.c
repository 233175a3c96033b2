/* command_line.c: the start-up steps pf-billing-cycle and pf-mailer share
 * (command_line.h). */
#include <string.h>
#include "command_line.h"

volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

bool
command_line_answered(const char *program, const char *arg, void (*usage)(FILE *))
{
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		usage(stdout);
		return true;
	}
	if (strcmp(arg, "--version") == 0) {
		/* test_command_line.py checks it against configure.ac's version */
		printf("%s %s\n", program, PACKAGE_VERSION);
		return true;
	}
	return false;
}

void
command_line_bad_argument(const char *program, const char *arg, void (*usage)(FILE *))
{
	fprintf(stderr, "%s: bad argument: %s\n", program, arg);
	usage(stderr);
}

void
command_line_stop_on_signals(void)
{
	struct sigaction sa;

	/* No SA_RESTART: a blocking call (the mailer's poll(), either
	 * command's nanosleep()) returns at once with EINTR, and the loop
	 * around it sees stop_requested. sigaction() is not checked: for
	 * these two signals and a valid handler it cannot fail (EINVAL is for
	 * SIGKILL, SIGSTOP or a bad number). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
