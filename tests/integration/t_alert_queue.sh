#!/usr/bin/env bash
# t_alert_queue.sh: the alert queue against a webhook sink that is down, then up: the event
# waits on disk (backoff, the refusal kept), is not sent again before its time, and is
# delivered once, late; an event pushed while the sink is up reaches it at the first round
# (the latency from the push to the sink is printed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup

PY=/usr/bin/python3
TOOL=$COFFRE_TOOLS/alertq_tool
[ -x "$TOOL" ] || skip "no alertq_tool in $COFFRE_TOOLS"
SERVERS=$COFFRE_TESTS/servers
HP=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TESTDIR/src"
chmod 600 "$COFFRE_PASSWORD_FILE"
CONF=$TESTDIR/coffre.conf
cat >"$CONF" <<CONF
[backup]
path = $TESTDIR/src
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
[daemon]
state-dir = $TESTDIR/state
[alert]
webhook-url = http://127.0.0.1:$HP/hook
language = fr
shop-name = Boulangerie Dupont
CONF
HOOKS=$TESTDIR/hooks.jsonl
posts() { [ -f "$HOOKS" ] && grep -c . "$HOOKS" || echo 0; }

log "the sink is down: the event waits, with the refusal and a backoff"
expect_exit 0 "$TOOL" push "$CONF" unprotected start
ID=$(cut -d' ' -f1 "$OUT")
expect_exit 0 "$TOOL" deliver "$CONF"
cat "$OUT"
grep -q "^delivered 0 failed 1 pending 1" "$OUT" || fail "not failed and pending"
grep -q "connection refused" "$OUT" || fail "the refusal is not said"
ls "$TESTDIR/state/alerts"/*"-$ID.json" >/dev/null || fail "the entry is not on disk"
grep -q '"attempts":1' "$TESTDIR"/state/alerts/*"-$ID.json" || fail "no attempt counted"

log "the sink is up: nothing before the backoff's end, then delivered once"
"$PY" "$SERVERS/hook_sink.py" "$HP" "$HOOKS" >"$LOGDIR/hook.out" 2>&1 &
BG_PIDS+=("$!")
wait_for 30 "webhook sink ready" grep -q ready "$LOGDIR/hook.out"
expect_exit 0 "$TOOL" deliver "$CONF"
grep -q "^delivered 0 failed 0 pending 1" "$OUT" || fail "tried again before the backoff's end"
[ "$(posts)" = 0 ] || fail "posted before the backoff's end"
expect_exit 0 "$TOOL" deliver "$CONF" +31
cat "$OUT"
grep -q "^delivered 1 failed 0 pending 0" "$OUT" || fail "not delivered after the backoff"
expect_exit 0 "$TOOL" deliver "$CONF" +3600
grep -q "^delivered 0 failed 0 pending 0" "$OUT" || fail "delivered again"
[ "$(posts)" = 1 ] || fail "$(posts) posts, expected 1"
$PY "$SERVERS/alert_check.py" hook "$HOOKS" 0 condition=unprotected severity=critical \
	state=start "id=$ID" "message~Aucune sauvegarde n'a réussi" || fail "the JSON is not right"
[ -z "$(ls "$TESTDIR/state/alerts")" ] || fail "the queue is not empty"

log "the sink up: an event reaches it at the first round"
t0=${EPOCHREALTIME/./}
expect_exit 0 "$TOOL" push "$CONF" unprotected end
expect_exit 0 "$TOOL" deliver "$CONF"
t1=${EPOCHREALTIME/./}
grep -q "^delivered 1 " "$OUT" || fail "not delivered at once"
[ "$(posts)" = 2 ] || fail "$(posts) posts, expected 2"
info "latency from the push to the sink: $(((t1 - t0) / 1000)) ms"
pass
