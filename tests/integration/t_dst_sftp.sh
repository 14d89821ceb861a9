#!/usr/bin/env bash
# t_dst_sftp: the SFTP destination through tests/tools/dst_tool against OpenSSH's sshd started
# here on 127.0.0.1 and a free port (host key, client key and authorized_keys in the test dir):
# put/get/range/stat/list/del, uploads through NAME.tmp + rename, a replaced object, a wrong
# pinned host key (12, one clear line, nothing written), a key the server does not know (12),
# an unreachable server (13).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
DST_TOOL=${COFFRE_TOOLS:-$COFFRE_TESTS/../build/tests}/dst_tool
[ -x "$DST_TOOL" ] || skip "dst_tool not built ($DST_TOOL)"
SERVERS=$COFFRE_TESTS/servers
[ -x /usr/sbin/sshd ] || skip "OpenSSH's sshd is not installed (openssh-server)"
command -v ssh-keygen >/dev/null || skip "ssh-keygen is not installed (openssh-client)"
[ "$(id -u)" = 0 ] || skip "sshd needs root here (privilege separation)"
grep -q '^Protocols:.* sftp' <<<"$(curl -V 2>/dev/null)" || skip "libcurl has no sftp support"
export COFFRE_RETRY_BASE_MS=20

dst_error_line() {
	local n
	n=$(grep -c '' "$1" || true)
	[ "$n" = 1 ] || { cat "$1" >&2; fail "expected exactly one stderr line, got $n"; }
	grep -q '^dst_tool: ' "$1" || { cat "$1" >&2; fail "stderr line does not start with 'dst_tool: '"; }
}
cleanup_hook() { "$SERVERS/sshd.sh" stop "$TESTDIR/ssh" 2>/dev/null || true; }

log "starting sshd"
read -r PORT USER FP < <("$SERVERS/sshd.sh" start "$TESTDIR/ssh") || fail "sshd did not start"
[ -n "${FP:-}" ] || fail "sshd did not start: $(cat "$TESTDIR/ssh/sshd.log" 2>/dev/null)"
info "port $PORT, host key $FP"
REMOTE=$TESTDIR/remote
mkdir -p "$REMOTE"
URL=sftp://$USER@127.0.0.1:$PORT$REMOTE/repo
T=("$DST_TOOL" "$URL" --ssh-key "$TESTDIR/ssh/client_key" --host-key "$FP")
python3 -c 'import random,sys; open(sys.argv[1],"wb").write(random.Random(3).randbytes(3_000_000))' "$TESTDIR/big"
printf 'hello, coffre\n%.0s' $(seq 100) >"$TESTDIR/small"

log "a destination folder that does not exist yet lists empty"
expect_exit 0 "${T[@]}" list ""
[ ! -s "$OUT" ] || fail "listing of a missing folder: $(cat "$OUT")"

log "put, get, range, stat"
expect_exit 0 "${T[@]}" put config "$TESTDIR/small"
cmp -s "$TESTDIR/small" "$REMOTE/repo/config" || fail "the file on the server differs"
expect_exit 0 "${T[@]}" put data/ab/pack1 "$TESTDIR/big"
cmp -s "$TESTDIR/big" "$REMOTE/repo/data/ab/pack1" || fail "data/ab/pack1 differs on the server"
[ -z "$(find "$REMOTE" -name '*.tmp')" ] || fail "a .tmp file was left behind"
expect_exit 0 "${T[@]}" get data/ab/pack1 "$TESTDIR/got"
cmp -s "$TESTDIR/big" "$TESTDIR/got" || fail "get returned different bytes"
expect_exit 0 "${T[@]}" range config 7 6 "$TESTDIR/r"
[ "$(cat "$TESTDIR/r")" = coffre ] || fail "range returned '$(cat "$TESTDIR/r")'"
expect_exit 0 "${T[@]}" range data/ab/pack1 1000000 65536 "$TESTDIR/r"
cmp -s <(tail -c +1000001 "$TESTDIR/big" | head -c 65536) "$TESTDIR/r" || fail "range of pack1 differs"
expect_exit 4 "${T[@]}" range config 1390 20 "$TESTDIR/r"
expect_exit 0 "${T[@]}" stat data/ab/pack1
[ "$(cat "$OUT")" = 3000000 ] || fail "stat says $(cat "$OUT")"
expect_exit 15 "${T[@]}" stat nothing-here
expect_exit 15 "${T[@]}" get nothing-here "$TESTDIR/got"
dst_error_line "$ERR"

log "replacing an object"
expect_exit 0 "${T[@]}" put config "$TESTDIR/big"
expect_exit 0 "${T[@]}" stat config
[ "$(cat "$OUT")" = 3000000 ] || fail "replaced config has size $(cat "$OUT")"

log "list (recursive over data/xx/) and del"
for i in 1 2 3; do
	expect_exit 0 "${T[@]}" putbuf "data/c$i/obj$i" "$TESTDIR/small"
	expect_exit 0 "${T[@]}" putbuf "snapshots/snap$i" "$TESTDIR/small"
done
: >"$REMOTE/repo/data/c1/stale.tmp"	# an unfinished upload is not an object
expect_exit 0 "${T[@]}" list ""
[ "$(grep -c '' "$OUT")" = 8 ] || { cat "$OUT"; fail "listed $(grep -c '' "$OUT") (want 8)"; }
expect_exit 0 "${T[@]}" list data/
[ "$(grep -c '' "$OUT")" = 4 ] || { cat "$OUT"; fail "data/ listed $(grep -c '' "$OUT") (want 4)"; }
grep -q '^data/c2/obj2 1400$' "$OUT" || fail "listing lacks data/c2/obj2 1400"
expect_exit 0 "${T[@]}" list snapshots/snap2
[ "$(cat "$OUT")" = "snapshots/snap2 1400" ] || fail "prefix listing: $(cat "$OUT")"
expect_exit 0 "${T[@]}" del data/c2/obj2
[ ! -e "$REMOTE/repo/data/c2/obj2" ] || fail "del left the file"
expect_exit 15 "${T[@]}" del data/c2/obj2

log "a wrong pinned host key is refused (12, one clear line, nothing written)"
before=$(find "$REMOTE" | sort | md5sum)
expect_exit 12 "$DST_TOOL" "$URL" --ssh-key "$TESTDIR/ssh/client_key" \
	--host-key SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU put evil "$TESTDIR/small"
dst_error_line "$ERR"
grep -q "host key of 127.0.0.1:$PORT does not match the pinned fingerprint" "$ERR" || fail "unclear: $(cat "$ERR")"
info "$(cat "$ERR")"
[ "$(find "$REMOTE" | sort | md5sum)" = "$before" ] || fail "something was written"

log "a key the server does not know is refused (12)"
ssh-keygen -q -t ed25519 -N '' -f "$TESTDIR/other_key"
expect_exit 12 "$DST_TOOL" "$URL" --ssh-key "$TESTDIR/other_key" --host-key "$FP" stat config
dst_error_line "$ERR"
info "$(cat "$ERR")"

log "no pinned host key: refused before connecting"
expect_exit 12 "$DST_TOOL" "$URL" --ssh-key "$TESTDIR/ssh/client_key" stat config
dst_error_line "$ERR"

log "unreachable server (13)"
"$SERVERS/sshd.sh" stop "$TESTDIR/ssh"
expect_exit 13 "$DST_TOOL" "$URL" --ssh-key "$TESTDIR/ssh/client_key" --host-key "$FP" --retries 2 stat config
dst_error_line "$ERR"
info "$(cat "$ERR")"
pass
