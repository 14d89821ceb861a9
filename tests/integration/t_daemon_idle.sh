#!/usr/bin/env bash
# t_daemon_idle.sh: coffred idles small and asleep. After its start-up backup: one thread,
# no wake-up in 5 s (voluntary context switches unchanged), libcurl not mapped (it is
# loaded only for S3 and SFTP), and a resident size under 10 MiB (not checked in an
# AddressSanitizer build, COFFRE_SANITIZE=1, whose shadow memory is resident by design).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
daemon_setup
[ -r /proc/self/status ] || skip "no /proc"
SRC=$TESTDIR/src
chmod 600 "$COFFRE_PASSWORD_FILE"
expect_exit 0 cf init
gen_data "$SRC" --seed 9 --size tiny
daemon_conf "$CONF" "after-change 1s" "$SOCK" "$STATE" -- "$SRC"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
daemon_wait_run 1
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DPID/status"; }
# asleep: coffred waits in epoll_wait (wchan do_epoll_wait or ep_poll, by kernel; state S
# where wchan is hidden) and its backup process has been reaped.
asleep() {
	local w
	w=$(cat "/proc/$DPID/wchan" 2>/dev/null || echo 0)
	case $w in
	do_epoll_wait | ep_poll) ;;
	0 | "") [ "$(awk '{ print $3 }' "/proc/$DPID/stat")" = S ] || return 1 ;;
	*) return 1 ;;
	esac
	[ -z "$(pgrep -P "$DPID" || true)" ]
}
wait_for 30 "coffred back asleep after its start-up backup" asleep

log "idle: threads, wake-ups, libraries, memory"
THREADS=$(field Threads)
V0=$(field voluntary_ctxt_switches)
N0=$(field nonvoluntary_ctxt_switches)
sleep 5	# not a wait: the idle time observed
V1=$(field voluntary_ctxt_switches)
N1=$(field nonvoluntary_ctxt_switches)
RSS=$(field VmRSS)
info "threads $THREADS; context switches in 5 s: $((V1 - V0)) voluntary, $((N1 - N0)) involuntary; VmRSS $RSS kB (anon $(field RssAnon) kB, file $(field RssFile) kB)"
[ "$THREADS" = 1 ] || fail "$THREADS threads while idle"
[ "$V1" = "$V0" ] || fail "coffred woke up $((V1 - V0)) times in 5 s of idleness"
grep -q 'libcurl' "/proc/$DPID/maps" && fail "libcurl is mapped though no destination was used"
if [ "${COFFRE_SANITIZE:-0}" = 1 ]; then
	info "AddressSanitizer build: resident size not checked"
else
	[ "$RSS" -lt 10240 ] || fail "VmRSS is $RSS kB idle, not under 10 MiB"
fi
kill -TERM "$DPID"
wait "$DPID" || fail "coffred exited with $?"
pass
