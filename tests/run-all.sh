#!/bin/sh
# run-all.sh: the whole test suite. Runs the unit-test binaries given as
# arguments, then starts a private stack (PostgreSQL + pf-account + nginx
# with the shipped config, on its own ports and directory), runs the
# end-to-end tests against it over HTTP, stops it, and prints the totals as
# its last line: "N passed, M failed".
# Environment: PF_BUILD_DIR (where pf-account is), PF_E2E_FILTER (substrings
# selecting e2e tests, separated by commas or spaces), PF_E2E_EXCLUDE, PF_APP_WRAPPER (run the app under e.g.
# valgrind), PF_FUZZ_SECONDS (per fuzz target; default 5, 0 = no fuzzing),
# PF_DB_TESTS (binaries testing lib/db.c against the stack's PostgreSQL).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
export PF_BUILD_DIR=${PF_BUILD_DIR:-$src}
export PF_STACK_DIR=${PF_TEST_STACK_DIR:-/tmp/personaforge-test-$$}
# free loopback ports, so several suites (and a dev stack) can run side by side
free_ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
public_free=${free_ports%% *}
rest=${free_ports#* }
internal_free=${rest%% *}
pg_free=${rest#* }
export PF_PUBLIC_PORT=${PF_TEST_PUBLIC_PORT:-$public_free}
export PF_INTERNAL_PORT=${PF_TEST_INTERNAL_PORT:-$internal_free}
export PF_PG_PORT=${PF_TEST_PG_PORT:-$pg_free}
export PF_PG_FSYNC=off
# two worker processes (the default is one): the supervision tests kill one
# and expect the other to keep serving, and two processes sharing the
# listening socket is the harder case for the connection sets
export PF_PROCESSES=${PF_PROCESSES:-2} PF_THREADS=${PF_THREADS:-4}
# the app reads its business gauges at most once a second (test_metrics.py)
export PF_METRICS_REFRESH_SECONDS=${PF_METRICS_REFRESH_SECONDS:-1}
# every client of the suite is 127.0.0.1, and its fault tests' load peaks
# at about 6,000 requests a second: nginx's request rate per address is
# raised for it (test_slow_clients.py lowers it again to check it); the
# connection limit per address stays the shipped default
export PF_NGINX_REQ_PER_ADDR=${PF_NGINX_REQ_PER_ADDR:-100000} PF_NGINX_REQ_BURST=${PF_NGINX_REQ_BURST:-100000}
passed=0
failed=0
python=/usr/bin/python3
[ -x "$python" ] || python=python3

count() { # adds the "N passed, M failed" of the last such line in $1
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
	p=$(echo " $line" | sed -E 's/^.*[^0-9]([0-9]+) passed, ([0-9]+) failed.*$/\1/')
	f=$(echo " $line" | sed -E 's/^.*[^0-9]([0-9]+) passed, ([0-9]+) failed.*$/\2/')
	passed=$((passed + p))
	failed=$((failed + f))
}

run_test_binary() { # counts its totals; a crash without them is a failure
	"$PF_BUILD_DIR/$1" >"$out" 2>&1
	rc=$?
	cat "$out"
	count "$out"
	[ $rc -ne 0 ] && ! grep -qE '[1-9][0-9]* failed' "$out" && failed=$((failed + 1))
}

out=$(mktemp)
for t in "$@"; do
	run_test_binary "$t"
done

# every command the scripts and tests call comes from a package that
# scripts/packages installs, or from Debian's Essential set (tests/commands)
python3 "$src/tests/check_commands.py" "$src" >"$out" 2>&1
cat "$out"
count "$out"

# every relative link in README.md and docs/*.md names a file in the
# repository and none leaves it; README.md is at most 200 lines
python3 "$src/tests/check_docs.py" "$src" >"$out" 2>&1
cat "$out"
count "$out"

# a bounded fuzz pass (fuzz/run.sh builds the libFuzzer targets with clang);
# PF_FUZZ_SECONDS=0 leaves it out
fuzz_seconds=${PF_FUZZ_SECONDS:-5}
if [ "$fuzz_seconds" != 0 ] && [ -x "$src/fuzz/run.sh" ]; then
	PF_FUZZ_BUILD=${PF_FUZZ_BUILD:-$PF_STACK_DIR.fuzz} "$src/fuzz/run.sh" "$fuzz_seconds" >"$out" 2>&1
	cat "$out"
	count "$out"
	rm -rf "${PF_FUZZ_BUILD:-$PF_STACK_DIR.fuzz}"
fi

cleanup() {
	"$src/scripts/stack" down >/dev/null 2>&1
	# a failed run keeps its logs for a look
	if [ "${PF_KEEP_STACK:-}" = "" ] && [ "$failed" -eq 0 ]; then rm -rf "$PF_STACK_DIR"; fi
	rm -f "$out"
}
trap cleanup EXIT INT TERM

if "$src/scripts/stack" up >"$out" 2>&1; then
	eval "$("$src/scripts/stack" env | sed 's/^/export /; s/=\(.*\)$/="\1"/')"
	# lib/db.c against the stack's PostgreSQL (PF_DB_TESTS, from make check)
	for t in ${PF_DB_TESTS:-}; do
		run_test_binary "$t"
	done
	# shellcheck disable=SC2086
	# Debian's interpreter: the suite imports Debian's python3-* modules
	# (scripts/packages' test list), which another python3 on PATH lacks
	"$python" "$src/tests/e2e/run.py" ${PF_E2E_FILTER:-} 2>&1 | tee "$out"
	count "$out"
	"$src/scripts/stack" stop-app >/dev/null 2>&1
	# memory errors the app reported while serving the suite (ASan/UBSan in
	# app.log, valgrind in valgrind.*.log) fail the run
	if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$PF_STACK_DIR/app.log" >/dev/null 2>&1 ||
	    grep -lE 'ERROR SUMMARY: [1-9]' "$PF_STACK_DIR"/valgrind.*.log >/dev/null 2>&1; then
		echo "FAIL memory-error check: see $PF_STACK_DIR/app.log and valgrind logs"
		grep -hE -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$PF_STACK_DIR/app.log" 2>/dev/null | head -n 40
		grep -hE -B30 'ERROR SUMMARY: [1-9]' "$PF_STACK_DIR"/valgrind.*.log 2>/dev/null | head -n 60
		failed=$((failed + 1))
	else
		echo "memory-error check: 1 passed, 0 failed"
		passed=$((passed + 1))
	fi
else
	cat "$out"
	echo "run-all: the stack did not start" >&2
	tail -n 30 "$PF_STACK_DIR/app.log" "$PF_STACK_DIR/nginx-error.log" "$PF_STACK_DIR/pg/server.log" 2>/dev/null
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
