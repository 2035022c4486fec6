#!/bin/sh
# deps.sh — install the Debian packages evchain needs, if any are missing.
# Idempotent: does nothing when everything is there. As root it runs apt-get;
# otherwise it prints the exact command to run and fails.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh demo     also ffmpeg, to make the demo's video and photo
set -eu

PKGS="make gcc pkg-config libssl-dev libsodium-dev liblmdb-dev libprotobuf-c-dev \
protobuf-c-compiler libuv1-dev libjansson-dev clang libclang-rt-14-dev lmdb-utils"
[ "${1:-}" = demo ] && PKGS="ffmpeg"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
echo "deps: installed:$missing" >&2
