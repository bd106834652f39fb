# SPDX-License-Identifier: GPL-2.0
# axvm: `make` builds axvm.ko for the running kernel (or KDIR=...);
# `make test` runs every test; `make tools` builds the userspace programs;
# `make demo` shows a guest running under axvm inside QEMU; `make bench`
# compares exit costs with KVM.

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
	tests/demo.sh

# Exit costs and memory, axvm against KVM in the same emulated machine.
bench:
	tests/bench/run.sh

.PHONY: all module clean tools test demo bench
