#!/usr/bin/env bash
# dbserver.sh — start or stop a private MariaDB or PostgreSQL server in DIR, listening on a
# unix socket (and, with DBSERVER_PORT=PORT, on 127.0.0.1:PORT too), for coffre's database
# dump tests. Never a system service.
#
#   dbserver.sh start mariadb|postgresql DIR   prints the socket (MariaDB: the socket file;
#                                             PostgreSQL: its folder); a server started
#                                             before in DIR starts again on its data
#   dbserver.sh stop KIND DIR                  clean shutdown, waits for it
#   dbserver.sh kill KIND DIR                  stopped at once, as by a crash (MariaDB:
#                                             SIGKILL; PostgreSQL: immediate shutdown)
#   dbserver.sh pid KIND DIR                   the server's pid
#
# MariaDB: root@localhost without a password (unix socket). PostgreSQL: superuser postgres
# with trust authentication; the server runs as the postgres user, so DIR's parents must be
# searchable by it (made so here for the folders under /tmp). With DBSERVER_PORT, the
# PostgreSQL socket is DIR/sock/.s.PGSQL.PORT (clients: --port=PORT as well as --host).
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../integration/wait.sh"	# wait_until, gone

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
cmd=${1:-} kind=${2:-} dir=${3:-}
[ -n "$dir" ] || { echo "usage: dbserver.sh start|stop|kill|pid mariadb|postgresql DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pid_of() {
	case $kind in
	mariadb) cat "$dir/pid" 2>/dev/null ;;
	postgresql) head -1 "$dir/data/postmaster.pid" 2>/dev/null ;;
	esac
}
m_ping() { mariadb-admin --no-defaults --socket="$dir/sock" -uroot ping >/dev/null 2>&1; }
m_alive() { [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }

case $cmd/$kind in
start/mariadb)
	command -v mariadbd >/dev/null || { echo "dbserver.sh: mariadbd not found (mariadb-server)" >&2; exit 1; }
	[ -d "$dir/data/mysql" ] ||
		mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
	net=(--skip-networking)
	[ -z "${DBSERVER_PORT:-}" ] ||
		net=(--bind-address=127.0.0.1 --port="$DBSERVER_PORT" --skip-name-resolve)
	setsid mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$dir/sock" \
		"${net[@]}" --pid-file="$dir/pid" --log-error="$dir/err.log" \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		--innodb-buffer-pool-size=128M --innodb-log-file-size=256M \
		--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
		</dev/null >/dev/null 2>&1 &
	wait_until 60 m_ping || { cat "$dir/err.log" >&2; exit 1; }
	echo "$dir/sock"
	;;
start/postgresql)
	[ -x "$PGBIN/pg_ctl" ] || { echo "dbserver.sh: pg_ctl not found (postgresql)" >&2; exit 1; }
	# postgres must search every parent folder (mktemp -d makes them 0700).
	p=$dir
	while [ "$p" != / ] && [ "$p" != /tmp ]; do chmod o+x "$p"; p=$(dirname "$p"); done
	mkdir -p "$dir/sock"
	chown -R postgres: "$dir"
	[ -f "$dir/data/PG_VERSION" ] ||
		(cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust \
			-E UTF8 --locale=C.UTF-8 --no-sync --no-instructions) >"$dir/initdb.log" 2>&1
	net="-c listen_addresses=''"
	[ -z "${DBSERVER_PORT:-}" ] || net="-c listen_addresses=127.0.0.1 -p $DBSERVER_PORT"
	(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		-o "-k $dir/sock $net -c fsync=off" -w -t 60 start) >/dev/null
	echo "$dir/sock"
	;;
stop/mariadb)
	pid=$(pid_of) || exit 0
	[ -n "$pid" ] || exit 0
	kill "$pid" 2>/dev/null || exit 0
	wait_until 60 gone "$pid"
	;;
stop/postgresql)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop) >/dev/null 2>&1 || true
	;;
kill/mariadb)
	pid=$(pid_of) || exit 0
	[ -n "$pid" ] || exit 0
	kill -KILL "$pid" 2>/dev/null || true
	wait_until 60 gone "$pid"
	;;
kill/postgresql)
	# SIGQUIT to every backend: none finishes what it was sending.
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop) >/dev/null 2>&1 || true
	;;
pid/*)
	pid_of
	;;
*)
	echo "usage: dbserver.sh start|stop|kill|pid mariadb|postgresql DIR" >&2
	exit 2
	;;
esac
