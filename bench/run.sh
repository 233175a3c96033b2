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
# Environment: BENCH_DIR (/tmp/pf-bench), BENCH_PORT_BASE (public; +1
# internal, +2 constant), BENCH_PG_PORT (default: free loopback ports),
# BENCH_USERS (10000; smoke 200), BENCH_SECONDS (10; smoke 2),
# BENCH_CONNECTIONS ("32 128"; smoke "8"), BENCH_WRK_THREADS (2),
# BENCH_ROUNDS (3; smoke 1),
# PF_PROCESSES / PF_THREADS (the app's defaults, 1 x 8), PF_BUILD_DIR.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${PF_BUILD_DIR:-$src}
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
[ "${BENCH_SMOKE:-0}" = "1" ] && smoke=1

dir=${BENCH_DIR:-/tmp/pf-bench}
# free loopback ports unless given (another stack may hold any fixed one)
free_ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
set -- "$@" $free_ports
shift $(($# - 4))
if [ -n "${BENCH_PORT_BASE:-}" ]; then
	public_port=$BENCH_PORT_BASE
	internal_port=$((BENCH_PORT_BASE + 1))
	const_port=$((BENCH_PORT_BASE + 2))
else
	public_port=$1 internal_port=$2 const_port=$3
fi
pg_port=${BENCH_PG_PORT:-$4}
processes=${PF_PROCESSES:-1}
threads=${PF_THREADS:-8}
db_connections=$((processes * threads))
wrk_threads=${BENCH_WRK_THREADS:-2}
first_user=1000001
if [ $smoke = 1 ]; then
	users=${BENCH_USERS:-200}
	seconds=${BENCH_SECONDS:-2}
	connections=${BENCH_CONNECTIONS:-8}
	rounds=${BENCH_ROUNDS:-1}
else
	users=${BENCH_USERS:-10000}
	seconds=${BENCH_SECONDS:-10}
	connections=${BENCH_CONNECTIONS:-32 128}
	rounds=${BENCH_ROUNDS:-3}
fi
last_user=$((first_user + users - 1))
work="$dir/bench"
passed=0
failed=0
bare_pid=

export PF_STACK_DIR="$dir" PF_PUBLIC_PORT=$public_port PF_INTERNAL_PORT=$internal_port
export PF_PG_PORT=$pg_port PF_BUILD_DIR="$build" PF_PROCESSES=$processes PF_THREADS=$threads
export PF_NGINX_EXTRA_CONF="$dir/bench-constant.conf"
# wrk's connections all come from 127.0.0.1: nginx's limits per client
# address (requests in progress, requests a second) are raised far above
# what it sends, so the runs measure the shipped config without refusals
export PF_NGINX_CONN_PER_ADDR=${PF_NGINX_CONN_PER_ADDR:-4096} PF_NGINX_REQ_PER_ADDR=${PF_NGINX_REQ_PER_ADDR:-1000000} PF_NGINX_REQ_BURST=${PF_NGINX_REQ_BURST:-1000000}
psql_bench() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d personaforge "$@"; }

say() { echo "bench: $*" >&2; }
check() { # name, then a command that must succeed
	name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $name" >&2
	fi
}

cleanup() {
	if [ -n "$bare_pid" ]; then
		kill "$bare_pid" 2>/dev/null
		wait "$bare_pid" 2>/dev/null
	fi
	"$src/scripts/stack" down >/dev/null 2>&1
	if [ "${BENCH_KEEP:-}" = "" ]; then rm -rf "$dir"; fi
}

for tool in wrk pgbench psql nginx curl python3; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || {
		say "$tool is not installed (scripts/packages install run test installs it)"; exit 2; }
done
for bin in pf-account bench/pf-bare-fcgi bench/bench_sql; do
	[ -x "$build/$bin" ] || { say "$build/$bin is not built (make bench builds it)"; exit 2; }
done

# a fresh stack each run: stop and remove what an interrupted run left
"$src/scripts/stack" down >/dev/null 2>&1
rm -rf "$dir"
mkdir -p "$work"
trap cleanup EXIT
trap 'exit 130' INT TERM

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

say "starting the stack in $dir (public :$public_port, PostgreSQL :$pg_port, $processes x $threads app threads)"
if ! "$src/scripts/stack" up >"$work/stack.log" 2>&1; then
	cat "$work/stack.log" >&2
	tail -n 20 "$dir/app.log" "$dir/nginx-error.log" 2>/dev/null >&2
	echo "bench-smoke: 0 passed, 1 failed"
	exit 1
fi
secret_file="$dir/jwt-secret"

# --- seed: users with an active pro subscription in the middle of its period
say "seeding $users users (bulk SQL)"
psql_bench -v first="$first_user" -v last="$last_user" <<'SQL'
BEGIN;
INSERT INTO users (id, email, created_at, included_remaining, included_allowance)
SELECT g::text, 'bench' || g || '@example.com', date_trunc('second', now()) - interval '5 days', 800, 800
FROM generate_series(:first, :last) g;
INSERT INTO credit_ledger (user_id, balance, delta, cause, ref, at)
SELECT g::text, 'included', 800, 'grant', 'checkout', date_trunc('second', now()) - interval '5 days'
FROM generate_series(:first, :last) g;
-- subscription id = user id: the pgbench write script relies on it
INSERT INTO subscriptions (id, user_id, plan, status, anchor, period_index, current_period_start,
    current_period_end, provider_ref, started_at)
SELECT g, g::text, 'pro', 'active', t.start, 0, t.start, t.start + interval '1 month', 'bench-' || g, t.start
FROM generate_series(:first, :last) g,
    (SELECT date_trunc('second', now()) - interval '5 days' AS start) t;
SELECT setval('subscriptions_id_seq', (SELECT max(id) FROM subscriptions));
COMMIT;
VACUUM ANALYZE users;
VACUUM ANALYZE subscriptions;
SQL
[ $? -eq 0 ] || { say "seeding failed"; exit 1; }
# the seeded period (the same for every user), for the pgbench write script
seed_period=$(psql_bench -tA -F' ' -c "SELECT extract(epoch FROM current_period_start)::bigint,
    extract(epoch FROM current_period_end)::bigint FROM subscriptions WHERE id = $first_user")

# --- tokens: "user_id token" per line, as scripts/mint-token signs them
say "minting $users tokens"
python3 - "$secret_file" "$first_user" "$last_user" >"$work/tokens.txt" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret = open(sys.argv[1], "rb").read().strip()
def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
now = int(time.time())
out = []
for uid in range(int(sys.argv[2]), int(sys.argv[3]) + 1):
    claims = {"sub": str(uid), "iss": "https://auth.personaforge.xyz",
              "aud": "personaforge-account", "iat": now, "exp": now + 7200}
    signing_input = head + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    out.append("%d %s.%s" % (uid, signing_input, b64url(sig)))
print("\n".join(out))
PY

url="http://127.0.0.1:$public_port"
token_of() { sed -n "$(($1 - first_user + 1))p" "$work/tokens.txt" | cut -d' ' -f2; }

# --- correctness of the responses the benchmark relies on
http_check() { # method path token want_status want_substring...
	method=$1 path=$2 token=$3 want=$4
	shift 4
	status=$(curl -sS -o "$work/body" -w '%{http_code}' -X "$method" "$url$path" \
	    ${token:+-H "Authorization: Bearer $token"})
	if [ "$status" != "$want" ]; then
		echo "  $method $path: status $status, want $want: $(head -c 300 "$work/body")" >&2
		return 1
	fi
	for s in "$@"; do
		if ! grep -qF -- "$s" "$work/body"; then
			echo "  $method $path: body lacks $s: $(head -c 300 "$work/body")" >&2
			return 1
		fi
	done
}
for uid in $first_user $((first_user + users / 2)) $last_user; do
	t=$(token_of "$uid")
	check "read $uid" http_check GET /api/v1/account "$t" 200 "\"id\":\"$uid\"" '"plan":"pro"' \
	    '"cancel_at_period_end":false' '"included_remaining":800'
	check "cancel $uid" http_check POST /api/v1/subscription/cancel "$t" 200 '"cancel_at_period_end":true'
	check "read cancelled $uid" http_check GET /api/v1/account "$t" 200 '"cancel_at_period_end":true' \
	    '"renews_at":null'
	check "resume $uid" http_check POST /api/v1/subscription/resume "$t" 200 '"cancel_at_period_end":false'
	check "resume again $uid" http_check POST /api/v1/subscription/resume "$t" 409
done
check "read without a token" http_check GET /api/v1/account "" 401
check "audit and outbox rows of the checks" test "$(psql_bench -tAc \
    "SELECT count(*) FROM audit_log WHERE action IN ('subscription.cancel_scheduled', 'subscription.resumed')")" = 6

# --- measurement helpers
results="$work/results.tsv"
: >"$results"
reset_subscriptions() { # every user active and renewing, as wrk.lua assumes
	psql_bench -c "UPDATE subscriptions SET cancel_at_period_end = false WHERE cancel_at_period_end" >/dev/null
}
run_wrk() { # label connections mode path
	label=$1 conns=$2 mode=$3 path=$4 port=${5:-$public_port}
	out="$work/wrk-$label-$conns.txt"
	wrk -t"$wrk_threads" -c"$conns" -d"${seconds}s" --latency -s "$src/bench/wrk.lua" \
	    "http://127.0.0.1:$port" -- "$mode" "$work/tokens.txt" "$path" "$wrk_threads" >"$out" 2>&1
	line=$(grep '^wrk-result' "$out")
	if [ -z "$line" ]; then
		say "wrk $label $conns failed: $(tail -n 5 "$out")"
		printf '%s\t%s\t0\t0\t0\t1\n' "$label" "$conns" >>"$results"
		return 1
	fi
	rps=$(echo "$line" | sed -E 's/.* rps=([0-9.]+).*/\1/')
	p50=$(echo "$line" | sed -E 's/.* p50_ms=([0-9.]+).*/\1/')
	p99=$(echo "$line" | sed -E 's/.* p99_ms=([0-9.]+).*/\1/')
	errors=$(echo "$line" | sed -E 's/.* errors=([0-9]+).*/\1/')
	requests=$(echo "$line" | sed -E 's/.*requests=([0-9]+).*/\1/')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$conns" "$rps" "$p50" "$p99" "$errors" >>"$results"
	say "$(printf '%-16s c=%-4s %8s req/s  p50 %6s ms  p99 %7s ms  errors %s' "$label" "$conns" "$rps" "$p50" "$p99" "$errors")"
	[ "$errors" = 0 ] && [ "$requests" -gt 0 ]
}
child_pids() { # PIDs whose parent is $1, from /proc/PID/stat ("pid (comm) state ppid ...";
	# comm may hold spaces or parentheses: the greedy (.*) runs to the last ')')
	cat /proc/[0-9]*/stat 2>/dev/null | sed -n "s/^\([0-9]*\) (.*) . $1 .*/\1/p"
}
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
# p50/p99 come from pgbench's per-transaction log, of one transaction in ten:
# logging every one cost the ceiling 1-4 % (interleaved runs), which would
# flatter the app's ratio
run_pgbench() { # label template
	label=$1 template=$2
	script="$work/$label.sql"
	"$build/bench/bench_sql" <"$src/bench/$template" >"$script" || return 1
	rm -f "$work"/pgbench_log.*
	now=$(date +%s)
	renewing="{\"plan\":\"pro\",\"status\":\"active\",\"current_period_start\":\"2026-11-21T10:00:00Z\",\"current_period_end\":\"2026-12-21T10:00:00Z\",\"cancel_at_period_end\":false,\"scheduled_change\":null,\"renews_at\":\"2026-12-21T10:00:00Z\"}"
	cancelling="{\"plan\":\"pro\",\"status\":\"active\",\"current_period_start\":\"2026-11-21T10:00:00Z\",\"current_period_end\":\"2026-12-21T10:00:00Z\",\"cancel_at_period_end\":true,\"scheduled_change\":null,\"renews_at\":null}"
	(cd "$work" && pgbench -n -M prepared -c "$db_connections" -j "$wrk_threads" -T "$seconds" \
	    -h "$dir/pg-socket" -p "$pg_port" -U postgres -l --sampling-rate=0.1 --log-prefix=pgbench_log -f "$script" \
	    -D first_user="$first_user" -D last_user="$last_user" -D now="$now" \
	    -D email=bench@example.com -D actor_role=user -D yes=true -D no=false \
	    -D plan=pro -D period_index=0 -D period_start="${seed_period% *}" \
	    -D period_end="${seed_period#* }" \
	    -D action_cancel=subscription.cancel_scheduled -D action_resume=subscription.resumed \
	    -D event_cancel=subscription_cancel_scheduled -D event_resume=subscription_resumed \
	    -D sub_renewing="$renewing" -D sub_cancelling="$cancelling" \
	    -D payload_renewing="{\"subscription\":$renewing}" \
	    -D payload_cancelling="{\"subscription\":$cancelling}" \
	    personaforge) >"$work/pgbench-$label.txt" 2>&1
	rc=$?
	tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$work/pgbench-$label.txt" | head -n 1)
	pct=$(cat "$work"/pgbench_log.* 2>/dev/null | awk '{print $3}' | sort -n |
	    awk '{a[NR] = $1} END {if (NR) printf "%.2f %.2f", a[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))] / 1000, a[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))] / 1000; else print "0 0"}')
	errors=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$work/pgbench-$label.txt")
	[ $rc -ne 0 ] && errors=$((${errors:-0} + 1))
	rm -f "$work"/pgbench_log.*
	printf '%s\t%s\t%.0f\t%s\t%s\t%s\n' "$label" "$db_connections" "${tps:-0}" ${pct% *} ${pct#* } "${errors:-0}" >>"$results"
	say "$(printf '%-16s c=%-4s %8.0f tx/s   p50 %6s ms  p99 %7s ms  errors %s' "$label" "$db_connections" "${tps:-0}" ${pct% *} ${pct#* } "${errors:-0}")"
	if [ $rc -ne 0 ] || [ "${errors:-0}" != 0 ]; then
		say "pgbench $label failed:"
		grep -vE '^(pgbench|transaction type|scaling|query mode|number of|latency|initial|tps|maximum|duration)' \
		    "$work/pgbench-$label.txt" | head -n 10 >&2
		return 1
	fi
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
# Checkpoints PostgreSQL began by itself (every max_wal_size of WAL, or
# checkpoint_timeout), from its log (log_checkpoints is on by default).
# One that falls inside a run takes that run's write p99 at 32 connections
# from about 8 ms to 35-116 ms here (the spread checkpoint's writes share
# the disk with the WAL flushes): a random run, app or pgbench, would carry
# it. So each round starts with a CHECKPOINT, and a round writes well under
# max_wal_size of WAL in less than checkpoint_timeout; the table says how
# many began anyway.
own_checkpoints() {
	grep 'checkpoint starting: ' "$dir/pg/server.log" 2>/dev/null | grep -vc 'immediate force'
}
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
echo
echo "$table"
if [ $smoke = 0 ]; then
	out="$src/bench/results-$(date +%Y%m%d-%H%M%S).txt"
	{
		echo "$table"
		echo
		echo "every run, in order (label, connections, req/s, p50 ms, p99 ms, errors):"
		cat "$results"
	} >"$out"
	echo
	echo "written to $out"
fi
if [ $smoke = 1 ]; then
	echo "bench-smoke: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
