#!/bin/bash
# `make demo`: see a guest run under axvm on any Debian machine, with or
# without hardware virtualization. Boots Debian's stock 6.1 kernel under
# QEMU with an emulated AMD CPU that has SVM, loads axvm.ko there and runs
# the real-mode hello-world guest with `axvm run`; the guest's output and
# the exit summary scroll by on the emulated serial console.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/demo
"$top/tests/harness/install-deps.sh" >/dev/null

kdir=$(ls -d /usr/src/linux-headers-6.1.*-amd64 | sort -V | tail -n 1)
image=/boot/vmlinuz-${kdir#/usr/src/linux-headers-}
echo "== building axvm.ko for $(basename "$image") and the axvm tool"
rm -rf "$out"
mkdir -p "$out/src" "$out/root/bin" "$out/root/axvm" "$out/root/proc" "$out/root/sys" "$out/root/dev"
(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$out/src"
make -s -C "$out/src" KDIR="$kdir" >"$out/build.log" 2>&1 || { tail -20 "$out/build.log"; exit 1; }
make -s -C "$top" tools OUT="$out/tools" >>"$out/build.log" 2>&1

cp /bin/busybox "$out/root/bin/"
cp "$out/src/axvm.ko" "$out/tools/axvm" "$out/tools/guests/real.bin" "$out/root/axvm/"
cat >"$out/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo
echo '$ insmod axvm.ko'
insmod /axvm/axvm.ko
echo '$ axvm run real.bin --mode real --mem 512K'
/axvm/axvm run /axvm/real.bin --mode real --mem 512K
echo "(exit status $?)"
sleep 1
poweroff -f
INIT
chmod +x "$out/root/init"
(cd "$out/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

echo "== booting $(basename "$image") under QEMU (-cpu EPYC: SVM emulated in software)"
timeout 300 qemu-system-x86_64 -M q35 -accel tcg,thread=single -cpu EPYC -m 512 -smp 2 \
	-nographic -no-reboot -kernel "$image" -initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet loglevel=4 panic=-1" </dev/null 2>/dev/null |
	tr -d '\r' | sed -n '/^\$ insmod/,/^(exit status/p'
