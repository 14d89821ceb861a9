#!/usr/bin/env bash
# t_db_daemon.sh: for coffred, a database dump that fails makes the run partial, named in its
# warnings; three such runs in a row open the "failed" condition (a webhook sink gets its
# start), and a run whose dump succeeds closes it. No server needed: the dump's client is
# missing (client-dir is an empty folder), then a stand-in client writes a whole dump. Then
# coffred's drill of a destination loads that dump through the section's (stand-in) client,
# and a load that leaves another number of tables than the dump creates fails a drill.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
hook_sink_start
chmod 600 "$COFFRE_PASSWORD_FILE"
mkdir -p "$TESTDIR/src" "$TESTDIR/clients"
echo "commande 1" >"$TESTDIR/src/commandes.txt"
expect_exit 0 cf init -q
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = en" \
	"[database shop]" "kind = mariadb" "socket = $TESTDIR/no-server.sock" \
	"client-dir = $TESTDIR/clients" "databases = dolibarr" -- "$TESTDIR/src"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"

log "three runs whose dump cannot be made: partial, then the 'failed' condition"
for i in 1 2 3; do
	expect_exit 3 cf backup --now --socket "$SOCK"
	grep -q "database 'dolibarr' not backed up.*'mariadb-dump' is missing" "$OUT" "$ERR" ||
		fail "run $i: the dump's failure is not named: $(cat "$OUT" "$ERR")"
done
expect_exit "0|1" cf status --json --socket "$SOCK"
[ "$(json_get "$OUT" last_backup.result)" = partial ] || fail "the run is not partial"
wait_for 30 "the start of 'failed' at the sink" hook_at_least 1 failed start

log "a whole dump: the condition ends"
cat >"$TESTDIR/clients/mariadb-dump" <<'SH'
#!/bin/sh
printf 'CREATE TABLE t (id INT);\n-- Dump completed on 2026-12-03 10:00:00\n'
SH
chmod +x "$TESTDIR/clients/mariadb-dump"
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 30 "the end of 'failed' at the sink" hook_at_least 1 failed end
cf dump latest /databases/shop/dolibarr.sql >"$TESTDIR/d.sql" || fail "the dump is not in the snapshot"
grep -q '^-- Dump completed' "$TESTDIR/d.sql" || fail "the dump stored differs"
[ "$(hook_count failed start)" = 1 ] || fail "$(hook_count failed start) starts of 'failed'"

log "a destination drilled by coffred: the dump loaded through the section's client"
# A stand-in server: no database yet, then the scratch one created, loaded (one table, as the
# stand-in dump creates), counted and dropped; the load is noted in the file loads.
cat >"$TESTDIR/clients/mariadb" <<SH
#!/bin/sh
for a; do
	case \$a in
	--execute=SELECT*) echo 1; exit 0 ;;
	--binary-mode) cat >/dev/null; echo loaded >>"$TESTDIR/loads"; exit 0 ;;
	esac
done
exit 0
SH
chmod +x "$TESTDIR/clients/mariadb"
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = en" \
	"[database shop]" "kind = mariadb" "socket = $TESTDIR/no-server.sock" \
	"client-dir = $TESTDIR/clients" "databases = dolibarr" \
	"[destination nas]" "url = $TESTDIR/nas" "drill = 2 s" "drill-budget = 64M" -- "$TESTDIR/src"
daemon_hup
expect_exit 0 cf backup --now --socket "$SOCK"
drilled() { grep -q "restore drill of 'nas': ok: .*database dumps: 1 loaded" "$DLOG"; }
wait_for 60 "a drill of nas that loads the dump" drilled
[ -s "$TESTDIR/loads" ] || fail "the stand-in client loaded nothing"
info "$(grep -o "restore drill of 'nas': ok: .*" "$DLOG" | head -1)"

log "a load that leaves another number of tables fails the drill"
sed -i 's/echo 1; exit 0/echo 2; exit 0/' "$TESTDIR/clients/mariadb"
expect_exit 6 cf drill --to nas --config "$CONF" --state-dir "$TESTDIR/cli-state"
grep -q "'/databases/shop/dolibarr.sql': dump: .*held 2 tables where the dump creates 1" "$ERR" ||
	fail "the count that differs is not said: $(cat "$ERR")"
pass
