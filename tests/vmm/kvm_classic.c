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
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE 0x200000
#define CODE 0x1000

enum mode { REAL, PROTECTED, LONG };

/* mov (e)dx,0x3f8; mov al,C; out dx,al; in al,0x61; out dx,al; hlt */
static const uint8_t code16[] = {0xba, 0xf8, 0x03, 0xb0, 'R', 0xee, 0xe4, 0x61, 0xee, 0xf4};
static const uint8_t code32[] = {0xba, 0xf8, 0x03, 0x00, 0x00, 0xb0, 'P', 0xee, 0xe4, 0x61, 0xee, 0xf4};
static const uint8_t code64[] = {0xba, 0xf8, 0x03, 0x00, 0x00, 0xb0, 'L', 0xee, 0xe4, 0x61, 0xee, 0xf4};

static int fail(const char *mode, const char *what)
{
	printf("not ok - classic.%s: %s (%s)\n", mode, what, strerror(errno));
	return 1;
}

static void flat(struct kvm_segment *s, uint16_t sel, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = l;
	s->db = !l;
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

	int vm = ioctl(dev, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail(name, "KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail(name, "mmap");
	memcpy(mem + CODE, code, code_len);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return fail(name, "KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail(name, "KVM_CREATE_VCPU");
	int size = ioctl(dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (size <= 0 || run == MAP_FAILED)
		return fail(name, "mmap kvm_run");

	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 100 * sizeof(struct kvm_cpuid_entry2));
	cpuid->nent = 100;
	if (ioctl(dev, KVM_GET_SUPPORTED_CPUID, cpuid) || ioctl(vcpu, KVM_SET_CPUID2, cpuid))
		return fail(name, "KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2");
	free(cpuid);

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return fail(name, "KVM_GET_SREGS");
	struct kvm_regs regs = {.rflags = 2, .rip = CODE};
	if (mode == REAL) {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
	} else {
		flat(&sregs.cs, 8, 11, mode == LONG);
		flat(&sregs.ds, 16, 3, 0);
		sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
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
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return fail(name, "KVM_SET_REGS");

	for (int exits = 0; exits < 10; exits++) {
		if (ioctl(vcpu, KVM_RUN, 0))
			return fail(name, "KVM_RUN");
		if (run->exit_reason == KVM_EXIT_HLT) {
			close(vcpu);
			close(vm);
			munmap(mem, MEM_SIZE);
			if (strcmp(got, want)) {
				printf("not ok - classic.%s: output '%s', wanted '%s'\n", name, got, want);
				return 1;
			}
			printf("ok - classic.%s\n", name);
			return 0;
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			printf("not ok - classic.%s: exit reason %u\n", name, run->exit_reason);
			return 1;
		}
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == 0x3f8 && n < sizeof(got) - 1)
			got[n++] = (char)data[0];
		else if (run->io.direction == KVM_EXIT_IO_IN)
			data[0] = 'i';
	}
	printf("not ok - classic.%s: no HLT after 10 exits\n", name);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kvm_classic DEVICE\n");
		return 2;
	}
	int dev = open(argv[1], O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		printf("not ok - classic.open: %s (%s)\n", argv[1], strerror(errno));
		return 1;
	}
	int failed = 0;
	for (int m = REAL; m <= LONG; m++)
		failed += run_mode(dev, m);
	return failed != 0;
}
