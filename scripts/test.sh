#!/usr/bin/env bash
# test.sh: install the dependencies, build plain, with ASan+UBSan and the fuzz targets (clang),
# run the whole suite through ctest in the first two builds and a short run of every fuzz
# target (ctest -L fuzz) in the third. Fails if any of them fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/install-deps.sh"
for kind in plain asan fuzz; do
	bash "$top/scripts/build.sh" "$kind"
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for dir in build build-asan; do
	echo "== ctest in $dir =="
	# The sanitizer build runs the lighter fault loops: the plain build runs them in full.
	if [ "$dir" = build-asan ]; then export COFFRE_CRASH_RUNS=${COFFRE_CRASH_RUNS_ASAN:-10}; fi
	if ! ctest --test-dir "$top/$dir" --output-on-failure -j2; then
		status=1
	fi
done
echo "== ctest in build-fuzz (fuzz smoke runs) =="
if ! ctest --test-dir "$top/build-fuzz" -L fuzz --output-on-failure -j2; then
	status=1
fi
exit $status
