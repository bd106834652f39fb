// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM arm64 classic flow, written only against <linux/kvm.h>: one VM,
 * RAM at guest address 0, a read-only slot for a UART (its writes exit as
 * MMIO), one vCPU set up with KVM_ARM_VCPU_INIT and KVM_SET_ONE_REG, RUN
 * until PSCI SYSTEM_OFF while serving MMIO (the UART, and a device register
 * at 0x0a000000 that reads back what was written). It prints a transcript
 * of what the device answered; the transcript must be the same on /dev/kvm and on
 * /dev/axvm (tests/expected/kvm_arm64.out).
 *
 *   kvm_arm64 DEVICE GUEST [X0]   GUEST: tools/guests/arm64/hello.S, flat,
 *                                 loaded at 0x10000; X0: its x0 (default 0)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE 0x200000
#define LOAD 0x10000
#define UART 0x09000000
#define DEVICE 0x0a000000

#define CORE_REG(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

static void say(const char *what, int ret)
{
	printf("%s: %s\n", what, ret < 0 ? strerror(errno) : "ok");
}

static int one_reg(int vcpu, unsigned long cmd, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)value};
	return ioctl(vcpu, cmd, &reg);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DEVICE GUEST [X0]\n", argv[0]);
		return 2;
	}
	const uint64_t x0 = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	int dev = open(argv[1], O_RDWR | O_CLOEXEC);
	int vm = dev < 0 ? -1 : ioctl(dev, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("create VM: %s\n", strerror(errno));
		return 1;
	}
	printf("ONE_REG: %d, READONLY_MEM: %d, PSCI_0_2: %d\n", ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ONE_REG),
	       ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM),
	       ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2));

	uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *uart = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	FILE *f = fopen(argv[2], "rb");
	if (ram == MAP_FAILED || uart == MAP_FAILED || !f) {
		perror("setup");
		return 1;
	}
	size_t n = fread(ram + LOAD, 1, RAM_SIZE - LOAD, f);
	fclose(f);
	struct kvm_userspace_memory_region mem = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = RAM_SIZE, .userspace_addr = (uintptr_t)ram};
	struct kvm_userspace_memory_region rom = {.slot = 1, .flags = KVM_MEM_READONLY, .guest_phys_addr = UART,
						  .memory_size = 4096, .userspace_addr = (uintptr_t)uart};
	say("RAM slot", ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem));
	say("read-only UART slot", ioctl(vm, KVM_SET_USER_MEMORY_REGION, &rom));
	if (!n)
		return 1;

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int size = ioctl(dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (vcpu < 0 || run == MAP_FAILED) {
		perror("vcpu");
		return 1;
	}
	say("RUN before VCPU_INIT", ioctl(vcpu, KVM_RUN, 0));

	struct kvm_vcpu_init init;
	say("ARM_PREFERRED_TARGET", ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init));
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	say("ARM_VCPU_INIT", ioctl(vcpu, KVM_ARM_VCPU_INIT, &init));

	uint64_t v = 0;
	one_reg(vcpu, KVM_GET_ONE_REG, CORE_REG(regs.pstate), &v);
	printf("reset pstate: 0x%llx\n", (unsigned long long)v);
	v = 0x3c9; /* EL2h: not a mode an EL1 guest can be in */
	say("SET_ONE_REG pstate EL2h", one_reg(vcpu, KVM_SET_ONE_REG, CORE_REG(regs.pstate), &v));
	v = LOAD;
	say("SET_ONE_REG pc", one_reg(vcpu, KVM_SET_ONE_REG, CORE_REG(regs.pc), &v));
	v = x0;
	say("SET_ONE_REG x0", one_reg(vcpu, KVM_SET_ONE_REG, CORE_REG(regs.regs[0]), &v));

	char out[256];
	size_t out_len = 0;
	uint8_t device[8] = {0};
	for (int exits = 0; exits < 1000; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			printf("RUN: %s\n", strerror(errno));
			return 1;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			if (run->mmio.is_write && run->mmio.phys_addr == UART && run->mmio.len == 1) {
				if (out_len < sizeof(out) - 1)
					out[out_len++] = (char)run->mmio.data[0];
				continue;
			}
			if (run->mmio.phys_addr == DEVICE && run->mmio.len <= sizeof(device)) {
				/* A scratch register: a read returns the last write. */
				printf("MMIO %s of %u bytes at 0x%llx\n", run->mmio.is_write ? "write" : "read",
				       run->mmio.len, (unsigned long long)run->mmio.phys_addr);
				if (run->mmio.is_write)
					memcpy(device, run->mmio.data, run->mmio.len);
				else
					memcpy(run->mmio.data, device, run->mmio.len);
				continue;
			}
			printf("unexpected MMIO %s at 0x%llx\n", run->mmio.is_write ? "write" : "read",
			       (unsigned long long)run->mmio.phys_addr);
			return 1;
		case KVM_EXIT_HYPERCALL:
			printf("hypercall 0x%llx (0x%llx)\n", (unsigned long long)run->hypercall.nr,
			       (unsigned long long)run->hypercall.args[0]);
			run->hypercall.ret = run->hypercall.nr + 1;
			continue;
		case KVM_EXIT_SYSTEM_EVENT:
			out[out_len] = 0;
			printf("UART: %s", out);
			printf("system event %u (%s)\n", run->system_event.type,
			       run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? "shutdown" : "?");
			/* What the two device reads left in w5 and x7. */
			uint64_t x5 = 0, x7 = 0;
			one_reg(vcpu, KVM_GET_ONE_REG, CORE_REG(regs.regs[5]), &x5);
			one_reg(vcpu, KVM_GET_ONE_REG, CORE_REG(regs.regs[7]), &x7);
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
