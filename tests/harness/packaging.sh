#!/bin/bash
# Packaging checks for `make test`, on the host (root):
#  - `make deb` builds axvm-dkms and axvm-tools, lintian without errors;
#  - both packages install for real: DKMS builds and installs axvm.ko for
#    both kernels, the axvm group and the udev rule exist, /usr/bin/axvm and
#    its man page work; then they are purged again. The 6.12 module DKMS
#    installed is kept in OUT/packaged/ for the 6.12 boot to load.
# One "ok"/"not ok" line per check.
#
# Usage: tests/harness/packaging.sh OUT KVER-6.1 KVER-6.12
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
kernels=("$2" "$3")
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "not ok - $2${3:+: $3}"; fi; }
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
log=$out/packaging.log
: >"$log"

rm -rf "$out/packaged"
mkdir -p "$out/packaged"

"$top/scripts/make-deb.sh" >"$out/deb.log" 2>&1
check $? deb.built_lintian_clean "see ${out#$top/}/deb.log"
deb_dkms=$top/build/deb/axvm-dkms_${version}_all.deb
deb_tools=$(ls "$top"/build/deb/axvm-tools_"${version}"_*.deb 2>/dev/null | head -n 1)

# ---- the packages, installed and purged ----
dpkg --purge axvm-tools axvm-dkms >>"$log" 2>&1
dpkg -i "$deb_dkms" "$deb_tools" >>"$log" 2>&1
check $? deb.installed "see ${log#$top/}"
ok=0
for k in "${kernels[@]}"; do
	dkms status -m axvm -v "$version" -k "$k" 2>/dev/null | grep -q ': installed' || ok=1
done
check $ok deb.dkms_installed_for_both_kernels
getent group axvm >/dev/null && test -f /lib/udev/rules.d/60-axvm.rules
check $? deb.group_and_udev_rule
/usr/bin/axvm --help >/dev/null && man -w axvm >/dev/null 2>&1
check $? deb.tool_and_man_page
packaged=$(ls /lib/modules/"${kernels[1]}"/updates/dkms/axvm.ko* 2>/dev/null | head -n 1)
case $packaged in
*.xz) xz -dc "$packaged" >"$out/packaged/axvm.ko" ;;
?*) cp "$packaged" "$out/packaged/axvm.ko" ;;
esac
dpkg --purge axvm-tools axvm-dkms >>"$log" 2>&1 && ! ls /lib/modules/*/updates/dkms/axvm.ko* >/dev/null 2>&1
check $? deb.purged_clean
