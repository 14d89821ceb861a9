#!/usr/bin/env bash
# t_setup_db: coffre setup proposes the database of a Dolibarr it finds. A private MariaDB
# server (tests/servers/dbserver.sh) holds Dolibarr's database "dolidb", reached by the user
# "doli" with a password holding quotes; conf.php (under --search-root, in
# /var/www/html/dolibarr/htdocs/conf) names them with host 'localhost', whose usual socket
# (run/mysqld/mysqld.sock under the root) leads to the private server. A commented-out block
# names another database, which must not be taken; a second conf.php (/etc/dolibarr) names
# a database the user cannot dump (wrong password).
#  - setup --yes lists "the Dolibarr database dolidb (MariaDB, SIZE)" ticked, and writes a
#    [database dolibarr] section: kind, socket, user, databases, and a password-file of mode
#    0600 beside the configuration holding the password, which coffre.conf never holds; the
#    second is shown unticked with the reason, and not configured;
#  - the first backup holds /databases/dolibarr/dolidb.sql, with the shop's rows;
#  - another machine whose only trace is the server's usual socket (no conf.php): "the
#    MariaDB databases of this computer (dolidb, other)" ticked, a [database mariadb] section
#    with the socket alone (root's unix-socket login), and both dumps in the first backup.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v mariadbd >/dev/null || skip "mariadb-server is not installed"
[ "$(id -u)" = 0 ] || skip "the private server is started as root"
setup
export LC_ALL=C LANGUAGE=en
DBSERVER=$COFFRE_TESTS/servers/dbserver.sh
DBDIR=$TESTDIR/server
cleanup_hook() { "$DBSERVER" stop mariadb "$DBDIR" >/dev/null 2>&1 || true; }
mkdir -p "$TESTDIR/bin"
printf '#!/bin/sh\nexit 0\n' >"$TESTDIR/bin/groupadd"
chmod +x "$TESTDIR/bin/groupadd"
export PATH=$TESTDIR/bin:$PATH

log "a private MariaDB server with Dolibarr's database"
SOCK=$("$DBSERVER" start mariadb "$DBDIR") || fail "the MariaDB server did not start"
sql() { mariadb --no-defaults --socket="$SOCK" -uroot -N -B -e "$1"; }
sql "CREATE DATABASE dolidb; CREATE DATABASE other;
	CREATE TABLE dolidb.llx_facture (rowid INT PRIMARY KEY, ref VARCHAR(30));
	INSERT INTO dolidb.llx_facture VALUES (1, 'FA2612-0001'), (2, 'FA2612-0002');
	CREATE USER 'doli'@'localhost' IDENTIFIED BY 'pa''ss \"word';
	GRANT ALL ON dolidb.* TO 'doli'@'localhost';"
R=$TESTDIR/root
mkdir -p "$R/home/shop/Documents" "$R/run/mysqld" "$R/var/www/html/dolibarr/htdocs/conf" \
	"$TESTDIR/dolidocs"
echo "devis" >"$R/home/shop/Documents/devis.txt"
echo "FA-001" >"$TESTDIR/dolidocs/FA-001.pdf"
ln -s "$SOCK" "$R/run/mysqld/mysqld.sock"
cat >"$R/var/www/html/dolibarr/htdocs/conf/conf.php" <<PHP
<?php
\$dolibarr_main_url_root='http://localhost/dolibarr';
\$dolibarr_main_document_root='/var/www/html/dolibarr/htdocs';
\$dolibarr_main_data_root='$TESTDIR/dolidocs';
\$dolibarr_main_db_host='localhost';
\$dolibarr_main_db_port='3306';
\$dolibarr_main_db_name='dolidb';
\$dolibarr_main_db_prefix='llx_';
\$dolibarr_main_db_user='doli';
\$dolibarr_main_db_pass='pa\\'ss "word';
\$dolibarr_main_db_type='mysqli';
/*
\$dolibarr_main_db_name='other';
*/
PHP

# A second installation whose password is wrong: shown unticked with why, not configured.
mkdir -p "$R/etc/dolibarr"
printf '%s\n' "<?php" "\$dolibarr_main_db_type='mysqli';" "\$dolibarr_main_db_name='archives';" \
	"\$dolibarr_main_db_user='doli';" "\$dolibarr_main_db_pass='wrong';" >"$R/etc/dolibarr/conf.php"

E=$TESTDIR/etc
C=$E/coffre.conf
log "coffre setup --yes"
expect_exit 0 cf --password-file "$TESTDIR/password" setup --yes --search-root "$R" \
	--smb-conf /dev/null --config "$C" --spool "$TESTDIR/spool" --state-dir "$TESTDIR/state" \
	--no-drive
cp "$OUT" "$LOGDIR/setup.out"
L=$(grep "the Dolibarr database dolidb" "$OUT") || { cat "$OUT"; fail "the database is not proposed"; }
info "proposed:$L"
grep -q -E '^ +[0-9]+ \[x\] the Dolibarr database dolidb \(MariaDB, [0-9.]+ [kKMG]?i?B\)$' <<<"$L" ||
	fail "not proposed ticked with its kind and size: $L"
B=$(grep -A1 "the Dolibarr database archives" "$OUT") || { cat "$OUT"; fail "the second database is not shown"; }
info "not proposed:$(tr -s ' ' <<<"$B" | tr '\n' ' ')"
grep -q -E '^ +[0-9]+ \[ \] the Dolibarr database archives \(MariaDB\)$' <<<"$B" ||
	fail "the database that cannot be dumped is not shown unticked: $B"
grep -q "cannot be backed up as it is: .*refused the user or password" <<<"$B" || fail "no reason given: $B"
grep -q -E "^Protected: last backup today [0-9]{2}:[0-9]{2}$" "$OUT" ||
	{ cat "$OUT" "$ERR"; fail "setup did not end protected"; }
sed -n '/^\[database dolibarr\]/,/^$/p' "$C" >"$LOGDIR/section"
info "section: $(tr '\n' '|' <"$LOGDIR/section")"
for l in "kind = mariadb" "socket = $R/run/mysqld/mysqld.sock" "user = doli" \
	"password-file = $E/database-dolibarr.password" "databases = dolidb"; do
	grep -q -x -F "$l" "$LOGDIR/section" || { cat "$C"; fail "no '$l' in [database dolibarr]"; }
done
! grep -q -F "pa'ss" "$C" || fail "the database password is in coffre.conf"
! grep -q "other" "$C" || fail "the commented-out database was taken"
! grep -q -E "archives|dolibarr-2" "$C" || fail "the database that cannot be dumped is configured"
[ "$(stat -c %a "$E/database-dolibarr.password")" = 600 ] || fail "the password file is not 0600"
[ "$(cat "$E/database-dolibarr.password")" = "pa'ss \"word" ] ||
	fail "the password file holds '$(cat "$E/database-dolibarr.password")'"
expect_exit 0 cf config check --config "$C"

log "the first backup holds the dump"
expect_exit 0 cf --repo "$TESTDIR/spool" --password-file "$E/password" dump latest \
	/databases/dolibarr/dolidb.sql
grep -q "FA2612-0002" "$OUT" || fail "the dump in the first snapshot lacks the shop's rows"
grep -q -- "-- Dump completed" "$OUT" || fail "the dump in the first snapshot is not complete"
info "dump: $(wc -c <"$OUT") bytes"

log "a local MariaDB server without Dolibarr: all its databases, no password"
R2=$TESTDIR/root2
mkdir -p "$R2/home/shop/Documents" "$R2/run/mysqld"
echo "devis" >"$R2/home/shop/Documents/devis.txt"
ln -s "$SOCK" "$R2/run/mysqld/mysqld.sock"
E2=$TESTDIR/etc2
expect_exit 0 cf --password-file "$TESTDIR/password" setup --yes --search-root "$R2" \
	--smb-conf /dev/null --config "$E2/coffre.conf" --spool "$TESTDIR/spool2" \
	--state-dir "$TESTDIR/state2" --no-drive
L=$(grep "MariaDB databases" "$OUT") || { cat "$OUT"; fail "the local server is not proposed"; }
info "proposed:$L"
grep -q -E '^ +[0-9]+ \[x\] the MariaDB databases of this computer \(dolidb, other\)$' <<<"$L" ||
	fail "not proposed ticked with its databases: $L"
sed -n '/^\[database mariadb\]/,/^$/p' "$E2/coffre.conf" >"$LOGDIR/section2"
info "section: $(tr '\n' '|' <"$LOGDIR/section2")"
grep -q -x -F "socket = $R2/run/mysqld/mysqld.sock" "$LOGDIR/section2" || fail "no socket in [database mariadb]"
! grep -q -E "^(databases|user|password-file) =" "$LOGDIR/section2" ||
	fail "the local server's section names more than its socket"
for db in dolidb other; do
	expect_exit 0 cf --repo "$TESTDIR/spool2" --password-file "$E2/password" dump latest \
		"/databases/mariadb/$db.sql"
	grep -q -- "-- Dump completed" "$OUT" || fail "no complete dump of $db in the first snapshot"
done
pass
