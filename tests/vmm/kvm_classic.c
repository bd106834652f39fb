// SPDX-License-Identifier: GPL-2.0
/*
 * The classic KVM flow, written only against <linux/kvm.h>: one VM, one
 * 2 MiB slot at guest address 0, one vCPU, registers for real, 32-bit
 * protected and 64-bit long mode, RUN until HLT while serving I/O exits.
 * It knows nothing of axvm: the device path is its only argument, and it
 * must behave the same on /dev/kvm and /dev/axvm.
 *
 *   kvm_classic DEVICE     prints "ok - classic.MODE" or "not ok - ..."
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE 0x200000

enum mode { REAL, PROTECTED, LONG };

/* mov (e)dx,0x3f8; mov al,C; out dx,al; in al,0x61; out dx,al; hlt */
static const uint8_t code16[] = {0xba, 0xf8, 0x03, 0xb0, 'R', 0xee, 0xe4, 0x61, 0xee, 0xf4};
static const uint8_t code32[] = {0xba, 0xf8, 0x03, 0x00, 0x00, 0xb0, 'P', 0xee, 0xe4, 0x61, 0xee, 0xf4};
static const uint8_t code64[] = {0xba, 0xf8, 0x03, 0x00, 0x00, 0xb0, 'L', 0xee, 0xe4, 0x61, 0xee, 0xf4};

static int fail(const char *mode, const char *what)
{
	return vmm_check(0, "classic.", mode, "%s (%s)", what, strerror(errno));
}

static int run_mode(int dev, enum mode mode)
{
	static const char *names[] = {"real", "protected", "long"};
	const char *name = names[mode];
	const uint8_t *code = mode == REAL ? code16 : mode == PROTECTED ? code32 : code64;
	size_t code_len = mode == REAL ? sizeof(code16) : sizeof(code32);
	char want[3] = {mode == REAL ? 'R' : mode == PROTECTED ? 'P' : 'L', 'i', 0};
	char got[8] = {0};
	size_t n = 0;

	struct vmm_vm vm;
	struct vmm_vcpu cpu;
	const char *what = vmm_vm_create(&vm, dev, MEM_SIZE, code, code_len);
	if (!what)
		what = vmm_vcpu_create(&cpu, dev, vm.fd, 0);
	if (what)
		return fail(name, what);
	const int vcpu = cpu.fd;
	struct kvm_run *run = cpu.run;
	uint8_t *mem = vm.mem;
	if (vmm_set_cpuid(dev, vcpu))
		return fail(name, "KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return fail(name, "KVM_GET_SREGS");
	if (mode == REAL) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
	} else {
		vmm_flat_sregs(&sregs, mode == LONG);
		sregs.cr0 = 0x11;
		if (mode == LONG) {
			/* PML4 0x2000 -> PDPT 0x3000 -> PD 0x4000: one 2 MiB identity page. */
			uint64_t pml4 = 0x3000 | 3, pdpt = 0x4000 | 3, pd = 0x83;
			memcpy(mem + 0x2000, &pml4, 8);
			memcpy(mem + 0x3000, &pdpt, 8);
			memcpy(mem + 0x4000, &pd, 8);
			sregs.cr3 = 0x2000;
			sregs.cr4 = 0x20;
			sregs.cr0 = 0x80000011;
			sregs.efer = 0x500;
		}
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return fail(name, "KVM_SET_SREGS");
	if (vmm_set_regs_at(vcpu, VMM_CODE, 0))
		return fail(name, "KVM_SET_REGS");

	for (int exits = 0; exits < 10; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0))
			return fail(name, "KVM_RUN");
		if (run->exit_reason == KVM_EXIT_HLT) {
			close(vcpu);
			close(vm.fd);
			munmap(mem, MEM_SIZE);
			return vmm_check(!strcmp(got, want), "classic.", name, "output '%s', wanted '%s'", got, want);
		}
		if (run->exit_reason != KVM_EXIT_IO)
			return vmm_check(0, "classic.", name, "exit reason %u", run->exit_reason);
		uint8_t *data = vmm_io_data(run);
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3f8 && n < sizeof(got) - 1)
			got[n++] = (char)data[0];
		else if (run->io.direction == KVM_EXIT_IO_IN)
			data[0] = 'i';
	}
	return vmm_check(0, "classic.", name, "no HLT after 10 exits");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kvm_classic DEVICE\n");
		return 2;
	}
	int dev = vmm_open(argv[1]);
	if (dev < 0 || ioctl(dev, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return vmm_check(0, "classic.", "open", "%s (%s)", argv[1], strerror(errno));
	int failed = 0;
	for (int m = REAL; m <= LONG; m++)
		failed += run_mode(dev, m);
	return failed != 0;
}
