#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Refuses a C++ object the kernel cannot host: global constructors or
# destructors (nothing would run them), and references to C++ runtime
# symbols the kernel does not provide (exceptions, RTTI, guards, atexit).
# Usage: check-cxx-object.sh NM OBJDUMP OBJECT
set -eu
nm=$1 objdump=$2 obj=$3

if $objdump -h "$obj" | awk '{print $2}' | grep -Eq '^\.(init_array|ctors|fini_array|dtors)'; then
	echo "$obj: has global constructors/destructors (.init_array/.ctors); not allowed in the core" >&2
	exit 1
fi
bad=$($nm -u "$obj" | awk '{print $2}' | grep -E '^(_Unwind_|__cxa_|__gxx_|_ZTI|_ZTS|__dso_handle|_ZSt|__gcc_personality)' | grep -vx '__cxa_pure_virtual' || true)
if [ -n "$bad" ]; then
	echo "$obj: needs C++ runtime symbols the kernel lacks:" $bad >&2
	exit 1
fi
