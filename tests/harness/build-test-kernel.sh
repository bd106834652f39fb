#!/bin/bash
# Builds axvm's own test kernel (KUnit and debug checks on) from Debian's
# linux-source-6.1, or reuses a cached build. The cache lives outside the
# checkout (AXVM_CACHE, default /var/cache/axvm) and is keyed by the config
# fragment, the architecture and the source package version, so editing
# tests/kernel/<arch>.config rebuilds. Prints the kernel tree's path last.
#
# Usage: tests/harness/build-test-kernel.sh [x86_64|arm64]
set -euo pipefail

arch=${1:-x86_64}
here=$(cd "$(dirname "$0")" && pwd)
frag=$here/../kernel/$arch.config
src=/usr/src/linux-source-6.1.tar.xz
cache=${AXVM_CACHE:-/var/cache/axvm}

case $arch in
x86_64) kmake=(ARCH=x86_64); image=arch/x86/boot/bzImage; target=bzImage ;;
arm64) kmake=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-); image=arch/arm64/boot/Image; target=Image ;;
*) echo "build-test-kernel: unknown arch '$arch'" >&2; exit 2 ;;
esac

[ -f "$src" ] || { echo "build-test-kernel: $src missing (apt-get install linux-source-6.1)" >&2; exit 1; }
version=$(dpkg-query -W -f '${Version}' linux-source-6.1)
key=$({ cat "$frag"; echo "$arch $version"; } | sha256sum | cut -c1-16)
tree=$cache/linux-$arch-$key

if [ -f "$tree/.axvm-complete" ]; then
	echo "$tree"
	exit 0
fi

echo "build-test-kernel: building $arch test kernel into $tree (several minutes)" >&2
rm -rf "$tree"
mkdir -p "$tree"
tar -xf "$src" -C "$tree" --strip-components=1
cd "$tree"
make "${kmake[@]}" tinyconfig >/dev/null 2>&1
scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null 2>&1
make "${kmake[@]}" olddefconfig >/dev/null

# A fragment option that Kconfig silently dropped (a missing dependency) would
# leave us testing on a kernel without the check we asked for: refuse.
missing=0
while IFS= read -r line; do
	case $line in CONFIG_*) grep -qxF "$line" .config || { echo "build-test-kernel: not set: $line" >&2; missing=1; } ;; esac
done <"$frag"
[ $missing = 0 ] || exit 1

# `modules` (not only modules_prepare) so that Module.symvers exists and
# modpost checks our module's symbols against the kernel's exports.
make "${kmake[@]}" -j"$(nproc)" "$target" modules >build.log 2>&1 || { tail -50 build.log >&2; exit 1; }
[ -f "$image" ]
touch .axvm-complete
echo "$tree"
