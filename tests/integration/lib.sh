# lib.sh: shared helpers for coffre's integration tests (sourced by every t_*.sh).
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   COFFRE        path of the coffre binary (default: build/cli/coffre, then coffre in PATH)
#   COFFRE_TOOLS  build/tests dir (helper programs)
#   COFFRE_TESTS  source tests/ dir (default: the parent of this file)
#   COFFRE_SANITIZE  1 when the binaries are built with ASan and UBSan (CMake option
#                 COFFRE_SANITIZE); unset or 0 otherwise. Set it by hand for such a build.
#   KEEP=1        keep the test's temporary directory (its path is printed)
#
# Conventions: tests print what they do ("== ..."), end with "PASS: <name>", fail with a
# non-zero exit ("FAIL: ..." on stderr), and exit 77 after printing "SKIP: <why>".

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${COFFRE_TESTS:=$(cd "$_lib_dir/.." && pwd)}"
export COFFRE_TESTS
GEN_DATA="$COFFRE_TESTS/gen-data.py"
TEST_NAME=$(basename "$0" .sh)

. "$_lib_dir/wait.sh"	# wait_until, gone

log() { printf '== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
fail() { printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s: %s\n' "$TEST_NAME" "$*"; exit 77; }
pass() { printf 'PASS: %s\n' "$TEST_NAME"; exit 0; }

_find_coffre() {
	if [ -n "${COFFRE:-}" ]; then
		[ -x "$COFFRE" ] || fail "COFFRE=$COFFRE is not an executable file"
		return
	fi
	local c
	for c in "$COFFRE_TESTS/../build/cli/coffre" "$(command -v coffre 2>/dev/null || true)"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			COFFRE=$(cd "$(dirname "$c")" && pwd)/$(basename "$c")
			export COFFRE
			return
		fi
	done
	skip "no coffre binary (set COFFRE=path/to/coffre)"
}

# setup: temp dir, repository path, password file, cache; removed on exit unless KEEP=1.
# Sets TESTDIR (canonical path), LOGDIR (captured outputs), COFFRE_REPOSITORY,
# COFFRE_PASSWORD_FILE, XDG_CACHE_HOME. Tests define cleanup_hook() for extra cleanup
# (it runs first, e.g. to unmount) and add background pids to BG_PIDS.
BG_PIDS=()
setup() {
	_find_coffre
	command -v python3 >/dev/null || skip "python3 is needed"
	TESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/coffre-$TEST_NAME.XXXXXX")
	TESTDIR=$(cd "$TESTDIR" && pwd -P)
	trap _cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	LOGDIR=$TESTDIR/log
	mkdir -p "$LOGDIR"
	export COFFRE_REPOSITORY=$TESTDIR/repo
	printf '%s' 'correct horse battery staple' >"$TESTDIR/password"
	export COFFRE_PASSWORD_FILE=$TESTDIR/password
	unset COFFRE_PASSWORD
	export XDG_CACHE_HOME=$TESTDIR/cache
	export HOME=$TESTDIR/home
	mkdir -p "$HOME"
	info "test dir: $TESTDIR"
	info "coffre: $COFFRE"
}

_cleanup() {
	local rc=$? p
	trap - EXIT
	if declare -F cleanup_hook >/dev/null; then cleanup_hook || true; fi
	for p in "${TMPFS_DISKS[@]}"; do
		if mountpoint -q "$p"; then umount "$p" || umount -l "$p"; fi
	done
	if [ -n "${RGW:-}" ]; then "$COFFRE_TESTS/servers/radosgw.sh" stop "$RGW" 2>/dev/null || true; fi
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		kill -CONT "$p" 2>/dev/null || true	# a stopped process would never see the TERM
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${TESTDIR:-}" ] && [ -d "$TESTDIR" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept: $TESTDIR"
		else
			chmod -R u+rwX "$TESTDIR" 2>/dev/null || true
			rm -rf "$TESTDIR"
			[ "$rc" = 0 ] || [ "$rc" = 77 ] || echo "(rerun with KEEP=1 to keep the test dir)" >&2
		fi
	fi
	exit "$rc"
}

# tmpfs_disk DIR SIZE: a tmpfs of SIZE (8m...) mounted on DIR, made here, unmounted on exit;
# skips the test where it cannot be mounted (not root, no permission).
TMPFS_DISKS=()
tmpfs_disk() {
	[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>"$LOGDIR/mount.err" ||
		skip "cannot mount a tmpfs: $(cat "$LOGDIR/mount.err")"
	TMPFS_DISKS+=("$1")
}

# cf ARGS...: run coffre (stdin from /dev/null: it must never prompt).
cf() { "$COFFRE" "$@" </dev/null; }

# expect_exit CODE[|CODE...] cmd...: run cmd with stdout in $OUT and stderr in $ERR (files,
# kept in $LOGDIR), its exit code in $RC; fail showing both if the code is not one of CODE.
_n=0
expect_exit() {
	local want=$1
	shift
	_n=$((_n + 1))
	OUT=$LOGDIR/$_n.out
	ERR=$LOGDIR/$_n.err
	RC=0
	"$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
	case "|$want|" in
	*"|$RC|"*) return 0 ;;
	esac
	{
		echo "command: $*"
		echo "--- stdout (last 30 lines):"
		tail -n 30 "$OUT"
		echo "--- stderr (last 30 lines):"
		tail -n 30 "$ERR"
	} >&2
	fail "expected exit $want, got $RC from: $*"
}

# wait_for SECONDS WHAT CMD...: wait until CMD succeeds (wait_until, wait.sh); fail, saying
# WHAT did not happen, once SECONDS have passed.
wait_for() {
	local secs=$1 what=$2
	shift 2
	wait_until "$secs" "$@" || fail "$what: not within $secs s"
}

# json_get FILE KEY: print a value of a JSON document; KEY is dotted ("a.0.b", "" = all).
# Strings print raw, true/false/null as such, objects and lists as JSON. Fails the test if the
# key is missing; json_try prints "?" instead (for informational output).
json_get() { _json_value "$1" "$2" || fail "json_get $2: no such key or bad JSON in $1"; }
json_try() { _json_value "$1" "$2" 2>/dev/null || echo "?"; }
_json_value() {
	python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1], "rb") as f:
    d = json.load(f)
for k in (sys.argv[2].split(".") if sys.argv[2] else []):
    d = d[int(k)] if isinstance(d, list) else d[k]
if isinstance(d, bool):
    print("true" if d else "false")
elif d is None:
    print("null")
elif isinstance(d, (dict, list)):
    print(json.dumps(d))
else:
    print(d)
PY
}

# manifest DIR [--exclude REL]...: canonical sorted listing of the tree under DIR, one line per
# entry (DIR itself is "."): path, type, mode, size, mtime (s), symlink target, sha256, hard-link
# group, and uid:gid when running as root. coffred's control files (!coffre-canary-*, left out
# of restores by default) are left out. Paths and targets are escaped (\\ \n \t \xNN) so
# newlines and non-UTF-8 bytes are unambiguous. Hard-link groups ("h1", "h2"...) number the
# files that share an inode within the tree, in path order; "-" for a single name.
# Directory sizes are left out (filesystem-dependent). An excluded entry and its content are
# neither listed nor read.
manifest() {
	python3 - "$@" <<'PY'
import errno, hashlib, os, stat, sys

root = os.fsencode(sys.argv[1])
args = sys.argv[2:]
excl = set()
while args:
    if args[0] == "--exclude" and len(args) > 1:
        excl.add(os.fsencode(args[1]).strip(b"/"))
        args = args[2:]
    else:
        sys.exit("manifest: bad argument %r" % args[0])
with_owner = os.geteuid() == 0

def esc(b):
    out = []
    for c in b:
        if c == 0x5C: out.append("\\\\")
        elif c == 0x0A: out.append("\\n")
        elif c == 0x09: out.append("\\t")
        elif 0x20 <= c < 0x7F: out.append(chr(c))
        else: out.append("\\x%02x" % c)
    return "".join(out)

ZERO = bytes(1 << 20)

def sha256(path, size):
    """Hash of the first size bytes; holes (SEEK_HOLE) are hashed as zeros without reading."""
    h = hashlib.sha256()
    def zeros(n):
        while n > 0:
            k = min(n, len(ZERO))
            h.update(ZERO[:k])
            n -= k
    with open(path, "rb", buffering=0) as f:
        fd = f.fileno()
        pos = 0
        while pos < size:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    data = size
                elif e.errno == errno.EINVAL:   # no SEEK_DATA here: read everything
                    data = pos
                else:
                    raise
            data = min(data, size)
            zeros(data - pos)
            if data >= size:
                break
            try:
                hole = min(os.lseek(fd, data, os.SEEK_HOLE), size)
            except OSError:
                hole = size
            if hole <= data:
                hole = size
            os.lseek(fd, data, os.SEEK_SET)
            n = hole - data
            while n > 0:
                b = os.read(fd, min(n, 1 << 20))
                if not b:
                    sys.exit("manifest: %s shrank while hashed" % esc(path))
                h.update(b)
                n -= len(b)
            pos = hole
    return h.hexdigest()

entries = []          # (rel, st)
def walk(rel):
    full = os.path.join(root, rel) if rel != b"." else root
    st = os.lstat(full)
    entries.append((rel, st))
    if stat.S_ISDIR(st.st_mode):
        for name in os.listdir(full):
            r = name if rel == b"." else rel + b"/" + name
            if r in excl or name.startswith(b"!coffre-canary-"):
                continue
            walk(r)
walk(b".")
entries.sort(key=lambda e: e[0])

inodes = {}
for rel, st in entries:
    if stat.S_ISREG(st.st_mode):
        inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
group = {}
n = 0
for rel, st in entries:
    key = (st.st_dev, st.st_ino)
    if stat.S_ISREG(st.st_mode) and len(inodes[key]) > 1 and key not in group:
        n += 1
        group[key] = "h%d" % n

out = sys.stdout
for rel, st in entries:
    m = st.st_mode
    full = os.path.join(root, rel) if rel != b"." else root
    mode, size, target, digest = "%04o" % stat.S_IMODE(m), "-", "-", "-"
    if stat.S_ISREG(m):
        t, size, digest = "f", str(st.st_size), sha256(full, st.st_size)
    elif stat.S_ISDIR(m):
        t = "d"
    elif stat.S_ISLNK(m):
        t, mode, target = "l", "-", esc(os.readlink(full))
    elif stat.S_ISFIFO(m):
        t = "p"
    elif stat.S_ISSOCK(m):
        t = "s"
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        t = "c" if stat.S_ISCHR(m) else "b"
        size = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    else:
        t = "?"
    link = group.get((st.st_dev, st.st_ino), "-") if t == "f" else "-"
    fields = [esc(rel), t, mode, size, str(st.st_mtime_ns // 10**9), target, digest, link]
    if with_owner:
        fields.append("%d:%d" % (st.st_uid, st.st_gid))
    out.write("\t".join(fields) + "\n")
PY
}

# compare_trees A B [--exclude REL]...: fail, showing the differences, unless the manifests
# of A and B are identical.
_cmp_n=0
compare_trees() {
	local a=$1 b=$2
	shift 2
	[ -d "$a" ] || fail "compare_trees: $a is not a directory"
	[ -d "$b" ] || fail "compare_trees: $b is not a directory"
	_cmp_n=$((_cmp_n + 1))
	local ma=$LOGDIR/manifest.$_cmp_n.a mb=$LOGDIR/manifest.$_cmp_n.b
	manifest "$a" "$@" >"$ma" || fail "manifest of $a failed"
	manifest "$b" "$@" >"$mb" || fail "manifest of $b failed"
	if ! diff -u --label "$a" --label "$b" "$ma" "$mb" >"$LOGDIR/manifest.$_cmp_n.diff"; then
		echo "trees differ (- $a, + $b); fields: path type mode size mtime target sha256 link [owner]" >&2
		head -n 60 "$LOGDIR/manifest.$_cmp_n.diff" >&2
		fail "restored tree differs from the original"
	fi
	info "trees identical ($(wc -l <"$ma") entries): $b"
}

# flip_byte FILE: one bit of the byte in the middle of FILE turned over, in place (size and
# name unchanged).
flip_byte() {
	python3 - "$1" <<'PY' || fail "cannot flip a byte of $1"
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x20]))
PY
}

# is_sparse FILE: true if the blocks allocated to FILE hold less than half its size.
is_sparse() {
	local blocks unit size
	read -r blocks unit size < <(stat -c '%b %B %s' -- "$1") || return 1
	[ $((blocks * unit)) -lt $((size / 2)) ]
}

# gen_data ARGS...: run tests/gen-data.py.
gen_data() { python3 "$GEN_DATA" "$@" || fail "gen-data.py $* failed"; }

# snapshot_ids: full ids of the repository's snapshots, one per line, in listed order.
snapshot_ids() {
	local f=$LOGDIR/snapshots.$((_n + 1)).json
	cf --json snapshots >"$f" || fail "snapshots --json failed"
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"])' "$f" || fail "bad snapshots --json output in $f"
}

# check_hex64 VALUE WHAT: fail unless VALUE is a 64-hex snapshot id.
check_hex64() {
	[[ $1 =~ ^[0-9a-f]{64}$ ]] || fail "$2 is not a 64-hex id: '$1'"
}

# one_error_line FILE: fail unless FILE (stderr) is exactly one line starting "coffre: ".
one_error_line() {
	local n
	n=$(grep -c '' "$1" || true)
	[ "$n" = 1 ] || { cat "$1" >&2; fail "expected exactly one stderr line, got $n"; }
	grep -q '^coffre: ' "$1" || { cat "$1" >&2; fail "stderr line does not start with 'coffre: '"; }
}

# repo_state DIR: files under DIR with size, mtime and sha256 (to show nothing was written).
repo_state() {
	python3 - "$1" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
lines = []
for dp, dns, fns in os.walk(root):
    for n in fns:
        p = os.path.join(dp, n)
        st = os.lstat(p)
        h = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else "-"
        lines.append("%s %d %d %s" % (os.path.relpath(p, root), st.st_size, st.st_mtime_ns, h))
print("\n".join(sorted(lines)))
PY
}

# daemon_conf FILE SCHEDULE SOCKET STATE_DIR [EXTRA_DAEMON_LINE...] -- PATH...: write a coffred
# configuration protecting PATH... into the test's repository.
daemon_conf() {
	local file=$1 sched=$2 sock=$3 state=$4
	shift 4
	local extra=() p
	while [ $# -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	{
		echo "[backup]"
		for p in "$@"; do echo "path = $p"; done
		echo "repository = $COFFRE_REPOSITORY"
		echo "password-file = $COFFRE_PASSWORD_FILE"
		echo "schedule = $sched"
		echo "[daemon]"
		echo "socket = $sock"
		echo "state-dir = $state"
		for p in "${extra[@]}"; do echo "$p"; done
	} >"$file"
}

# daemon_setup: for tests that run coffred. Sets COFFRED (skips without it), STATE, SOCK,
# CONF, DLOG (the daemon's stderr) and ST (where daemon_wait_run leaves the status).
daemon_setup() {
	COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
	[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE (set COFFRED=)"
	STATE=$TESTDIR/state
	SOCK=$TESTDIR/run/coffred.sock
	CONF=$TESTDIR/coffre.conf
	DLOG=$LOGDIR/coffred.log
	ST=$LOGDIR/status.json
}

# daemon_wait_run N: wait (at most 60 s) until coffred ($DPID) is idle after run #N, which
# must have succeeded; $ST then holds its status.
daemon_wait_run() {
	wait_until 60 _daemon_ran "$1" || { cat "$DLOG" >&2; fail "run #$1 did not end within 60 s"; }
	[ "$(json_get "$ST" last_backup.result)" = ok ] ||
		{ cat "$DLOG" >&2; fail "run #$1: $(json_get "$ST" last_backup.result)"; }
}
_daemon_ran() {
	local r
	kill -0 "$DPID" 2>/dev/null || { cat "$DLOG" >&2; fail "coffred died"; }
	cf status --json --socket "$SOCK" >"$ST" 2>/dev/null || return 1
	r=$(json_try "$ST" last_backup.run)
	[ "$r" != "?" ] && [ "$r" != null ] && [ "$r" -ge "$1" ] && [ "$(json_try "$ST" state)" = idle ]
}

# daemon_hup: SIGHUP to coffred ($DPID), and wait until it has served it: its log ($DLOG)
# says it reloads, and it answers a request on $SOCK (served after the reload, on its loop).
daemon_hup() {
	local n
	n=$(_daemon_reloads)
	kill -HUP "$DPID"
	wait_for 30 "coffred's reload" _daemon_reloaded_past "$n"
	cf status --socket "$SOCK" >/dev/null 2>&1 || true
}
_daemon_reloads() { grep -c "reloading the configuration" "$DLOG" || true; }
# Counted at each try: an argument "$(_daemon_reloads)" would be counted once, before waiting.
_daemon_reloaded_past() { [ "$(_daemon_reloads)" -gt "$1" ]; }

# hook_sink_start: a webhook sink (tests/servers/hook_sink.py) on a free port of 127.0.0.1;
# sets HP (its port) and HOOKS (the POSTs it got, one JSON line each).
hook_sink_start() {
	HP=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	HOOKS=$TESTDIR/hooks.jsonl
	/usr/bin/python3 "$COFFRE_TESTS/servers/hook_sink.py" "$HP" "$HOOKS" >"$LOGDIR/hook.out" 2>&1 &
	BG_PIDS+=("$!")
	wait_for 30 "webhook sink ready" grep -qs ready "$LOGDIR/hook.out"
}

# hook_count COND STATE [DEST]: how many alerts of condition COND in state STATE (of the
# destination DEST) the sink got.
hook_count() {
	[ -f "$HOOKS" ] || { echo 0; return; }
	/usr/bin/python3 - "$HOOKS" "$1" "$2" "${3:-}" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(json.loads(l)["body"])
    n += d["condition"] == sys.argv[2] and d["state"] == sys.argv[3] and (
        not sys.argv[4] or d["details"]["destination"] == sys.argv[4])
print(n)
PY
}

# hook_at_least N COND STATE [DEST]: the sink got N alerts or more of COND in STATE (counted
# at each try of wait_for).
hook_at_least() { local n=$1; shift; [ "$(hook_count "$@")" -ge "$n" ]; }

# rgw_need: skip unless a one-node Ceph cluster with radosgw and the AWS CLI can run here.
rgw_need() {
	local b
	for b in ceph-mon ceph-osd radosgw radosgw-admin; do
		command -v "$b" >/dev/null || skip "$b is not installed (ceph-mon, ceph-osd, radosgw: scripts/install-deps.sh)"
	done
	command -v aws >/dev/null || skip "the AWS CLI (aws) is not installed (awscli)"
}

# rgw_start: starts it (tests/servers/radosgw.sh; RGW_DEBUG passes through) in RGW=$TESTDIR/rgw,
# stopped when the test ends; sets PORT and exports COFFRE_S3_KEYS_FILE and the AWS CLI's
# credentials for it.
rgw_start() {
	RGW=$TESTDIR/rgw
	log "starting a one-node Ceph cluster with radosgw"
	local t0=$SECONDS
	PORT=$("$COFFRE_TESTS/servers/radosgw.sh" start "$RGW" 2>"$LOGDIR/rgw-start.err") ||
		{ cat "$LOGDIR/rgw-start.err"; fail "radosgw did not start"; }
	info "up in $((SECONDS - t0)) s on port $PORT"
	export COFFRE_S3_KEYS_FILE=$RGW/keys
	AWS_ACCESS_KEY_ID=$(sed -n 1p "$RGW/keys")
	AWS_SECRET_ACCESS_KEY=$(sed -n 2p "$RGW/keys")
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=us-east-1
	export AWS_CONFIG_FILE=$TESTDIR/aws-config AWS_SHARED_CREDENTIALS_FILE=$TESTDIR/aws-credentials
}

# usb_test_setup: skip unless FAT32 drive images can be attached and mounted here; sets SUF
# (a suffix for drive labels, also in their mount points) and LOOPS (loop devices to detach).
usb_test_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (loop devices for the USB drive)"
	[ -c /dev/fuse ] && command -v fusefat >/dev/null && command -v mkfs.vfat >/dev/null ||
		skip "needs /dev/fuse, fusefat and dosfstools (FAT32 drive image)"
	SUF=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ' | tr a-f A-F)
	LOOPS=()
}

# usb_release: unmount what is mounted under a SUF-labelled path, detach LOOPS and any loop
# device still backed by an image of TESTDIR (one attached in a subshell is not in LOOPS).
usb_release() {
	local m l
	for m in $(awk -v s="$SUF" 'index($2, s) {print $2}' /proc/self/mounts); do
		fusermount -u "$m" 2>/dev/null || umount "$m" 2>/dev/null || true
	done
	for l in ${LOOPS[@]+"${LOOPS[@]}"} $(losetup -n -O NAME,BACK-FILE 2>/dev/null |
		awk -v d="$TESTDIR/" 'index($2, d) == 1 {print $1}'); do
		losetup -d "$l" 2>/dev/null || true
	done
}

# tamper_signed IN OUT: OUT is the signed document IN (signdoc JSON) with one character of
# its payload changed: its signature no longer verifies.
tamper_signed() {
	python3 - "$1" "$2" <<'PY' || fail "cannot tamper with $1"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["payload"]
i = len(p) // 2
d["payload"] = p[:i] + ("A" if p[i] != "A" else "B") + p[i + 1:]
json.dump(d, open(sys.argv[2], "w"))
PY
}

# forge_status FED_TOOL SHOP OUT: OUT is a status object of SHOP, healthy and fresh, signed
# by another key than the shop's ($TESTDIR/other.key, made here; fed_tool of the tests).
forge_status() {
	local now
	now=$(date +%s)
	expect_exit 0 "$1" keygen "$TESTDIR/other.pub" "$TESTDIR/other.key"
	cat >"$TESTDIR/forged.payload" <<JSON
{"shop":"$2","seq":999999,"written_at":$now,"version":"coffre x","last_good_backup":$now,
 "last_proven_restore":$now,"destinations":[],"alerts":[],"alarm":false,"free_bytes":null}
JSON
	expect_exit 0 "$1" sign status "$TESTDIR/other.key" "$TESTDIR/forged.payload" "$3"
}

# escrow_key_id PUBHEX: the id coffre gives an escrow public key in status objects and the
# fleet view (keyed BLAKE2b-128, computed here independently of coffre).
escrow_key_id() {
	python3 -c '
import hashlib, sys
h = hashlib.blake2b(bytes.fromhex(sys.argv[1]), digest_size=16, key=b"coffre escrow key v1").hexdigest()
print("-".join(h[i:i + 4] for i in range(0, 32, 4)))' "$1"
}
