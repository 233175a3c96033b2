#!/bin/bash
# observability.sh: what the request log and the metrics cost
# (`make bench-observability`; `BENCH_SMOKE=1` for a short correctness run).
#
# The private stack, seeded users and tokens of bench/run.sh
# (bench/common.sh), then the same wrk load (bench/wrk.lua: read = GET
# /api/v1/account, write = POST cancel/resume) at 32 connections through
# the shipped nginx config against the stack's app, restarted for each turn
# in one of two settings:
#   off   PF_LOG_REQUESTS=off PF_METRICS=off: no per-request log line, no
#         counters (the 5xx and database lines stay)
#   on    the defaults: a JSON line per request, and the shared counters
# The two take turns round after round (the first of a round alternates);
# each row is the median over the rounds, with each round's on/off ratio of
# throughput and of the app's CPU time per request (master and workers,
# from /proc: the cost itself, which the shared machine's noise disturbs
# far less than throughput).
# Checked: zero wrk errors; in "on", the log holds one request line per
# request the app answered and /metrics counted them; in "off", neither.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
smoke_users=2000
. "$src/bench/common.sh" "$@"
connections=${BENCH_CONNECTIONS:-32}

bench_start_stack
cpu_results="$work/cpu.tsv"
: >"$cpu_results"
seed_users
mint_tokens
check_responses

# restarts the stack's app with the setting's environment (the environment
# wins over the stack's configuration file)
app_with() { # off|on
	if [ "$1" = off ]; then
		PF_LOG_REQUESTS=off PF_METRICS=off "$src/scripts/stack" restart-app >/dev/null 2>&1
	else
		PF_LOG_REQUESTS=on PF_METRICS=on "$src/scripts/stack" restart-app >/dev/null 2>&1
	fi
	i=0
	until curl -fsS "http://127.0.0.1:$public_port/healthz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 200 ] && return 1
		sleep 0.05
	done
}
# CPU seconds the app (master and workers, all threads) has used: the cost
# per request measured this way depends far less on what else the shared
# machine runs than throughput does
app_cpu_seconds() {
	/usr/bin/python3 - "$dir/app.pid" <<-'PY'
	import os, sys
	master = int(open(sys.argv[1]).read())
	def stat(pid):
	    text = open(f"/proc/{pid}/stat").read()
	    return text[text.rindex(")") + 2:].split()
	ticks = 0
	for name in os.listdir("/proc"):
	    if not name.isdigit():
	        continue
	    try:
	        fields = stat(name)
	    except OSError:
	        continue
	    if int(name) == master or int(fields[1]) == master:
	        ticks += int(fields[11]) + int(fields[12])    # utime, stime
	print(ticks / os.sysconf("SC_CLK_TCK"))
	PY
}
request_lines() { grep -c '"event":"request"' "$dir/app.log" 2>/dev/null || echo 0; }
metrics_total() { # requests the app's /metrics counted, all routes and statuses
	curl -fsS "http://127.0.0.1:$internal_port/metrics" 2>/dev/null |
	    awk '/^pf_http_requests_total/ {n += $NF} END {print n + 0}'
}

setting_turn() { # setting round
	setting=$1 round=$2
	check "app restarted $setting" app_with "$setting"
	for load in read write; do
		before=$(request_lines)
		reset_subscriptions
		if [ "$load" = read ]; then path=/api/v1/account; else path=""; fi
		cpu_before=$(app_cpu_seconds)
		check "$load $setting round $round" run_wrk "$load-$setting" "$connections" "$load" "$path"
		cpu_after=$(app_cpu_seconds)
		printf '%s\t%s\n' "$load-$setting" \
		    "$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? (b - a) * 1e6 / n : 0) }')" >>"$cpu_results"
		answered=$(( $(request_lines) - before ))
		if [ "$setting" = on ]; then
			check "$load on: request lines logged" test "$answered" -gt 0
		else
			check "$load off: no request line" test "$answered" -eq 0
		fi
	done
	if [ "$setting" = on ]; then
		check "metrics counted the requests" test "$(metrics_total)" -gt 0
	else
		check "metrics off: /metrics is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$internal_port/metrics")" = 404
	fi
}

for round in $(seq 1 "$rounds"); do
	if [ $((round % 2)) = 1 ]; then order="off on"; else order="on off"; fi
	for setting in $order; do
		setting_turn "$setting" "$round"
	done
done

# the table: medians, and on/off per round
python3 - "$results" "$cpu_results" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, conns, rps, p50, p99, errors = line.rstrip("\n").split("\t")
    rows[label].append((float(rps), float(p50), float(p99), int(errors)))
cpu = collections.defaultdict(list)
for line in open(sys.argv[2]):
    label, us = line.rstrip("\n").split("\t")
    cpu[label].append(float(us))
print(f"{'run':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'app CPU us/req':>15}  "
      "on/off per round: req/s; app CPU per request")
for load in ("read", "write"):
    for setting in ("off", "on"):
        runs = rows.get(f"{load}-{setting}", [])
        if not runs:
            continue
        med = [statistics.median(r[i] for r in runs) for i in range(3)]
        us = cpu.get(f"{load}-{setting}", [])
        ratios = ""
        if setting == "on":
            off = rows.get(f"{load}-off", [])
            pairs = [a[0] / b[0] for a, b in zip(runs, off) if b[0]]
            ratios = " ".join(f"{r:.3f}" for r in pairs) + f" (median {statistics.median(pairs):.3f})"
            cpu_pairs = [a / b for a, b in zip(us, cpu.get(f"{load}-off", [])) if b]
            if cpu_pairs:
                ratios += "; " + " ".join(f"{r:.3f}" for r in cpu_pairs) + \
                    f" (median {statistics.median(cpu_pairs):.3f})"
        print(f"{load + '-' + setting:<12} {med[0]:>9.0f} {med[1]:>8.2f} {med[2]:>8.2f} "
              f"{sum(r[3] for r in runs):>7} {statistics.median(us) if us else 0:>15.1f}  {ratios}")
PY
cp "$results" "$src/bench/results-observability-$(date +%Y%m%d-%H%M%S).txt" 2>/dev/null
if [ $smoke = 1 ]; then echo "bench-smoke: $passed passed, $failed failed"; else echo "$passed passed, $failed failed"; fi
[ "$failed" -eq 0 ]
