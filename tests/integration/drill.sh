# drill.sh: what the restore drill tests share (sourced after lib.sh by t_drill*.sh).

# drill_setup: lib.sh's setup, then SRC (the shop), STATE (coffred's state folder) and CONF
# (its configuration) in the test folder.
drill_setup() {
	setup
	SRC=$TESTDIR/src
	STATE=$TESTDIR/state
	CONF=$TESTDIR/coffre.conf
}

# drill_s3: s3rver started for this test (it skips without one), stopped at its end; its
# port in $port, its keys in $TESTDIR/s3keys.
drill_s3() {
	SERVERS=$COFFRE_TESTS/servers
	[ -x "$SERVERS/node_modules/.bin/s3rver" ] && command -v node >/dev/null ||
		skip "s3rver is not installed (npm install --prefix tests/servers)"
	cleanup_hook() { "$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true; }
	port=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
	printf 'S3RVER\nS3RVER\n' >"$TESTDIR/s3keys"
	chmod 600 "$TESTDIR/s3keys"
}

# drill_shop DIR SEED: a tiny generated shop (gen-data.py) whose accounting file is a real
# SQLite database (gen-data's grand-livre.db only looks like one, and a drill's
# integrity_check would rightly refuse it).
drill_shop() {
	gen_data "$1" --size tiny --seed "$2"
	python3 - "$1/compta/grand-livre.db" <<'PY' || fail "cannot write the SQLite database"
import os, sqlite3, sys
p = sys.argv[1]
st = os.stat(p)
os.unlink(p)
con = sqlite3.connect(p)
con.execute("CREATE TABLE ecritures(id INTEGER PRIMARY KEY, compte TEXT, montant INTEGER)")
con.executemany("INSERT INTO ecritures(compte, montant) VALUES (?, ?)",
                [("411%03d" % (i % 700), i * 37 % 10007) for i in range(20000)])
con.commit()
con.close()
os.chmod(p, 0o640)
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
}

# drill_conf FILE STATE_DIR [SECTION_LINES...]: a configuration of the test's spool whose
# destinations are given as lines ("[destination nas]", "url = ...").
drill_conf() {
	local file=$1 state=$2 l
	shift 2
	chmod 600 "$COFFRE_PASSWORD_FILE"
	{
		echo "[backup]"
		echo "path = $TESTDIR/src"
		echo "repository = $COFFRE_REPOSITORY"
		echo "password-file = $COFFRE_PASSWORD_FILE"
		echo "schedule = daily 03:00"
		echo "[daemon]"
		echo "socket = $TESTDIR/run/coffred.sock"
		echo "state-dir = $state"
		for l in "$@"; do echo "$l"; done
	} >"$file"
}

# drill_nas SEED [LINE...]: a shop (drill_shop SEED) in SRC, a configuration whose one
# destination is the folder NAS (its section's further LINEs), init, a backup and a push.
drill_nas() {
	local seed=$1
	shift
	NAS=$TESTDIR/nas
	mkdir -p "$NAS"
	drill_conf "$CONF" "$STATE" "[destination nas]" "url = $NAS" "$@"
	log "a shop, a backup, a push to the folder nas"
	drill_shop "$SRC" "$seed"
	expect_exit 0 cf init
	expect_exit 0 cf backup "$SRC" -q
	expect_exit 0 cf push --config "$CONF"
}

# drill_report FILE DEST KEY: a field of destination DEST's report in a drill --json output.
drill_report() {
	python3 - "$1" "$2" "$3" <<'PY' || fail "no report of '$2' with '$3' in $1"
import json, sys
for r in json.load(open(sys.argv[1])):
    if r["destination"] == sys.argv[2]:
        v = r
        for k in sys.argv[3].split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
        print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
        sys.exit(0)
sys.exit(1)
PY
}

# drill_passed FILE DEST: DEST's drill passed, restored files and fetched bytes; says what.
drill_passed() {
	python3 - "$1" "$2" <<'PY' || fail "the drill of '$2' did not pass (see $1)"
import json, sys
for r in json.load(open(sys.argv[1])):
    if r["destination"] != sys.argv[2]:
        continue
    print("   %s: %s, %d files (%d bytes), %d fetched (%d of metadata, %d selected, budget %d), "
          "%.2f s, %d sqlite, %d live, estimate %.1f s" % (
          r["destination"], r["result"], r["files"], r["bytes"], r["bytes_fetched"],
          r["bytes_metadata"], r["bytes_selected"], r["budget"], r["seconds"],
          r["sqlite_checked"], r["live_compared"], r["estimate_full_restore_seconds"]))
    for f in r["failures"]:
        print("   failure: %s" % f, file=sys.stderr)
    ok = r["ok"] and r["files"] > 0 and r["bytes_fetched"] > 0 and not r["failures"]
    sys.exit(0 if ok else 1)
sys.exit(1)
PY
}

# no_scratch DIR: fail if a drill's scratch folder is left under DIR.
no_scratch() {
	local left
	left=$(find "$1" -maxdepth 1 -name 'drill-scratch-*' 2>/dev/null)
	[ -z "$left" ] || fail "scratch folder left: $left"
}
