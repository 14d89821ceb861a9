#!/usr/bin/env bash
# s3rver.sh — start or stop the npm s3rver (a fast S3 fake that accepts any signature) on
# 127.0.0.1 and a free port, for coffre's destination tests.
#
#   s3rver.sh start DIR BUCKET   prints the port; data, log and pid in DIR
#   s3rver.sh stop DIR           stops the server started in DIR
#
# The package comes from tests/servers/package.json (scripts/install-deps.sh runs
# `npm install --prefix tests/servers`). NODE_OPTIONS=--openssl-legacy-provider is needed for
# ListObjectsV2 paging on Node 20 (s3rver makes continuation tokens with DES).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../integration/wait.sh"	# wait_until, gone
bin=$here/node_modules/.bin/s3rver

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case ${1:-} in
start)
	dir=${2:?usage: s3rver.sh start DIR BUCKET}
	bucket=${3:?usage: s3rver.sh start DIR BUCKET}
	[ -x "$bin" ] || { echo "s3rver.sh: s3rver is not installed (npm install --prefix $here)" >&2; exit 1; }
	mkdir -p "$dir/data"
	port=${S3RVER_PORT:-$(free_port)}
	NODE_OPTIONS=--openssl-legacy-provider setsid "$bin" -d "$dir/data" -p "$port" -a 127.0.0.1 \
		--configure-bucket "$bucket" --silent </dev/null >"$dir/s3rver.log" 2>&1 &
	echo $! >"$dir/s3rver.pid"
	pid=$!
	answers() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; }
	up_or_dead() { answers || gone "$pid"; }
	if wait_until 60 up_or_dead && answers; then
		echo "$port"
		exit 0
	fi
	echo "s3rver.sh: s3rver did not start within 60 s; log:" >&2
	tail -n 5 "$dir/s3rver.log" >&2
	exit 1
	;;
stop)
	dir=${2:?usage: s3rver.sh stop DIR}
	[ -f "$dir/s3rver.pid" ] || exit 0
	pid=$(cat "$dir/s3rver.pid")
	if [ -r "/proc/$pid/cmdline" ] && grep -q -- "$dir/data" <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"; then
		kill "$pid" 2>/dev/null || true
		wait_until 10 gone "$pid" || kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/s3rver.pid"
	;;
*)
	echo "usage: s3rver.sh start DIR BUCKET | stop DIR" >&2
	exit 2
	;;
esac
