#!/usr/bin/env bash
# t_alert_daemon_auth.sh: coffred with a wrong SMTP password and a working webhook: the
# webhook gets each event once; the mail server's refusal is said plainly in coffred's log
# ("login refused"), the mail is kept and retried after its backoff, never in a storm: one
# attempt per new event, the start's mail waiting its 30 s (unprotected-after = 1 s,
# reminder = 2 s).
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
	"$TESTDIR/key.pem" shop:right >"$LOGDIR/smtp.out" 2>"$LOGDIR/smtp.err" &
BG_PIDS+=("$!")
HP=$(free_port)
HOOKS=$TESTDIR/hooks.jsonl
$PY "$SERVERS/hook_sink.py" "$HP" "$HOOKS" >"$LOGDIR/hook.out" 2>&1 &
BG_PIDS+=("$!")
wait_for 30 "SMTP sink ready" grep -q ready "$LOGDIR/smtp.out"
wait_for 30 "webhook sink ready" grep -q ready "$LOGDIR/hook.out"

mkdir -p "$TESTDIR/src"
chmod 600 "$COFFRE_PASSWORD_FILE"
printf 'wrong\n' >"$TESTDIR/smtp-pw"
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
language = en
unprotected-after = 1 s
reminder = 2 s
CONF
posts() { [ -f "$HOOKS" ] && grep -c . "$HOOKS" || echo 0; }
posts_ge() { [ "$(posts)" -ge "$1" ]; }
COFFRED_RETRY_DELAY=3600 "$COFFRED" --config "$CONF" 2>"$LOGDIR/coffred.log" &
BG_PIDS+=("$!")
wait_for 30 "coffred's control socket" test -S "$SOCK"

log "start and two reminders reach the webhook; the mail is refused, said, kept"
wait_for 60 "three webhook posts" posts_ge 3
wait_for 30 "the refusal in the log" grep -q "login refused" "$LOGDIR/coffred.log"
grep "not delivered" "$LOGDIR/coffred.log" | head -2 | sed 's/^/   /'
expect_exit 1 cf status --socket "$SOCK"
grep -q "^Alerts not delivered yet (.* waiting, tried again later): mail through .*login refused" "$OUT" ||
	{ cat "$OUT"; fail "status does not say the refusal"; }
expect_exit 1 cf status --json --socket "$SOCK"
[ "$(json_get "$OUT" alert_queue.waiting)" -ge 1 ] || fail "status --json: nothing waiting"
[[ "$(json_get "$OUT" alert_queue.last_error)" == *"login refused"* ]] || fail "status --json: no refusal"
[ ! -d "$TESTDIR/mail/new" ] || [ -z "$(ls "$TESTDIR/mail/new")" ] || fail "a mail arrived"
ids=$($PY -c 'import json,sys; print(len({json.loads(json.loads(l)["body"])["id"] for l in open(sys.argv[1])}))' "$HOOKS")
[ "$ids" = "$(posts)" ] || fail "an event reached the webhook twice"
# No storm: a failed mail attempt per new event at most (the start's mail waits 30 s; each
# new reminder replaces the one before in the queue).
events=$(grep -c "alert: unprotected: " "$LOGDIR/coffred.log")
fails=$(grep -c "not delivered" "$LOGDIR/coffred.log")
info "$events events, $fails rounds with a refusal"
[ "$fails" -le "$events" ] || fail "$fails refused rounds for $events events: a storm"
queued=$(ls "$TESTDIR/state/alerts" | wc -l)
[ "$queued" -le 2 ] || fail "$queued entries waiting (expected the start and the last reminder)"
pass
