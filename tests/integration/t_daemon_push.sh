#!/usr/bin/env bash
# t_daemon_push.sh: coffred sends every backup to the destinations of its configuration.
#  - a NAS folder, an S3 bucket, an SFTP server and a USB drive that is not plugged in: the
#    backup is made, the NAS, S3 and SFTP get it (each restores alone on a fresh cache), the
#    drive is reported unreachable with the time it fell behind, and the spool is kept;
#  - the drive is plugged in: coffred tries it again on its own (push retry, no backup),
#    the drive catches up and is unmounted, the spool's data packs are cleared;
#  - a restart keeps what each destination is owed; coffre destinations (from the
#    configuration, no --to) agrees;
#  - a change, backup --now: every destination complete again, the new snapshot restores
#    from the drive with only the recovery key.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SERVERS=$COFFRE_TESTS/servers
[ -x "$SERVERS/node_modules/.bin/s3rver" ] || skip "s3rver is not installed (npm install --prefix tests/servers)"
usb_test_setup
cleanup_hook() {
	"$SERVERS/s3rver.sh" stop "$TESTDIR/s3" 2>/dev/null || true
	"$SERVERS/sshd.sh" stop "$TESTDIR/ssh" 2>/dev/null || true
	usb_release
}

KEYS=$TESTDIR/s3keys
printf 'S3RVER\nS3RVER\n' >"$KEYS"
chmod 600 "$KEYS" "$COFFRE_PASSWORD_FILE"
PORT=$("$SERVERS/s3rver.sh" start "$TESTDIR/s3" coffre) || fail "s3rver did not start"
S3=s3://127.0.0.1:$PORT/coffre/shop
[ -x /usr/sbin/sshd ] || skip "needs openssh-server (/usr/sbin/sshd)"
read -r SPORT SUSER FP < <("$SERVERS/sshd.sh" start "$TESTDIR/ssh") || fail "sshd did not start"
SFTP=sftp://$SUSER@127.0.0.1:$SPORT$TESTDIR/sftp-repo
NAS=$TESTDIR/nas
mkdir -p "$NAS"
USB=USB$SUF
truncate -s 64M "$TESTDIR/usb.img"
mkfs.vfat -F 32 -n "$USB" "$TESTDIR/usb.img" >/dev/null
SRC=$TESTDIR/src
STATE=$TESTDIR/state
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf

cf --json init >"$LOGDIR/init.json" || fail "init failed"
json_get "$LOGDIR/init.json" recovery_key >"$TESTDIR/recovery"
gen_data "$SRC" --size tiny --seed 31
head -c 3000000 /dev/urandom >"$SRC/scan.bin"

cat >"$CONF" <<CONF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = daily 03:00
clear-spool = yes

[destination nas]
url = $NAS

[destination cloud]
url = $S3
s3-keys-file = $KEYS

[destination box]
url = $SFTP
sftp-key-file = $TESTDIR/ssh/client_key
sftp-host-key = $FP

[destination drive]
url = usb:$USB

[daemon]
socket = $SOCK
state-dir = $STATE
CONF
expect_exit 0 cf config check --config "$CONF"

start_daemon() {
	COFFRED_PUSH_RETRY=${1:-3600} "$COFFRED" --config "$CONF" 2>>"$LOGDIR/coffred.log" &
	DPID=$!
	BG_PIDS+=("$DPID")
	wait_until 30 test -S "$SOCK" || fail "coffred did not start (no socket within 30 s)"
}
stop_daemon() {
	kill "$DPID"
	wait "$DPID" 2>/dev/null || true
}
status() { cf status --json --socket "$SOCK" >"$LOGDIR/status.json" || fail "status failed"; }
# dest NAME KEY: a field of a destination in the last status.
dest() {
	python3 - "$LOGDIR/status.json" "$1" "$2" <<'PY'
import json, sys
for d in json.load(open(sys.argv[1]))["destinations"]:
    if d["name"] == sys.argv[2]:
        v = d[sys.argv[3]]
        print("null" if v is None else v)
PY
}
restore_from() { # URL DIR [coffre options]: restore latest on a fresh cache, compare with DIR
	local url=$1 want=$2 t=$TESTDIR/r-$RANDOM
	shift 2
	XDG_CACHE_HOME=$TESTDIR/cache-$RANDOM COFFRE_S3_KEYS_FILE=$KEYS \
		cf --repo "$url" "$@" restore latest --target "$t" -q || fail "$url: restore failed"
	compare_trees "$want" "$t$SRC"
}

log "backup --now: NAS and S3 served, the drive (not plugged in) is behind, spool kept"
start_daemon 3600
t0=$(date +%s)
expect_exit 0 cf backup --now --socket "$SOCK"
grep -q "drive (usb:$USB): behind since" "$OUT" || { cat "$OUT"; fail "backup --now does not say the drive is behind"; }
status
[ "$(dest nas result)" = complete ] || fail "nas: $(dest nas result): $(dest nas error)"
[ "$(dest cloud result)" = complete ] || fail "cloud: $(dest cloud result): $(dest cloud error)"
[ "$(dest box result)" = complete ] || fail "box: $(dest box result): $(dest box error)"
[ "$(dest drive result)" = unreachable ] || fail "drive: expected unreachable, got $(dest drive result)"
since=$(dest drive pending_since)
bstart=$(json_get "$LOGDIR/status.json" last_backup.start)
[ "$since" != null ] && [ "$since" -ge $((t0 - 2)) ] || fail "drive: pending_since is $since"
[ "$(dest nas pending_since)" = null ] || fail "nas: pending_since should be null"
grep -q "destination 'drive' (usb:$USB): unreachable" "$LOGDIR/coffred.log" || fail "the log does not name the missing drive"
packs=$(find "$COFFRE_REPOSITORY/data" -type f | wc -l)
[ "$packs" -gt 0 ] || fail "the spool was cleared although the drive lacks the data"
cf status --socket "$SOCK" >"$LOGDIR/status.txt"
grep -q "drive (usb:$USB): behind since" "$LOGDIR/status.txt" || { cat "$LOGDIR/status.txt"; fail "status does not say the drive is behind"; }
grep -q "nas ($NAS): up to date" "$LOGDIR/status.txt" || { cat "$LOGDIR/status.txt"; fail "status does not say the NAS is up to date"; }
grep -q "^Last backup: today [0-9:]*, also on nas, cloud, box\.$" <<<"$(head -1 "$LOGDIR/status.txt")" ||
	{ cat "$LOGDIR/status.txt"; fail "the summary line does not say where the backup is"; }
grep -q "^WARNING: not up to date on drive" "$LOGDIR/status.txt" || fail "the summary does not warn about the drive"
cp -a "$SRC" "$TESTDIR/copy1"
restore_from "$NAS" "$TESTDIR/copy1"
restore_from "$S3" "$TESTDIR/copy1"
restore_from "$SFTP" "$TESTDIR/copy1" --sftp-key-file "$TESTDIR/ssh/client_key" --sftp-host-key "$FP"

log "a restart keeps what the drive is owed; coffre destinations agrees"
stop_daemon
start_daemon 2
status
[ "$(dest drive pending_since)" = "$since" ] || fail "the restart lost the drive's state"
expect_exit 13 cf destinations --config "$CONF"
grep -q "usb:$USB" "$ERR" || fail "destinations does not name the missing drive"
grep -q "$NAS: 0 objects pending" "$OUT" || { cat "$OUT"; fail "destinations: the NAS should lack nothing"; }

log "the drive is plugged in: coffred catches it up on its own and clears the spool"
dev=$(losetup -f --show "$TESTDIR/usb.img") || skip "losetup cannot attach an image"
LOOPS+=("$dev")
drive_complete() { status; [ "$(dest drive result)" = complete ]; }
wait_until 90 drive_complete || fail "the drive did not catch up: $(dest drive result): $(dest drive error)"
[ "$(dest drive pending_since)" = null ] || fail "drive: still pending after catching up"
[ "$(json_get "$LOGDIR/status.json" runs)" -ge 1 ] || fail "no retry run"
[ "$(json_get "$LOGDIR/status.json" last_backup.start)" = "$bstart" ] || fail "the retry counted as a backup"
grep -q "sending the backups to the destinations left behind" "$LOGDIR/coffred.log" || fail "no retry in the log"
grep -q "usb-$USB" /proc/self/mounts && fail "the drive stayed mounted"
spool_cleared() { [ "$(find "$COFFRE_REPOSITORY/data" -type f | wc -l)" -lt "$packs" ]; }
wait_until 30 spool_cleared || fail "the spool was not cleared"
grep -q "spool: .* removed" "$LOGDIR/coffred.log" || fail "the log does not say the spool was cleared"
restore_from "usb:$USB" "$TESTDIR/copy1"

log "a change, backup --now: incremental, every destination complete, restores with the recovery key"
echo "FAC-00099 total 120.00" >"$SRC/new-invoice.txt"
expect_exit 0 cf backup --now --socket "$SOCK"
status
for n in nas cloud box drive; do
	[ "$(dest "$n" result)" = complete ] || fail "$n: $(dest "$n" result): $(dest "$n" error)"
done
[ "$(json_get "$LOGDIR/status.json" last_backup.files_new)" = 1 ] || fail "the second backup was not incremental"
cp -a "$SRC" "$TESTDIR/copy2"
restore_from "usb:$USB" "$TESTDIR/copy2" --recovery-key-file "$TESTDIR/recovery"
restore_from "$S3" "$TESTDIR/copy2" --recovery-key-file "$TESTDIR/recovery"
restore_from "$SFTP" "$TESTDIR/copy2" --recovery-key-file "$TESTDIR/recovery" \
	--sftp-key-file "$TESTDIR/ssh/client_key" --sftp-host-key "$FP"
stop_daemon
pass
