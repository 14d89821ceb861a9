# db_shop.sh: the database dump tests' shared scenario (sourced by t_db_mariadb.sh and
# t_db_postgresql.sh after lib.sh's setup, with KIND set to mariadb or postgresql).
#
# A private server (tests/servers/dbserver.sh) holds a shop's database: customers, invoices
# and invoice_lines, each invoice written with its lines in one transaction. Then:
#   1. a backup while a writer adds invoices: the dump restored (restore-db) into a new
#      database holds a prefix of the invoices, each with all its lines, at least those
#      committed before the backup began and none committed after it ended;
#   2. day-to-day: the database grows, a second backup adds little next to the dump's size;
#   3. faults: a wrong password and a missing client in one backup, then the server killed
#      in the middle of a dump: each says which database and why, leaves that dump out,
#      keeps the rest of the snapshot (a plain file beside restores), exits 3; restore-db
#      then takes the last good dump;
#   4. restore drills and TCP (db_drill.sh).
#
# The server listens on its socket and on 127.0.0.1:$DBPORT.

DBSERVER=$COFFRE_TESTS/servers/dbserver.sh
DBDIR=$TESTDIR/server
SEED_INVOICES=${SEED_INVOICES:-3000}
DBPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DBSERVER_PORT=$DBPORT

cleanup_hook() { "$DBSERVER" stop "$KIND" "$DBDIR" >/dev/null 2>&1 || true; }

# sql DB SQL: run SQL as the server's superuser, tab-separated rows without headers.
sql() {
	local db=$1
	shift
	case $KIND in
	mariadb) mariadb --no-defaults --socket="$SOCK" -uroot -N -B "$db" -e "$*" ;;
	postgresql) psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -h "$SOCK" -p "$DBPORT" -U postgres -d "$db" -c "$*" ;;
	esac
}
# sql_in DB: the same with the statements on stdin.
sql_in() {
	case $KIND in
	mariadb) mariadb --no-defaults --socket="$SOCK" -uroot -N -B "$1" ;;
	postgresql) psql -X -q -At -v ON_ERROR_STOP=1 -h "$SOCK" -p "$DBPORT" -U postgres -d "$1" >/dev/null ;;
	esac
}
create_db() {
	case $KIND in
	mariadb) sql mysql "CREATE DATABASE $1" ;;
	postgresql) sql postgres "CREATE DATABASE $1" ;;
	esac
}

# shop_sql FIRST COUNT: the SQL of COUNT invoices from id FIRST, each in one transaction
# (with a header creating the tables when FIRST is 1); with WRITER=1, one by one with a
# pause, until the file $TESTDIR/stop appears, each COMMIT flushed as it is written.
shop_sql() {
	python3 - "$1" "$2" "${WRITER:-0}" "$TESTDIR/stop" <<'PY'
import os, random, sys, time
first, count, writer, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rnd = random.Random(first)
out = sys.stdout
pool = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(1 << 18))
def word(n):
    i = rnd.randrange(0, len(pool) - n)
    return pool[i:i + n]
if first == 1:
    out.write("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80), city VARCHAR(40));\n")
    out.write("CREATE TABLE invoices (id INT PRIMARY KEY, customer INT, n_lines INT, total INT, "
              "ref VARCHAR(40));\n")
    out.write("CREATE TABLE invoice_lines (invoice_id INT, no INT, amount INT, notes TEXT, "
              "PRIMARY KEY (invoice_id, no));\n")
    rows = ",".join("(%d,'%s','%s')" % (c, word(30), word(12)) for c in range(1, 501))
    out.write("INSERT INTO customers VALUES %s;\n" % rows)
i = first
while writer or i < first + count:
    if writer and os.path.exists(stop):
        break
    n = rnd.randint(2, 6)
    amounts = [rnd.randint(100, 99999) for _ in range(n)]
    lines = ",".join("(%d,%d,%d,'%s')" % (i, k, a, word(rnd.randint(200, 1200)))
                     for k, a in enumerate(amounts))
    out.write("BEGIN;\nINSERT INTO invoices VALUES (%d,%d,%d,%d,'F%08d');\n"
              "INSERT INTO invoice_lines VALUES %s;\nCOMMIT;\n"
              % (i, rnd.randint(1, 500), n, sum(amounts), i, lines))
    i += 1
    if writer:
        out.flush()
        time.sleep(0.003)
out.flush()
PY
}

# invoices DB: "COUNT MIN MAX INCOMPLETE ORPHANS": the invoices, and those whose lines are
# not all there, and lines without their invoice.
invoices() {
	sql "$1" "SELECT COUNT(*), COALESCE(MIN(id),0), COALESCE(MAX(id),0),
	  (SELECT COUNT(*) FROM invoices i WHERE n_lines <> (SELECT COUNT(*) FROM invoice_lines l
	     WHERE l.invoice_id = i.id)),
	  (SELECT COUNT(*) FROM invoice_lines l WHERE NOT EXISTS (SELECT 1 FROM invoices i
	     WHERE i.id = l.invoice_id)) FROM invoices" | tr '\t' ' '
}
committed() { sql shop "SELECT COUNT(*) FROM invoices"; }

# conf FILE [SECTION-LINES...]: a configuration with the files folder and these sections.
conf() {
	local f=$1
	shift
	{
		printf '[backup]\npath = %s\nrepository = %s\npassword-file = %s\n' \
			"$TESTDIR/files" "$COFFRE_REPOSITORY" "$COFFRE_PASSWORD_FILE"
		printf '%s\n' "$@"
	} >"$f"
}
# sockconf: the socket as a section gives it (PostgreSQL: the socket file, with its port).
sockconf() {
	case $KIND in
	mariadb) echo "$SOCK" ;;
	postgresql) echo "$SOCK/.s.PGSQL.$DBPORT" ;;
	esac
}
server_section() {
	local name=$1
	shift
	printf '[database %s]\nkind = %s\nsocket = %s\n' "$name" "$KIND" "$(sockconf)"
	[ "$KIND" = postgresql ] && printf 'user = postgres\n'
	printf '%s\n' "$@"
}

log "a private $KIND server"
SOCK=$("$DBSERVER" start "$KIND" "$DBDIR") || fail "the $KIND server did not start"
create_db shop
shop_sql 1 "$SEED_INVOICES" | sql_in shop >/dev/null || fail "cannot fill the shop database"
sql shop "SELECT COUNT(*) FROM invoice_lines" >"$TESTDIR/nlines"
info "$(committed) invoices, $(cat "$TESTDIR/nlines") lines"
mkdir -p "$TESTDIR/files"
chmod 600 "$COFFRE_PASSWORD_FILE"	# as the configuration wants it
echo "price list 2026" >"$TESTDIR/files/tarifs.txt"
conf "$TESTDIR/good.conf" "$(server_section shop)"
cf init -q >/dev/null || fail "init failed"

# ---- 1. consistent under writes ----
log "backup while a writer adds invoices"
start=$(committed)
WRITER=1 shop_sql $((start + 1)) 0 2>"$LOGDIR/writer.err" | sql_in shop >/dev/null 2>&1 &
writer=$!
BG_PIDS+=("$writer")
more_invoices() { [ "$(committed)" -gt $((start + 20)) ]; }
wait_for 30 "the writer committing invoices" more_invoices
before=$(committed)
t0=$EPOCHREALTIME
expect_exit 0 cf --json backup --config "$TESTDIR/good.conf"
t1=$EPOCHREALTIME
after=$(committed)
touch "$TESTDIR/stop"
wait "$writer" || true
final=$(committed)
cp "$OUT" "$TESTDIR/b1.json"
info "backup in $(python3 -c "print(round($t1 - $t0, 2))") s; invoices committed: $before before it, $after after it"
[ "$after" -gt "$before" ] || fail "the writer did not write during the backup"
cf ls latest >"$TESTDIR/ls1" || fail "ls failed"
grep -qx /databases/shop/shop.sql "$TESTDIR/ls1" || fail "no dump of shop in the snapshot"
# Only the shop's database: not the server's own.
[ "$(grep -c '^/databases/shop/' "$TESTDIR/ls1")" = 1 ] ||
	fail "the server's own databases were dumped: $(grep '^/databases/' "$TESTDIR/ls1" | tr '\n' ' ')"

log "restore-db into a new database"
t0=$EPOCHREALTIME
expect_exit 0 cf restore-db shop --config "$TESTDIR/good.conf"
t1=$EPOCHREALTIME
newdb=shop_restored_$(date +%Y%m%d)
grep -q "into '$newdb'" "$OUT" || fail "restore-db did not say where: $(cat "$OUT")"
info "restored in $(python3 -c "print(round($t1 - $t0, 2))") s"
read -r n lo hi bad orphans <<<"$(invoices "$newdb")"
info "restored: $n invoices ($lo..$hi), $bad without all their lines, $orphans orphan lines"
[ "$bad" = 0 ] && [ "$orphans" = 0 ] || fail "the restore holds invoices cut in two"
[ "$lo" = 1 ] && [ "$hi" = "$n" ] || fail "the restore holds a gap in the invoices ($n in $lo..$hi)"
[ "$n" -ge "$before" ] || fail "$n invoices restored, $before were committed before the backup"
[ "$n" -le "$after" ] || fail "$n invoices restored, only $after were committed after the backup"

log "restore-db refuses to overwrite"
expect_exit 1 cf restore-db shop --config "$TESTDIR/good.conf"
grep -q "exists already" "$ERR" || fail "no clear refusal: $(cat "$ERR")"
expect_exit 1 cf restore-db shop --into shop --config "$TESTDIR/good.conf"
[ "$(committed)" = "$final" ] || fail "the live database changed"

# ---- 2. day to day ----
log "a day of work: 1% more invoices, a second backup"
top=$(sql shop "SELECT MAX(id) FROM invoices")
shop_sql $((top + 1)) $((SEED_INVOICES / 100)) | sql_in shop >/dev/null
expect_exit 0 cf --json backup --config "$TESTDIR/good.conf"
added=$(json_get "$OUT" bytes_added)
dump_size=$(cf dump latest /databases/shop/shop.sql | wc -c)
info "dump $dump_size bytes; the second backup added $added bytes ($(python3 -c "print(round(100.0 * $added / $dump_size, 1))") %)"
[ "$added" -lt $((dump_size / 4)) ] || fail "a day's change added $added bytes for a $dump_size-byte dump"

# ---- 3. faults ----
log "faults: a wrong password and a missing client"
case $KIND in
mariadb)
	sql mysql "CREATE USER app@localhost IDENTIFIED BY 'good'; GRANT ALL ON shop.* TO app@localhost"
	bad_user=app ;;
postgresql)
	sql postgres "CREATE ROLE app LOGIN PASSWORD 'good'"
	# Password authentication for app, before the trust lines.
	sed -i '1i local all app scram-sha-256' "$DBDIR/data/pg_hba.conf"
	sql postgres "SELECT pg_reload_conf()" >/dev/null
	bad_user=app ;;
esac
printf 'wrong\n' >"$TESTDIR/dbpw"
chmod 600 "$TESTDIR/dbpw"
mkdir -p "$TESTDIR/empty"
echo "day 2" >>"$TESTDIR/files/tarifs.txt"
conf "$TESTDIR/faults.conf" "$(server_section shop)" \
	"$(printf '[database badpw]\nkind = %s\nsocket = %s\nuser = %s\npassword-file = %s\ndatabases = shop' \
		"$KIND" "$(sockconf)" "$bad_user" "$TESTDIR/dbpw")" \
	"$(server_section nocli "client-dir = $TESTDIR/empty" "databases = shop")"
expect_exit 3 cf backup --config "$TESTDIR/faults.conf"
grep -q "/databases/badpw/shop.sql.*database 'shop' not backed up.*refused the user or password" "$ERR" ||
	fail "no clear message for the wrong password: $(cat "$ERR")"
grep -q "/databases/nocli/shop.sql.*database 'shop' not backed up.*client .* is missing" "$ERR" ||
	fail "no clear message for the missing client: $(cat "$ERR")"
cf ls latest >"$TESTDIR/ls3" || fail "ls failed"
grep -qx /databases/shop/shop.sql "$TESTDIR/ls3" || fail "the good server's dump is missing"
grep -q '^/databases/\(badpw\|nocli\)/.*sql' "$TESTDIR/ls3" && fail "a failed dump was stored"
cf dump latest "$TESTDIR/files/tarifs.txt" >"$TESTDIR/tarifs.out" || fail "the plain file does not restore"
cmp -s "$TESTDIR/tarifs.out" "$TESTDIR/files/tarifs.txt" || fail "the plain file restored differs"
info "$(grep -c warning "$ERR") warnings, exit 3, the rest restorable"

log "fault: the server killed in the middle of a dump"
good_snap=$(cf --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
# The dump client, held after its first 200 KB until the server is gone.
mkdir -p "$TESTDIR/gated"
for c in mariadb psql; do
	[ -x "/usr/bin/$c" ] && ln -sf "/usr/bin/$c" "$TESTDIR/gated/$c"
done
dumper=$([ "$KIND" = mariadb ] && echo mariadb-dump || echo pg_dump)
cat >"$TESTDIR/gated/$dumper" <<EOF
#!/usr/bin/env bash
set -o pipefail
/usr/bin/$dumper "\$@" | python3 -c '
import os, sys, time
i, o = sys.stdin.buffer, sys.stdout.buffer
o.write(i.read(200000)); o.flush()
open("$TESTDIR/gate.held", "w").close()
while not os.path.exists("$TESTDIR/gate.open"):
    time.sleep(0.02)
while True:
    b = i.read(65536)
    if not b:
        break
    o.write(b)
'
EOF
chmod +x "$TESTDIR/gated/$dumper"
conf "$TESTDIR/gated.conf" "$(server_section shop "client-dir = $TESTDIR/gated")"
cf backup --config "$TESTDIR/gated.conf" >"$LOGDIR/killed.out" 2>"$LOGDIR/killed.err" &
backup=$!
held() { [ -e "$TESTDIR/gate.held" ]; }
wait_for 30 "the dump under way" held
"$DBSERVER" kill "$KIND" "$DBDIR"
touch "$TESTDIR/gate.open"
rc=0
wait "$backup" || rc=$?
[ "$rc" = 3 ] || fail "exit $rc after the server was killed mid-dump (want 3): $(cat "$LOGDIR/killed.err")"
grep -q "/databases/shop/shop.sql.*database 'shop' not backed up: the dump failed" "$LOGDIR/killed.err" ||
	fail "no clear message for the server killed mid-dump: $(cat "$LOGDIR/killed.err")"
info "said: $(grep -o "database 'shop' not backed up.*" "$LOGDIR/killed.err" | head -1)"
cf ls latest >"$TESTDIR/ls4" || fail "ls failed"
grep -q '^/databases/shop/shop.sql' "$TESTDIR/ls4" && fail "the cut dump was stored"
cf dump latest "$TESTDIR/files/tarifs.txt" >"$TESTDIR/tarifs.out" || fail "the plain file does not restore"
cmp -s "$TESTDIR/tarifs.out" "$TESTDIR/files/tarifs.txt" || fail "the plain file restored differs"

log "restore-db takes the last good dump"
SOCK=$("$DBSERVER" start "$KIND" "$DBDIR") || fail "the $KIND server did not start again"
expect_exit 0 cf restore-db shop --db shop --into shop_lastgood --config "$TESTDIR/good.conf"
grep -q "snapshot ${good_snap:0:8}" "$OUT" || fail "not the last good snapshot ($good_snap): $(cat "$OUT")"
read -r n lo hi bad orphans <<<"$(invoices shop_lastgood)"
[ "$bad" = 0 ] && [ "$orphans" = 0 ] && [ "$n" = "$(committed)" ] ||
	fail "the last good dump restored $n invoices ($bad incomplete, $orphans orphans), $(committed) in the database"

source "$COFFRE_TESTS/integration/db_drill.sh"
