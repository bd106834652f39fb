# SPDX-License-Identifier: GPL-2.0
# axvm: `make` builds axvm.ko for the running kernel (or KDIR=...);
# `make test` runs every test; `make tools` builds the userspace programs;
# `make demo` shows a guest running under axvm inside QEMU; `make bench`
# compares exit costs with KVM; `make fuzz` and `make soak` run
# the fuzzer and the soak on their own; `make selftests` runs KVM's own
# selftests on KVM and on axvm; `make qemu-test` boots Linux guests
# under Debian's QEMU on KVM and on axvm.

KDIR ?= /lib/modules/$(shell uname -r)/build
ARCH ?= $(shell uname -m | sed -e 's/aarch64/arm64/')

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) ARCH=$(ARCH) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) ARCH=$(ARCH) clean 2>/dev/null || true
	rm -rf build

tools:
	$(MAKE) -f tools/Makefile $(if $(OUT),OUT=$(OUT))

test:
	tests/run-all.sh

# Boots an emulated SVM machine and runs a hello-world guest there.
demo:
	tests/harness/demo.sh

# Exit costs and memory, axvm against KVM in the same emulated machine.
bench:
	tests/bench/run.sh

# The ioctl fuzzer on the debug kernel: FUZZ_SECONDS (300), FUZZ_SEED (the
# time; a failing case's seed replays it).
fuzz:
	AXVM_FUZZ_SECONDS=$(or $(FUZZ_SECONDS),300) AXVM_FUZZ_SEED=$(FUZZ_SEED) tests/run-all.sh fuzz

# Debian's QEMU inside a test machine, on KVM and on axvm (`axvm exec`): a
# Linux guest to its shell with 1 and 2 vCPUs, times to the shell
# (tests/harness/qemu-in-vm.sh; `make test` runs its small guest).
qemu-test:
	tests/harness/qemu-in-vm.sh linux

# axvm-dkms and axvm-tools in build/deb/ (dpkg-buildpackage, lintian).
deb:
	scripts/make-deb.sh

# 10,000 VMs and 100 million exits; slab and free pages back at baseline.
soak:
	tests/run-all.sh soak

# KVM's own selftests (Debian's linux-source-6.1), each on the kernel's KVM
# and on axvm, in Debian's 6.1 under QEMU (x86: -cpu EPYC; arm64: virt at EL2
# with VHE): build/selftests/results and README.md's table.
# SELFTESTS="TEST..." runs only those, SELFTESTS_ARCH=x86_64|aarch64 one machine.
selftests:
	SELFTESTS="$(SELFTESTS)" tests/harness/selftests.sh run $(SELFTESTS_ARCH)

.PHONY: all module clean tools test demo bench fuzz soak deb selftests qemu-test
