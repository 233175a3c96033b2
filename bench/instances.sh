#!/bin/bash
# instances.sh: one app instance against two (`make bench-instances`;
# `make bench-instances BENCH_SMOKE=1` or `bench/instances.sh --smoke` for a
# short correctness run).
#
# The same private stack, seeded users and tokens as bench/run.sh
# (bench/common.sh), then the same wrk load (bench/wrk.lua: read = GET
# /api/v1/account, write = POST cancel/resume) at 32 connections through
# the shipped nginx config, whose upstream lists in turn:
#   one        one TCP instance (PF_LISTEN), 1 process x 8 threads
#   two        two TCP instances, 1 x 4 threads each: the same 8 database
#              connections, split between two processes as between two hosts
#   unnamed    one instance, 1 x 8, with PF_DATABASE_POOLING=transaction
#              straight to PostgreSQL: what unnamed statements (parsed and
#              planned each time) cost
#   pgbouncer  the same through a real pgbouncer in transaction mode,
#              default_pool_size 8 (both hops on unix sockets, as the app
#              reaches PostgreSQL directly)
# and pgbench -M prepared on the write's transaction with 8 clients (the
# primary's write rate, from bench/pgbench-write.sql.in, as in run.sh).
# Every instance runs for the whole benchmark; nginx is started afresh,
# with that upstream, for each configuration's turn. The configurations take
# turns round after round (the first of a round moves on by one each round)
# and each row is the median over the rounds; the ratios are to "one".
#
# Correct results, checked: the responses of run.sh's checks through each
# configuration's nginx; zero errors in wrk and no answer but 2xx in nginx's
# access log for the measured requests; after each write run, every user's
# audit rows of that run alternate cancel, resume, ... starting with cancel,
# the subscription's state is their parity, each has its outbox event, and
# their number is at least wrk's completed requests and at most that plus
# the requests in flight at its end; no instance logged an error; pgbouncer
# held no more than its 8 server connections.
#
# Settings: as bench/common.sh, except BENCH_CONNECTIONS (32) and
# BENCH_USERS (smoke 2000); BENCH_TURNS, the configurations measured
# (default "one two unnamed pgbouncer pgbench"), may add two that explain
# (b): "lc", the two instances behind an upstream with least_conn instead
# of round robin, and "four", one instance of 1 x 4 threads.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
# wrk.lua comes back to a user after every other user of its thread: with
# 200 users, 32 connections and the latency spikes of a shared machine, a
# cancel could still be in flight when that user's resume went out (409)
smoke_users=2000
. "$src/bench/common.sh" "$@"
connections=${BENCH_CONNECTIONS:-32}
bouncer_pool=8
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || {
	say "pgbouncer is not installed (scripts/packages install run test installs it)"; exit 2; }

instance_pids=
bouncer_dir="$dir/pgbouncer"
on_cleanup() {
	for pid in $instance_pids; do kill -9 "$pid" 2>/dev/null; done
	if [ -f "$bouncer_dir/pgbouncer.pid" ]; then kill "$(cat "$bouncer_dir/pgbouncer.pid")" 2>/dev/null; fi
}

bench_start_stack
seed_users
mint_tokens
check_responses
# the stack's own app (unix socket) is not measured here
"$src/scripts/stack" stop-app >/dev/null 2>&1

read -r port_one port_two_a port_two_b port_unnamed port_bouncer port_bouncer_inst port_four <<EOF
$(python3 -c 'import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
EOF

# --- pgbouncer in transaction mode, run as postgres (it refuses root)
start_bouncer() {
	mkdir -p "$bouncer_dir"
	echo '"postgres" ""' >"$bouncer_dir/users.txt"
	cat >"$bouncer_dir/pgbouncer.ini" <<INI
[databases]
personaforge = host=$dir/pg-socket port=$pg_port dbname=personaforge user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port_bouncer
unix_socket_dir = $bouncer_dir
auth_type = trust
auth_file = $bouncer_dir/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $bouncer_pool
max_client_conn = 200
server_reset_query =
logfile = $bouncer_dir/pgbouncer.log
pidfile = $bouncer_dir/pgbouncer.pid
INI
	if [ "$(id -u)" = 0 ]; then
		chown -R postgres: "$bouncer_dir"
		(cd / && runuser -u postgres -- pgbouncer -d "$bouncer_dir/pgbouncer.ini") >>"$work/pgbouncer.out" 2>&1
	else
		pgbouncer -d "$bouncer_dir/pgbouncer.ini" >>"$work/pgbouncer.out" 2>&1
	fi
	i=0
	while [ ! -S "$bouncer_dir/.s.PGSQL.$port_bouncer" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -S "$bouncer_dir/.s.PGSQL.$port_bouncer" ]
}
bouncer_server_connections() { # SHOW POOLS: sv_active + sv_idle + sv_used + sv_tested + sv_login
	psql -X -A -F' ' -h "$bouncer_dir" -p "$port_bouncer" -U postgres -d pgbouncer -c 'SHOW POOLS' 2>/dev/null |
	    awk 'NR == 1 {for (i = 1; i <= NF; i++) col[$i] = i; next}
	        $col["database"] == "personaforge" {n += $col["sv_active"] + $col["sv_idle"] + $col["sv_used"] + $col["sv_tested"] + $col["sv_login"]}
	        END {print n + 0}'
}

# --- app instances on TCP, with the stack's configuration and overrides
start_instance() { # name port threads [KEY=VALUE ...]
	name=$1 port=$2 n_threads=$3
	shift 3
	conf="$dir/instance-$name.conf"
	set -- PF_LISTEN=127.0.0.1:$port PF_FASTCGI_ALLOW=127.0.0.1 PF_PROCESSES=1 PF_THREADS=$n_threads \
	    PF_SOCKET="$dir/run/$name.unused.sock" "$@"
	keys=$(printf '%s\n' "$@" | cut -d= -f1 | paste -sd'|')
	{ grep -vE "^($keys)=" "$dir/pf-account.conf"; printf '%s\n' "$@"; } >"$conf"
	chmod 600 "$conf"
	# the settings come from the file alone: none of the PF_ variables this
	# script exports for scripts/stack
	# shellcheck disable=SC2046
	env $(env | sed -n 's/^\(PF_[A-Za-z0-9_]*\)=.*/-u \1/p') PF_CONFIG="$conf" \
	    "$build/pf-account" >>"$dir/instance-$name.log" 2>&1 &
	pid=$!
	disown "$pid" # killed at the end without the shell reporting it
	instance_pids="$instance_pids $pid"
	i=0
	# ready: the socket listens and a database connection works (fcgi/main.c)
	until grep -q '"event":"ready"' "$dir/instance-$name.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
			say "instance $name did not start: $(tail -n 5 "$dir/instance-$name.log")"
			return 1
		fi
		sleep 0.05
	done
}

server_line() { echo "server 127.0.0.1:$1 max_fails=1 fail_timeout=2s;"; }
upstream_of() { # configuration: the upstream's server lines
	case $1 in
	one) server_line "$port_one" ;;
	two) echo "$(server_line "$port_two_a") $(server_line "$port_two_b")" ;;
	lc) echo "least_conn; $(server_line "$port_two_a") $(server_line "$port_two_b")" ;;
	four) server_line "$port_four" ;;
	unnamed) server_line "$port_unnamed" ;;
	pgbouncer) server_line "$port_bouncer_inst" ;;
	esac
}
shape_of() {
	case $1 in
	one | unnamed | pgbouncer) echo 1x8 ;;
	two) echo 2x4 ;;
	pgbench) echo "$db_connections clients" ;;
	esac
}
nginx_for() { # configuration: nginx restarted with its upstream
	PF_APP_SERVERS=$(upstream_of "$1") "$src/scripts/stack" start-nginx >>"$work/nginx.out" 2>&1 &&
	    curl -fsS -o /dev/null --retry 20 --retry-delay 0 --retry-connrefused "$url/healthz"
}
stop_nginx() { "$src/scripts/stack" stop-nginx >>"$work/nginx.out" 2>&1; }
access_lines() { wc -l <"$dir/nginx-access.log" 2>/dev/null || echo 0; }

turns=${BENCH_TURNS:-one two unnamed pgbouncer pgbench}
say "starting the instances: one (1 x 8), two (2 x 4), unnamed (1 x 8, unnamed statements), pgbouncer (1 x 8 through pgbouncer, pool $bouncer_pool)"
check "pgbouncer starts" start_bouncer
check "instance one starts" start_instance one "$port_one" 8
check "instance two-a starts" start_instance two-a "$port_two_a" 4
check "instance two-b starts" start_instance two-b "$port_two_b" 4
case " $turns " in *" four "*) check "instance four starts" start_instance four "$port_four" 4 ;; esac
check "instance unnamed starts" start_instance unnamed "$port_unnamed" 8 PF_DATABASE_POOLING=transaction
check "instance pgbouncer starts" start_instance pgbouncer "$port_bouncer_inst" 8 PF_DATABASE_POOLING=transaction \
    "PF_DATABASE=host=$bouncer_dir port=$port_bouncer user=postgres dbname=personaforge connect_timeout=2"
if [ "$failed" -ne 0 ]; then
	[ $smoke = 1 ] && echo "bench-smoke: $passed passed, $failed failed"
	exit 1
fi
for config in one two unnamed pgbouncer; do
	check "$config: nginx starts" nginx_for "$config"
	check_responses "$url" "$config"
	stop_nginx
done

# --- the write run's effects, from the database
mark_of() { psql_bench -tAc "SELECT coalesce(max(id), 0) FROM $1"; }
check_writes() { # label audit_mark outbox_mark completed_requests
	label=$1 audit_mark=$2 outbox_mark=$3 completed=$4
	set -- $(psql_bench -tA -F' ' -v first="$first_user" -v last="$last_user" \
	    -v audit_mark="$audit_mark" -v outbox_mark="$outbox_mark" <<'SQL'
WITH r AS (
    SELECT user_id, action, lag(action) OVER w AS prev, row_number() OVER w AS n
    FROM audit_log
    WHERE id > :audit_mark AND action IN ('subscription.cancel_scheduled', 'subscription.resumed')
    WINDOW w AS (PARTITION BY user_id ORDER BY id)),
per_user AS (SELECT user_id, count(*) AS changes FROM r GROUP BY user_id)
SELECT
    (SELECT count(*) FROM r),
    (SELECT count(*) FROM r WHERE (n = 1 AND action <> 'subscription.cancel_scheduled') OR action = prev),
    (SELECT count(*) FROM subscriptions s LEFT JOIN per_user p ON p.user_id = s.user_id
     WHERE s.id BETWEEN :first AND :last
       AND s.cancel_at_period_end <> (coalesce(p.changes, 0) % 2 = 1)),
    (SELECT count(*) FROM outbox WHERE id > :outbox_mark
       AND event IN ('subscription_cancel_scheduled', 'subscription_resumed'));
SQL
)
	rows=$1 out_of_turn=$2 wrong_state=$3 events=$4
	ok=1
	if [ "$out_of_turn" != 0 ] || [ "$wrong_state" != 0 ] || [ "$events" != "$rows" ] ||
	    [ "$rows" -lt "$completed" ] || [ "$rows" -gt $((completed + connections)) ]; then
		ok=0
	fi
	[ $ok = 1 ] || say "$label: $rows changes for $completed completed requests, $out_of_turn out of turn, $wrong_state states not their parity, $events events"
	[ $ok = 1 ]
}

nonok="$work/non2xx.tsv"
: >"$nonok"
measure_config() { # configuration: its read run and its write run, through its own nginx
	config=$1
	offset=$(access_lines)
	check "$config: nginx starts" nginx_for "$config"
	check "read $config c=$connections: no errors" run_wrk "read-$config" "$connections" read /api/v1/account
	reset_subscriptions
	check "checkpoint before write $config" psql_bench -c CHECKPOINT
	audit_mark=$(mark_of audit_log) outbox_mark=$(mark_of outbox)
	requests=0
	check "write $config c=$connections: no errors" run_wrk "write-$config" "$connections" write ""
	check "write $config: each change once, in turn" check_writes "write-$config" "$audit_mark" "$outbox_mark" "$requests"
	stop_nginx # writes out the access log
	# the status is the 9th field of the combined format; reads are GETs, writes POSTs
	# 499: wrk closing its connections at the end of a run with requests in
	# flight (nginx logs those as the client's close), at most one a connection
	counts=$(tail -n +"$((offset + 1))" "$dir/nginx-access.log" | awk '
	    $9 == 499 {if ($6 == "\"GET") rc++; else wc++; next}
	    $6 == "\"GET" {if ($9 !~ /^2/) r++} $6 == "\"POST" {if ($9 !~ /^2/) w++}
	    END {print r + 0, w + 0, rc + 0, wc + 0, NR}')
	set -- $counts
	printf 'read-%s\t%s\t%s\nwrite-%s\t%s\t%s\n' "$config" "$1" "$3" "$config" "$2" "$4" >>"$nonok"
	check "$config: nginx logged no answer but 2xx ($5 requests, $(($3 + $4)) closed by wrk at its end)" \
	    test "$1 $2" = "0 0" -a "$3" -le "$connections" -a "$4" -le "$connections"
	if [ "$config" = pgbouncer ]; then
		check "pgbouncer held at most $bouncer_pool server connections" \
		    test "$(bouncer_server_connections)" -le "$bouncer_pool"
	fi
}
measure_pgbench() {
	reset_subscriptions
	check "checkpoint before pgbench write" psql_bench -c CHECKPOINT
	check "pgbench write" run_pgbench pgbench-write pgbench-write.sql.in
}

say "measuring ($seconds s per run, wrk -t$wrk_threads -c$connections, $rounds round(s))"
checkpoints_at_start=$(own_checkpoints)
by_round="$work/by-round.tsv"
: >"$by_round"
round=1
while [ $round -le "$rounds" ]; do
	[ "$rounds" -gt 1 ] && say "round $round of $rounds"
	# this round's order: the list turned by round - 1
	order=$(echo $turns | awk -v k="$round" '{for (i = 0; i < NF; i++) printf "%s ", $((i + k - 1) % NF + 1)}')
	for config in $order; do
		lines=$(wc -l <"$results")
		if [ "$config" = pgbench ]; then measure_pgbench; else measure_config "$config"; fi
		# the same runs with their round, for the ratios within a round
		tail -n +"$((lines + 1))" "$results" | sed "s/^/$round\t/" >>"$by_round"
	done
	round=$((round + 1))
done
checkpoints_inside=$(( $(own_checkpoints) - checkpoints_at_start ))
check "the instances logged no errors" sh -c "! grep -E 'failed|died|error' '$dir'/instance-*.log"

# --- the table
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
table=$(awk -F'\t' -v wt="$wrk_threads" -v secs="$seconds" -v users="$users" -v cores="$(nproc)" \
    -v cpu="$cpu" -v rounds="$rounds" -v conns="$connections" -v checkpoints="$checkpoints_inside" \
    -v pool="$bouncer_pool" -v dbc="$db_connections" '
function median(list,    v, n, i, j, t) {
  n = split(list, v, " ")
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
  return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
FILENAME ~ /non2xx/ { non2xx[$1] += $2; closed[$1] += $3; next }
FILENAME ~ /by-round/ { in_round[$2, $1] = $4; next }
{ k = $1
  if (!(k in runs)) { lo[k] = $3; hi[k] = $3 }
  runs[k]++; rps[k] = rps[k] " " $3; p50[k] = p50[k] " " $4; p99[k] = p99[k] " " $5; err[k] += $6
  if ($3 + 0 < lo[k] + 0) lo[k] = $3
  if ($3 + 0 > hi[k] + 0) hi[k] = $3 }
END {
  n_order = split("read-one read-two read-lc read-four read-unnamed read-pgbouncer " \
      "write-one write-two write-lc write-four write-unnamed write-pgbouncer pgbench-write", order, " ")
  shape["lc"] = "2x4"; shape["four"] = "1x4"; what["lc"] = "(b) with least_conn"; what["four"] = "one, 4 threads"
  shape["one"] = "1x8"; shape["two"] = "2x4"; shape["unnamed"] = "1x8"; shape["pgbouncer"] = "1x8"
  what["one"] = "(a) one instance"; what["two"] = "(b) two instances"
  what["unnamed"] = "(c) unnamed statements"; what["pgbouncer"] = "(d) through pgbouncer"
  for (i = 1; i <= n_order; i++) { k = order[i]; if (k in runs) m[k] = median(rps[k]) }
  for (k in closed) closed_all += closed[k]
  printf "pf-account, one instance against two: %s\n", strftime("%Y-%m-%d %H:%M:%S %Z")
  printf "machine: %d cores (%s), shared with other work while this ran; wrk (-t%d -c%d), nginx, the app\n", cores, cpu, wt, conns
  printf "instances and PostgreSQL all share them. %d users; %d s per run; %d round(s), the configurations taking\n", users, secs, rounds
  printf "turns; each row is the median over its runs (/(a): of the medians; then the same ratio within each round).\n"
  printf "PostgreSQL 15, fsync and synchronous_commit on.\n\n"
  printf "%-8s %-24s %7s %9s %15s %7s %8s %7s %8s %6s %9s  %s\n", "load", "upstream", "threads", "req/s", "req/s min-max", "p50 ms", "p99 ms", "errors", "non-2xx", "/(a)", "/pgbench", "/(a) in each round"
  for (i = 1; i <= n_order; i++) {
    k = order[i]
    if (!(k in runs)) continue
    split(k, part, "-"); load = part[1]; cfg = part[2]
    if (load == "pgbench") { load = "write"; up = "pgbench -M prepared"; sh = dbc " cl"; ratio = ""; pg = ""; n2 = ""; each = "" }
    else {
      up = what[cfg]; sh = shape[cfg]
      base = m[load "-one"]; ratio = base ? sprintf("%.2f", m[k] / base) : ""
      each = ""
      for (r = 1; r <= rounds; r++)
        if (in_round[load "-one", r]) each = each sprintf(" %.2f", in_round[k, r] / in_round[load "-one", r])
      pg = (load == "write" && m["pgbench-write"]) ? sprintf("%.2f", m[k] / m["pgbench-write"]) : ""
      n2 = (k in non2xx) ? non2xx[k] : "?"
    }
    printf "%-8s %-24s %7s %9.0f %15s %7.2f %8.2f %7d %8s %6s %9s %s\n", load, up, sh, m[k], lo[k] "-" hi[k], median(p50[k]), median(p99[k]), err[k], n2, ratio, pg, each
  }
  printf "\n(a)-(d): wrk through nginx (shipped config, upstream on TCP, keepalive) to pf-account instances listening\n"
  printf "on TCP; threads: instances x threads each = the app'"'"'s database connections. (c) and (d): PF_DATABASE_POOLING=\n"
  printf "transaction (unnamed statements); (c) straight to PostgreSQL, (d) through pgbouncer, transaction mode,\n"
  printf "default_pool_size %d. pgbench: the write'"'"'s transaction, prepared, tx/s. errors: wrk'"'"'s; non-2xx: nginx'"'"'s\n", pool
  printf "access log, but for 499 (wrk closing its connections at the end of a run, requests in flight; %d in all,\n", closed_all
  printf "at most %d a run). checkpoints PostgreSQL began itself during the runs (each write run starts after one): %d\n", conns, checkpoints
}' "$results" "$nonok" "$by_round")
bench_finish "instances-"
