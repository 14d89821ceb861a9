#!/usr/bin/env bash
# t_db_mariadb.sh: a shop's MariaDB database dumped into the snapshot beside its files
# (db_shop.sh): consistent while invoices are written, restored with restore-db into a new
# database, cheap from day to day, and each fault (wrong password, missing client, server
# killed mid-dump) said clearly with the rest of the snapshot kept and exit 3.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v mariadbd >/dev/null || skip "mariadb-server is not installed"
[ "$(id -u)" = 0 ] || skip "the private server is started as root"
setup
KIND=mariadb
source "$(dirname "$0")/db_shop.sh"
pass
