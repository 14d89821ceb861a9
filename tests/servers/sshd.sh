#!/usr/bin/env bash
# sshd.sh — start or stop a private OpenSSH sshd on 127.0.0.1 and a free port, for coffre's
# SFTP destination tests. Host key, client key and authorized_keys are made in DIR.
#
#   sshd.sh start DIR   prints "PORT USER FINGERPRINT" (FINGERPRINT as "SHA256:..."); the
#                       client key is DIR/client_key (and .pub)
#   sshd.sh stop DIR
#
# Needs openssh-server (/usr/sbin/sshd) and openssh-client (ssh-keygen). Run as root (sshd
# needs privilege separation); StrictModes is off because DIR lives in /tmp.
set -euo pipefail
SSHD=${SSHD:-/usr/sbin/sshd}
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../integration/wait.sh"	# wait_until, gone

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case ${1:-} in
start)
	dir=${2:?usage: sshd.sh start DIR}
	dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
	[ -x "$SSHD" ] || { echo "sshd.sh: $SSHD not found (openssh-server)" >&2; exit 1; }
	ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C coffre-test-host
	ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" -C coffre-test-client
	cp "$dir/client_key.pub" "$dir/authorized_keys"
	chmod 600 "$dir/authorized_keys" "$dir/host_key" "$dir/client_key"
	mkdir -p /run/sshd	# privilege separation directory
	port=$(free_port)
	user=$(id -un)
	cat >"$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
Subsystem sftp internal-sftp
LogLevel ERROR
CONF
	"$SSHD" -D -e -f "$dir/sshd_config" </dev/null >"$dir/sshd.log" 2>&1 &
	echo $! >"$dir/sshd.bgpid"
	pid=$!
	listening() {
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close()' "$port" 2>/dev/null
	}
	up_or_dead() { listening || gone "$pid"; }
	if wait_until 30 up_or_dead && listening; then
		fp=$(ssh-keygen -l -E sha256 -f "$dir/host_key.pub" | awk '{print $2}')
		echo "$port $user $fp"
		exit 0
	fi
	echo "sshd.sh: sshd did not start within 30 s; log:" >&2
	tail -n 5 "$dir/sshd.log" >&2
	exit 1
	;;
stop)
	dir=${2:?usage: sshd.sh stop DIR}
	[ -f "$dir/sshd.bgpid" ] || exit 0
	pid=$(cat "$dir/sshd.bgpid")
	if [ -r "/proc/$pid/cmdline" ] && grep -q -- "$dir/sshd_config" <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline")"; then
		kill "$pid" 2>/dev/null || true
		wait_until 10 gone "$pid" || true
	fi
	rm -f "$dir/sshd.bgpid"
	;;
*)
	echo "usage: sshd.sh start DIR | stop DIR" >&2
	exit 2
	;;
esac
