#!/usr/bin/env bash
# t_alert_failed.sh: three backups in a row that fail (the repository moved away) open the
# "failed" condition: one start at a webhook sink, `coffre status` shows it first in the
# configured language and exits 1; a good backup closes it: one end, status exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
hook_sink_start
count() { hook_count failed "$1"; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
chmod 600 "$COFFRE_PASSWORD_FILE"
mkdir -p "$TESTDIR/src"
echo facture >"$TESTDIR/src/f.txt"
expect_exit 0 cf init -q
daemon_conf "$CONF" "after-change 1 s" "$SOCK" "$STATE" "[alert]" \
	"webhook-url = http://127.0.0.1:$HP/hook" "language = fr" "shop-name = Boutique test" \
	-- "$TESTDIR/src"
COFFRED_RETRY_DELAY=2 "$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
daemon_wait_run 1

log "the repository moved away: three failed runs open the condition"
mv "$COFFRE_REPOSITORY" "$TESTDIR/repo.away"
echo change >>"$TESTDIR/src/f.txt"
wait_for 90 "the start of 'failed' at the sink" at_least start 1
expect_exit 1 cf status --socket "$SOCK"
read -r FIRST <"$OUT"
[[ $FIRST == "ALERT (failed"* ]] || { cat "$OUT"; fail "status does not show the condition first"; }
grep -q "Les sauvegardes échouent" "$OUT" || { cat "$OUT"; fail "not in the configured language"; }
info "$FIRST"
expect_exit 1 cf status --json --socket "$SOCK"
[ "$(json_get "$OUT" alerts.0.condition)" = failed ] || fail "status --json lists no open condition"

log "back: a good backup closes it, once"
mv "$TESTDIR/repo.away" "$COFFRE_REPOSITORY"
wait_for 90 "the end of 'failed' at the sink" at_least end 1
expect_exit 0 cf status --socket "$SOCK"
[ "$(count start)" = 1 ] || fail "$(count start) start messages"
[ "$(count end)" = 1 ] || fail "$(count end) end messages"
pass
