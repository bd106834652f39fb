#!/bin/bash
# `make test`: every axvm test, ending with one line "N passed, N failed".
#
#  1. installs missing Debian packages (tests/harness/install-deps.sh)
#  2. builds (or takes from the cache) our x86-64 test kernel with KUnit
#  3. builds axvm.ko against it, against Debian's 6.1 and 6.12 headers, and
#     axvm_kunit.ko against the test kernel; each build must be warning-free
#  4. boots each kernel under QEMU with an emulated AMD SVM CPU (-cpu EPYC),
#     loads the module, runs the KUnit suites (test kernel) and the userspace
#     tests, and checks the console for kernel warnings, BUGs and lockdep
#
# Everything lands in build/test/; each check is one "ok"/"not ok" line in
# build/test/results.
#
# `tests/run-all.sh fuzz` (make fuzz) instead boots only the debug kernel and
# runs the fuzzer there for AXVM_FUZZ_SECONDS (default 300) from seed
# AXVM_FUZZ_SEED (default: the time); `tests/run-all.sh soak` (make soak)
# boots Debian's 6.12 and runs tests/vmm/soak.cpp.
set -uo pipefail

mode=${1:-test}
case $mode in
test | fuzz | soak) ;;
*) echo "usage: tests/run-all.sh [test|fuzz|soak]" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/$mode
boot_timeout=${AXVM_BOOT_TIMEOUT:-900}
fuzz_seconds=${AXVM_FUZZ_SECONDS:-300}
fuzz_seed=${AXVM_FUZZ_SEED:-$(date +%s)}
[ "$mode" = test ] || boot_timeout=${AXVM_BOOT_TIMEOUT:-7200}
rm -rf "$out"
mkdir -p "$out"
results=$out/results
: >"$results"
cmdline="" # the test machines' extra kernel arguments (axvm.* for tests/boot/init)

note() { printf '%s\n' "$*"; }
record() { # record STATUS NAME [WHY]
	if [ "$1" = 0 ]; then
		echo "ok - $2" | tee -a "$results"
	else
		echo "not ok - $2${3:+: $3}" | tee -a "$results"
	fi
}

summary() {
	local passed failed skipped
	phase_times
	passed=$(grep -c '^ok - ' "$results")
	failed=$(grep -c '^not ok - ' "$results")
	skipped=$(grep -c '^skip - ' "$results")
	if [ "$failed" != 0 ]; then
		note ""
		note "Failed:"
		grep '^not ok - ' "$results"
	fi
	if [ "$skipped" != 0 ]; then
		note ""
		note "Skipped ($skipped, counted neither way):"
		grep '^skip - ' "$results"
	fi
	note ""
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# ---- phase times ----
# Every phase (a build, a boot) notes when it started and how long it took in
# OUT/times; the summary prints them. Phases run in the background where
# they can overlap (a boot while the next kernel builds): bg NAME COMMAND
# runs one with its output in OUT/NAME.log, finish NAME waits for it and shows
# that output.
started=$(date +%s)
: >"$out/times"
timed() { # timed NAME COMMAND...
	local name=$1 s rc
	s=$(date +%s)
	shift
	"$@"
	rc=$?
	echo "$name $((s - started)) $(($(date +%s) - s))" >>"$out/times"
	return $rc
}
declare -A bg_pid
bg() { # bg NAME COMMAND...
	local name=$1
	timed "$@" >"$out/$name.log" 2>&1 &
	bg_pid[$name]=$!
}
finish() { # finish NAME
	wait "${bg_pid[$1]}"
	local rc=$?
	cat "$out/$1.log"
	return $rc
}
phase_times() {
	local name s d
	note ""
	note "Phase times (start, duration; phases overlap):"
	sort -k2n "$out/times" | while read -r name s d; do
		printf '  %-26s +%2dm%02ds %3dm%02ds\n' "$name" $((s / 60)) $((s % 60)) $((d / 60)) $((d % 60))
	done
	d=$(($(date +%s) - started))
	printf '  %-26s %10s %3dm%02ds\n' total "" $((d / 60)) $((d % 60))
}

# ---- 1. dependencies and kernels ----
# What the kernel builds need comes first; the test kernel builds while the
# rest (QEMU, Bochs, Debian's kernels, the packaging tools) is installed.
note "== dependencies"
timed deps.kernel_build "$top/tests/harness/install-deps.sh" kernel
record $? deps.kernel_build_installed || { summary; exit 1; }
bg deps.rest "$top/tests/harness/install-deps.sh"

# The test kernel builds in the background: with a cold cache that is the
# longest build, and the Bochs lane (Debian's kernel first) need not wait
# for it. test_kernel waits for it.
note "== test kernel (cached in ${AXVM_CACHE:-/var/cache/axvm})"
bg kernel.x86_64 "$top/tests/harness/build-test-kernel.sh" x86_64
finish deps.rest
record $? deps.installed || { wait; summary; exit 1; }
test_kdir=""
test_kernel() { # sets test_kdir, or fails
	finish kernel.x86_64 >/dev/null
	record $? kernel.test_kernel_built || return 1
	test_kdir=$(tail -n 1 "$out/kernel.x86_64.log")
}

newest() { ls -d $1 2>/dev/null | sort -V | tail -n 1; }
deb61_kdir=$(newest "/usr/src/linux-headers-6.1.*-amd64")
deb612_kdir=$(newest "/usr/src/linux-headers-6.12.*-amd64")
deb61_image=/boot/vmlinuz-${deb61_kdir#/usr/src/linux-headers-}
deb612_image=/boot/vmlinuz-${deb612_kdir#/usr/src/linux-headers-}
# Debian's stock arm64 kernel of the amd64 6.1's ABI (tests/harness/arm64-kernel.sh).
arm64_abi=$(basename "$deb61_kdir" | sed 's/^linux-headers-\(.*\)-amd64$/\1/')

# ---- 3. builds ----
# Kbuild builds external modules inside their source tree, so each kernel
# gets its own copy of the sources under build/.
copy_sources() {
	rm -rf "$1"
	mkdir -p "$1"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$1"
	else
		(cd "$top" && tar --exclude=./build --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' -cf - .) | tar -xf - -C "$1"
	fi
}

build_module() { # build_module NAME KDIR [MAKE ARGS...]
	local dir=$top/build/$1 kdir=$2
	shift 2
	local name=${dir##*/}
	note "== build against $name ($kdir)"
	if [ ! -d "$kdir" ]; then
		record 1 "build.$name" "no kernel tree at $kdir"
		return 1
	fi
	copy_sources "$dir"
	make -C "$dir" KDIR="$kdir" "$@" >"$dir.log" 2>&1
	record $? "build.$name" "see build/$name.log" || { tail -20 "$dir.log"; return 1; }
	! grep -E 'warning:|WARNING:' "$dir.log"
	record $? "build.$name.warning_free" "see build/$name.log"
}

build_x86_userspace() {
	note "== userspace tests and tools (x86-64)"
	# tests/vmm/Makefile: the test programs, static, -Wall -Wextra -Werror.
	for prog in abi_test kvm_classic kvm_irq kvm_irqchip kvm_hostile kvm_stats kvm_smm fuzz soak; do
		make -s -C "$top/tests/vmm" OUT="$out" "$prog" >"$out/$prog.build.log" 2>&1
		record $? "build.$prog" "see ${out#$top/}/$prog.build.log"
	done
	make -s -C "$top" tools OUT="$out" >"$out/tools.build.log" 2>&1
	record $? build.tools "see ${out#$top/}/tools.build.log"
}

build_arm64_userspace() {
	note "== userspace tests and tools (arm64)"
	make -s -C "$top" -f tools/Makefile OUT="$out/arm64" CXX=aarch64-linux-gnu-g++ "$out/arm64/axvm" \
		arm64-guests >"$out/tools-arm64.build.log" 2>&1
	record $? build.tools_arm64 "see ${out#$top/}/tools-arm64.build.log"
	for prog in kvm_arm64 kvm_arm64_irq kvm_arm32 arm64_exits fuzz; do
		make -s -C "$top/tests/vmm" OUT="$out/arm64" CROSS=aarch64-linux-gnu- "$prog" >"$out/$prog-arm64.build.log" 2>&1
		record $? "build.${prog}_arm64" "see ${out#$top/}/$prog-arm64.build.log"
	done
}

# ---- 4. boots ----
# The kernel's own modules (Debian's are xz-compressed) into DEST, uncompressed.
copy_kernel_modules() { # copy_kernel_modules MODULES_DIR DEST PATH...
	local kmods=$1 dest=$2 m
	shift 2
	for m in "$@"; do
		if [ -f "$kmods/kernel/$m.ko.xz" ]; then
			xz -dc "$kmods/kernel/$m.ko.xz" >"$dest/${m##*/}.ko"
		else
			cp "$kmods/kernel/$m.ko" "$dest/"
		fi
	done
}

# The initramfs tree of an x86 boot: tests/boot/init, the tests, the guests
# and the module built in MODULE_DIR.
x86_root() { # x86_root NAME MODULE_DIR
	local name=$1 dir=$out/$1
	rm -rf "$dir/root"
	mkdir -p "$dir/root/bin" "$dir/root/axvm"
	for d in proc sys dev tmp; do mkdir -p "$dir/root/$d"; done
	cp /bin/busybox "$dir/root/bin/busybox"
	install -m 0755 "$top/tests/boot/init" "$dir/root/init"
	cp "$out/abi_test" "$out/axvm" "$out/kvm_classic" "$out/kvm_irq" "$out/kvm_irqchip" "$out/kvm_hostile" "$out/kvm_stats" "$out/kvm_smm" "$out/fuzz" "$out/soak" \
		"$dir/root/axvm/"
	cp -r "$out/guests" "$top/tests/expected" "$top/udev/60-axvm.rules" "$dir/root/axvm/"
	cp "$2"/axvm*.ko "$dir/root/axvm/"
}

boot() { # boot NAME KERNEL_IMAGE MODULE_DIR [KERNEL_MODULES_DIR]
	local name=$1 image=$2 moddir=$3 kmods=${4:-} dir=$out/$1
	x86_root "$name" "$moddir"
	if [ "$name" = debian-6.12 ] && [ -f "$out/packaged/axvm.ko" ]; then # what DKMS installed
		mkdir -p "$dir/root/axvm/packaged"
		cp "$out/packaged/axvm.ko" "$dir/root/axvm/packaged/"
		sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf" >"$dir/root/axvm/packaged/version"
	fi
	if [ -n "$kmods" ]; then # the kernel's own KVM, to test sharing SVM with it
		mkdir -p "$dir/root/axvm/kvm"
		copy_kernel_modules "$kmods" "$dir/root/axvm/kvm" virt/lib/irqbypass drivers/crypto/ccp/ccp \
			arch/x86/kvm/kvm arch/x86/kvm/kvm-amd
	fi
	local mem=512 args=$cmdline
	# KVM's selftests in a boot of their own: 2 GiB (the tests' binaries in
	# the initramfs, and their guests) would blur the memory checks of the
	# main suite (abi.thousand_cycles failed when they shared a boot).
	if [ "$name" = debian-6.1-selftests ]; then
		"$top/tests/harness/selftests.sh" stage "$st_x86" "$dir/root"
		mem=2048
		args="$args axvm.selftests=only"
	fi
	(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs.cpio.gz"
	timeout "$boot_timeout" qemu-system-x86_64 -M q35 -accel tcg,thread=single -cpu EPYC \
		-m "$mem" -smp 2 -nographic -no-reboot -kernel "$image" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 oops=panic $args" </dev/null >"$dir/console.raw" 2>&1
	echo $? >"$dir/qemu.status"
	tr -d '\r' <"$dir/console.raw" >"$dir/console.log"
}

# An arm64 kernel at EL2 with VHE (QEMU virt, virtualization=on), or with
# EXTRA kernel arguments (kvm-arm.mode=nvhe: the kernel drops to EL1).
# Single-threaded TCG, as the x86 boots: with a thread per vCPU the debug
# kernel twice printed nothing in 15 minutes on a loaded machine (two
# emulated CPUs spinning for each other on two oversubscribed host threads).
boot_arm64() { # boot_arm64 NAME MODULE_BUILD KERNEL_IMAGE [EXTRA]
	local dir=$out/$1
	mkdir -p "$dir/root/bin" "$dir/root/axvm"
	for d in proc sys dev tmp; do mkdir -p "$dir/root/$d"; done
	cp "$arm64_root/bin/busybox" "$dir/root/bin/busybox"
	install -m 0755 "$top/tests/boot/init-arm64" "$dir/root/init"
	cp "$top/build/$2"/axvm*.ko "$out/arm64/axvm" "$out/arm64/kvm_arm64" "$out/arm64/kvm_arm64_irq" "$out/arm64/kvm_arm32" \
		"$out/arm64/arm64_exits" "$out/arm64/fuzz" "$dir/root/axvm/"
	cp -r "$out/arm64/guests" "$top/tests/expected" "$dir/root/axvm/"
	local mem=1024 args=${4:-}
	if [ "$1" = debian-6.1-arm64 ] && [ -n "${st_arm64:-}" ]; then # KVM's selftests first
		"$top/tests/harness/selftests.sh" stage "$st_arm64" "$dir/root"
		mem=2048
		args="$args axvm.selftests=1"
	fi
	(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs.cpio.gz"
	timeout "$boot_timeout" qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -accel tcg,thread=single \
		-cpu max,pauth-impdef=on -m "$mem" -smp 2 -nographic -no-reboot \
		-kernel "$3" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyAMA0 panic=-1 oops=panic $args" </dev/null >"$dir/console.raw" 2>&1
	echo $? >"$dir/qemu.status"
	tr -d '\r' <"$dir/console.raw" >"$dir/console.log"
}

# Debian's 6.1 kernel on an emulated Intel CPU with VMX, EPT, VPID and
# unrestricted guest (corei7_skylake_x), two CPUs, headless (rfb display
# nobody connects to), from an isolinux ISO since Bochs cannot load a kernel
# itself; the same tests/boot/init as the QEMU boots, with that kernel's
# kvm-intel. Its serial port is the console log. See ../shared/recipes.md,
# "Bochs". Not our debug kernel: Bochs runs KASAN's and lockdep's checks at
# a few million instructions a second, and the suite did not finish in 20
# minutes (the debug kernel's checks of the same code run under QEMU).
# noxsave: Bochs's CPUID leaf 0xD disagrees with its XSAVE sizes, so the
# kernel turns XSAVE off after a warning but 6.1 then sizes a guest's FPU
# state (fpu_alloc_guest_fpstate, kvm-intel's and axvm's alike) too small;
# without XSAVE from the start the sizes agree.
boot_bochs() { # boot_bochs NAME KERNEL_IMAGE MODULE_DIR [KERNEL_MODULES_DIR [CMDLINE]]
	local dir=$out/$1
	x86_root "$1" "$3"
	mkdir -p "$dir/iso/isolinux"
	if [ -n "${4:-}" ]; then
		mkdir -p "$dir/root/axvm/kvm"
		copy_kernel_modules "$4" "$dir/root/axvm/kvm" virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-intel
	fi
	(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/iso/isolinux/initrd.gz"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$dir/iso/isolinux/"
	cp "$2" "$dir/iso/isolinux/vmlinuz"
	# loglevel=7: warnings and the reboot notifier's line (an info) reach
	# the console, as in the QEMU boots (no quiet there). No
	# fuzzing (it counts seconds of the guest's clock, which runs so slowly
	# here that five took a third of the boot), 100,000 rather than a million
	# exits in a row and 200 VM cycles rather than 1,000: every emulated
	# instruction costs here. acpi=off: ACPI's interpreter took two thirds
	# of the debug kernel's boot here (KASAN and lockdep on every AML
	# opcode); the BIOS's MP table gives both CPUs instead. Without ACPI
	# there is no power-off, so /init reboots (axvm.end=reboot) and the
	# triple fault of reboot=t ends Bochs (reset_on_triple_fault=0).
	printf '%s\n' 'default linux' 'prompt 0' 'timeout 0' 'label linux' '  kernel vmlinuz' \
		'  append initrd=initrd.gz console=ttyS0,115200 loglevel=7 panic=-1 oops=panic noxsave acpi=off reboot=t axvm.end=reboot axvm.short_fuzz_seconds=0 axvm.hostile_exits=100000 axvm.hostile_time_percent=25 axvm.abi_cycles=200 axvm.hotplug=0 axvm.spinners=0 axvm.hostile_under_kvm=0 '"${5:-}" \
		>"$dir/iso/isolinux/isolinux.cfg"
	genisoimage -quiet -o "$dir/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
		-boot-load-size 4 -boot-info-table "$dir/iso"
	cat >"$dir/bochsrc" <<-EOF
	megs: 256
	cpu: model=corei7_skylake_x, count=2, ips=50000000, reset_on_triple_fault=0
	romimage: file=/usr/share/bochs/BIOS-bochs-latest
	vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
	ata0-master: type=cdrom, path=boot.iso, status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev=serial.out
	speaker: enabled=0
	sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
	clock: sync=none
	magic_break: enabled=0
	panic: action=fatal
	debug: action=ignore
	display_library: rfb, options="timeout=0"
	log: bochs.log
	EOF
	printf 'c\nquit\n' >"$dir/bochs.rc" # bochs-bin's debugger: continue, then quit
	rm -f "$dir/serial.out"
	# The triple fault ends Bochs with status 1: the AXVM-DONE marker decides.
	# (About 10 minutes alone; more while QEMU boots share the CPUs.)
	(cd "$dir" && timeout $((boot_timeout + 900)) bochs-bin -q -f bochsrc -rc bochs.rc </dev/null >bochs.out 2>&1)
	echo $? >"$dir/qemu.status"
	tr -d '\r' <"$dir/serial.out" >"$dir/console.log" 2>/dev/null
}

check_boot() { # check_boot NAME [KUNIT_TREE]
	local name=$1 dir=$out/$1
	note "== results of boot $name (${out#$top/}/$name/console.log)"
	grep -q '^AXVM-DONE' "$dir/console.log"
	record $? "$name.boot_completed" "no AXVM-DONE; qemu status $(cat "$dir/qemu.status")"
	sed -n 's/^\(ok\|not ok\|skip\) - \(.*\)/\1 - '"$name"'.\2/p' "$dir/console.log" | tee -a "$results"
	if [ -n "${2:-}" ]; then
		python3 "$top/tests/harness/ktap.py" "$dir/console.log" "$dir/kunit.ktap" |
			sed 's/^\(ok\|not ok\|skip\) - /\1 - '"$name"'./' | tee -a "$results"
		python3 "$2/tools/testing/kunit/kunit.py" parse "$dir/kunit.ktap" >"$dir/kunit-parse.log" 2>&1
		record $? "$name.kunit_parse" "see ${out#$top/}/$name/kunit-parse.log"
		tail -n 3 "$dir/kunit-parse.log"
	fi
	# Powered off with a VM alive (the end of /init), the module's reboot
	# notifier gave SVM/VMX/EL2 up on every CPU (not for the nvhe boot, where
	# the module refuses to load).
	case $name in
	*-nvhe) ;;
	*)
		grep -q 'axvm: reboot: virtualization off on every CPU' "$dir/console.log"
		record $? "$name.reboot_turns_virtualization_off" "no line from the reboot notifier"
		;;
	esac
	# Anything the kernel reported after the module came in is a failure.
	local reports
	# (The memory-cgroup test makes its group's OOM killer kill a VMM on
	# purpose: that report, up to the kill, is not one. KVM's selftests are
	# selftests-report.py's to judge: it tells the kernel's KVM from axvm.)
	reports=$(sed -n '/^AXVM-BEGIN/,$p' "$dir/console.log" | sed '/^selftest-begin /,/^selftest-end/d' |
		grep -Ev '^(ok|not ok) - ' |
		sed '/invoked oom-killer:.*oom_score_adj/,/Killed process\|oom_reaper/d' | grep -E \
		'WARNING:|BUG:|Oops|general protection|Call Trace|lockdep|circular locking|recursive locking|inconsistent lock|sleeping function called|scheduling while atomic|UBSAN|KASAN|kmemleak|RIP:|Kernel panic' |
		head -5)
	[ -z "$reports" ]
	record $? "$name.no_kernel_reports" "$reports"
}

# Debian's QEMU inside a Debian 6.1 boot runs the multiboot guest on kvm_amd,
# then on axvm through `axvm exec`: the same serial output (tests/harness/qemu-in-vm.sh).
qemu_in_vm() {
	note "== QEMU on KVM and on axvm inside Debian 6.1 (${out#$top/}/qemu-in-vm/)"
	"$top/tests/harness/qemu-in-vm.sh" --module "$top/build/debian-6.1/axvm.ko" --tools "$out" \
		--out "$out/qemu-in-vm" small | tee "$out/qemu-in-vm.log" | grep -E '^(ok|not ok|skip) - ' | tee -a "$results"
}

# ---- 5. the lanes ----
# Three lanes share the two CPUs: the x86 lane (builds, packaging, the QEMU
# boots one after the other), the Bochs boots (the longest, so they start as
# soon as Debian 6.1's module exists; the debug kernel's boot comes second),
# and the side lane: arm64, whose
# kernel build runs niced (it takes what the emulators leave), then KVM's
# x86 selftests.
arm64_lane() {
	arm64_root=$(timed kernel.debian_arm64 "$top/tests/harness/arm64-kernel.sh" "$arm64_abi" | tail -n 1)
	record $? kernel.debian_arm64_fetched
	arm64_kdir=$(timed kernel.arm64 nice -n 10 "$top/tests/harness/build-test-kernel.sh" arm64 | tail -n 1)
	record $? kernel.arm64_test_kernel_built
	timed build.debian-6.1-arm64 build_module debian-6.1-arm64 \
		"$arm64_root/usr/src/linux-headers-$arm64_abi-arm64" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
	timed build.arm64-testkernel build_module arm64-testkernel "$arm64_kdir" ARCH=arm64 \
		CROSS_COMPILE=aarch64-linux-gnu-
	test -f "$top/build/arm64-testkernel/axvm_kunit.ko"
	record $? build.arm64-testkernel.kunit_module
	timed build.arm64_userspace build_arm64_userspace
	st_arm64=$(timed build.selftests_aarch64 nice -n 10 "$top/tests/harness/selftests.sh" build aarch64 | tail -n 1)
	record $? build.selftests_aarch64 || st_arm64=""
	local image=$arm64_root/boot/vmlinuz-$arm64_abi-arm64
	timed boot.arm64-testkernel boot_arm64 arm64-testkernel arm64-testkernel "$arm64_kdir/arch/arm64/boot/Image" &
	timed boot.debian-6.1-arm64 boot_arm64 debian-6.1-arm64 debian-6.1-arm64 "$image"
	wait
	timed boot.debian-6.1-arm64-nvhe boot_arm64 debian-6.1-arm64-nvhe debian-6.1-arm64 "$image" kvm-arm.mode=nvhe
	check_boot debian-6.1-arm64
	check_boot debian-6.1-arm64-nvhe
	check_boot arm64-testkernel "$arm64_kdir"
}

# KVM's x86 selftests, in a Debian 6.1 boot of their own, run by whichever
# of the x86 lane and the side lane gets to them first (mkdir claims them):
# with a warm cache the arm64 lane ends long before the x86 lane; with a
# cold one its niced kernel build makes it the last.
x86_selftests() {
	mkdir "$out/x86-selftests.claimed" 2>/dev/null || return 0
	st_x86=$(timed build.selftests_x86_64 "$top/tests/harness/selftests.sh" build x86_64 | tail -n 1)
	record $? build.selftests_x86_64 || return
	timed boot.debian-6.1-selftests boot debian-6.1-selftests "$deb61_image" "$top/build/debian-6.1" \
		"/lib/modules/${deb61_image#*vmlinuz-}"
}

side_lane() {
	arm64_lane
	x86_selftests
}

# Bochs (VMX): Debian's 6.1 for the whole end-to-end suite, then our debug
# kernel for the KUnit suites alone (the in-kernel guest on VMX, hopping
# CPUs, VMX switched off and on under it).
# The x86 lane says when the debug kernel and its module are there (or
# not): OUT/testkernel.ready holds the kernel's tree, or nothing.
bochs_lane() {
	local kdir
	timed boot.bochs-vmx boot_bochs bochs-vmx "$deb61_image" "$top/build/debian-6.1" \
		"/lib/modules/${deb61_image#*vmlinuz-}"
	while [ ! -f "$out/testkernel.ready" ]; do sleep 5; done
	kdir=$(cat "$out/testkernel.ready")
	[ -n "$kdir" ] || return
	timed boot.bochs-vmx-kunit boot_bochs bochs-vmx-kunit "$kdir/arch/x86/boot/bzImage" \
		"$top/build/testkernel" "" "kmemleak=off axvm.mode=kunit"
}

# KVM's selftests, from both machines' consoles: check lines, and the table
# in build/test/selftests.md and README.md.
selftests_report() {
	note "== KVM's selftests on KVM and on axvm (tests/harness/selftests-report.py)"
	python3 "$top/tests/harness/selftests-report.py" --results "$results" --table "$out/selftests.md" \
		--readme "$top/README.md" debian-6.1="$out/debian-6.1-selftests/console.log" \
		debian-6.1-arm64="$out/debian-6.1-arm64/console.log" >"$out/selftests.log"
	grep -E '^(not ok|skip) - |^selftests: ' "$out/selftests.log"
}

case $mode in
test)
	timed build.x86_userspace build_x86_userspace
	timed build.debian-6.1 build_module debian-6.1 "$deb61_kdir"
	bg boot.bochs bochs_lane
	bg arm64 side_lane
	if test_kernel && timed build.testkernel build_module testkernel "$test_kdir"; then
		test -f "$top/build/testkernel/axvm_kunit.ko"
		record $? build.testkernel.kunit_module
		echo "$test_kdir" >"$out/testkernel.ready"
	else
		: >"$out/testkernel.ready"
	fi
	timed build.debian-6.12 build_module debian-6.12 "$deb612_kdir"
	note "== packaging: make deb, the packages installed and purged (tests/harness/packaging.sh)"
	timed packaging "$top/tests/harness/packaging.sh" "$out" "${deb61_kdir#/usr/src/linux-headers-}" \
		"${deb612_kdir#/usr/src/linux-headers-}" | tee -a "$results"
	note "== booting (QEMU -cpu EPYC, TCG)"
	if [ -s "$out/testkernel.ready" ]; then
		timed boot.testkernel boot testkernel "$test_kdir/arch/x86/boot/bzImage" "$top/build/testkernel"
		check_boot testkernel "$test_kdir"
	fi
	timed boot.debian-6.1 boot debian-6.1 "$deb61_image" "$top/build/debian-6.1" "/lib/modules/${deb61_image#*vmlinuz-}"
	check_boot debian-6.1
	# 6.12: whether axvm builds, loads and works there, and the module DKMS
	# installed; the full suite runs on the debug kernel and on 6.1.
	cmdline="axvm.suite=smoke" timed boot.debian-6.12 boot debian-6.12 "$deb612_image" "$top/build/debian-6.12" \
		"/lib/modules/${deb612_image#*vmlinuz-}"
	check_boot debian-6.12
	timed qemu-in-vm qemu_in_vm
	x86_selftests
	note "== Bochs (VMX)"
	finish boot.bochs
	[ ! -s "$out/testkernel.ready" ] || check_boot bochs-vmx-kunit "$test_kdir"
	check_boot bochs-vmx
	note "== arm64 (and KVM's x86 selftests if that lane ran them)"
	finish arm64
	selftests_report
	;;
fuzz)
	timed build.x86_userspace build_x86_userspace
	test_kernel || { summary; exit 1; }
	timed build.testkernel build_module testkernel "$test_kdir"
	note "fuzzing for $fuzz_seconds s from seed $fuzz_seed on the debug kernel"
	cmdline="axvm.mode=fuzz axvm.fuzz_seconds=$fuzz_seconds axvm.fuzz_seed=$fuzz_seed"
	boot testkernel "$test_kdir/arch/x86/boot/bzImage" "$top/build/testkernel"
	grep '^fuzz: ' "$out/testkernel/console.log" | grep -v 'case seed' | tail -n 20
	check_boot testkernel
	# A kernel report belongs to the case running when it came.
	first=$(grep -nE 'BUG:|WARNING:|KASAN|UBSAN|Oops' "$out/testkernel/console.log" | head -n 1 | cut -d: -f1)
	[ -z "$first" ] || head -n "$first" "$out/testkernel/console.log" | grep 'fuzz: case seed' | tail -n 1 |
		sed 's/^fuzz: case seed/the first kernel report came during the case with seed/'
	;;
soak)
	test_kernel # (not needed here, but not left building either)
	timed build.x86_userspace build_x86_userspace
	timed build.debian-6.12 build_module debian-6.12 "$deb612_kdir"
	cmdline="axvm.mode=soak"
	boot debian-6.12 "$deb612_image" "$top/build/debian-6.12"
	grep '^soak: ' "$out/debian-6.12/console.log"
	check_boot debian-6.12
	;;
esac

summary
