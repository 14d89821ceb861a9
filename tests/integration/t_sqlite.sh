#!/usr/bin/env bash
# t_sqlite.sh: the accounting database restores usable even when the accounting program was
# writing at backup time. A writer commits batches of 50 rows (one transaction each, plus
# updates spread over the file) while backups run; every restored database must pass
# PRAGMA integrity_check and hold only whole batches. Both journal modes (rollback, WAL).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
SRC=$TESTDIR/src
mkdir -p "$SRC/compta"
cf init -q >/dev/null || fail "init failed"

for mode in delete wal; do
	db=$SRC/compta/compta-$mode.sqlite
	log "journal mode $mode: a 20 MB database written to while backups run"
	python3 - "$db" "$mode" <<'PY'
import os, sqlite3, sys
db, mode = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=%s" % mode)
c.execute("CREATE TABLE lines(id INTEGER PRIMARY KEY, batch INTEGER, amount INTEGER, memo BLOB)")
c.execute("CREATE INDEX lines_batch ON lines(batch)")
with c:
    for b in range(400):
        c.executemany("INSERT INTO lines(batch, amount, memo) VALUES (?,?,?)",
                      [(b, i, os.urandom(900)) for i in range(50)])
c.close()
PY
	python3 - "$db" "$TESTDIR/stop-$mode" "$TESTDIR/batches-$mode" <<'PY' &
import os, random, sqlite3, sys, time
db, stop, done = sys.argv[1], sys.argv[2], sys.argv[3]
c = sqlite3.connect(db, timeout=30)
b = 400
while not os.path.exists(stop):
    with c:
        c.executemany("INSERT INTO lines(batch, amount, memo) VALUES (?,?,?)",
                      [(b, i, os.urandom(900)) for i in range(50)])
        # rewrite rows all over the file, as reconciliation does
        for _ in range(20):
            c.execute("UPDATE lines SET amount = amount + 1, memo = ? WHERE id = ?",
                      (os.urandom(900), random.randint(1, 20000)))
    b += 1
    with open(done + ".tmp", "w") as f:
        f.write("%d\n" % (b - 400))
    os.replace(done + ".tmp", done)
c.close()
PY
	writer=$!
	BG_PIDS+=("$writer")
	ids=()
	batches() { cat "$TESTDIR/batches-$mode" 2>/dev/null || echo 0; }
	more() {
		[ "$(batches)" -gt "$seen" ] && return 0
		if gone "$writer"; then fail "the writer stopped"; fi
		return 1
	}
	seen=0
	for i in 1 2 3 4; do
		# Each backup comes after the writer has committed one more batch at least.
		wait_for 60 "a batch committed by the writer" more
		seen=$(batches)
		expect_exit "0|3" cf backup "$SRC" --json
		ids+=("$(json_get "$OUT" snapshot)")
	done
	touch "$TESTDIR/stop-$mode"
	wait "$writer" || fail "the writer failed"
	for id in "${ids[@]}"; do
		t=$TESTDIR/r-$mode-${id:0:8}
		cf restore "$id" --target "$t" -q || fail "restore $id failed"
		python3 - "$t$db" <<'PY' || fail "snapshot $id: the restored $mode database is not usable"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
ok = c.execute("PRAGMA integrity_check").fetchone()[0]
assert ok == "ok", ok
torn = c.execute("SELECT batch, COUNT(*) FROM lines GROUP BY batch HAVING COUNT(*) != 50").fetchall()
assert not torn, torn
n = c.execute("SELECT COUNT(*) FROM lines").fetchone()[0]
print("   restored: integrity ok, %d rows in whole batches" % n)
PY
	done
done
pass
