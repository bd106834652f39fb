#!/bin/bash
# KVM's own selftests (tools/testing/selftests/kvm of Debian's
# linux-source-6.1) as axvm's peer test suite: each test runs on the kernel's
# KVM and on axvm in the same boot (tests/boot/selftests), and
# tests/harness/selftests-report.py turns the console into check lines and a
# table (README.md, "KVM's selftests").
#
#   selftests.sh build x86_64|aarch64   builds the tests (static; aarch64 with
#       aarch64-linux-gnu-), or takes them from the cache: prints the directory
#       last. ${AXVM_CACHE:-/var/cache/axvm}/selftests-ARCH-KEY, KEY from the
#       source package's version, the build function below (its text),
#       tests/selftests/patches/* and tests/selftests/kvm_probe.c, so a warm
#       run rebuilds nothing and a change to any of them rebuilds.
#   selftests.sh stage DIR ROOT         copies the tests from DIR (what build
#       printed), the runner and tests/selftests/{plan,needs} into the
#       initramfs tree ROOT, as ROOT/axvm/selftests/.
#   selftests.sh run                    `make selftests`: builds axvm.ko for
#       Debian's 6.1 (amd64 and arm64), the tests, boots each kernel once under
#       QEMU with axvm.selftests=only (x86: -cpu EPYC; arm64: virt,
#       virtualization=on at EL2 with VHE), one boot at a time, and reports
#       into build/selftests/results, regenerating README.md's table.
#
# The hook for tests/run-all.sh (the boots are its debian-6.1 and
# debian-6.1-arm64 machines, or dedicated ones like `run`'s):
#
#   # 2. kernels phase:
#   st_x86=$("$top/tests/harness/selftests.sh" build x86_64 | tail -n 1)
#   record $? build.selftests_x86_64
#   st_arm64=$("$top/tests/harness/selftests.sh" build aarch64 | tail -n 1)
#   record $? build.selftests_aarch64
#   # 4. in boot() for debian-6.1, after x86_root (it already copies the
#   #    kernel's kvm modules to root/axvm/kvm/):
#   "$top/tests/harness/selftests.sh" stage "$st_x86" "$dir/root"
#   #    and in boot_arm64() for debian-6.1-arm64, before the cpio:
#   "$top/tests/harness/selftests.sh" stage "$st_arm64" "$dir/root"
#   #    both boots with axvm.selftests=1 on the kernel command line and
#   #    -m 2048 (the tests' binaries are ~70 MB in the initramfs, and some
#   #    tests take a few hundred MB of guest memory)
#   # after the boots (after check_boot):
#   python3 "$top/tests/harness/selftests-report.py" --results "$results" \
#       debian-6.1="$out/debian-6.1/console.log" \
#       debian-6.1-arm64="$out/debian-6.1-arm64/console.log"
#
# tests/boot/init and init-arm64 run the block between their "KVM's
# selftests" markers when axvm.selftests is on the command line: =1 runs them
# first and goes on with the boot's other tests, =only powers off after them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${AXVM_CACHE:-/var/cache/axvm}
src=/usr/src/linux-source-6.1.tar.xz

usage() {
	echo "usage: selftests.sh build x86_64|aarch64 | stage DIR ROOT | run [x86_64] [aarch64]" >&2
	exit 2
}

build() { # build ARCH
	local arch=$1 kmake cross="" version key dir work tests t
	case $arch in
	x86_64) kmake=(ARCH=x86_64) ;;
	aarch64) kmake=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-); cross=aarch64-linux-gnu- ;;
	*) usage ;;
	esac
	[ -f "$src" ] || { echo "selftests: $src missing (apt-get install linux-source-6.1)" >&2; exit 1; }
	version=$(dpkg-query -W -f '${Version}' linux-source-6.1)
	key=$({
		echo "$arch $version"
		declare -f build # this function: what it does decides what it builds
		cat "$top/tests/selftests/kvm_probe.c"
		for p in "$top"/tests/selftests/patches/*.patch; do echo "$(basename "$p")"; cat "$p"; done
	} | sha256sum | cut -c1-16)
	dir=$cache/selftests-$arch-$key
	if [ -f "$dir/.axvm-complete" ]; then
		echo "$dir"
		return 0
	fi

	echo "selftests: building KVM's $arch selftests into $dir (a minute or two)" >&2
	work=$dir.work
	rm -rf "$dir" "$work"
	# The extracted tree is 1.3 GB: never left behind, even on failure
	# (build.log stays).
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/src" "$dir/bin"
	tar -xf "$src" -C "$work/src" --strip-components=1
	for p in "$top"/tests/selftests/patches/*.patch; do
		patch -s -p1 -d "$work/src" <"$p"
	done
	make -C "$work/src" "${kmake[@]}" headers >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log" >&2; exit 1; }
	# -k: a test that does not build must not take the others with it (the
	# report names what is missing, from the "tests" list).
	make -k -j2 -C "$work/src/tools/testing/selftests/kvm" "${kmake[@]}" OUTPUT="$work/out" \
		EXTRA_CFLAGS=-static LDFLAGS=-static >>"$dir/build.log" 2>&1 || true
	# Every test the Makefile would build for this architecture.
	tests=$(make -s -C "$work/src/tools/testing/selftests/kvm" "${kmake[@]}" OUTPUT="$work/out" \
		-f Makefile -f - selftests-list <<<'selftests-list: ; @echo $(TEST_GEN_PROGS)')
	for t in $tests; do
		t=${t#"$work/out/"}
		echo "$t" >>"$dir/tests"
		if [ -f "$work/out/$t" ]; then
			mkdir -p "$(dirname "$dir/bin/$t")"
			"${cross}strip" -o "$dir/bin/$t" "$work/out/$t"
		else
			echo "$t" >>"$dir/not-built"
		fi
	done
	# The probe, against the same <linux/kvm.h>, with its KVM_CAP_* table.
	sed -n 's/^#define \(KVM_CAP_[A-Z0-9_]*\)[[:space:]]\{1,\}\([0-9]\{1,\}\)[[:space:]]*$/{ "\1", \2 },/p' \
		"$work/src/usr/include/linux/kvm.h" >"$work/kvm_probe_caps.h"
	"${cross}gcc" -static -O2 -Wall -Wextra -Werror -std=gnu11 -isystem "$work/src/usr/include" -I"$work" \
		-o "$dir/kvm_probe" "$top/tests/selftests/kvm_probe.c" >>"$dir/build.log" 2>&1 ||
		{ tail -20 "$dir/build.log" >&2; exit 1; }
	"${cross}strip" "$dir/kvm_probe"
	test -s "$dir/tests" && test -n "$(ls "$dir/bin")"
	echo "$version" >"$dir/version"
	rm -rf "$work"
	touch "$dir/.axvm-complete"
	echo "$dir"
}

stage() { # stage DIR ROOT
	local dir=$1 dest=$2/axvm/selftests
	[ -f "$dir/.axvm-complete" ] || { echo "selftests: $dir is not a finished build" >&2; exit 1; }
	rm -rf "$dest"
	mkdir -p "$dest"
	cp -r "$dir/bin" "$dir/kvm_probe" "$dir/tests" "$dest/"
	[ ! -f "$dir/not-built" ] || cp "$dir/not-built" "$dest/"
	cp "$top/tests/selftests/plan" "$top/tests/selftests/needs" "$dest/"
	install -m 0755 "$top/tests/boot/selftests" "$dest/run"
	# SELFTESTS="TEST...": only those (for `make selftests SELFTESTS=...`).
	[ -z "${SELFTESTS:-}" ] || echo "$SELFTESTS" >"$dest/only"
}

# ---- `make selftests` ----
copy_sources() { # copy_sources DEST: the checkout's files, as run-all.sh copies them
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$1"
}

build_module() { # build_module DEST KDIR [MAKE ARGS...]
	local dest=$1 kdir=$2
	shift 2
	copy_sources "$dest"
	make -C "$dest" KDIR="$kdir" "$@" >"$dest.log" 2>&1 || { tail -20 "$dest.log" >&2; return 1; }
}

initramfs() { # initramfs ROOT OUT
	(cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}

root_skeleton() { # root_skeleton ROOT BUSYBOX INIT
	rm -rf "$1"
	mkdir -p "$1/bin" "$1/axvm" "$1/proc" "$1/sys" "$1/dev" "$1/tmp"
	cp "$2" "$1/bin/busybox"
	install -m 0755 "$3" "$1/init"
}

boot_timeout=${AXVM_SELFTESTS_BOOT_TIMEOUT:-900}

boot_x86_64() { # boot_x86_64 OUT SELFTESTS_DIR: Debian's 6.1 under QEMU -cpu EPYC
	local out=$1 kdir image kmods dir m start
	kdir=$(ls -d /usr/src/linux-headers-6.1.*-amd64 | sort -V | tail -n 1)
	image=/boot/vmlinuz-${kdir#/usr/src/linux-headers-}
	kmods=/lib/modules/${kdir#/usr/src/linux-headers-}
	echo "== axvm.ko for Debian's 6.1 amd64 ($kdir)"
	build_module "$out/module-x86_64" "$kdir"
	echo "== boot debian-6.1 (QEMU -cpu EPYC; kvm_amd and axvm)"
	dir=$out/debian-6.1
	root_skeleton "$dir/root" /bin/busybox "$top/tests/boot/init"
	cp "$out/module-x86_64/axvm.ko" "$dir/root/axvm/"
	mkdir -p "$dir/root/axvm/kvm"
	for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
		if [ -f "$kmods/kernel/$m.ko.xz" ]; then
			xz -dc "$kmods/kernel/$m.ko.xz" >"$dir/root/axvm/kvm/${m##*/}.ko"
		else
			cp "$kmods/kernel/$m.ko" "$dir/root/axvm/kvm/"
		fi
	done
	stage "$2" "$dir/root"
	initramfs "$dir/root" "$dir/initramfs.cpio.gz"
	start=$(date +%s)
	timeout "$boot_timeout" qemu-system-x86_64 -M q35 -accel tcg,thread=single -cpu EPYC -m 2048 -smp 2 \
		-nographic -no-reboot -kernel "$image" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 oops=panic axvm.selftests=only" </dev/null >"$dir/console.raw" 2>&1 || true
	tr -d '\r' <"$dir/console.raw" >"$dir/console.log"
	echo "   booted, ran and powered off in $(($(date +%s) - start)) s"
}

boot_aarch64() { # boot_aarch64 OUT SELFTESTS_DIR: Debian's 6.1 arm64 at EL2 (VHE) under QEMU virt
	local out=$1 abi root dir start
	abi=$(basename "$(ls -d /usr/src/linux-headers-6.1.*-amd64 | sort -V | tail -n 1)" |
		sed 's/^linux-headers-\(.*\)-amd64$/\1/')
	root=$("$top/tests/harness/arm64-kernel.sh" "$abi" | tail -n 1)
	echo "== axvm.ko for Debian's 6.1 arm64 ($abi)"
	build_module "$out/module-aarch64" "$root/usr/src/linux-headers-$abi-arm64" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu-
	echo "== boot debian-6.1-arm64 (QEMU virt, virtualization=on; the built-in KVM and axvm)"
	dir=$out/debian-6.1-arm64
	root_skeleton "$dir/root" "$root/bin/busybox" "$top/tests/boot/init-arm64"
	cp "$out/module-aarch64/axvm.ko" "$dir/root/axvm/"
	stage "$2" "$dir/root"
	initramfs "$dir/root" "$dir/initramfs.cpio.gz"
	start=$(date +%s)
	timeout "$boot_timeout" qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 \
		-cpu max,pauth-impdef=on -m 2048 -smp 2 -nographic -no-reboot \
		-kernel "$root/boot/vmlinuz-$abi-arm64" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyAMA0 panic=-1 oops=panic axvm.selftests=only" </dev/null >"$dir/console.raw" 2>&1 || true
	tr -d '\r' <"$dir/console.raw" >"$dir/console.log"
	echo "   booted, ran and powered off in $(($(date +%s) - start)) s"
}

run() { # run [x86_64] [aarch64]: both by default, one boot at a time
	local out=$top/build/selftests arch boots=() readme=()
	local -A built
	[ $# -gt 0 ] || set -- x86_64 aarch64
	for arch in "$@"; do case $arch in x86_64 | aarch64) ;; *) usage ;; esac; done
	rm -rf "$out"
	mkdir -p "$out"
	"$top/tests/harness/install-deps.sh"
	echo "== KVM's selftests (cached in $cache)"
	for arch in "$@"; do
		built[$arch]=$(build "$arch" | tail -n 1)
	done
	for arch in "$@"; do
		"boot_$arch" "$out" "${built[$arch]}"
		case $arch in
		x86_64) boots+=("debian-6.1=$out/debian-6.1/console.log") ;;
		aarch64) boots+=("debian-6.1-arm64=$out/debian-6.1-arm64/console.log") ;;
		esac
	done
	# The README's table only from a full run (SELFTESTS unset, both machines).
	[ -n "${SELFTESTS:-}" ] || [ ${#boots[@]} != 2 ] || readme=(--readme "$top/README.md")
	echo "== report (build/selftests/results, build/selftests/table.md)"
	python3 "$here/selftests-report.py" --results "$out/results" --table "$out/table.md" "${readme[@]}" \
		"${boots[@]}"
}

case ${1:-} in
build) [ $# = 2 ] || usage; build "$2" ;;
stage) [ $# = 3 ] || usage; stage "$2" "$3" ;;
run) shift; run "$@" ;;
*) usage ;;
esac
