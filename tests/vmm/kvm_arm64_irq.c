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
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
	int dev = open(argv[1], O_RDWR | O_CLOEXEC);
	int vm = dev < 0 ? -1 : ioctl(dev, KVM_CREATE_VM, 0);
	uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	FILE *f = fopen(argv[2], "rb");
	if (vm < 0 || ram == MAP_FAILED || !f || !fread(ram + LOAD, 1, RAM_SIZE - LOAD, f)) {
		perror("setup");
		return 1;
	}
	fclose(f);
	struct kvm_userspace_memory_region mem = {0, 0, 0, RAM_SIZE, (uintptr_t)ram};
	int vcpu = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem) ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run = vcpu < 0 ? MAP_FAILED
				       : mmap(NULL, (size_t)ioctl(dev, KVM_GET_VCPU_MMAP_SIZE, 0),
					      PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	struct kvm_vcpu_init init;
	uint64_t pc = LOAD;
	struct kvm_one_reg reg = {KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
					  (offsetof(struct kvm_regs, regs.pc) / sizeof(uint32_t)),
				  (uintptr_t)&pc};
	if (run == MAP_FAILED || ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) ||
	    (init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2, ioctl(vcpu, KVM_ARM_VCPU_INIT, &init)) ||
	    ioctl(vcpu, KVM_SET_ONE_REG, &reg)) {
		perror("vcpu");
		return 1;
	}
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
