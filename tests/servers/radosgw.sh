#!/usr/bin/env bash
# radosgw.sh — start or stop a one-node Ceph cluster (one monitor, one OSD on memstore, the
# RADOS Gateway) on 127.0.0.1, for coffre's S3 Object Lock tests: radosgw implements Object
# Lock and enforces it (a locked version cannot be deleted before its retain-until date).
#
#   radosgw.sh start DIR   prints the gateway's port; DIR/keys holds the S3 keys of user
#                          "coffre" (two lines, mode 600); config, data, logs and pids in DIR
#   radosgw.sh stop DIR    stops what was started in DIR
#
# RGW_DEBUG=20 makes the gateway log each request's headers (HTTP_X_AMZ_...=value lines) in
# DIR/log/client.rgw.log, so a test can see what reached the server.
#
# Needs Debian's ceph-mon, ceph-osd and radosgw (scripts/install-deps.sh). Everything lives
# in DIR: nothing is read from or written to /etc/ceph or /var/lib/ceph. Start-up takes
# 10-40 s (the gateway creates its pools on first start).
set -euo pipefail

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../integration/wait.sh"	# wait_until, gone

die() {
	echo "radosgw.sh: $*" >&2
	local f
	for f in "$dir"/log/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }
	done
	"$0" stop "$dir" || true
	exit 1
}

case ${1:-} in
start)
	dir=${2:?usage: radosgw.sh start DIR}
	for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen; do
		command -v "$b" >/dev/null ||
			{ echo "radosgw.sh: $b not found (ceph-mon, ceph-osd, radosgw)" >&2; exit 1; }
	done
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	mkdir -p "$dir/run" "$dir/log" "$dir/mon.a" "$dir/osd0"
	mport=$(free_port)
	port=$(free_port)
	fsid=$(uuidgen)
	conf=$dir/ceph.conf
	# cephx stays on: radosgw does not authenticate to a cluster that has it off. One OSD, so
	# pools of size 1 and few placement groups; memstore keeps the data in memory.
	cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mport
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon data = $dir/mon.\$id
osd data = $dir/osd\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 1
client mount timeout = 60
rgw init timeout = 180
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
debug rgw = ${RGW_DEBUG:-1}
CONF
	C=(-c "$conf")
	kr=$dir/keyring
	ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
		--cap mgr 'allow *' >/dev/null
	ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' \
		--cap mgr 'allow profile osd' >/dev/null
	ceph-authtool "$kr" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' \
		--cap mgr 'allow rw' >/dev/null
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mport]" "$dir/monmap" >/dev/null
	ceph-mon "${C[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$kr" \
		>>"$dir/log/setup.log" 2>&1 || die "ceph-mon --mkfs failed"
	ceph-mon "${C[@]}" -i a >>"$dir/log/setup.log" 2>&1 || die "ceph-mon did not start"
	timeout 90 ceph "${C[@]}" auth import -i "$kr" >>"$dir/log/setup.log" 2>&1 ||
		die "the monitor does not answer"
	osd_uuid=$(uuidgen)
	timeout 90 ceph "${C[@]}" osd new "$osd_uuid" >>"$dir/log/setup.log" 2>&1 || die "osd new failed"
	ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/setup.log" 2>&1 ||
		die "ceph-osd --mkfs failed"
	ceph-osd "${C[@]}" -i 0 >>"$dir/log/setup.log" 2>&1 || die "ceph-osd did not start"
	osd_up() { grep -q ' 1 up' <<<"$(timeout 10 ceph -c "$conf" osd stat 2>/dev/null)"; }
	wait_until 120 osd_up || die "the OSD did not come up"
	radosgw "${C[@]}" -n client.rgw >>"$dir/log/setup.log" 2>&1 || die "radosgw did not start"
	wait_until 180 curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/" ||
		die "radosgw does not answer on port $port"
	# The test user; its keys are made here, not fixed.
	access=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
	secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	timeout 120 radosgw-admin "${C[@]}" user create --uid=coffre --display-name=coffre \
		--access-key="$access" --secret-key="$secret" >>"$dir/log/setup.log" 2>&1 ||
		die "radosgw-admin user create failed"
	(umask 077 && printf '%s\n%s\n' "$access" "$secret" >"$dir/keys")
	echo "$port" >"$dir/port"
	echo "$port"
	;;
stop)
	dir=${2:?usage: radosgw.sh stop DIR}
	[ -d "$dir/run" ] || exit 0
	dir=$(cd "$dir" && pwd)
	# Gateway first, monitor last; only processes started with this DIR's config.
	for name in client.rgw osd.0 mon.a; do
		f=$dir/run/$name.pid
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if [ -r "/proc/$pid/cmdline" ] && grep -q -- "$dir/ceph.conf" <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline")"; then
			kill "$pid" 2>/dev/null || true
			wait_until 10 gone "$pid" || kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
	;;
*)
	echo "usage: radosgw.sh start DIR | stop DIR" >&2
	exit 2
	;;
esac
