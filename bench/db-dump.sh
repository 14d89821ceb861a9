#!/usr/bin/env bash
# bench/db-dump.sh: a shop database of about SIZE MB (customers, invoices, invoice lines) on a
# private MariaDB or PostgreSQL server (tests/servers/dbserver.sh), dumped into a snapshot by
# coffre backup --config; then DAYS days of work (1% more invoices, 1% of the invoices
# marked paid), one backup each; then restore-db of the last dump into a new database,
# checked row for row. Prints the dump time and size, the bytes each day's backup added, the
# restore time. Not run by ctest (a 200 MB database takes minutes to make).
#
#   bench/db-dump.sh [--kind mariadb|postgresql] [--size MB] [--days N] [--work DIR]
#                    [--coffre PATH]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kind=mariadb size=200 days=3 work=${TMPDIR:-/tmp}/coffre-db-dump
coffre=$top/build/cli/coffre
while [ $# -gt 0 ]; do
	case $1 in
	--kind) kind=$2; shift 2 ;;
	--size) size=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--coffre) coffre=$2; shift 2 ;;
	*) echo "usage: $0 [--kind mariadb|postgresql] [--size MB] [--days N] [--work DIR] [--coffre PATH]" >&2; exit 2 ;;
	esac
done
server=$top/tests/servers/dbserver.sh
rm -rf "$work"
mkdir -p "$work/files"
work=$(cd "$work" && pwd)
trap '"$server" stop "$kind" "$work/server" >/dev/null 2>&1 || true' EXIT
now() { date +%s.%N; }
secs() { python3 -c "print('%.2f' % ($2 - $1))"; }
mib() { python3 -c "print('%.1f' % ($1 / 1048576))"; }

sock=$("$server" start "$kind" "$work/server")
sql() {
	case $kind in
	mariadb) mariadb --no-defaults --socket="$sock" -uroot -N -B "$@" ;;
	postgresql) psql -X -q -At -v ON_ERROR_STOP=1 -h "$sock" -U postgres "$@" ;;
	esac
}
if [ "$kind" = mariadb ]; then sql -e "CREATE DATABASE shop"; else sql -d postgres -c "CREATE DATABASE shop"; fi
db() { if [ "$kind" = mariadb ]; then sql shop "$@"; else sql -d shop "$@"; fi; }

# gen FIRST COUNT PAID: COUNT invoices from id FIRST with their lines (schema first when
# FIRST is 1), then PAID random invoices below FIRST marked paid; rows 500 to a statement.
gen() {
	python3 - "$@" <<'PY'
import random, sys
first, count, paid = map(int, sys.argv[1:4])
rnd = random.Random(first)
pool = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz      ") for _ in range(1 << 20))
def text(n):
    i = rnd.randrange(0, len(pool) - n)
    return pool[i:i + n]
w = sys.stdout.write
if first == 1:
    w("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80), city VARCHAR(40));\n")
    w("CREATE TABLE invoices (id INT PRIMARY KEY, customer INT, n_lines INT, total INT, "
      "paid INT, ref VARCHAR(40));\n")
    w("CREATE TABLE invoice_lines (invoice_id INT, no INT, amount INT, label VARCHAR(200), "
      "notes TEXT, PRIMARY KEY (invoice_id, no));\n")
    w("INSERT INTO customers VALUES %s;\n" % ",".join(
        "(%d,'%s','%s')" % (c, text(30), text(12)) for c in range(1, 2001)))
inv, lines = [], []
def flush():
    if inv:
        w("INSERT INTO invoices VALUES %s;\n" % ",".join(inv))
    if lines:
        w("INSERT INTO invoice_lines VALUES %s;\n" % ",".join(lines))
    inv.clear(); lines.clear()
for i in range(first, first + count):
    n = rnd.randint(2, 6)
    amounts = [rnd.randint(100, 99999) for _ in range(n)]
    inv.append("(%d,%d,%d,%d,0,'F%08d')" % (i, rnd.randint(1, 2000), n, sum(amounts), i))
    lines.extend("(%d,%d,%d,'%s','%s')" % (i, k, a, text(60), text(rnd.randint(200, 900)))
                 for k, a in enumerate(amounts))
    if len(inv) >= 500:
        flush()
flush()
for _ in range(paid):
    w("UPDATE invoices SET paid = 1 WHERE id = %d;\n" % rnd.randint(1, first - 1 if first > 1 else 1))
PY
}

per_invoice=2600	# bytes of dump an invoice takes, about
n=$((size * 1048576 / per_invoice))
echo "== $kind: making a database of about $size MB ($n invoices)"
t0=$(now)
gen 1 "$n" 0 | db >/dev/null
t1=$(now)
echo "   made in $(secs "$t0" "$t1") s"

printf 'secret' >"$work/password"
chmod 600 "$work/password"
export COFFRE_REPOSITORY=$work/repo COFFRE_PASSWORD_FILE=$work/password XDG_CACHE_HOME=$work/cache
{
	printf '[backup]\npath = %s\nrepository = %s\npassword-file = %s\n' "$work/files" \
		"$COFFRE_REPOSITORY" "$COFFRE_PASSWORD_FILE"
	printf '[database shop]\nkind = %s\nsocket = %s\n' "$kind" "$sock"
	[ "$kind" = postgresql ] && printf 'user = postgres\n'
} >"$work/coffre.conf"
echo "x" >"$work/files/readme.txt"
"$coffre" init -q >/dev/null
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "== first backup (the whole dump)"
t0=$(now)
"$coffre" --json backup --config "$work/coffre.conf" >"$work/b0.json"
t1=$(now)
dump=$("$coffre" dump latest /databases/shop/shop.sql | wc -c)
echo "   dump $dump bytes ($(mib "$dump") MiB) in $(secs "$t0" "$t1") s (backup wall time);" \
	"added $(field "$work/b0.json" bytes_added), stored $(field "$work/b0.json" bytes_stored)"
rows=("day added_bytes stored_bytes dump_bytes backup_s")
top_id=$n
for d in $(seq 1 "$days"); do
	gen $((top_id + 1)) $((n / 100)) $((n / 100)) | db >/dev/null
	top_id=$((top_id + n / 100))
	t0=$(now)
	"$coffre" --json backup --config "$work/coffre.conf" >"$work/b$d.json"
	t1=$(now)
	dump=$("$coffre" dump latest /databases/shop/shop.sql | wc -c)
	added=$(field "$work/b$d.json" bytes_added)
	rows+=("$d $added $(field "$work/b$d.json" bytes_stored) $dump $(secs "$t0" "$t1")")
	echo "   day $d: dump $(mib "$dump") MiB, added $(mib "$added") MiB" \
		"($(python3 -c "print('%.1f' % (100.0 * $added / $dump))") % of the dump) in $(secs "$t0" "$t1") s"
done

echo "== restore-db into a new database"
t0=$(now)
"$coffre" restore-db shop --db shop --into shop_bench --config "$work/coffre.conf" >/dev/null
t1=$(now)
count() {
	if [ "$kind" = mariadb ]; then sql "$1" -e "$2"; else sql -d "$1" -c "$2"; fi
}
q="SELECT COUNT(*), SUM(total), SUM(paid) FROM invoices"
a=$(count shop "$q") b=$(count shop_bench "$q")
[ "$a" = "$b" ] || { echo "restored database differs: $a vs $b" >&2; exit 1; }
echo "   restored in $(secs "$t0" "$t1") s; invoices, total, paid: $(echo "$b" | tr '\t|' '  ') (as the source)"
echo
printf '%s\n' "${rows[@]}" | column -t
