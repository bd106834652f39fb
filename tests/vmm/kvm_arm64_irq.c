// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts for an arm64 guest the KVM way without an in-kernel GIC,
 * written only against <linux/kvm.h>: the VMM raises and lowers the vCPU's
 * IRQ line with KVM_IRQ_LINE (type CPU) and the guest
 * (tools/guests/arm64/irq.S) takes them, acknowledging each through MMIO.
 * The transcript must be the same on /dev/kvm and on /dev/axvm
 * (tests/expected/kvm_arm64_irq.out).
 *
 *   kvm_arm64_irq DEVICE GUEST
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define RAM_SIZE 0x200000
#define LOAD 0x10000
#define UART 0x09000000
#define EOI 0x0a000000

static int irq_line(int vm, unsigned int level)
{
	struct kvm_irq_level l = {.irq = KVM_ARM_IRQ_TYPE_CPU << KVM_ARM_IRQ_TYPE_SHIFT |
					 0 << KVM_ARM_IRQ_VCPU_SHIFT | KVM_ARM_IRQ_CPU_IRQ,
				  .level = level};
	return ioctl(vm, KVM_IRQ_LINE, &l);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE GUEST\n", argv[0]);
		return 2;
	}
	alarm(60);
	int dev = vmm_open(argv[1]);
	int vm = dev < 0 ? -1 : ioctl(dev, KVM_CREATE_VM, 0);
	uint8_t *ram = vmm_anon(RAM_SIZE, 1);
	if (vm < 0 || !ram || vmm_load(argv[2], ram + LOAD, RAM_SIZE - LOAD) <= 0) {
		perror("setup");
		return 1;
	}
	struct vmm_vcpu cpu;
	uint64_t pc = LOAD;
	if (vmm_set_slot(vm, 0, 0, 0, RAM_SIZE, ram) || vmm_vcpu_create(&cpu, dev, vm, 0) ||
	    vmm_arm64_vcpu_init(vm, cpu.fd) ||
	    vmm_one_reg(cpu.fd, KVM_SET_ONE_REG, VMM_ARM64_CORE_REG(regs.pc), &pc)) {
		perror("vcpu");
		return 1;
	}
	const int vcpu = cpu.fd;
	struct kvm_run *run = cpu.run;
	struct kvm_irq_level bad = {.irq = 1u << KVM_ARM_IRQ_TYPE_SHIFT | 33, .level = 1}; /* an SPI */
	printf("IRQ_LINE for an SPI without a GIC: %s\n", ioctl(vm, KVM_IRQ_LINE, &bad) ? strerror(errno) : "ok");

	char out[64];
	size_t n = 0;
	for (int exits = 0; exits < 200; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			printf("RUN: %s\n", strerror(errno));
			return 1;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == UART) {
			const char c = (char)run->mmio.data[0];
			if (c == 'R' || c == 'W' || c == 'M') {
				printf("guest '%c': raise the line: %s\n", c, irq_line(vm, 1) ? strerror(errno) : "ok");
				continue;
			}
			if (n < sizeof(out) - 1)
				out[n++] = c;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == EOI) {
			uint32_t count;
			memcpy(&count, run->mmio.data, sizeof(count));
			printf("EOI %u: lower the line: %s\n", count, irq_line(vm, 0) ? strerror(errno) : "ok");
			continue;
		}
		if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT) {
			out[n] = 0;
			printf("UART: %s", out);
			return 0;
		}
		printf("unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	printf("no SYSTEM_OFF after 200 exits\n");
	return 1;
}
