#!/usr/bin/env bash
# t_daemon_unit.sh: packaging/coffred.service passes `systemd-analyze verify` (the binaries'
# paths pointed at the build), and declares Type=notify, a watchdog and the hardening;
# packaging/coffre.sysusers declares the group coffre and systemd-sysusers accepts it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup
command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (apt-get install systemd)"
COFFRED=${COFFRED:-$(dirname "$COFFRE")/../agent/daemon/coffred}
[ -x "$COFFRED" ] || skip "no coffred binary next to $COFFRE"
UNIT=$COFFRE_TESTS/../packaging/coffred.service
mkdir -p "$TESTDIR/unit"
sed -e "s#/usr/bin/coffre #$COFFRE #" -e "s#/usr/sbin/coffred #$COFFRED #" "$UNIT" \
	>"$TESTDIR/unit/coffred.service"
log "systemd-analyze verify"
expect_exit 0 systemd-analyze verify --man=no "$TESTDIR/unit/coffred.service"
if [ -s "$ERR" ]; then cat "$ERR" >&2; fail "systemd-analyze verify complained"; fi
for k in Type=notify WatchdogSec= NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	'CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_ADMIN' ReadWritePaths=; do
	grep -q "^$k" "$UNIT" || fail "coffred.service lacks $k"
done
if command -v systemd-sysusers >/dev/null; then
	log "systemd-sysusers --dry-run coffre.sysusers"
	SYSUSERS=$COFFRE_TESTS/../packaging/coffre.sysusers
	grep -q '^g coffre -$' "$SYSUSERS" || fail "coffre.sysusers does not declare the group coffre"
	expect_exit 0 sh -c 'systemd-sysusers --dry-run --replace=/usr/lib/sysusers.d/coffre.conf - <"$1"' \
		sh "$SYSUSERS"
	grep -qi "fail\|invalid\|unknown" "$ERR" && { cat "$ERR" >&2; fail "systemd-sysusers complained"; }
fi
grep -q '^RuntimeDirectoryMode=0755' "$UNIT" || fail "members of coffre cannot reach the socket's folder"
pass
