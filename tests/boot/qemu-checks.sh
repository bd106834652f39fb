#!/bin/bash
# Debian's QEMU on the kernel's KVM and on axvm, in one test machine.
# tests/boot/init-qemu runs this chrooted into the host's root (over 9p),
# with DIR (/tmp/axvm) holding axvm.ko, the axvm tool, guests/, expected/ and
# qemu.conf, which says what to do (tests/harness/qemu-in-vm.sh writes it):
#
#   what=small  the multiboot guest (tools/guests/multiboot.S) on KVM, then
#               on axvm through `axvm exec` with KVM unloaded, each with
#               QEMU's default in-kernel irqchip and with kernel_irqchip=off:
#               all must exit through isa-debug-exit and print the same bytes
#   what=linux  a Linux kernel to its /init's shell marker, for each run in
#               $linux_runs (HYPERVISOR:VCPUS:IRQCHIP, KVM's runs first)
#   what=bench  the multiboot guest's time to its last line, on KVM and on
#               axvm alternately, $bench_rounds times each
#
# One "ok - NAME" / "not ok - NAME" line per check (the host adds a prefix);
# "# " lines are notes; "time: ..." lines are measurements.
set -u
dir=$1
. "$dir/qemu.conf"
export PATH=$dir:$PATH
cd "$dir" || exit 1

check() { # check STATUS NAME
	if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}
note() { sed 's/^/# /'; }

# Only the devices the guests use: the serial port on stdio and QEMU's
# isa-debug-exit (a write of V ends QEMU with status V * 2 + 1). The PIC,
# PIT and local APIC are QEMU's own with kernel_irqchip=off, the kernel's
# (KVM's or axvm's) with QEMU's default.
qemu=(qemu-system-x86_64 -accel kvm -cpu EPYC -m 256 -nodefaults -display none -monitor none -serial stdio
	-no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4)
small_guest=(-machine q35,kernel_irqchip=off -kernel "$dir/guests/multiboot.elf")
small_irqchips="on off" # on: QEMU's default
SMALL_OK=33 # multiboot.S's EXIT_OK (0x10) * 2 + 1

# run NAME TIMEOUT COMMAND...: the serial lines, each with the milliseconds
# since the start, into NAME.log; the bare lines into NAME.serial, stderr
# into NAME.err, the exit status into NAME.status. The times are taken by
# bash as each line arrives (no buffering program in between).
run() {
	local name=$1 tmo=$2 start line now
	shift 2
	start=${EPOCHREALTIME/./}
	timeout -k 5 "$tmo" "$@" </dev/null 2>"$name.err" | while IFS= read -r line || [ -n "$line" ]; do
		now=${EPOCHREALTIME/./}
		printf '%d %s\n' $(((now - start) / 1000)) "${line%$'\r'}"
	done >"$name.log"
	echo "${PIPESTATUS[0]}" >"$name.status"
	sed 's/^[0-9]* //' "$name.log" >"$name.serial"
}
status() { cat "$1.status"; }
ms_to() { sed -n "s/^\([0-9]*\) .*$2.*/\1/p" "$1.log" | head -n 1; } # ms_to NAME PATTERN

# What QEMU said and the last KVM ioctls it made, for the log: the run again
# under strace, when there is one (the host's, through the chroot).
diagnose() { # diagnose NAME COMMAND...
	local name=$1
	shift
	echo "QEMU status $(status "$name"), stderr:" | note
	tail -n 15 "$name.err" | note
	echo "serial:" | note
	tail -n 10 "$name.serial" | note
	dmesg | grep -i axvm | tail -n 10 | note
	if command -v strace >/dev/null; then
		if [ "$1" = axvm ]; then
			timeout -k 5 60 axvm exec strace -f -e trace=ioctl -o "$dir/$name.strace" "${@:3}" \
				</dev/null >/dev/null 2>&1
		else
			timeout -k 5 60 strace -f -e trace=ioctl -o "$dir/$name.strace" "$@" </dev/null >/dev/null 2>&1
		fi
		echo "the last KVM ioctls (strace -f -e trace=ioctl):" | note
		grep -v 'TCGETS\|TIOC\|SNDCTL\|FIONBIO\|FIOCLEX' "$name.strace" | tail -n 40 | note
	fi
}

# SeaBIOS relocates SMBASE with an SMI in every boot where QEMU offers SMM
# (KVM_CAP_X86_SMM): the SMM transitions of one run, seen through KVM's
# kvm_smm_transition tracepoint, or axvm's exits for RSM (SVM exit 0x73).
tracing=/sys/kernel/tracing
smm_trace_start() { # smm_trace_start kvm|axvm
	mountpoint -q $tracing || mount -t tracefs nodev $tracing || return
	echo 0 >$tracing/tracing_on
	echo >$tracing/trace
	if [ "$1" = kvm ]; then
		echo 1 >$tracing/events/kvm/kvm_smm_transition/enable
	else
		echo 'code == 0x73' >$tracing/events/axvm/axvm_exit/filter
		echo 1 >$tracing/events/axvm/axvm_exit/enable
	fi
	echo 1 >$tracing/tracing_on
}
smm_trace_count() { # prints how many, and stops tracing
	echo 0 >$tracing/tracing_on
	grep -c 'kvm_smm_transition\|axvm_exit' $tracing/trace
	for e in kvm/kvm_smm_transition axvm/axvm_exit; do
		[ -e $tracing/events/$e/enable ] && echo 0 >$tracing/events/$e/enable
	done
	[ -e $tracing/events/axvm/axvm_exit/filter ] && echo 0 >$tracing/events/axvm/axvm_exit/filter
}

kvm_on() { modprobe kvm_amd && test -c /dev/kvm; }
# KVM out (no /dev/kvm, so QEMU cannot reach it by mistake), axvm in.
axvm_on() {
	modprobe -r kvm_amd kvm 2>/dev/null
	! test -e /dev/kvm && { lsmod | grep -q '^axvm ' || insmod "$dir/axvm.ko"; } && test -c /dev/axvm
}

small() {
	local irq hv name guest
	kvm_on
	check $? kvm_amd_loaded
	for hv in kvm axvm; do
		if [ $hv = axvm ]; then
			axvm_on
			check $? axvm_loaded_kvm_unloaded
		fi
		for irq in $small_irqchips; do
			name=$hv-small-irqchip-$irq
			guest=(-machine "q35,kernel_irqchip=$irq" -kernel "$dir/guests/multiboot.elf")
			[ $irq = on ] && smm_trace_start $hv
			if [ $hv = kvm ]; then
				run "$name" 120 "${qemu[@]}" "${guest[@]}"
			else
				run "$name" 120 axvm exec "${qemu[@]}" "${guest[@]}"
			fi
			if [ $irq = on ]; then
				smm=$(smm_trace_count)
				test "${smm:-0}" -gt 0
				check $? "$hv.small_guest_seabios_used_smm"
				echo "$hv: $smm SMM transitions traced (kvm: entries and exits; axvm: RSMs)" | note
			fi
			test "$(status "$name")" = $SMALL_OK
			check $? "$hv.small_guest_irqchip_${irq}_exit_status"
			if [ $hv = kvm ]; then
				cmp -s "$name.serial" expected/multiboot.out
				check $? "kvm.small_guest_irqchip_${irq}_output"
			else
				cmp -s "kvm-small-irqchip-$irq.serial" "$name.serial"
				check $? "axvm.small_guest_irqchip_${irq}_same_as_kvm"
				if ! cmp -s "kvm-small-irqchip-$irq.serial" "$name.serial"; then
					echo "--- on KVM" | note
					note <"kvm-small-irqchip-$irq.serial"
					echo "--- on axvm" | note
					note <"$name.serial"
				fi
			fi
			if [ "$(status "$name")" != $SMALL_OK ]; then
				if [ $hv = kvm ]; then diagnose "$name" "${qemu[@]}" "${guest[@]}"
				else diagnose "$name" axvm exec "${qemu[@]}" "${guest[@]}"; fi
			fi
			echo "time: $hv irqchip=$irq small_guest_ms=$(ms_to "$name" "all modes done" | grep . || echo none)"
		done
	done
}

# Linux to the shell: $linux_kernel with $linux_initrd, whose /init prints
# "AXVM-GUEST-SHELL cpus=N" and powers off.
linux() {
	local spec hv n irq name cmd ms loaded=""
	for spec in $linux_runs; do
		IFS=: read -r hv n irq <<<"$spec"
		if [ "$loaded" != "$hv" ]; then
			if [ "$hv" = kvm ]; then kvm_on; else axvm_on; fi
			check $? "${hv}_loaded"
			loaded=$hv
		fi
		name=$hv-linux-$linux_name-${n}cpu-irqchip-$irq
		cmd=("${qemu[@]}" -smp "$n" -machine "q35,kernel_irqchip=$irq" -kernel "$linux_kernel"
			-initrd "$linux_initrd" -append "console=ttyS0 quiet panic=-1")
		[ "$hv" = axvm ] && cmd=(axvm exec "${cmd[@]}")
		run "$name" "$linux_timeout" "${cmd[@]}"
		# The whole line, anchored here: through ms_to (which puts ".*"
		# after its pattern) the "$" was a literal and no boot "reached" it.
		ms=$(sed -n "s/^\([0-9]*\) .*AXVM-GUEST-SHELL cpus=$n\$/\1/p" "$name.log" | head -n 1)
		test -n "$ms"
		check $? "$hv.linux_${linux_name}_${n}cpu_irqchip_${irq}_reaches_shell"
		echo "time: $hv linux=$linux_name vcpus=$n irqchip=$irq shell_ms=${ms:-none} status=$(status "$name")"
		[ -n "$ms" ] || diagnose "$name" "${cmd[@]}"
		[ "$hv" = axvm ] && [ -n "$ms" ] && same_console "kvm-${name#axvm-}" "$name" \
			"axvm.linux_${linux_name}_${n}cpu_irqchip_${irq}_console_same_as_kvm"
	done
}

# The guest's console up to its marker (timestamps of kernel messages
# stripped) on axvm against KVM's in the same machine; a skip when KVM's
# run did not reach the marker, so there is nothing to compare with.
same_console() { # same_console KVM_RUN AXVM_RUN CHECK
	local f
	for f in "$1" "$2"; do
		sed -e 's/^\[ *[0-9]*\.[0-9]*\] //' -e '/AXVM-GUEST-SHELL/q' "$f.serial" >"$f.console"
	done
	if ! grep -q AXVM-GUEST-SHELL "$1.console" 2>/dev/null; then
		echo "skip - $3: KVM's run did not reach the shell"
		return
	fi
	cmp -s "$1.console" "$2.console"
	check $? "$3"
	if cmp -s "$1.console" "$2.console"; then
		echo "$2: $(wc -l <"$2.console") lines, as on KVM:" | note
		note <"$2.console"
	else
		diff "$1.console" "$2.console" | head -n 20 | note
	fi
}

# The multiboot guest to its last line, KVM and axvm alternately. KVM stays
# loaded: Debian's 6.1 holds SVM only while one of its VMs exists, so axvm
# can have it between KVM's runs; `axvm exec` hides /dev/kvm.
bench() {
	local i hv ms
	kvm_on && { lsmod | grep -q '^axvm ' || insmod "$dir/axvm.ko"; }
	check $? bench.both_loaded
	run warmup 120 "${qemu[@]}" "${small_guest[@]}" # QEMU's files into the page cache
	for i in $(seq 1 "$bench_rounds"); do
		for hv in kvm axvm; do
			if [ $hv = kvm ]; then
				run bench-$hv 120 "${qemu[@]}" "${small_guest[@]}"
			else
				run bench-$hv 120 axvm exec "${qemu[@]}" "${small_guest[@]}"
			fi
			ms=$(ms_to bench-$hv 'all modes done')
			echo "time: bench round=$i $hv small_guest_ms=${ms:-none} status=$(status bench-$hv)"
		done
	done
}

case $what in
small) small ;;
linux) linux ;;
bench) bench ;;
*) echo "not ok - qemu.conf: unknown what=$what" ;;
esac
