#!/bin/bash
# `make bench`: boots Debian's 6.1 kernel under QEMU (-cpu EPYC) with both
# Debian's kvm_amd and axvm.ko loaded, runs tests/bench/bench.cpp against
# /dev/kvm and /dev/axvm in the same boot, prints its table and keeps the
# JSON in build/bench/results.json. Then a second boot runs Debian's QEMU
# there with the multiboot guest, on KVM and on axvm alternately, and prints
# the median times to the guest's last line and their ratio
# (tests/harness/qemu-in-vm.sh bench). A third boot has that QEMU boot our
# small Linux to its shell with each of its irqchips (in the kernel, split,
# in userspace) on both, and prints the medians: what the in-kernel
# interrupt controllers buy a real VMM. Not part of `make test`; numbers are
# never pass/fail.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/bench
rounds=${AXVM_BENCH_ROUNDS:-5}
"$top/tests/harness/install-deps.sh" >/dev/null

kdir=$(ls -d /usr/src/linux-headers-6.1.*-amd64 | sort -V | tail -n 1)
version=${kdir#/usr/src/linux-headers-}
image=/boot/vmlinuz-$version
kmods=/lib/modules/$version/kernel
echo "== building axvm.ko for $version and the benchmark"
rm -rf "$out"
mkdir -p "$out/src" "$out/root/bin" "$out/root/bench" "$out/root/proc" "$out/root/sys" "$out/root/dev"
(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$out/src"
make -s -C "$out/src" KDIR="$kdir" >"$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 1; }
g++ -std=gnu++17 -O2 -Wall -Wextra -Werror -static -I"$top/include" -o "$out/root/bench/bench" \
	"$top/tests/bench/bench.cpp" "$top/tools/vm.cpp" -lpthread
make -s -C "$top" -f tools/Makefile OUT="$out/tools" "$out/tools/guests/bench_timer.bin" "$out/tools/guests/bench_ipi.bin"
mkdir -p "$out/root/bench/guests"
cp "$out/tools/guests/bench_timer.bin" "$out/tools/guests/bench_ipi.bin" "$out/root/bench/guests/"

cp /bin/busybox "$out/root/bin/"
cp "$out/src/axvm.ko" "$out/root/bench/"
for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
	cp "$kmods/$m.ko" "$out/root/bench/"
done
cat >"$out/root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
cd /bench
insmod irqbypass.ko && insmod ccp.ko && insmod kvm.ko && insmod kvm-amd.ko && insmod axvm.ko
echo BENCH-BEGIN
./bench --rounds $rounds /dev/kvm /dev/axvm
echo BENCH-END
sleep 1
poweroff -f
INIT
chmod +x "$out/root/init"
(cd "$out/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

echo "== booting $version under QEMU with kvm_amd and axvm ($rounds rounds, a few minutes)"
timeout 1800 qemu-system-x86_64 -M q35 -accel tcg,thread=single -cpu EPYC -m 2048 -smp 2 \
	-nographic -no-reboot -kernel "$image" -initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1" </dev/null 2>/dev/null |
	tr -d '\r' >"$out/console.log" || true
sed -n '/^case /,/^BENCH-JSON-BEGIN/p' "$out/console.log" | sed '$d'
sed -n '/^BENCH-JSON-BEGIN/,/^BENCH-JSON-END/p' "$out/console.log" | sed '1d;$d' >"$out/results.json"
grep -q . "$out/results.json" || { echo "no results; see $out/console.log"; exit 1; }
echo "(JSON: build/bench/results.json)"

echo "== Debian's QEMU inside the same kind of boot: the multiboot guest on KVM and on axvm ($rounds rounds each)"
"$top/tests/harness/qemu-in-vm.sh" --module "$out/src/axvm.ko" --out "$out/qemu" bench >"$out/qemu.log" 2>&1 || true
grep -E '^not ok - |^qemu small guest' "$out/qemu.log" || echo "no QEMU numbers; see build/bench/qemu.log"

# Linux to its shell under Debian's QEMU, one vCPU, each irqchip, KVM and
# axvm interleaved so that a slow stretch of the machine hits both sides.
lrounds=$((rounds < 3 ? rounds : 3))
runs=""
for i in $(seq 1 "$lrounds"); do
	runs="$runs kvm:1:on axvm:1:on kvm:1:split axvm:1:split kvm:1:off axvm:1:off"
done
echo "== Debian's QEMU booting a small Linux to its shell, irqchip on/split/off, on KVM and on axvm ($lrounds rounds each)"
AXVM_QEMU_LINUX_RUNS_1="$runs" AXVM_QEMU_LINUX_RUNS_2="" "$top/tests/harness/qemu-in-vm.sh" \
	--module "$out/src/axvm.ko" --out "$out/qemu-linux" linux >"$out/qemu-linux.log" 2>&1 || true
# time: HV linux=tiny vcpus=1 irqchip=IRQ shell_ms=MS status=S
awk '$1 == "time:" && $6 ~ /^shell_ms=[0-9]+$/ {
		split($5, q, "="); split($6, m, "=")
		k = $2 " " q[2]; n[k]++; v[k, n[k]] = m[2]
	}
	function med(k,   i, j, t, c) {
		c = n[k]
		if (!c) return -1
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[k, j] < v[k, i]) { t = v[k, i]; v[k, i] = v[k, j]; v[k, j] = t }
		return v[k, int((c + 1) / 2)]
	}
	function show(x) { return x < 0 ? "-" : sprintf("%d ms", x) }
	END {
		printf "%-36s %10s %10s %8s\n", "qemu linux to shell (median)", "kvm", "axvm", "ratio"
		split("on split off", irqs, " ")
		for (i = 1; i <= 3; i++) {
			a = med("kvm " irqs[i]); b = med("axvm " irqs[i]); r[irqs[i]] = b
			printf "%-36s %10s %10s %8s\n", "kernel_irqchip=" irqs[i], show(a), show(b), (a > 0 && b > 0) ? sprintf("%.2f", b / a) : "-"
		}
		if (r["on"] > 0 && r["off"] > 0)
			printf "on axvm, in-kernel irqchip against the userspace one: %.2f of its time\n", r["on"] / r["off"]
	}' "$out/qemu-linux/times" 2>/dev/null || true
grep -E '^not ok - ' "$out/qemu-linux.log" || true
[ -s "$out/qemu-linux/times" ] || echo "no QEMU Linux numbers; see build/bench/qemu-linux.log"
