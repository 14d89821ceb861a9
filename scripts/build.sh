#!/usr/bin/env bash
# build.sh [plain|asan|fuzz]: configure and build into build/, build-asan/ or build-fuzz/
# (fuzz: the engine and the libFuzzer targets of tests/fuzz, with clang).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-plain}
target=()
case "$kind" in
plain) dir="$top/build"; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
asan) dir="$top/build-asan"; flags=(-DCMAKE_BUILD_TYPE=Debug -DCOFFRE_SANITIZE=ON) ;;
fuzz) dir="$top/build-fuzz"; export CC=clang
	flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOFFRE_FUZZ=ON); target=(--target coffre_fuzz) ;;
*) echo "usage: build.sh [plain|asan|fuzz]" >&2; exit 2 ;;
esac
cmake -S "$top" -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" "${target[@]}"
