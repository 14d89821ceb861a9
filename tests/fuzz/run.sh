#!/usr/bin/env bash
# run.sh [SECONDS [NAME...]]: run each fuzz target (all, or the NAMEs) for SECONDS (default 60)
# from a scratch copy of its corpus (tests/fuzz/corpus/NAME), after replaying its regression
# inputs (tests/fuzz/regress/NAME). Prints, per target, the executions and the coverage
# (cov: edges, ft: features). Fails when any target crashes, leaks, times out or breaks a
# property; the input that did it is kept and its path printed.
# The targets are taken from $COFFRE_FUZZ_BIN (default build-fuzz/tests/fuzz: scripts/build.sh fuzz).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${COFFRE_FUZZ_BIN:-$top/build-fuzz/tests/fuzz}
secs=${1:-60}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$here"/fuzz_*.c; do
		n=${f##*/fuzz_}
		names+=("${n%.c}")
	done
fi
W=$(mktemp -d /tmp/coffre-fuzz.XXXXXX)
status=0
# fuzz_cfg makes the files its seeds name under /tmp/coffre-fuzz-cfg.
cleanup() { rm -rf /tmp/coffre-fuzz-cfg; [ $status != 0 ] || rm -rf "$W"; }
trap cleanup EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
for name in "${names[@]}"; do
	exe=$bin/fuzz_$name
	if [ ! -x "$exe" ]; then
		echo "$name: no target at $exe (scripts/build.sh fuzz)" >&2
		status=1
		continue
	fi
	d=$W/$name
	mkdir -p "$d/corpus" "$d/art"
	cp "$here/corpus/$name/"* "$d/corpus/" 2>/dev/null || true
	dirs=("$d/corpus")
	regress=("$here/regress/$name/"*)
	if [ -e "${regress[0]}" ]; then
		# Each regression input once, on its own: a clear verdict before the fuzzing.
		if ! "$exe" -timeout=10 "${regress[@]}" >"$d/regress.log" 2>&1; then
			echo "$name: FAILED on a regression input (log: $d/regress.log)" >&2
			tail -n 30 "$d/regress.log" >&2
			status=1
			continue
		fi
		dirs+=("$here/regress/$name")
	fi
	opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$d/art/")
	[ ! -f "$here/$name.dict" ] || opts+=(-dict="$here/$name.dict")
	rc=0
	"$exe" "${opts[@]}" "${dirs[@]}" >"$d/fuzz.log" 2>&1 || rc=$?
	# The last status line: "#RUNS DONE cov: N ft: N corp: N/SIZE ..."
	last=$(grep -E '^#[0-9]+' "$d/fuzz.log" | tail -n 1 || true)
	runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$d/fuzz.log" | tail -n 1)
	cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
	ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
	corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
	printf '%-10s execs %-10s cov %-6s ft %-6s corpus %s\n' "$name" "${runs:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}"
	if [ $rc != 0 ]; then
		echo "$name: FAILED (exit $rc, log: $d/fuzz.log)" >&2
		grep -E 'ERROR|SUMMARY|check failed|runtime error' "$d/fuzz.log" | head -n 10 >&2 || true
		for a in "$d/art/"*; do
			[ -e "$a" ] && echo "$name: input kept at $a (replay: $exe $a)" >&2
		done
		status=1
	fi
done
exit $status
