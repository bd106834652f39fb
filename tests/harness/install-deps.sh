#!/bin/bash
# Installs, with apt-get, whatever `make test` needs and this Debian 12
# machine lacks. Quiet and quick when everything is already there.
# `install-deps.sh kernel` installs only what the test kernel builds need, so
# that they can start while `install-deps.sh` fetches the rest.
set -euo pipefail

kernel_packages=(
	g++ make bc flex bison libelf-dev libssl-dev dwarves kmod xz-utils python3
	linux-source-6.1              # our KUnit test kernels are built from it
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu # the arm64 builds
)
packages=(
	"${kernel_packages[@]}"
	linux-headers-amd64 linux-image-amd64          # Debian's stock 6.1
	linux-headers-6.12-amd64 linux-image-6.12-amd64 # Debian's stock 6.12
	qemu-system-x86 busybox-static cpio
	dkms dh-dkms debhelper dpkg-dev fakeroot lintian # DKMS and `make deb`
	qemu-system-arm # the arm64 boots
	bochs bochsbios vgabios isolinux syslinux-common genisoimage # the VMX boot (Bochs)
	patch libc6-dev libc6-dev-arm64-cross # KVM's selftests, static (tests/harness/selftests.sh)
)

[ "${1:-}" = kernel ] && packages=("${kernel_packages[@]}")

# Debian's arm64 kernel and headers come from `apt-get download ...:arm64`
# (tests/harness/arm64-kernel.sh), which needs the architecture known to dpkg/apt.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	[ "$(id -u)" = 0 ] || { echo "install-deps: need root to add the arm64 architecture" >&2; exit 1; }
	dpkg --add-architecture arm64
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
