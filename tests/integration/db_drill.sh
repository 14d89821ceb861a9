# db_drill.sh: restore drills of database dumps and the servers reached over TCP (sourced at
# the end of db_shop.sh, its server running again, listening on 127.0.0.1:$DBPORT too):
#   1. a drill after a backup loads the dump into a scratch database of the server, counts
#      its tables, drops it (none is left on the server);
#   2. a load that fails (a client that refuses it) fails the drill, naming the dump, and the
#      scratch database is dropped all the same, as it is when SIGTERM stops the drill;
#   3. a backup and a restore-db over TCP with a password user (config check describes its
#      section); a wrong password is refused;
#   4. with the server stopped, the drill passes: the dump is checked by its trailer.

drills_t0=$EPOCHREALTIME
DSTATE=$TESTDIR/drill-state
DRILL=(drill --to "$COFFRE_REPOSITORY" --state-dir "$DSTATE" --budget 1G)

# scratch_dbs: the scratch databases the server holds.
scratch_dbs() {
	case $KIND in
	mariadb) sql mysql "SHOW DATABASES" ;;
	postgresql) sql postgres "SELECT datname FROM pg_database" ;;
	esac | { grep '^coffre_drill_' || true; }
}
# dump_field JSON PATH KEY: KEY of the drill report's dump PATH.
dump_field() {
	python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
d = [d for d in r.get("dumps", []) if d["path"] == sys.argv[2]]
print(d[0][sys.argv[3]] if d else "none")
PY
}
secs() { python3 -c "print(round($2 - $1, 2))"; }
# Each step says when it starts, from the start of these drills.
log() { printf '== [+%s s] %s\n' "$(secs "$drills_t0" "$EPOCHREALTIME")" "$*"; }

# ---- 1. a drill that loads the dump ----
log "drill: the dump loaded into a scratch database"
# The shop's database alone: one dump to load.
conf "$TESTDIR/drill.conf" "$(server_section shop "databases = shop")"
expect_exit 0 cf backup --config "$TESTDIR/drill.conf"
t0=$EPOCHREALTIME
expect_exit 0 cf --json "${DRILL[@]}" --config "$TESTDIR/drill.conf"
t1=$EPOCHREALTIME
cp "$OUT" "$LOGDIR/drill-load.json"
D=/databases/shop/shop.sql
[ "$(dump_field "$OUT" $D proof)" = loaded ] ||
	fail "the dump was not loaded: $(dump_field "$OUT" $D note)"
[ "$(dump_field "$OUT" $D tables)" = 3 ] && [ "$(dump_field "$OUT" $D create_tables)" = 3 ] ||
	fail "tables: $(dump_field "$OUT" $D tables) loaded, $(dump_field "$OUT" $D create_tables) in the dump (want 3)"
[ "$(json_get "$OUT" 0.chosen.databases)" -ge 1 ] || fail "the dump was not chosen as a database"
load_s=$(dump_field "$OUT" $D load_seconds)
info "drill with the load: $(secs "$t0" "$t1") s (the scratch load $(python3 -c "print(round($load_s, 2))") s, dump $(dump_field "$OUT" $D bytes) bytes)"
[ -z "$(scratch_dbs)" ] || fail "scratch databases left on the server: $(scratch_dbs | tr '\n' ' ')"

# ---- 2. a load that fails ----
log "drill: a load that fails fails the drill"
client=$([ "$KIND" = mariadb ] && echo mariadb || echo psql)
loadflag=$([ "$KIND" = mariadb ] && echo --binary-mode || echo --single-transaction)
mkdir -p "$TESTDIR/refuse"
cat >"$TESTDIR/refuse/$client" <<EOF
#!/usr/bin/env bash
# The real client, but for a load: refused as a broken dump would be.
for a in "\$@"; do
	if [ "\$a" = $loadflag ]; then
		cat >/dev/null
		echo "ERROR 1064 (42000) at line 40: syntax error near 'INSERT'" >&2
		exit 1
	fi
done
exec /usr/bin/$client "\$@"
EOF
chmod +x "$TESTDIR/refuse/$client"
conf "$TESTDIR/refuse.conf" "$(server_section shop "client-dir = $TESTDIR/refuse")"
expect_exit 6 cf "${DRILL[@]}" --config "$TESTDIR/refuse.conf"
grep -q "'$D': dump: the dump does not load: .*syntax error near 'INSERT'" "$ERR" ||
	fail "the drill does not name the dump and why: $(cat "$ERR")"
[ -z "$(scratch_dbs)" ] || fail "the failed load left a scratch database: $(scratch_dbs | tr '\n' ' ')"

log "drill: SIGTERM during a load drops the scratch database"
mkdir -p "$TESTDIR/hold"
cat >"$TESTDIR/hold/$client" <<EOF
#!/usr/bin/env bash
# The real client, but a load waits to be ended.
for a in "\$@"; do
	if [ "\$a" = $loadflag ]; then
		echo \$\$ >"$TESTDIR/load.held"
		exec sleep 600
	fi
done
exec /usr/bin/$client "\$@"
EOF
chmod +x "$TESTDIR/hold/$client"
conf "$TESTDIR/hold.conf" "$(server_section shop "client-dir = $TESTDIR/hold")"
# Not through cf: the signal must reach coffre itself, not a subshell.
"$COFFRE" "${DRILL[@]}" --config "$TESTDIR/hold.conf" </dev/null >"$LOGDIR/hold.out" \
	2>"$LOGDIR/hold.err" &
drill=$!
BG_PIDS+=("$drill")
load_held() { [ -s "$TESTDIR/load.held" ]; }
wait_for 30 "the load under way" load_held
[ -n "$(scratch_dbs)" ] || fail "no scratch database during the load"
kill -TERM "$drill"
rc=0
wait "$drill" || rc=$?
[ "$rc" = 143 ] || fail "exit $rc after SIGTERM during the load (want 143): $(cat "$LOGDIR/hold.err")"
[ -z "$(scratch_dbs)" ] || fail "SIGTERM left a scratch database: $(scratch_dbs | tr '\n' ' ')"
gone "$(cat "$TESTDIR/load.held")" || fail "the load client outlived the drill"

# ---- 3. TCP ----
log "backup and restore-db over TCP on 127.0.0.1:$DBPORT with a password"
case $KIND in
mariadb)
	sql mysql "CREATE USER tcp@'127.0.0.1' IDENTIFIED BY 'tcp-secret'; GRANT ALL ON *.* TO tcp@'127.0.0.1'" ;;
postgresql)
	sql postgres "CREATE ROLE tcp LOGIN SUPERUSER PASSWORD 'tcp-secret'"
	sed -i '1i host all tcp 127.0.0.1/32 scram-sha-256' "$DBDIR/data/pg_hba.conf"
	sql postgres "SELECT pg_reload_conf()" >/dev/null ;;
esac
printf 'tcp-secret\n' >"$TESTDIR/tcppw"
chmod 600 "$TESTDIR/tcppw"
tcp_section() {
	printf '[database %s]\nkind = %s\nhost = 127.0.0.1\nport = %s\nuser = tcp\npassword-file = %s\ndatabases = shop\n' \
		"$1" "$KIND" "$DBPORT" "$2"
}
printf 'wrong\n' >"$TESTDIR/tcpbad"
chmod 600 "$TESTDIR/tcpbad"
conf "$TESTDIR/tcpbad.conf" "$(tcp_section shoptcp "$TESTDIR/tcpbad")"
expect_exit 3 cf backup --config "$TESTDIR/tcpbad.conf"
grep -q "database 'shop' not backed up.*refused the user or password" "$ERR" ||
	fail "a wrong password over TCP is not said: $(cat "$ERR")"
conf "$TESTDIR/tcp.conf" "$(tcp_section shoptcp "$TESTDIR/tcppw")"
expect_exit 0 cf config check --config "$TESTDIR/tcp.conf"
grep -qF "database shoptcp: $KIND, TCP 127.0.0.1:$DBPORT, user tcp, password in $TESTDIR/tcppw, databases: shop" "$OUT" ||
	fail "config check does not describe the section: $(cat "$OUT")"
expect_exit 0 cf backup --config "$TESTDIR/tcp.conf"
cf ls latest >"$TESTDIR/ls-tcp" || fail "ls failed"
grep -qx /databases/shoptcp/shop.sql "$TESTDIR/ls-tcp" || fail "no dump over TCP in the snapshot"
expect_exit 0 cf restore-db shoptcp --into shop_tcp --config "$TESTDIR/tcp.conf"
read -r n lo hi bad orphans <<<"$(invoices shop_tcp)"
[ "$bad" = 0 ] && [ "$orphans" = 0 ] && [ "$n" = "$(committed)" ] ||
	fail "restored over TCP: $n invoices ($bad incomplete, $orphans orphans), $(committed) in the database"
expect_exit 0 cf "${DRILL[@]}" --config "$TESTDIR/tcp.conf"
grep -q "/databases/shoptcp/shop.sql: loaded into a scratch database, 3 tables" "$OUT" ||
	fail "the drill did not load the dump over TCP: $(cat "$OUT")"
info "over TCP: a wrong password refused; backed up, restored ($n invoices) and drilled"

# ---- 4. no server ----
log "drill with the server stopped: checked by its trailer"
"$DBSERVER" stop "$KIND" "$DBDIR"
t0=$EPOCHREALTIME
expect_exit 0 cf --json "${DRILL[@]}" --config "$TESTDIR/tcp.conf"
t1=$EPOCHREALTIME
cp "$OUT" "$LOGDIR/drill-trailer.json"
D=/databases/shoptcp/shop.sql
[ "$(dump_field "$OUT" $D proof)" = trailer ] || fail "not proven by its trailer: $(cat "$OUT")"
info "drill without the load: $(secs "$t0" "$t1") s ($(dump_field "$OUT" $D note))"
expect_exit 0 cf "${DRILL[@]}" --config "$TESTDIR/tcp.conf"
grep -q "$D: checked by its trailer; no server to load it into" "$OUT" ||
	fail "the report does not say the trailer: $(cat "$OUT")"
info "drills and TCP: $(secs "$drills_t0" "$EPOCHREALTIME") s"
