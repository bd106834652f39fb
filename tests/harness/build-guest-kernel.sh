#!/bin/bash
# Builds the lean Linux guest kernel that Debian's QEMU boots on KVM and on
# axvm (tests/kernel/x86_64-qemu-guest.config on `make tinyconfig`, from
# Debian's linux-source-6.1), or reuses a cached build. The cache lives
# outside the checkout (AXVM_CACHE, default /var/cache/axvm) and is keyed by
# the config fragment and the source package version. Prints the tree's path
# last (its bzImage is arch/x86/boot/bzImage).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
frag=$here/../kernel/x86_64-qemu-guest.config
src=/usr/src/linux-source-6.1.tar.xz
cache=${AXVM_CACHE:-/var/cache/axvm}

[ -f "$src" ] || { echo "build-guest-kernel: $src missing (apt-get install linux-source-6.1)" >&2; exit 1; }
version=$(dpkg-query -W -f '${Version}' linux-source-6.1)
key=$({ cat "$frag"; echo "qemu-guest $version"; } | sha256sum | cut -c1-16)
tree=$cache/linux-qemu-guest-$key

if [ -f "$tree/.axvm-complete" ]; then
	echo "$tree"
	exit 0
fi

echo "build-guest-kernel: building the QEMU guest kernel into $tree (a few minutes)" >&2
rm -rf "$tree"
mkdir -p "$tree"
tar -xf "$src" -C "$tree" --strip-components=1
cd "$tree"
make ARCH=x86_64 tinyconfig >/dev/null 2>&1
scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null 2>&1
make ARCH=x86_64 olddefconfig >/dev/null

# An option Kconfig dropped (a missing dependency) would boot a different
# guest than the fragment says: refuse.
missing=0
while IFS= read -r line; do
	case $line in CONFIG_*) grep -qxF "$line" .config || { echo "build-guest-kernel: not set: $line" >&2; missing=1; } ;; esac
done <"$frag"
[ $missing = 0 ] || exit 1

make ARCH=x86_64 -j"$(nproc)" bzImage >build.log 2>&1 || { tail -50 build.log >&2; exit 1; }
test -f arch/x86/boot/bzImage
touch .axvm-complete
echo "$tree"
