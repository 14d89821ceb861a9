#!/usr/bin/env bash
# t_alert_desktop: a condition that opens is shown on the desktop of whoever is logged in
# graphically (desktop-notify, on by default, even without mail or webhook). A fake
# notify-send first on coffred's PATH records its uid, groups, environment and arguments; a
# graphical session is a process of uid 4242 (setpriv, no account needed) whose environment
# names DISPLAY=:99 and the session bus:
#  - nobody logged in: "unprotected" opens (the test clock 37 h on), coffred says nobody is
#    there to show it to, and nothing is run;
#  - the session started: a refused configuration opens "config": exactly one notification,
#    run as uid/gid 4242 with only the session's variables and PATH (not coffred's own), in
#    the alert's language (French here), urgency normal; its end shows nothing;
#  - a notify-send that hangs: coffred keeps answering at once, and stops it after 5 s;
#  - the ransomware alarm (a control file changed): urgency critical;
#  - desktop-notify = no (and a webhook): a condition opens, the webhook gets it, nothing is
#    shown.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (a session of another uid, notify-send run as it)"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
setup
daemon_setup
U=4242
# The fake notify-send runs as uid 4242: it must reach its program and its record.
chmod 755 "$TESTDIR"
mkdir -p "$TESTDIR/bin" "$TESTDIR/notes"
chmod 1777 "$TESTDIR/notes"
{
	echo '#!/bin/sh'
	echo "n=\$(mktemp '$TESTDIR/notes/new.XXXXXX')"
	echo "{ echo \"uid \$(id -u) gid \$(id -g) groups \$(id -G)\"; printf 'arg %s\\n' \"\$@\";"
	echo "  env | sed 's/^/env /'; } >\"\$n\""
	echo "mv \"\$n\" \"\${n%/*}/note.\${n##*.}\""
	echo "if [ -e '$TESTDIR/hang' ]; then touch '$TESTDIR/notes/hanging'; exec sleep 600; fi"
} >"$TESTDIR/bin/notify-send"
chmod 755 "$TESTDIR/bin" "$TESTDIR/bin/notify-send"
CLOCK=$TESTDIR/clock
echo $((37 * 3600)) >"$CLOCK"
chmod 600 "$COFFRE_PASSWORD_FILE"
SRC=$TESTDIR/src
mkdir -p "$SRC"
echo facture >"$SRC/f.txt"
expect_exit 0 cf init -q
# [alert] names only the language: no mail, no webhook, the desktop alone.
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" "[alert]" "language = fr" -- "$SRC"
cp "$CONF" "$TESTDIR/good.conf"
PATH=$TESTDIR/bin:$PATH COFFRED_TEST_CLOCK=$CLOCK COFFRED_LEAK=1 LANGUAGE=en LC_ALL=C.UTF-8 \
	"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred's control socket" test -S "$SOCK"

notes() { find "$TESTDIR/notes" -name 'note.*' | wc -l; }
n_notes() { [ "$(notes)" = "$1" ]; }
logged() { [ "$(grep -c -F -- "$1" "$DLOG")" -ge "${2:-1}" ]; }
bad_conf() { printf '[backup]\nbogus key\n' >"$CONF"; kill -HUP "$DPID"; }
good_conf() { cp "$TESTDIR/good.conf" "$CONF"; kill -HUP "$DPID"; }

log "nobody logged in graphically: nothing shown"
wait_for 30 "unprotected to open" logged "alert: unprotected: start"
wait_for 30 "coffred to look for a session" logged "unprotected: nobody logged in graphically"
[ "$(notes)" = 0 ] || fail "notify-send ran without a session"

log "a graphical session of uid $U"
setpriv --reuid=$U --regid=$U --clear-groups env -i DISPLAY=:99 \
	DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$U/bus XDG_RUNTIME_DIR=/run/user/$U \
	SECRET=not-for-coffre sleep 600 &
SESSION=$!
BG_PIDS+=("$SESSION")
session_up() { grep -q -z '^DISPLAY=:99$' "/proc/$SESSION/environ" 2>/dev/null; }
wait_for 10 "the session process" session_up

log "a refused configuration opens config: one notification, as uid $U, its variables only"
bad_conf
wait_for 30 "config to open" logged "alert: config: start"
wait_for 30 "one notification" n_notes 1
wait_for 30 "coffred to log it" logged "config shown on the desktop of uid $U"
N=$(find "$TESTDIR/notes" -name 'note.*')
cp "$N" "$LOGDIR/note-config.txt"
info "notification: $(grep '^arg' "$N" | cut -c5- | tr '\n' '|')"
grep -q -x "uid $U gid $U groups $U" "$N" || fail "not run as $U alone: $(head -n1 "$N")"
grep -q -x "env DISPLAY=:99" "$N" || fail "no DISPLAY"
grep -q -x "env DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$U/bus" "$N" || fail "no session bus"
grep -q -x "env XDG_RUNTIME_DIR=/run/user/$U" "$N" || fail "no XDG_RUNTIME_DIR"
! grep -q -E "^env (SECRET|COFFRED_LEAK|COFFRED_TEST_CLOCK|LANGUAGE|HOME)=" "$N" ||
	fail "variables beyond the session's: $(grep '^env' "$N" | tr '\n' ' ')"
grep -q -x "arg normal" "$N" || fail "urgency not normal"
grep -q -x "arg coffre" "$N" || fail "not named coffre (-a coffre)"
grep -q "^arg .*configuration" "$N" || fail "the text does not speak of the configuration"
grep -q "^arg .*[éèà]" "$N" || fail "the text is not in French"
good_conf
wait_for 30 "config to end" logged "alert: config: end"
[ "$(notes)" = 1 ] || fail "$(notes) notifications: an end was shown"

log "a notify-send that hangs does not stop coffred"
touch "$TESTDIR/hang"
bad_conf
wait_for 30 "the hanging notify-send" test -e "$TESTDIR/notes/hanging"
t0=$EPOCHREALTIME
expect_exit "0|1|5" cf status --socket "$SOCK"
t1=$EPOCHREALTIME
ms=$(( (${t1/./} - ${t0/./}) / 1000 ))
info "coffre status answered in $ms ms while notify-send hung"
[ "$ms" -lt 2000 ] || fail "coffred took $ms ms to answer while notify-send hung"
wait_for 30 "the hanging notify-send stopped" logged "took too long: stopped"
rm "$TESTDIR/hang"
good_conf
wait_for 30 "config to end again" logged "alert: config: end" 2

log "the ransomware alarm: urgency critical"
CAN=$(find "$SRC" -name '*coffre-canary*' | head -n1)
[ -n "$CAN" ] || fail "no control file in $SRC"
echo "encrypted" >>"$CAN"
wait_for 30 "attack to open" logged "alert: attack: start"
wait_for 30 "coffred to show it" logged "attack shown on the desktop of uid $U"
A=$(grep -l -x "arg critical" "$TESTDIR"/notes/note.* || true)
[ -n "$A" ] && [ "$(wc -l <<<"$A")" = 1 ] || fail "not one critical notification: '$A'"
info "attack: $(grep '^arg' "$A" | cut -c5- | tr '\n' '|')"

log "desktop-notify = no (a webhook instead): nothing shown"
hook_sink_start
before=$(notes)
{ cat "$TESTDIR/good.conf"; echo "desktop-notify = no"; echo "webhook-url = http://127.0.0.1:$HP/hook"; } >"$CONF"
kill -HUP "$DPID"
wait_for 30 "the reload" logged "configuration reloaded" 3
bad_conf
wait_for 30 "config to open a third time" logged "alert: config: start" 3
wait_for 30 "the webhook to get it" hook_at_least 1 config start
[ "$(notes)" = "$before" ] || fail "shown with desktop-notify = no"
! logged "config shown on the desktop" 2 || fail "coffred says it showed it with desktop-notify = no"
pass
