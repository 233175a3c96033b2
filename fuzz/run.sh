#!/bin/sh
# run.sh [SECONDS]: builds the libFuzzer targets in fuzz/ with clang straight
# from the lib/ sources (no make, so it never races a build in the tree) and
# runs each for SECONDS (default 10) on a temporary copy of its seed corpus,
# so CI never grows fuzz/corpus/. Prints one line per target, then exactly
# "fuzz: N passed, M failed". Exits non-zero if any target failed to build or
# found a crash, leak, timeout or broken invariant; the crashing input is kept
# and its path printed.
#
# Environment: PF_FUZZ_CC (default clang, else clang-14; not CC, which a
# gcc build may export), PF_FUZZ_BUILD (output
# directory, default fuzz/build, gitignored), PF_FUZZ_TARGETS (a subset,
# e.g. "jwt router"), PF_FUZZ_ARGS (extra libFuzzer flags, e.g. -jobs=4).
set -u

secs=${1:-10}
case $secs in
''|*[!0-9]*|0) echo "usage: fuzz/run.sh [SECONDS>0]" >&2; exit 2 ;;
esac

src=$(cd "$(dirname "$0")/.." && pwd)
build=${PF_FUZZ_BUILD:-$src/fuzz/build}
targets=${PF_FUZZ_TARGETS:-"json_body jwt router time"}
extra=${PF_FUZZ_ARGS:-}

cc=${PF_FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
	done
fi
if [ -z "$cc" ]; then
	echo "fuzz: clang not found (scripts/test installs clang and libclang-rt-14-dev: scripts/packages install test)" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

mkdir -p "$build/obj" "$build/logs" "$build/artifacts" || exit 1

pkgs="jansson libjwt libpq"
if ! pkg_cflags=$(pkg-config --cflags $pkgs) || ! pkg_libs=$(pkg-config --libs $pkgs); then
	echo "fuzz: pkg-config cannot find $pkgs" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi

warn="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wpointer-arith -Wcast-qual -Wformat=2"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-g -O1 -std=gnu11 $warn $san -I$src/lib $pkg_cflags"
fixtures="$src/tests/unit/fixtures"

# lib/ sources the targets reach; none touches the database or FastCGI (the
# route and field tables are the service's own: api_routes.c, api_fields.c).
lib_sources="http json_text json_memory json_fields route api_routes api_fields policy_refund auth_subject auth_jwt auth_hs256 auth_pubkey base64url pf_time pf_error"

build_all() {
	objs=
	for s in $lib_sources; do
		o="$build/obj/$s.o"
		$cc $cflags -fsanitize=fuzzer-no-link -c "$src/lib/$s.c" -o "$o" || return 1
		objs="$objs $o"
	done
	for t in $targets; do
		$cc $cflags -fsanitize=fuzzer -DFIXTURE_DIR="\"$fixtures\"" \
		    "$src/fuzz/fuzz_$t.c" $objs $pkg_libs -lcrypto -o "$build/fuzz_$t" || return 1
	done
}

if ! build_all >"$build/logs/build.log" 2>&1; then
	cat "$build/logs/build.log" >&2
	set -- $targets
	echo "fuzz: build failed (log: $build/logs/build.log)"
	echo "fuzz: 0 passed, $# failed"
	exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pf-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

stamp=$(date +%Y%m%d-%H%M%S)
passed=0
failed=0
for t in $targets; do
	log="$build/logs/$t.log"
	mkdir -p "$tmp/$t"
	if [ -d "$src/fuzz/corpus/$t" ]; then
		cp -R "$src/fuzz/corpus/$t/." "$tmp/$t/"
	fi
	seeds=$(ls "$tmp/$t" | wc -l)
	prefix="$build/artifacts/$t-$stamp-"
	# shellcheck disable=SC2086 # $extra is a list of flags
	"$build/fuzz_$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$prefix" $extra \
	    "$tmp/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	corpus=$(ls "$tmp/$t" | wc -l)
	artifact=$(ls "$prefix"* 2>/dev/null | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
		passed=$((passed + 1))
		echo "fuzz_$t: ok: ${runs:-?} runs, ${speed:-?} exec/s, cov ${cov:-?}, corpus $seeds -> $corpus, ${secs}s"
	else
		failed=$((failed + 1))
		echo "fuzz_$t: FAILED (exit $rc): ${artifact:-no artifact} (log: $log)"
		grep -m 3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*invariant violated)' "$log" |
		    sed 's/^/    /'
		if [ -n "$artifact" ]; then
			echo "    reproduce: $build/fuzz_$t $artifact"
		fi
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
