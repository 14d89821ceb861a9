#!/usr/bin/env bash
# t_dst_pin: a pin set on a destination, on a snapshot only the destination still holds (the
# spool forgot it: the only place it can be pinned), keeps it there push after push; a pin
# removed on the spool, of a snapshot the spool still holds, is removed on the destination
# by the next push. (One unpinned and then forgotten on the spool before any push stays
# pinned on the destinations: the safe side; unpin it there.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup
command -v faketime >/dev/null || skip "faketime is not installed (scripts/install-deps.sh)"
# gcc's ASan runs under libfaketime only when it does not insist on coming first.
[ "${COFFRE_SANITIZE:-0}" != 1 ] || export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export TZ=UTC
SRC=$TESTDIR/src
DST=$TESTDIR/dest
mkdir -p "$SRC"
echo a >"$SRC/a"
chmod 600 "$COFFRE_PASSWORD_FILE"
cat >"$TESTDIR/conf" <<CONF
[backup]
path = $SRC
repository = $COFFRE_REPOSITORY
password-file = $COFFRE_PASSWORD_FILE
keep-daily = 1
keep-weekly = 0
keep-monthly = 0
keep-within = 0
[destination d]
url = $DST
keep-daily = 2
CONF
at() { faketime -f "@$1" "$COFFRE" "${@:2}" </dev/null; }
day() {
	echo "$1" >>"$SRC/a"
	expect_exit 0 at "2026-09-$1 20:00:00" backup -q "$SRC"
	expect_exit 0 at "2026-09-$1 20:10:00" forget -q --keep-daily 1 --keep-within 0
	expect_exit 0 at "2026-09-$1 20:20:00" push -q --config "$TESTDIR/conf"
}
dest_ids() {
	expect_exit 0 cf --repo "$DST" --json snapshots
	python3 -c 'import json,sys; print(" ".join(s["id"][:8] + ("p" if s["pinned"] else "") for s in json.load(open(sys.argv[1]))))' "$OUT"
}
expect_exit 0 cf init -q
day 01
day 02
day 03
OLD=$(dest_ids | awk '{print $1}')
info "the destination holds $(dest_ids); the spool forgot $OLD"
expect_exit 1 cf pin "$OLD"
expect_exit 0 cf --repo "$DST" pin "$OLD" --reason audit
for d in 04 05 06; do
	day $d
	grep -q "${OLD}p" <<<"$(dest_ids)" || fail "day $d: the pin set on the destination was undone ($(dest_ids))"
done
info "after three more days: $(dest_ids)"
log "a pin removed on the spool goes from the destination too"
NEW=$(snapshot_ids | tail -n 1)
expect_exit 0 cf pin "$NEW"
day 07
grep -q "${NEW:0:8}p" <<<"$(dest_ids)" || fail "the spool's pin did not reach the destination"
expect_exit 0 cf unpin "$NEW"
expect_exit 0 at "2026-09-07 21:00:00" push -q --config "$TESTDIR/conf"
grep -q "${NEW:0:8}p" <<<"$(dest_ids)" && fail "the pin removed on the spool stays on the destination"
day 08
grep -q "${OLD}p" <<<"$(dest_ids)" || fail "the destination's own pin went with it"
expect_exit 0 cf --repo "$DST" check --read-data
pass
