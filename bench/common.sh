# common.sh: what the benchmarks share (bench/run.sh, bench/instances.sh);
# sourced, not run. The caller sets `src` (the source tree) and may pass
# --smoke; this file reads the settings below, then defines the helpers:
#   bench_start_stack     a fresh private stack (scripts/stack up) in $dir
#   seed_users            $users users with an active pro subscription
#   mint_tokens           one HS256 token per user ($work/tokens.txt)
#   check_responses URL   the responses the load relies on, through URL
#   run_wrk, run_pgbench  one measured run, appended to $results
#   reset_subscriptions   every user renewing again, as wrk.lua assumes
# and `check` (counts into $passed / $failed). On exit it stops what it
# started; a script adds its own steps to that in on_cleanup().
#
# Environment: BENCH_DIR (/tmp/pf-bench), BENCH_PORT_BASE (public; +1
# internal, +2 constant), BENCH_PG_PORT (default: free loopback ports),
# BENCH_USERS (10000; smoke 200, or the caller's smoke_users), BENCH_SECONDS (10; smoke 2),
# BENCH_CONNECTIONS ("32 128"; smoke "8"), BENCH_WRK_THREADS (2),
# BENCH_ROUNDS (3; smoke 1), BENCH_KEEP (keep $dir),
# PF_PROCESSES / PF_THREADS (the app's defaults, 1 x 8), PF_BUILD_DIR.
build=${PF_BUILD_DIR:-$src}
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
[ "${BENCH_SMOKE:-0}" = "1" ] && smoke=1

dir=${BENCH_DIR:-/tmp/pf-bench}
# free loopback ports unless given (another stack may hold any fixed one)
read -r free_port1 free_port2 free_port3 free_port4 <<EOF
$(python3 -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
EOF
if [ -n "${BENCH_PORT_BASE:-}" ]; then
	public_port=$BENCH_PORT_BASE
	internal_port=$((BENCH_PORT_BASE + 1))
	const_port=$((BENCH_PORT_BASE + 2))
else
	public_port=$free_port1 internal_port=$free_port2 const_port=$free_port3
fi
pg_port=${BENCH_PG_PORT:-$free_port4}
processes=${PF_PROCESSES:-1}
threads=${PF_THREADS:-8}
db_connections=$((processes * threads))
wrk_threads=${BENCH_WRK_THREADS:-2}
first_user=1000001
if [ $smoke = 1 ]; then
	users=${BENCH_USERS:-${smoke_users:-200}}
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
results="$work/results.tsv"
url="http://127.0.0.1:$public_port"
passed=0
failed=0

export PF_STACK_DIR="$dir" PF_PUBLIC_PORT=$public_port PF_INTERNAL_PORT=$internal_port
export PF_PG_PORT=$pg_port PF_BUILD_DIR="$build" PF_PROCESSES=$processes PF_THREADS=$threads
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

on_cleanup() { :; } # a script's own steps, before the stack goes down
cleanup() {
	on_cleanup
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
: >"$results"
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start_stack() {
	say "starting the stack in $dir (public :$public_port, PostgreSQL :$pg_port, $processes x $threads app threads)"
	if ! "$src/scripts/stack" up >"$work/stack.log" 2>&1; then
		cat "$work/stack.log" >&2
		tail -n 20 "$dir/app.log" "$dir/nginx-error.log" 2>/dev/null >&2
		echo "bench-smoke: 0 passed, 1 failed"
		exit 1
	fi
	secret_file="$dir/jwt-secret"
}

# --- seed: users with an active pro subscription in the middle of its period
seed_users() {
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
}

# --- tokens: "user_id token" per line, as scripts/mint-token signs them
mint_tokens() {
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
}
token_of() { sed -n "$(($1 - first_user + 1))p" "$work/tokens.txt" | cut -d' ' -f2; }

# --- correctness of the responses the benchmark relies on
http_check() { # method path token want_status want_substring...
	method=$1 path=$2 token=$3 want=$4
	shift 4
	status=$(curl -sS -o "$work/body" -w '%{http_code}' -X "$method" "$check_url$path" \
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
toggle_rows() {
	psql_bench -tAc "SELECT count(*) FROM audit_log
	    WHERE action IN ('subscription.cancel_scheduled', 'subscription.resumed')"
}
check_responses() { # [url (default: the stack's nginx)] [label]: read, cancel, resume three users
	check_url=${1:-$url}
	label=${2:+$2: }
	before=$(toggle_rows)
	for uid in $first_user $((first_user + users / 2)) $last_user; do
		t=$(token_of "$uid")
		check "${label}read $uid" http_check GET /api/v1/account "$t" 200 "\"id\":\"$uid\"" '"plan":"pro"' \
		    '"cancel_at_period_end":false' '"included_remaining":800'
		check "${label}cancel $uid" http_check POST /api/v1/subscription/cancel "$t" 200 '"cancel_at_period_end":true'
		check "${label}read cancelled $uid" http_check GET /api/v1/account "$t" 200 '"cancel_at_period_end":true' \
		    '"renews_at":null'
		check "${label}resume $uid" http_check POST /api/v1/subscription/resume "$t" 200 '"cancel_at_period_end":false'
		check "${label}resume again $uid" http_check POST /api/v1/subscription/resume "$t" 409
	done
	check "${label}read without a token" http_check GET /api/v1/account "" 401
	check "${label}audit and outbox rows of the checks" test "$(toggle_rows)" = $((before + 6))
}

# --- measurement helpers
reset_subscriptions() { # every user active and renewing, as wrk.lua assumes
	psql_bench -c "UPDATE subscriptions SET cancel_at_period_end = false WHERE cancel_at_period_end" >/dev/null
}
run_wrk() { # label connections mode path [port]
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
# Checkpoints PostgreSQL began by itself (every max_wal_size of WAL, or
# checkpoint_timeout), from its log (log_checkpoints is on by default).
# One that falls inside a run takes that run's write p99 at 32 connections
# from about 8 ms to 35-116 ms here (the spread checkpoint's writes share
# the disk with the WAL flushes): a random run, app or pgbench, would carry
# it. So the runs start after a CHECKPOINT, and the table says how many
# began anyway.
own_checkpoints() {
	grep 'checkpoint starting: ' "$dir/pg/server.log" 2>/dev/null | grep -vc 'immediate force'
}

# The end of a benchmark: prints $table; outside smoke mode keeps it, with
# every run, in bench/results-<prefix><time>.txt; in smoke mode prints the
# checks' totals; fails if a check failed.
bench_finish() { # file-name prefix ("" or "instances-")
	echo
	echo "$table"
	if [ $smoke = 0 ]; then
		out="$src/bench/results-$1$(date +%Y%m%d-%H%M%S).txt"
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
}
