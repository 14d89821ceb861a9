#!/usr/bin/env bash
# build.sh [plain|asan]: configure and build into build/ or build-asan/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-plain}
case "$kind" in
plain) dir="$top/build"; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
asan) dir="$top/build-asan"; flags=(-DCMAKE_BUILD_TYPE=Debug -DCOFFRE_SANITIZE=ON) ;;
*) echo "usage: build.sh [plain|asan]" >&2; exit 2 ;;
esac
cmake -S "$top" -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
