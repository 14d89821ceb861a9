#!/usr/bin/env bash
# Installs what building and testing coffre needs on Debian 12 (run as root, or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(build-essential cmake pkg-config gettext python3
	libsodium-dev libzstd-dev libarchive-dev libsqlite3-dev libjansson-dev libcmocka-dev
	libinih-dev libsystemd-dev libcurl4-openssl-dev libblkid-dev libmicrohttpd-dev
	# the recovery sheet: a PDF drawn with cairo, a QR code from libqrencode; its test reads
	# them back (pdftotext and pdftoppm from poppler, zbarimg)
	libcairo2-dev libfontconfig-dev libqrencode-dev fonts-dejavu-core poppler-utils zbar-tools
	attr util-linux systemd
	# the ransomware signals' tests: pictures to profile, a test attacker (AES-256-CTR)
	libjpeg-dev libpng-dev libssl-dev
	# the fuzz build (scripts/build.sh fuzz): clang and its libFuzzer runtime
	clang libclang-rt-14-dev
	# destination tests: sshd, FAT32/exFAT images through FUSE, Swift's s3api, curl
	# alert tests: an SMTP sink (aiosmtpd) and its test certificate
	python3-aiosmtpd openssl
	openssh-server openssh-client dosfstools exfatprogs fusefat exfat-fuse fuse curl
	swift swift-proxy swift-account swift-container swift-object python3-swift memcached
	# a faked clock for retention and forged-date tests
	faketime
	# the status page's test: a headless browser and a font for its screenshots
	chromium fonts-dejavu-core
	# database dump tests: private MariaDB and PostgreSQL servers started by the tests
	mariadb-server mariadb-client postgresql postgresql-client
	# the Debian package (scripts/package.sh, t_package)
	debhelper dpkg-dev fakeroot lintian)
# nodejs/npm (s3rver) and awscli only when the commands are missing: a nodejs from elsewhere
# (NodeSource) already brings npm, and Debian's npm would conflict with it.
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
command -v aws >/dev/null 2>&1 || PKGS+=(awscli)
missing=()
for p in "${PKGS[@]}"; do
	grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || missing+=("$p")
done
# Object Lock tests: a one-node Ceph cluster with radosgw (tests/servers/radosgw.sh). Without
# recommends: those would add ceph-mds and a time daemon the tests do not need.
CEPH_PKGS=(ceph-mon ceph-osd radosgw)
ceph_missing=()
for p in "${CEPH_PKGS[@]}"; do
	grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || ceph_missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] || [ "${#ceph_missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	[ "${#missing[@]}" -eq 0 ] || $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
	[ "${#ceph_missing[@]}" -eq 0 ] ||
		$SUDO apt-get install -y -qq --no-install-recommends "${ceph_missing[@]}" >/dev/null
fi
# s3rver for the S3 tests, into tests/servers/node_modules (package.json is committed).
SERVERS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/servers" && pwd)
if [ ! -x "$SERVERS/node_modules/.bin/s3rver" ]; then
	npm install --prefix "$SERVERS" --no-audit --no-fund --loglevel=error >/dev/null
fi
