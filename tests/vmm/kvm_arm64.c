// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM arm64 classic flow, written only against <linux/kvm.h>: one VM,
 * RAM at guest address 0, a read-only slot for a UART (its writes exit as
 * MMIO), one vCPU set up with KVM_ARM_VCPU_INIT and KVM_SET_ONE_REG, RUN
 * until PSCI SYSTEM_OFF while serving MMIO (the UART, and a device register
 * at 0x0a000000 that reads back what was written). It prints a transcript
 * of what the device answered; the transcript must be the same on /dev/kvm and on
 * /dev/axvm (tests/expected/kvm_arm64.out). Before that, the machine types
 * KVM_CREATE_VM takes (KVM_VM_TYPE_ARM_IPA_SIZE) and, after VCPU_INIT, system
 * registers through ONE_REG, as KVM's own selftests use them.
 *
 *   kvm_arm64 DEVICE GUEST [X0]   GUEST: tools/guests/arm64/hello.S, flat,
 *                                 loaded at 0x10000; X0: its x0 (default 0)
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define RAM_SIZE 0x200000
#define LOAD 0x10000
#define UART VMM_ARM64_UART

static void say(const char *what, int ret)
{
	printf("%s: %s\n", what, ret < 0 ? strerror(errno) : "ok");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DEVICE GUEST [X0]\n", argv[0]);
		return 2;
	}
	const uint64_t x0 = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	int dev = vmm_open(argv[1]);
	int vm = dev < 0 ? -1 : ioctl(dev, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("create VM: %s\n", strerror(errno));
		return 1;
	}
	printf("ONE_REG: %d, READONLY_MEM: %d, PSCI_0_2: %d\n", ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ONE_REG),
	       ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM),
	       ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2));

	/* Machine types: an IPA size from 32 bits to the device's limit. */
	const int ipa_limit = ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE);
	const struct {
		const char *what;
		unsigned long type;
	} types[] = {
		{"IPA 32", KVM_VM_TYPE_ARM_IPA_SIZE(32)},
		{"IPA limit", KVM_VM_TYPE_ARM_IPA_SIZE(ipa_limit)},
		{"IPA 31", KVM_VM_TYPE_ARM_IPA_SIZE(31)},
		{"IPA limit + 1", KVM_VM_TYPE_ARM_IPA_SIZE(ipa_limit + 1)},
		{"type 0x100", 0x100},
	};
	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char what[64];
		int fd = ioctl(dev, KVM_CREATE_VM, types[i].type);
		snprintf(what, sizeof(what), "CREATE_VM %s", types[i].what);
		say(what, fd);
		if (fd >= 0)
			close(fd);
	}

	uint8_t *ram = vmm_anon(RAM_SIZE, 1);
	uint8_t *uart = vmm_anon(4096, 1);
	const long n = ram && uart ? vmm_load(argv[2], ram + LOAD, RAM_SIZE - LOAD) : -1;
	if (n < 0) {
		perror("setup");
		return 1;
	}
	say("RAM slot", vmm_set_slot(vm, 0, 0, 0, RAM_SIZE, ram));
	say("read-only UART slot", vmm_set_slot(vm, 1, KVM_MEM_READONLY, UART, 4096, uart));
	if (!n)
		return 1;

	struct vmm_vcpu cpu;
	if (vmm_vcpu_create(&cpu, dev, vm, 0)) {
		perror("vcpu");
		return 1;
	}
	const int vcpu = cpu.fd;
	struct kvm_run *run = cpu.run;
	say("RUN before VCPU_INIT", ioctl(vcpu, KVM_RUN, 0));

	struct kvm_vcpu_init init;
	say("ARM_PREFERRED_TARGET", ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init));
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	say("ARM_VCPU_INIT", ioctl(vcpu, KVM_ARM_VCPU_INIT, &init));

	uint64_t v = 0;
	vmm_one_reg(vcpu, KVM_GET_ONE_REG, VMM_ARM64_CORE_REG(regs.pstate), &v);
	printf("reset pstate: 0x%llx\n", (unsigned long long)v);
	v = 0x3c9; /* EL2h: not a mode an EL1 guest can be in */
	say("SET_ONE_REG pstate EL2h", vmm_one_reg(vcpu, KVM_SET_ONE_REG, VMM_ARM64_CORE_REG(regs.pstate), &v));
	/* System registers: a round trip, MPIDR from the vCPU id, an ID
	 * register that takes only the value it has, an unknown one. */
	const uint64_t tcr = 0x5b5103510ull;
	v = tcr;
	int ret = vmm_one_reg(vcpu, KVM_SET_ONE_REG, ARM64_SYS_REG(3, 0, 2, 0, 2), &v);
	v = 0;
	if (!ret)
		ret = vmm_one_reg(vcpu, KVM_GET_ONE_REG, ARM64_SYS_REG(3, 0, 2, 0, 2), &v);
	printf("ONE_REG TCR_EL1 round trip: %s\n", ret < 0 ? strerror(errno) : v == tcr ? "ok" : "changed");
	v = 0;
	ret = vmm_one_reg(vcpu, KVM_GET_ONE_REG, ARM64_SYS_REG(3, 0, 0, 0, 5), &v);
	printf("ONE_REG MPIDR_EL1: %s0x%llx\n", ret < 0 ? strerror(errno) : "", (unsigned long long)v);
	const uint64_t mmfr0_id = ARM64_SYS_REG(3, 0, 0, 7, 0);
	uint64_t mmfr0 = 0;
	say("ONE_REG ID_AA64MMFR0_EL1 read", vmm_one_reg(vcpu, KVM_GET_ONE_REG, mmfr0_id, &mmfr0));
	say("ONE_REG ID_AA64MMFR0_EL1 written back", vmm_one_reg(vcpu, KVM_SET_ONE_REG, mmfr0_id, &mmfr0));
	mmfr0 ^= 1; /* another PARange */
	say("ONE_REG ID_AA64MMFR0_EL1 changed", vmm_one_reg(vcpu, KVM_SET_ONE_REG, mmfr0_id, &mmfr0));
	say("ONE_REG unknown system register",
	    vmm_one_reg(vcpu, KVM_GET_ONE_REG, ARM64_SYS_REG(3, 7, 15, 15, 7), &v));

	v = LOAD;
	say("SET_ONE_REG pc", vmm_one_reg(vcpu, KVM_SET_ONE_REG, VMM_ARM64_CORE_REG(regs.pc), &v));
	v = x0;
	say("SET_ONE_REG x0", vmm_one_reg(vcpu, KVM_SET_ONE_REG, VMM_ARM64_CORE_REG(regs.regs[0]), &v));

	struct vmm_arm64_devices devices = {0};
	for (int exits = 0; exits < 1000; exits++) {
		switch (vmm_arm64_run(vcpu, run, &devices)) {
		case -1:
			return 1;
		case KVM_EXIT_HYPERCALL:
			printf("hypercall 0x%llx (0x%llx)\n", (unsigned long long)run->hypercall.nr,
			       (unsigned long long)run->hypercall.args[0]);
			run->hypercall.ret = run->hypercall.nr + 1;
			continue;
		case KVM_EXIT_SYSTEM_EVENT:
			printf("UART: %s", devices.uart);
			printf("system event %u (%s)\n", run->system_event.type,
			       run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? "shutdown" : "?");
			/* What the two device reads left in w5 and x7. */
			uint64_t x5 = 0, x7 = 0;
			vmm_one_reg(vcpu, KVM_GET_ONE_REG, VMM_ARM64_CORE_REG(regs.regs[5]), &x5);
			vmm_one_reg(vcpu, KVM_GET_ONE_REG, VMM_ARM64_CORE_REG(regs.regs[7]), &x7);
			printf("x5 0x%llx, x7 0x%llx\n", (unsigned long long)x5, (unsigned long long)x7);
			return 0;
		default:
			printf("unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}
	printf("no SYSTEM_OFF after 1000 exits\n");
	return 1;
}
