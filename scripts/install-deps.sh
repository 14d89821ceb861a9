#!/usr/bin/env bash
# Installs what building and testing coffre needs on Debian 12 (run as root, or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(build-essential cmake pkg-config gettext python3
	libsodium-dev libzstd-dev libarchive-dev libsqlite3-dev libjansson-dev libcmocka-dev
	libinih-dev libsystemd-dev libcurl4-openssl-dev
	attr util-linux systemd)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
