#!/usr/bin/env bash
# t_dst_links.sh: a folder destination (a NAS share, a USB drive) is not trusted: symbolic
# links planted in it must not send coffre's writes elsewhere on the machine. A push to a
# destination whose snapshots/ or keys/ folder, or whose every data/xx folder, is a link to
# another place is refused and writes nothing there; an object name that is a link is
# replaced, never written through; a restore from the spool is unaffected.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup
T=$TESTDIR
expect_exit 0 cf init
gen_data "$T/src" --size tiny --seed 9
cf backup "$T/src" -q || fail "backup failed"

# push_refused NAME: push to $T/NAME must fail and leave $T/victim-NAME empty.
push_refused() {
	local rc=0
	cf push --to "$T/$1" >"$LOGDIR/$1.out" 2>"$LOGDIR/$1.err" || rc=$?
	[ "$rc" != 0 ] || fail "$1: the push went through the link"
	[ -z "$(ls -A "$T/victim-$1")" ] || { ls -la "$T/victim-$1"; fail "$1: coffre wrote through the link"; }
	grep -q "symbolic link" "$LOGDIR/$1.err" || { cat "$LOGDIR/$1.err"; fail "$1: the error does not say why"; }
}

log "snapshots/ is a link to another folder"
mkdir -p "$T/nas1" "$T/victim-nas1"
ln -s "$T/victim-nas1" "$T/nas1/snapshots"
push_refused nas1

log "keys/ is a link to another folder"
mkdir -p "$T/nas2" "$T/victim-nas2"
ln -s "$T/victim-nas2" "$T/nas2/keys"
push_refused nas2

log "every data/xx folder is a link to another folder"
mkdir -p "$T/nas3/data" "$T/victim-nas3"
for i in $(seq 0 255); do ln -s "$T/victim-nas3" "$T/nas3/data/$(printf %02x "$i")"; done
push_refused nas3

log "config is a link to a file elsewhere: replaced, the file untouched"
mkdir -p "$T/nas4"
printf 'precious\n' >"$T/victim-file"
ln -s "$T/victim-file" "$T/nas4/config"
cf push --to "$T/nas4" -q || fail "push to nas4 failed"
[ "$(cat "$T/victim-file")" = precious ] || fail "the file behind the link was overwritten"
[ -f "$T/nas4/config" ] && [ ! -L "$T/nas4/config" ] || fail "config is still a link"
cf --repo "$T/nas4" check -q || fail "the copy on nas4 does not check"
pass
