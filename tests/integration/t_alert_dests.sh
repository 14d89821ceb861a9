#!/usr/bin/env bash
# t_alert_dests.sh: the destinations' conditions, each provoked for real with coffred running
# and told at a webhook sink (reminder = 3 s, behind-after = 4 s):
#  - a folder destination on a 1 MiB tmpfs that the backup does not fit in: "full" (with the
#    reason in details.reason) and, as no push completes, "behind" (of both destinations);
#    the tmpfs grown: one "back to normal" of each;
#  - an SFTP destination given a key the server does not know: "refused"; the right key put
#    in the key file: one end;
#  - each condition: exactly one start, at least one reminder, exactly one end; every body
#    checked against the documented schema; coffre status lists them while open.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
SERVERS=$COFFRE_TESTS/servers
[ "$(id -u)" = 0 ] || skip "needs root (a tmpfs mount, sshd)"
[ -x /usr/sbin/sshd ] || skip "OpenSSH's sshd is not installed (openssh-server)"
grep -q '^Protocols:.* sftp' <<<"$(curl -V 2>/dev/null)" || skip "libcurl has no sftp support"
NAS=$TESTDIR/nas
mkdir -p "$NAS"
mount -t tmpfs -o size=1m tmpfs "$NAS" || skip "cannot mount a tmpfs here"
cleanup_hook() {
	umount "$NAS" 2>/dev/null || true
	"$SERVERS/sshd.sh" stop "$TESTDIR/ssh" 2>/dev/null || true
}
read -r PORT USER FP < <("$SERVERS/sshd.sh" start "$TESTDIR/ssh") || fail "sshd did not start"
[ -n "${FP:-}" ] || fail "sshd did not start"
ssh-keygen -q -t ed25519 -N '' -f "$TESTDIR/stranger" || fail "ssh-keygen failed"
KEY=$TESTDIR/box-key
cp "$TESTDIR/stranger" "$KEY"
chmod 600 "$KEY"
hook_sink_start
export COFFRE_RETRY_BASE_MS=20
chmod 600 "$COFFRE_PASSWORD_FILE"
mkdir -p "$TESTDIR/src"
head -c 3000000 /dev/urandom >"$TESTDIR/src/caisse.db"
expect_exit 0 cf init -q
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = fr" "shop-name = Boutique test" \
	"reminder = 3 s" "behind-after = 4 s" "[destination nas]" "url = $NAS/coffre" \
	"[destination box]" "url = sftp://$USER@127.0.0.1:$PORT$TESTDIR/remote/repo" \
	"sftp-key-file = $KEY" "sftp-host-key = $FP" -- "$TESTDIR/src"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$!")
wait_for 30 "coffred's control socket" test -S "$SOCK"
# The conditions expected, as CONDITION:DESTINATION (both destinations fall behind).
CASES="full:nas refused:box behind:nas behind:box"
count() { hook_count "${1%:*}" "$2" "${1#*:}"; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }

log "the backup does not fit on the tmpfs, the SFTP server refuses the key"
expect_exit 0 cf backup --now --socket "$SOCK"
for c in $CASES; do
	wait_for 60 "the start of '$c'" at_least "$c" start 1
	wait_for 60 "a reminder of '$c'" at_least "$c" reminder 1
done
expect_exit 1 cf status --socket "$SOCK"
for w in "« nas » est pleine" "« box » refuse la clé" "« nas » n'a rien reçu"; do
	grep -qF "$w" "$OUT" || { cat "$OUT"; fail "status does not say '$w'"; }
done
/usr/bin/python3 - "$HOOKS" >"$LOGDIR/reasons" <<'PY'
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(json.loads(l)["body"])
    if d["state"] == "start":
        print(d["condition"], d["details"]["destination"], d["details"]["reason"], sep="|")
PY
cat "$LOGDIR/reasons"
grep -q '^full|nas|.*is too small: it is full' "$LOGDIR/reasons" || fail "the full start does not give the reason"
grep -q '^refused|box|.*refused the key' "$LOGDIR/reasons" || fail "the refused start does not give the reason"

log "the tmpfs grown, the right key: one back to normal each"
mount -o remount,size=64m "$NAS" || fail "cannot grow the tmpfs"
cp "$TESTDIR/ssh/client_key" "$KEY"
expect_exit 0 cf backup --now --socket "$SOCK"
for c in $CASES; do
	wait_for 60 "the end of '$c'" at_least "$c" end 1
done
expect_exit 0 cf status --socket "$SOCK"
for c in $CASES; do
	[ "$(count "$c" start)" = 1 ] || fail "$c: $(count "$c" start) starts"
	[ "$(count "$c" end)" = 1 ] || fail "$c: $(count "$c" end) ends"
	info "$c: 1 start, $(count "$c" reminder) reminders, 1 end"
done
N=$(grep -c . "$HOOKS")
for i in $(seq 0 $((N - 1))); do
	/usr/bin/python3 "$SERVERS/alert_check.py" hook "$HOOKS" "$i" >"$LOGDIR/check" 2>&1 ||
		{ cat "$LOGDIR/check"; fail "webhook body $i is out of the schema"; }
done
info "$N bodies checked against the schema"
pass
