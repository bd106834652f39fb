// SPDX-License-Identifier: GPL-2.0
/* A VMM's boilerplate for the test programs, KVM's API only (see vmm.h). */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int vmm_open(const char *path)
{
	return open(path, O_RDWR | O_CLOEXEC);
}

void *vmm_anon(size_t size, int shared)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int vmm_set_slot(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, const void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};
	return ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

const char *vmm_vm_create(struct vmm_vm *vm, int dev, size_t size, const void *code, size_t len)
{
	vm->mem = NULL;
	vm->mem_size = size;
	vm->fd = ioctl(dev, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return "KVM_CREATE_VM";
	vm->mem = vmm_anon(size, 0);
	if (!vm->mem)
		return "mmap";
	if (len)
		memcpy(vm->mem + VMM_CODE, code, len);
	if (vmm_set_slot(vm->fd, 0, 0, 0, size, vm->mem))
		return "KVM_SET_USER_MEMORY_REGION";
	return NULL;
}

void vmm_vm_destroy(struct vmm_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	vm->fd = -1;
	vm->mem = NULL;
}

const char *vmm_vcpu_create(struct vmm_vcpu *vcpu, int dev, int vm, unsigned long id)
{
	vcpu->run = NULL;
	vcpu->run_size = 0;
	vcpu->fd = ioctl(vm, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return "KVM_CREATE_VCPU";
	const int size = ioctl(dev, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return "mmap kvm_run";
	void *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED)
		return "mmap kvm_run";
	vcpu->run = run;
	vcpu->run_size = size;
	return NULL;
}

void vmm_vcpu_destroy(struct vmm_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

uint8_t *vmm_io_data(struct kvm_run *run)
{
	return (uint8_t *)run + run->io.data_offset;
}

long long vmm_stat(int fd, const char *name)
{
	int stats = ioctl(fd, KVM_GET_STATS_FD, 0);
	struct kvm_stats_header h;
	long long value = -1;
	if (stats < 0)
		return -1;
	if (pread(stats, &h, sizeof(h), 0) != sizeof(h) || h.name_size > 256)
		goto out;
	const size_t size = sizeof(struct kvm_stats_desc) + h.name_size;
	char desc[sizeof(struct kvm_stats_desc) + 256];
	for (uint32_t i = 0; i < h.num_desc; i++) {
		if (pread(stats, desc, size, h.desc_offset + i * size) != (ssize_t)size)
			break;
		const struct kvm_stats_desc *d = (const struct kvm_stats_desc *)desc;
		if (strncmp(d->name, name, h.name_size))
			continue;
		uint64_t v;
		if (pread(stats, &v, sizeof(v), h.data_offset + d->offset) == sizeof(v))
			value = (long long)v;
		break;
	}
out:
	close(stats);
	return value;
}

int vmm_run_expect(int vcpu, const struct kvm_run *run, uint32_t reason)
{
	return ioctl(vcpu, KVM_RUN, 0) == 0 && run->exit_reason == reason;
}

long vmm_expect_out(int vcpu, struct kvm_run *run, uint16_t port, uint8_t size)
{
	uint32_t value = 0;
	if (ioctl(vcpu, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != port || run->io.size != size || run->io.count != 1 || size > sizeof(value))
		return -1;
	memcpy(&value, vmm_io_data(run), size);
	return value;
}

int vmm_check(int ok, const char *prefix, const char *name, const char *fmt, ...)
{
	if (ok) {
		printf("ok - %s%s\n", prefix, name);
	} else {
		va_list ap;
		printf("not ok - %s%s: ", prefix, name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	return !ok;
}

long vmm_load(const char *path, void *dst, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	const size_t n = fread(dst, 1, max, f);
	fclose(f);
	return (long)n;
}

#if defined(__x86_64__)
int vmm_set_cpuid(int dev, int vcpu)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[100];
	} cpuid = {.h.nent = 100};
	if (ioctl(dev, KVM_GET_SUPPORTED_CPUID, &cpuid))
		return -1;
	return ioctl(vcpu, KVM_SET_CPUID2, &cpuid);
}

void vmm_flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, int l)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = l;
	s->db = !l;
}

void vmm_flat_sregs(struct kvm_sregs *s, int l)
{
	vmm_flat_segment(&s->cs, 8, 11, l);
	vmm_flat_segment(&s->ds, 16, 3, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
}

int vmm_set_regs_at(int vcpu, uint64_t rip, uint64_t rsp)
{
	struct kvm_regs regs = {.rip = rip, .rsp = rsp, .rflags = 2};
	return ioctl(vcpu, KVM_SET_REGS, &regs);
}

int vmm_real_mode(int vcpu, uint64_t rip, uint64_t rsp)
{
	struct kvm_sregs s;
	if (ioctl(vcpu, KVM_GET_SREGS, &s))
		return -1;
	s.cs.selector = 0;
	s.cs.base = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &s))
		return -1;
	return vmm_set_regs_at(vcpu, rip, rsp);
}

void vmm_gate(uint8_t *mem, uint32_t idt, int vector, uint32_t handler)
{
	const uint8_t g[8] = {handler & 0xff, (handler >> 8) & 0xff, 8, 0, 0, 0x8e, (handler >> 16) & 0xff,
			      handler >> 24};
	memcpy(mem + idt + 8 * vector, g, sizeof(g));
}

int vmm_protected_mode(int vcpu, uint8_t *mem, uint32_t gdt, uint32_t idt, uint32_t handler, uint32_t rip,
		       uint32_t rsp)
{
	/* An IRET reloads CS from the GDT, so it must hold what CS holds. */
	static const uint64_t table[3] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull};
	memcpy(mem + gdt, table, sizeof(table));
	for (int v = 0; v < 256; v++)
		vmm_gate(mem, idt, v, handler);
	struct kvm_sregs s;
	if (ioctl(vcpu, KVM_GET_SREGS, &s))
		return -1;
	vmm_flat_sregs(&s, 0);
	s.cr0 |= 1;
	s.gdt.base = gdt, s.gdt.limit = sizeof(table) - 1;
	s.idt.base = idt, s.idt.limit = 256 * 8 - 1;
	if (ioctl(vcpu, KVM_SET_SREGS, &s))
		return -1;
	return vmm_set_regs_at(vcpu, rip, rsp);
}

void vmm_asm_bytes(struct vmm_asm *a, const void *bytes, size_t n)
{
	memcpy(a->mem + a->at, bytes, n);
	a->at += (uint32_t)n;
}

/* @op then a 32-bit operand. */
static void asm_op32(struct vmm_asm *a, const uint8_t *op, size_t n, uint32_t v)
{
	vmm_asm_bytes(a, op, n);
	vmm_asm_bytes(a, &v, 4);
}

void vmm_asm_store(struct vmm_asm *a, uint32_t addr, uint32_t value)
{
	static const uint8_t op[] = {0xc7, 0x05};
	asm_op32(a, op, sizeof(op), addr);
	vmm_asm_bytes(a, &value, 4);
}

void vmm_asm_load(struct vmm_asm *a, uint32_t addr)
{
	static const uint8_t op[] = {0xa1};
	asm_op32(a, op, sizeof(op), addr);
}

void vmm_asm_save(struct vmm_asm *a, uint32_t addr)
{
	static const uint8_t op[] = {0xa3};
	asm_op32(a, op, sizeof(op), addr);
}

void vmm_asm_inc(struct vmm_asm *a, uint32_t addr)
{
	static const uint8_t op[] = {0xff, 0x05};
	asm_op32(a, op, sizeof(op), addr);
}

void vmm_asm_out(struct vmm_asm *a, uint16_t port)
{
	const uint8_t code[] = {0x66, 0xba, port & 0xff, port >> 8, 0xee};
	vmm_asm_bytes(a, code, sizeof(code));
}

void vmm_asm_wrmsr(struct vmm_asm *a, uint32_t msr, uint32_t value)
{
	static const uint8_t ecx[] = {0xb9}, eax[] = {0xb8}, rest[] = {0x31, 0xd2, 0x0f, 0x30};
	asm_op32(a, ecx, sizeof(ecx), msr);
	asm_op32(a, eax, sizeof(eax), value);
	vmm_asm_bytes(a, rest, sizeof(rest));
}

void vmm_asm_jmp(struct vmm_asm *a, uint32_t target)
{
	static const uint8_t op[] = {0xe9};
	asm_op32(a, op, sizeof(op), target - (a->at + 5));
}

uint32_t vmm_asm_handler(struct vmm_asm *a, uint32_t counter)
{
	const uint32_t at = a->at;
	static const uint8_t iret[] = {0xcf};
	vmm_asm_inc(a, counter);
	vmm_asm_store(a, 0xfee000b0, 0);
	vmm_asm_bytes(a, iret, sizeof(iret));
	return at;
}
#endif

#if defined(__aarch64__)
int vmm_one_reg(int vcpu, unsigned long cmd, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = {.id = id, .addr = (uintptr_t)value};
	return ioctl(vcpu, cmd, &reg);
}

int vmm_arm64_vcpu_init(int vm, int vcpu)
{
	struct kvm_vcpu_init init;
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init))
		return -1;
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	return ioctl(vcpu, KVM_ARM_VCPU_INIT, &init);
}

int vmm_arm64_mmio(struct kvm_run *run, struct vmm_arm64_devices *d)
{
	if (run->mmio.is_write && run->mmio.phys_addr == VMM_ARM64_UART && run->mmio.len == 1) {
		if (d->uart_len < sizeof(d->uart) - 1)
			d->uart[d->uart_len++] = (char)run->mmio.data[0];
		d->uart[d->uart_len] = 0;
		return 1;
	}
	if (run->mmio.phys_addr != VMM_ARM64_DEVICE || run->mmio.len > sizeof(d->scratch))
		return 0;
	printf("MMIO %s of %u bytes at 0x%llx\n", run->mmio.is_write ? "write" : "read", run->mmio.len,
	       (unsigned long long)run->mmio.phys_addr);
	if (run->mmio.is_write)
		memcpy(d->scratch, run->mmio.data, run->mmio.len);
	else
		memcpy(run->mmio.data, d->scratch, run->mmio.len);
	return 1;
}

int vmm_arm64_run(int vcpu, struct kvm_run *run, struct vmm_arm64_devices *d)
{
	for (int n = 0; n < 100000; n++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			printf("RUN: %s\n", strerror(errno));
			return -1;
		}
		if (run->exit_reason != KVM_EXIT_MMIO)
			return (int)run->exit_reason;
		if (!vmm_arm64_mmio(run, d)) {
			printf("unexpected MMIO %s at 0x%llx\n", run->mmio.is_write ? "write" : "read",
			       (unsigned long long)run->mmio.phys_addr);
			return -1;
		}
	}
	printf("100,000 device exits in a row\n");
	return -1;
}
#endif
