#!/bin/bash
# A real VMM on axvm: Debian's qemu-system-x86_64 (7.2) inside a test
# machine, once on the kernel's KVM and once on axvm (`axvm exec`), compared.
# The test machine is Debian's 6.1 under QEMU (-cpu EPYC: SVM in software)
# with the host's root shared read-only over 9p, so the inner QEMU is the
# host's own binary (tests/boot/init-qemu, tests/boot/qemu-checks.sh).
#
# Usage: tests/harness/qemu-in-vm.sh [options] small|linux|bench
#   small   the multiboot guest (tools/guests/multiboot.S): exit status and
#           serial output on KVM, the same bytes on axvm, with QEMU's default
#           in-kernel irqchip and with kernel_irqchip=off (part of `make test`)
#   linux   a Linux guest to its shell (`make qemu-test`): one boot with 1
#           vCPU (outer TCG single-threaded), one with 2 (multi-threaded:
#           two inner vCPUs need it), each with QEMU's irqchips (off, on,
#           split); on axvm the guest's console must be KVM's; times to the
#           shell marker
#   bench   the multiboot guest's time on KVM and on axvm, the ratio
#           (`make bench`; never pass/fail)
# Options:
#   --module KO   axvm.ko built for Debian's 6.1 (default: built here)
#   --tools DIR   a `make tools` output with axvm and guests/multiboot.elf
#                 (default: built here)
#   --out DIR     where everything goes (default build/qemu-in-vm/WHAT)
# Environment: AXVM_QEMU_LINUX=tiny|debian (tiny: our lean kernel,
# tests/kernel/x86_64-qemu-guest.config, built once and cached; debian:
# /boot/vmlinuz-6.1*), AXVM_QEMU_LINUX_RUNS_1 / _2 (the runs of each Linux
# boot, HYPERVISOR:VCPUS:IRQCHIP ...; empty: no such boot), AXVM_QEMU_LINUX_TIMEOUT (seconds per
# inner boot), AXVM_BENCH_ROUNDS.
#
# Prints one "ok - qemu-in-vm.BOOT.NAME" / "not ok - ..." line per check,
# "# " notes, and "time: ..." lines; exit status 0 when nothing failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
module=""
tools=""
out=""
while [ $# -gt 1 ]; do
	case $1 in
	--module) module=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) break ;;
	esac
done
what=${1:-}
case $what in
small | linux | bench) ;;
*) echo "usage: tests/harness/qemu-in-vm.sh [--module KO] [--tools DIR] [--out DIR] small|linux|bench" >&2; exit 2 ;;
esac
out=${out:-$top/build/qemu-in-vm/$what}
rm -rf "$out"
mkdir -p "$out"
failed=0
record() { # record STATUS NAME [WHY]
	if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2${3:+: $3}"; failed=1; fi
}

kdir=$(ls -d /usr/src/linux-headers-6.1.*-amd64 | sort -V | tail -n 1)
version=${kdir#/usr/src/linux-headers-}
image=/boot/vmlinuz-$version
kmods=/lib/modules/$version/kernel

if [ -z "$module" ]; then
	mkdir -p "$out/src"
	(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$out/src"
	make -s -C "$out/src" KDIR="$kdir" >"$out/build.log" 2>&1
	record $? qemu-in-vm.build_module "see ${out#$top/}/build.log" || exit 1
	module=$out/src/axvm.ko
fi
if [ -z "$tools" ]; then
	make -s -C "$top" tools OUT="$out/tools" >"$out/tools.log" 2>&1
	record $? qemu-in-vm.build_tools "see ${out#$top/}/tools.log" || exit 1
	tools=$out/tools
fi

# The Linux guest: its kernel (a path the chroot sees as on the host: the
# share is the host's root) and a busybox initramfs whose /init prints the
# marker with the number of CPUs it sees, then powers off.
linux_kernel=""
linux_name=${AXVM_QEMU_LINUX:-tiny}
if [ "$what" = linux ]; then
	case $linux_name in
	debian) linux_kernel=$image ;;
	tiny)
		tree=$("$top/tests/harness/build-guest-kernel.sh" | tail -n 1)
		record $? qemu-in-vm.guest_kernel_built || exit 1
		linux_kernel=$tree/arch/x86/boot/bzImage
		;;
	*) echo "qemu-in-vm: AXVM_QEMU_LINUX=$linux_name: tiny or debian" >&2; exit 2 ;;
	esac
	mkdir -p "$out/guest-root/bin" "$out/guest-root/proc"
	cp /bin/busybox "$out/guest-root/bin/"
	# Before the marker, what the guest set up that must not depend on the
	# hypervisor: its CPUs and its interrupt sources with their controllers
	# (/proc/interrupts without the counts). With `quiet`, the rest of the
	# console is the kernel's errors; the host compares it all.
	cat >"$out/guest-root/init" <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox mount -t proc proc /proc
	n=$(/bin/busybox grep -c ^processor /proc/cpuinfo)
	/bin/busybox awk -v n="$n" 'NR > 1 { s = $1; for (i = n + 2; i <= NF; i++) s = s " " $i; print "irq " s }' \
		/proc/interrupts
	echo "AXVM-GUEST-SHELL cpus=$n"
	/bin/busybox poweroff -f
	EOF
	chmod +x "$out/guest-root/init"
	(cd "$out/guest-root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/linux-initrd.gz"
fi

# One boot of the test machine: NAME, TCG threading, then qemu.conf lines.
boot() { # boot NAME THREAD CONF...
	local name=$1 thread=$2 dir=$out/$1 m
	shift 2
	rm -rf "$dir"
	mkdir -p "$dir/root/bin" "$dir/root/modules" "$dir/root/axvm/guests" "$dir/root/axvm/expected"
	for d in proc sys dev tmp; do mkdir -p "$dir/root/$d"; done
	cp /bin/busybox "$dir/root/bin/"
	install -m 0755 "$top/tests/boot/init-qemu" "$dir/root/init"
	for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache \
		net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
		if [ -f "$kmods/$m.ko.xz" ]; then xz -dc "$kmods/$m.ko.xz" >"$dir/root/modules/${m##*/}.ko"; else cp "$kmods/$m.ko" "$dir/root/modules/"; fi
	done
	cp "$module" "$tools/axvm" "$top/tests/boot/qemu-checks.sh" "$dir/root/axvm/"
	cp "$tools/guests/multiboot.elf" "$dir/root/axvm/guests/"
	cp "$top/tests/expected/multiboot.out" "$dir/root/axvm/expected/"
	[ ! -f "$out/linux-initrd.gz" ] || cp "$out/linux-initrd.gz" "$dir/root/axvm/"
	printf '%s\n' "$@" >"$dir/root/axvm/qemu.conf"
	(cd "$dir/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs.cpio.gz"
	# loglevel=5: kernel warnings reach the console, the rest stays quiet.
	timeout "${AXVM_QEMU_BOOT_TIMEOUT:-1800}" qemu-system-x86_64 -M q35 -accel tcg,thread="$thread" -cpu EPYC \
		-m 2048 -smp 2 -nographic -no-reboot -kernel "$image" -initrd "$dir/initramfs.cpio.gz" \
		-append "console=ttyS0 loglevel=5 panic=-1 oops=panic" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
		</dev/null >"$dir/console.raw" 2>&1
	echo $? >"$dir/qemu.status"
	tr -d '\r' <"$dir/console.raw" >"$dir/console.log"

	local log=$dir/console.log prefix=qemu-in-vm.$name reports
	grep -q '^AXVM-DONE' "$log"
	record $? "$prefix.boot_completed" "no AXVM-DONE; qemu status $(cat "$dir/qemu.status"), see ${dir#$top/}/console.log"
	while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok - $prefix.${line#ok - }" ;;
		"not ok - "*) echo "not ok - $prefix.${line#not ok - }"; failed=1 ;;
		"skip - "*) echo "skip - $prefix.${line#skip - }" ;;
		"# "* | "time: "*) echo "$line" ;;
		esac
	done < <(sed -n '/^AXVM-BEGIN/,/^AXVM-DONE/p' "$log")
	grep '^time: ' "$log" >>"$out/times"
	reports=$(sed -n '/^AXVM-BEGIN/,$p' "$log" | grep -Ev '^(ok|not ok) - |^# ' | grep -E \
		'WARNING:|BUG:|Oops|general protection|Call Trace|RIP:|Kernel panic' | head -5)
	[ -z "$reports" ]
	record $? "$prefix.no_kernel_reports" "$reports"
}

case $what in
small)
	boot small single what=small
	;;
linux)
	tmo=${AXVM_QEMU_LINUX_TIMEOUT:-240}
	runs=${AXVM_QEMU_LINUX_RUNS_1-kvm:1:off kvm:1:on kvm:1:split axvm:1:off axvm:1:on axvm:1:split}
	[ -z "$runs" ] || boot linux-1cpu single what=linux linux_name="$linux_name" linux_kernel="$linux_kernel" \
		linux_initrd=/tmp/axvm/linux-initrd.gz linux_timeout="$tmo" linux_runs="'$runs'"
	# Two inner vCPUs need the outer QEMU multi-threaded; QEMU's userspace
	# local APIC does not bring a second vCPU up even on KVM (recipes), so
	# two vCPUs run with the in-kernel irqchips only.
	runs=${AXVM_QEMU_LINUX_RUNS_2-kvm:2:on kvm:2:split axvm:2:on axvm:2:split}
	[ -z "$runs" ] || boot linux-2cpu multi what=linux linux_name="$linux_name" linux_kernel="$linux_kernel" \
		linux_initrd=/tmp/axvm/linux-initrd.gz linux_timeout="$tmo" linux_runs="'$runs'"
	;;
bench)
	boot bench single what=bench bench_rounds="${AXVM_BENCH_ROUNDS:-5}"
	# The median of each side's times to the guest's last line, and axvm/KVM.
	for hv in kvm axvm; do
		sed -n "s/^time: bench round=[0-9]* $hv small_guest_ms=\([0-9]*\) status=33$/\1/p" "$out/times" |
			sort -n | awk -v hv=$hv '{ a[NR] = $1 } END { if (NR) print hv, a[int((NR + 1) / 2)], NR }'
	done >"$out/medians"
	awk 'BEGIN { kvm = 0; axvm = 0 }
		$1 == "kvm" { kvm = $2; nk = $3 } $1 == "axvm" { axvm = $2; na = $3 }
		END {
			printf "qemu small guest, time to its last line (median): KVM %s ms (%d runs), axvm %s ms (%d runs)", kvm ? kvm : "-", nk, axvm ? axvm : "-", na
			if (kvm && axvm) printf ", axvm/KVM %.2f", axvm / kvm
			printf "\n"
		}' "$out/medians"
	;;
esac
exit $failed
