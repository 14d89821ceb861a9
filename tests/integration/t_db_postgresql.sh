#!/usr/bin/env bash
# t_db_postgresql.sh: a shop's PostgreSQL database dumped into the snapshot beside its files
# (db_shop.sh): consistent while invoices are written, restored with restore-db into a new
# database, cheap from day to day, and each fault (wrong password, missing client, server
# killed mid-dump) said clearly with the rest of the snapshot kept and exit 3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || skip "postgresql is not installed"
[ "$(id -u)" = 0 ] || skip "the private server is started as root"
setup
KIND=postgresql
source "$(dirname "$0")/db_shop.sh"
pass
