#!/bin/bash
# `make deb`: axvm-dkms and axvm-tools, built with dpkg-buildpackage from a
# copy of the tree whose debian/changelog takes the version from dkms.conf
# (axvm's one version number), then checked with lintian. The packages end
# up in build/deb/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
out=$top/build/deb
src=$out/axvm-$version
rm -rf "$out"
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude=./build -cf - .) | tar -xf - -C "$src"
fi
cat >"$src/debian/changelog" <<CHANGELOG
axvm ($version) unstable; urgency=medium

  * axvm $version.

 -- axvm developers <axvm-devel@lists.axvm.dev>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}")
CHANGELOG
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
changes=$(ls "$out"/axvm_"$version"_*.changes)
lintian --fail-on error "$changes" | tee "$out/lintian.log"
ls "$out"/*.deb
