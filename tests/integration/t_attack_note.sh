#!/usr/bin/env bash
# t_attack_note.sh: ransom notes known by their content, whatever their name. coffred watches
# a small tree (no control files, no scheduled backup: only the watch's signals count):
#  - 12 files renamed to an unknown extension: one kind of signal, no alarm;
#  - then two new notes named like nothing known ("VOS-FICHIERS.txt") holding an onion
#    address: the second kind, the alarm, with exactly the signals rename and note.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
chmod 600 "$COFFRE_PASSWORD_FILE"
SRC=$TESTDIR/src
for d in a b; do
	mkdir -p "$SRC/$d"
	for i in $(seq 1 6); do echo "facture $d$i" >"$SRC/$d/f$i.pdf"; done
done
expect_exit 0 cf init -q
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[detect]" "canaries = no" -- "$SRC"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"
status() { cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || [ $? = 5 ] || [ $? = 1 ]; }
dirty() { status && [ "$(json_try "$ST" pending.dirty_folders)" -ge 2 ] 2>/dev/null; }
alarm() { status && [ "$(json_try "$ST" alarm)" != null ] && [ "$(json_try "$ST" alarm)" != "?" ]; }

log "12 files renamed to .crypt: one kind, no alarm"
for d in a b; do for i in $(seq 1 6); do mv "$SRC/$d/f$i.pdf" "$SRC/$d/f$i.pdf.crypt"; done; done
wait_for 30 "coffred to see the renames" dirty
! alarm || { cat "$ST"; fail "an alarm on renames alone"; }

log "two notes with unknown names, read by their content: the alarm"
for d in a b; do
	printf 'Tous vos fichiers sont chiffres.\nhttp://k3bfwqxz7yj2kdrp.onion/pay\n' >"$SRC/$d/VOS-FICHIERS.txt"
done
wait_for 30 "the alarm" alarm
SIG=$(json_get "$ST" alarm.signals)
[ "$SIG" = '["rename", "note"]' ] || fail "signals $SIG"
info "signals: $SIG"
pass
