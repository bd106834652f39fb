#!/bin/bash
# Debian's stock arm64 kernel of the same ABI as the amd64 6.1 one, for the
# arm64 build and boot: the image, its headers (made usable for a cross
# build with links to the host's kbuild and -common headers, which are
# architecture-independent) and busybox, extracted under the cache from
# `apt-get download` (no arm64 userland gets installed). Prints the
# directory; usr/src/linux-headers-ABI-arm64 and boot/vmlinuz-ABI-arm64 are in it.
#
# Usage: tests/harness/arm64-kernel.sh ABI        (e.g. 6.1.0-56)
set -euo pipefail
abi=$1
cache=${AXVM_CACHE:-/var/cache/axvm}
root=$cache/arm64-$abi
if [ -f "$root/.axvm-complete" ]; then
	echo "$root"
	exit 0
fi
rm -rf "$root" "$root.dl"
mkdir -p "$root" "$root.dl"
(cd "$root.dl" && apt-get download -q "linux-image-$abi-arm64:arm64" "linux-headers-$abi-arm64:arm64" \
	busybox-static:arm64 >/dev/null 2>&1)
for deb in "$root.dl"/*.deb; do dpkg-deb -x "$deb" "$root"; done
rm -rf "$root.dl"
kbuild=$(readlink "$root/usr/src/linux-headers-$abi-arm64/scripts" | sed -n 's|.*/lib/\(linux-kbuild-[^/]*\)/.*|\1|p')
ln -sfn "/usr/lib/$kbuild" "$root/usr/lib/$kbuild"
ln -sfn "/usr/src/linux-headers-$abi-common" "$root/usr/src/linux-headers-$abi-common"
test -f "$root/boot/vmlinuz-$abi-arm64" && test -x "$root/bin/busybox"
touch "$root/.axvm-complete"
echo "$root"
