/* command_line.h: what pf-billing-cycle and pf-mailer do alike at start,
 * written once: the options every command answers the same way (--help,
 * --version), the refusal of an argument it does not take, and stopping
 * at the next safe point on SIGINT/SIGTERM. pf-account (fcgi/main.c) has
 * its own: its signals also drive its worker processes. */
#ifndef COMMAND_LINE_H
#define COMMAND_LINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

/* Set by SIGINT/SIGTERM once command_line_stop_on_signals() has run: the
 * command finishes the unit of work in hand (a user's transaction, a
 * message), then stops. */
extern volatile sig_atomic_t stop_requested;

/* Answers --help and -h (usage on stdout) and --version ("PROGRAM
 * VERSION" on stdout). Returns true when arg was one of them: the command
 * has nothing else to do and exits 0. */
bool command_line_answered(const char *program, const char *arg, void (*usage)(FILE *));

/* Says "PROGRAM: bad argument: ARG" and the usage on stderr; the command
 * then exits with its usage status (2). */
void command_line_bad_argument(const char *program, const char *arg, void (*usage)(FILE *));

/* From now on SIGINT and SIGTERM set stop_requested. */
void command_line_stop_on_signals(void);

#endif
