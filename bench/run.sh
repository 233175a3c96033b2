#!/bin/bash
# run.sh: the benchmark (`make bench`; `make bench BENCH_SMOKE=1` or
# `bench/run.sh --smoke` for the short correctness run CI uses).
#
# Starts a private stack (scripts/stack: PostgreSQL, pf-account, nginx with
# the shipped nginx/personaforge.conf) in its own directory and ports, seeds
# users with active "pro" subscriptions by bulk SQL through the schema
# (sql/migrations; the same rows POST /internal/subscriptions would leave
# for the columns these endpoints read), mints one HS256 token per user
# with the stack's secret, and drives wrk (bench/wrk.lua: a different user
# per request) on
#   read:  GET /api/v1/account
#   write: POST /api/v1/subscription/cancel, then .../resume for that user
# at 32 and 128 connections. Then the ceilings, in the same run:
#   pgbench -M prepared running the handlers' statements (generated from the
#     catalogue by bench_sql from bench/pgbench-*.sql.in) with as many
#     clients as the app has database connections (processes x threads);
#   bench/pf-bare-fcgi (same processes x threads and connection set as the app, constant
#     JSON, no database, no JWT) on the app's socket, behind the same nginx;
#   the same responder plus the account read's one prepared statement per
#     request (bare-fcgi+db: the fastest any read with a database round
#     trip can go here, before token, row decoding and JSON);
#   nginx `return 200` on a bare location (its own listener).
# Prints one table, writes it to bench/results-<date>.txt and stops
# everything it started.
#
# Settings (environment): see bench/common.sh, which this script shares
# with bench/instances.sh (BENCH_USERS, BENCH_SECONDS, BENCH_CONNECTIONS,
# BENCH_ROUNDS, PF_PROCESSES / PF_THREADS, ...).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/common.sh" "$@"
bare_pid=
on_cleanup() {
	if [ -n "$bare_pid" ]; then
		kill "$bare_pid" 2>/dev/null
		wait "$bare_pid" 2>/dev/null
	fi
}

export PF_NGINX_EXTRA_CONF="$dir/bench-constant.conf"
cat >"$dir/bench-constant.conf" <<CONF
# the benchmark's HTTP ceiling: nginx answering a constant on a bare location
server {
    listen 127.0.0.1:$const_port;
    access_log off;
    location = /constant {
        default_type application/json;
        return 200 '{"ok":true,"bench":"nginx"}';
    }
}
CONF

bench_start_stack
seed_users
mint_tokens
check_responses

app_memory() { # "rss_kib pss_kib processes" of the app's master and workers
	master=$(cat "$dir/app.pid" 2>/dev/null)
	[ -n "$master" ] || { echo "0 0 0"; return; }
	rss=0 pss=0 n=0
	for pid in $master $(child_pids "$master"); do
		r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null)
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${p:-0}))
		n=$((n + 1))
	done
	echo "$rss $pss $n"
}

# --- the app
say "measuring the app ($seconds s per run, wrk -t$wrk_threads)"
mem_peak="0 0 0"
measure_app() { # label connections path: one wrk run, sampling the app's memory halfway
	run_wrk "$1" "$2" "$1" "$3" >/dev/null &
	wrk_pid=$!
	sleep "$(( (seconds + 1) / 2 ))"
	m=$(app_memory)
	[ "${m%% *}" -gt "${mem_peak%% *}" ] && mem_peak=$m
	wait $wrk_pid
	check "$1 c=$2: no errors" test "$(awk -F'\t' -v l="$1" -v c="$2" '$1 == l && $2 == c {e = $6} END {print e}' "$results")" = 0
}
# The app, the pgbench ceilings and the bare responder take turns, round
# after round: the machine's speed drifts by 10-35 % over minutes, and a
# ratio of two numbers measured minutes apart would carry that drift. The
# table shows each row's median over the rounds.
measure_ceilings() {
	reset_subscriptions
	check "pgbench read" run_pgbench pgbench-read pgbench-read.sql.in
	check "pgbench write" run_pgbench pgbench-write pgbench-write.sql.in
	"$src/scripts/stack" stop-app >/dev/null 2>&1
	start_bare
	for c in $connections; do
		check "bare FastCGI c=$c" run_wrk bare-fcgi "$c" plain /api/v1/account
	done
	stop_bare
	start_bare "host=$dir/pg-socket port=$pg_port user=postgres dbname=personaforge" \
	    "$first_user" "$last_user"
	for c in $connections; do
		check "bare FastCGI + account read c=$c" run_wrk bare-fcgi+db "$c" plain /api/v1/account
	done
	stop_bare
}
start_bare() { # [conninfo first_user last_user]: pf-bare-fcgi on the app's socket
	# the stopped app leaves its socket file behind (fcgi/main.c's
	# socket_is_ours compares the path's inode with the socket's, which on
	# Linux never match): waiting for a socket would find that stale one at
	# once, and the first requests would meet the responder between its
	# unlink and bind (502)
	rm -f "$dir/run/app.sock"
	"$build/bench/pf-bare-fcgi" "$dir/run/app.sock" "$@" 2>>"$work/bare.log" &
	bare_pid=$!
	i=0
	while [ ! -S "$dir/run/app.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
stop_bare() {
	kill "$bare_pid" 2>/dev/null
	wait "$bare_pid" 2>/dev/null
	bare_pid=
	rm -f "$dir/run/app.sock"
}
# each round starts with a CHECKPOINT, and a round writes well under
# max_wal_size of WAL in less than checkpoint_timeout (own_checkpoints,
# bench/common.sh)
checkpoints_at_start=$(own_checkpoints)
round=1
while [ $round -le "$rounds" ]; do
	[ "$rounds" -gt 1 ] && say "round $round of $rounds"
	if [ $round -gt 1 ]; then
		check "the app restarts after the bare responder" sh -c \
		    '"$1/scripts/stack" start-app >/dev/null 2>&1 && curl -fsS -o /dev/null "$2/healthz"' _ "$src" "$url"
	fi
	check "checkpoint before the round" psql_bench -c CHECKPOINT
	for c in $connections; do
		measure_app read "$c" /api/v1/account
	done
	for c in $connections; do
		reset_subscriptions
		measure_app write "$c" ""
	done
	if [ $round -eq "$rounds" ]; then
		mem_idle=$(app_memory)
	fi
	check "the app survived the load" curl -fsS -o /dev/null "$url/healthz"
	check "app log has no errors" sh -c "! grep -E 'failed|died|error' '$dir/app.log'"
	measure_ceilings
	round=$((round + 1))
done
for c in $connections; do
	check "nginx constant c=$c" run_wrk nginx-constant "$c" plain /constant "$const_port"
done

checkpoints_inside=$(( $(own_checkpoints) - checkpoints_at_start ))

# --- the table
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
table=$(awk -F'\t' -v mem_peak="$mem_peak" -v mem_idle="$mem_idle" -v procs="$processes" \
    -v checkpoints="$checkpoints_inside" \
    -v threads="$threads" -v dbc="$db_connections" -v wt="$wrk_threads" -v secs="$seconds" \
    -v users="$users" -v cores="$(nproc)" -v cpu="$cpu" -v rounds="$rounds" \
    -v smoke="$smoke" -v lo="${connections%% *}" -v hi="${connections##* }" '
function median(list,    v, n, i, j, t) {
  n = split(list, v, " ")
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{ key = $1 SUBSEP $2
  if (!(key in runs)) { order[++rows] = key; label[key] = $1; conns[key] = $2 }
  runs[key]++; rps[key] = rps[key] " " $3; p50[key] = p50[key] " " $4; p99[key] = p99[key] " " $5
  err[key] += $6 }
END {
  for (r = 1; r <= rows; r++) {
    k = order[r]
    m_rps[k] = median(rps[k]); m_p50[k] = median(p50[k]); m_p99[k] = median(p99[k])
    if (label[k] == "pgbench-read") pg_read = m_rps[k]
    if (label[k] == "pgbench-write") pg_write = m_rps[k]
    if (label[k] == "bare-fcgi") bare_at[conns[k]] = m_rps[k]
    if (label[k] == "bare-fcgi+db") bare_db_at[conns[k]] = m_rps[k]
  }
  printf "pf-account benchmark, %s\n", strftime("%Y-%m-%d %H:%M:%S %Z")
  printf "machine: %d cores (%s); wrk (-t%d), nginx, pf-account and PostgreSQL all share them,\n", cores, cpu, wt
  printf "so every number includes the load generator'"'"'s own CPU use.\n"
  printf "app: %d processes x %d threads = %d database connections; %d users; %d s per run;\n", procs, threads, dbc, users, secs
  printf "PostgreSQL 15 with fsync and synchronous_commit on.\n"
  printf "app, ceilings and bare responder measured in turn, %d round(s); each row is the median over its runs.\n\n", rounds
  printf "%-16s %5s %10s %8s %8s %7s %9s %10s %9s %5s\n", "run", "conns", "req/s", "p50 ms", "p99 ms", "errors", "/pgbench", "/bare-fcgi", "/bare+db", "runs"
  for (r = 1; r <= rows; r++) {
    k = order[r]; pg = ""; br = ""; bd = ""
    if (label[k] == "read" && pg_read) pg = sprintf("%.2f", m_rps[k] / pg_read)
    if (label[k] == "write" && pg_write) pg = sprintf("%.2f", m_rps[k] / pg_write)
    if ((label[k] == "read" || label[k] == "bare-fcgi+db") && bare_at[conns[k]])
      br = sprintf("%.2f", m_rps[k] / bare_at[conns[k]])
    if (label[k] == "read" && bare_db_at[conns[k]]) bd = sprintf("%.2f", m_rps[k] / bare_db_at[conns[k]])
    printf "%-16s %5s %10.0f %8.2f %8.2f %7s %9s %10s %9s %5d\n", label[k], conns[k], m_rps[k], m_p50[k], m_p99[k], err[k], pg, br, bd, runs[k]
  }
  split(mem_peak, mp, " "); split(mem_idle, mi, " ")
  printf "\nread and write rows: wrk through nginx (shipped config) to pf-account; pgbench rows: the same statements and\n"
  printf "transactions as the handlers (tx/s), %d clients; bare-fcgi: constant JSON from the same processes x threads\n", dbc
  printf "model behind the same nginx; bare-fcgi+db: the same, plus the account read'"'"'s one prepared statement per\n"
  printf "request (one database round trip, no token, no row decoding, no JSON building): the ceiling of any read\n"
  printf "that makes a database round trip per request; nginx-constant: `return 200` on a bare location.\n"
  printf "app resident memory (%d processes: master + workers; sum of VmRSS from /proc/PID/status, shared pages\n", mp[3]
  printf "counted once per process): %.1f MiB under load, %.1f MiB after it; sum of Pss (smaps_rollup): %.1f MiB.\n", mp[1] / 1024, mi[1] / 1024, mp[2] / 1024
  printf "each round starts with a CHECKPOINT; checkpoints PostgreSQL began itself during the runs: %d\n", checkpoints
  # no collapse at the highest connection count: its rate against the lowest one
  if (!smoke) {
    rl = m_rps["read" SUBSEP lo]; wl = m_rps["write" SUBSEP lo]
    printf "scaling c=%s / c=%s: read %.2f, write %.2f\n", hi, lo,
        rl ? m_rps["read" SUBSEP hi] / rl : 0, wl ? m_rps["write" SUBSEP hi] / wl : 0
  }
}' "$results")
bench_finish ""
