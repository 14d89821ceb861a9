#!/usr/bin/env bash
# t_daemon_ctl_slow.sh: a member of the socket's group who trickles a request (a byte every
# 0.3 s) cannot freeze coffred: the daemon drops it after its one-second deadline, and a
# `coffre status` asked meanwhile is answered.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
daemon_setup
chmod 600 "$COFFRE_PASSWORD_FILE"
expect_exit 0 cf init
mkdir -p "$TESTDIR/src"
echo hello >"$TESTDIR/src/a.txt"
daemon_conf "$CONF" "daily 03:00" "$SOCK" "$STATE" -- "$TESTDIR/src"
"$COFFRED" --config "$CONF" 2>"$DLOG" &
DPID=$!
BG_PIDS+=("$DPID")
wait_for 30 "coffred creates its socket" test -S "$SOCK"
cf status --socket "$SOCK" >/dev/null || { cat "$DLOG"; fail "status before the slow client failed"; }

log "a client sends one byte every 0.3 s, without ever ending its line"
python3 - "$SOCK" "$LOGDIR/slow.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
out = open(sys.argv[2], "w")
out.write("connected\n"); out.flush()
result = "finished"
for i in range(100):          # 30 s at most
    try:
        s.send(b"s")
    except OSError:
        result = "dropped"
        break
    # the daemon closing its end shows as EOF (or a reset) on our side
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            result = "dropped"
            break
    except BlockingIOError:
        pass
    except OSError:
        result = "dropped"
        break
    s.setblocking(True)
    time.sleep(0.3)
out.write(result + "\n"); out.flush()
PY
SLOW=$!
BG_PIDS+=("$SLOW")
wait_for 30 "the slow client connects" grep -q connected "$LOGDIR/slow.out"

log "status is answered while the slow client is still trickling"
timeout 10 "$COFFRE" status --socket "$SOCK" >"$LOGDIR/status.txt" 2>&1 </dev/null ||
	{ cat "$LOGDIR/status.txt" "$DLOG"; fail "status was not answered"; }
wait "$SLOW" || true
[ "$(tail -n 1 "$LOGDIR/slow.out")" = dropped ] ||
	fail "the slow client was not dropped: $(tail -n 1 "$LOGDIR/slow.out")"
kill -0 "$DPID" 2>/dev/null || { cat "$DLOG"; fail "coffred died"; }
pass
