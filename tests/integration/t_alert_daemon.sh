#!/usr/bin/env bash
# t_alert_daemon.sh: coffred tells, by mail (STARTTLS + AUTH) and webhook, that the shop is
# not protected, with durations shortened (unprotected-after = 2 s, reminder = 3 s):
#  - backups fail (no repository): one start message once 2 s have passed since coffred
#    first watched, then reminders;
#  - coffred restarted while the condition lasts: no second start (kept in the state folder);
#  - a backup succeeds: one "back to normal" at once;
#  - the latency from each event to the webhook sink and to the SMTP sink is printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

PY=/usr/bin/python3
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is needed (scripts/install-deps.sh)"
COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
SERVERS=$COFFRE_TESTS/servers
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
	-keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
TP=$(free_port)
$PY "$SERVERS/smtp_sink.py" "$TP" "$TESTDIR/mail" starttls "$TESTDIR/cert.pem" \
	"$TESTDIR/key.pem" shop:pw >"$LOGDIR/smtp.out" 2>"$LOGDIR/smtp.err" &
BG_PIDS+=("$!")
HP=$(free_port)
HOOKS=$TESTDIR/hooks.jsonl
$PY "$SERVERS/hook_sink.py" "$HP" "$HOOKS" >"$LOGDIR/hook.out" 2>&1 &
BG_PIDS+=("$!")
wait_for 30 "SMTP sink ready" grep -q ready "$LOGDIR/smtp.out"
wait_for 30 "webhook sink ready" grep -q ready "$LOGDIR/hook.out"

mkdir -p "$TESTDIR/src"
echo facture >"$TESTDIR/src/f.txt"
chmod 600 "$COFFRE_PASSWORD_FILE"
printf 'pw\n' >"$TESTDIR/smtp-pw"
chmod 600 "$TESTDIR/smtp-pw"
SOCK=$TESTDIR/run/coffred.sock
CONF=$TESTDIR/coffre.conf
cat >"$CONF" <<CONF
[backup]
path = $TESTDIR/src
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
schedule = daily 03:00
[daemon]
socket = $SOCK
state-dir = $TESTDIR/state
[alert]
smtp-url = smtp://127.0.0.1:$TP
smtp-user = shop
smtp-password-file = $TESTDIR/smtp-pw
ca-file = $TESTDIR/cert.pem
mail-to = patron@boulangerie.test
webhook-url = http://127.0.0.1:$HP/hook
language = fr
shop-name = Boulangerie Dupont
unprotected-after = 2 s
reminder = 3 s
CONF
# count STATE: webhook POSTs of the condition "unprotected" in that state.
count() {
	[ -f "$HOOKS" ] || { echo 0; return; }
	$PY - "$HOOKS" "$1" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(json.loads(l)["body"])
    n += d["condition"] == "unprotected" and d["state"] == sys.argv[2]
print(n)
PY
}
at_least() { [ "$(count "$1")" -ge "$2" ]; }
mails() { ls "$TESTDIR/mail/new" 2>/dev/null | wc -l; }
mails_at_least() { [ "$(mails)" -ge "$1" ]; }
start_daemon() {
	COFFRED_RETRY_DELAY=3600 "$COFFRED" --config "$CONF" 2>>"$LOGDIR/coffred.log" &
	DPID=$!
	BG_PIDS+=("$DPID")
	wait_for 30 "coffred's control socket" test -S "$SOCK"
}

log "no repository: backups fail; after 2 s, one start message, then reminders"
start_daemon
wait_for 30 "the start message" at_least start 1
wait_for 30 "a reminder" at_least reminder 1
[ "$(count start)" = 1 ] || fail "$(count start) start messages"
$PY "$SERVERS/alert_check.py" hook "$HOOKS" 0 condition=unprotected state=start \
	severity=critical "message~Aucune sauvegarde n'a réussi" || fail "the start's JSON"
wait_for 30 "the mails" mails_at_least 2
s=$(grep -l "X-Coffre-State: start" "$TESTDIR"/mail/new/*) || fail "no start mail"
[ "$(wc -l <<<"$s")" = 1 ] || fail "more than one start mail"
$PY "$SERVERS/alert_check.py" mail "$s" "subject~[Boulangerie Dupont] Données non protégées" \
	"rcpt=patron@boulangerie.test" "body~Que faire" "header=X-Coffre-Severity:critical" ||
	fail "the start mail is not right"

log "coffred restarted while it lasts: no second start"
kill -TERM "$DPID"
wait_for 30 "coffred to stop" gone "$DPID"
r=$(count reminder)
start_daemon
wait_for 30 "a reminder after the restart" at_least reminder $((r + 1))
[ "$(count start)" = 1 ] || fail "$(count start) start messages after the restart"

log "a good backup: one 'back to normal' at once"
expect_exit 0 cf init
expect_exit 0 cf backup --now --socket "$SOCK"
wait_for 30 "the end message" at_least end 1
wait_for 30 "the end mail" grep -q "X-Coffre-State: end" "$TESTDIR"/mail/new/*
e=$(grep -l "X-Coffre-State: end" "$TESTDIR"/mail/new/* | head -1)
$PY "$SERVERS/alert_check.py" mail "$e" "subject~Retour à la normale" \
	"body~sont de nouveau protégées" || fail "the end mail is not right"
# Up to the end: one start, reminders, one end (2 s after the backup the shop is "not
# protected" again by this test's durations: what follows is a new condition).
$PY - "$HOOKS" <<'PY' || fail "the events up to the end are not start, reminder..., end"
import json, re, sys
seq = "".join(json.loads(json.loads(l)["body"])["state"][0] for l in open(sys.argv[1]))
print("   events at the webhook sink: " + seq + " (s start, r reminder, e end)")
sys.exit(0 if re.match(r"^sr+e", seq) else 1)
PY
$PY - "$HOOKS" "$TESTDIR/mail/new" <<'PY'
import calendar, email, json, os, re, sys, time
worst, made = 0, {}
for l in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(l); d = json.loads(r["body"])
    at = calendar.timegm(time.strptime(d["at"], "%Y-%m-%dT%H:%M:%SZ"))
    made[d["id"]] = at
    worst = max(worst, r["received"] - at)
print("   latency from an event to the webhook sink: at most %.2f s (whole-second event times)" % worst)
# A mail's Message-ID carries its event's id: its file's time at the sink against the event's.
mworst, n = 0, 0
for f in os.listdir(sys.argv[2]):
    p = os.path.join(sys.argv[2], f)
    m = re.match(r"<([0-9a-f]{32})\.", email.message_from_binary_file(open(p, "rb"))["Message-ID"])
    if m and m.group(1) in made:
        n += 1
        mworst = max(mworst, os.stat(p).st_mtime - made[m.group(1)])
print("   latency from an event to the SMTP sink: at most %.2f s over %d mails" % (mworst, n))
PY
grep -q "alerts: 1 delivered" "$LOGDIR/coffred.log" || fail "no delivery in coffred's log"
pass
