/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the userspace test programs share: a VMM's boilerplate, written only
 * against <linux/kvm.h> and libc. The kvm_* programs must behave the same
 * on /dev/kvm and /dev/axvm, so they (and this) know nothing of axvm; the
 * ABI tests use it too, axvm's numbers and layouts being KVM's
 * (tests/vmm/abi/identity.cpp).
 *
 * The calls that take several steps return NULL, or the name of the step
 * that failed ("KVM_CREATE_VM", "mmap", ...) with errno set; the others
 * return what the system call did (0 or -1, an fd, NULL for no mapping).
 */
#ifndef AXVM_TESTS_VMM_H
#define AXVM_TESTS_VMM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The device at @path (/dev/kvm, /dev/axvm), opened O_RDWR | O_CLOEXEC. */
int vmm_open(const char *path);

/* @size bytes of anonymous read-write memory, MAP_PRIVATE, or MAP_SHARED
 * if @shared; NULL if there are none. */
void *vmm_anon(size_t size, int shared);

/* KVM_SET_USER_MEMORY_REGION: slot @slot with @flags maps @size bytes at
 * @host to guest address @gpa (size 0 deletes it). */
int vmm_set_slot(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, const void *host);

/* Where the x86 programs put their code: real mode, CS = 0, IP = 0x1000. */
#define VMM_CODE 0x1000

/* A VM and its RAM: slot 0, at guest address 0. */
struct vmm_vm {
	int fd;
	uint8_t *mem;
	size_t mem_size;
};

/* KVM_CREATE_VM on @dev, then @size bytes of private anonymous memory with
 * @len bytes of @code (if any) at VMM_CODE, as slot 0 at guest address 0.
 * Steps: "KVM_CREATE_VM", "mmap", "KVM_SET_USER_MEMORY_REGION". */
const char *vmm_vm_create(struct vmm_vm *vm, int dev, size_t size, const void *code, size_t len);
/* Closes the VM and unmaps its RAM. */
void vmm_vm_destroy(struct vmm_vm *vm);

/* A vCPU and its run page. */
struct vmm_vcpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

/* KVM_CREATE_VCPU @id on @vm, and its run page mapped: the size @dev gives
 * (KVM_GET_VCPU_MMAP_SIZE). Steps: "KVM_CREATE_VCPU", "mmap kvm_run". */
const char *vmm_vcpu_create(struct vmm_vcpu *vcpu, int dev, int vm, unsigned long id);
/* Unmaps the run page and closes the vCPU. */
void vmm_vcpu_destroy(struct vmm_vcpu *vcpu);

/* The data of a KVM_EXIT_IO exit, in the run page. */
uint8_t *vmm_io_data(struct kvm_run *run);

/* The cumulative statistic @name of a VM or vCPU (@fd), read through
 * KVM_GET_STATS_FD; -1 if there is no such statistic. */
long long vmm_stat(int fd, const char *name);

/* KVM_RUN once: true if it returned 0 with exit @reason. */
int vmm_run_expect(int vcpu, const struct kvm_run *run, uint32_t reason);

/* KVM_RUN once, expecting a KVM_EXIT_IO for one OUT of @size bytes (1, 2
 * or 4) to @port: the value written, or -1. */
long vmm_expect_out(int vcpu, struct kvm_run *run, uint16_t port, uint8_t size);

/* One check line, flushed: "ok - PREFIXNAME", or "not ok - PREFIXNAME: WHY"
 * with WHY formatted from @fmt. Returns 0 if @ok, else 1 (a failure count). */
int vmm_check(int ok, const char *prefix, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Up to @max bytes of the file at @path into @dst: how many, or -1 (errno
 * set) if it cannot be opened. */
long vmm_load(const char *path, void *dst, size_t max);

#if defined(__x86_64__)
/* KVM_GET_SUPPORTED_CPUID of @dev (up to 100 entries), set as @vcpu's with
 * KVM_SET_CPUID2. */
int vmm_set_cpuid(int dev, int vcpu);

/* A flat 4 GiB segment, present, S=1, G=1: @selector and @type, 64-bit code
 * if @l, else D/B=1. */
void vmm_flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, int l);

/* Flat segments: code (type 11) at selector 8, 64-bit if @l; data (type 3)
 * at selector 16 in DS, ES, FS, GS and SS. Control registers untouched. */
void vmm_flat_sregs(struct kvm_sregs *s, int l);

/* KVM_SET_REGS: RIP @rip, RSP @rsp, RFLAGS 2 (only the reserved bit), the
 * rest 0. */
int vmm_set_regs_at(int vcpu, uint64_t rip, uint64_t rsp);

/* Real mode at CS:IP = 0:@rip: KVM_GET_SREGS, CS selector and base 0,
 * KVM_SET_SREGS, then vmm_set_regs_at(). 0 or -1. */
int vmm_real_mode(int vcpu, uint64_t rip, uint64_t rsp);

/* Flat 32-bit protected mode, for guests that reach the local APIC
 * (0xfee00000) and the IOAPIC (0xfec00000) with plain 32-bit addresses:
 * in @mem (guest address 0) a GDT at @gdt (code 8, data 16, flat) and an
 * IDT at @idt whose 256 interrupt gates go to @handler; @vcpu's segments,
 * CR0.PE, GDTR and IDTR to match, at @rip with stack @rsp. 0 or -1. */
int vmm_protected_mode(int vcpu, uint8_t *mem, uint32_t gdt, uint32_t idt, uint32_t handler, uint32_t rip,
		       uint32_t rsp);
/* Gate @vector of the IDT at @idt in @mem: a 32-bit interrupt gate to @handler. */
void vmm_gate(uint8_t *mem, uint32_t idt, int vector, uint32_t handler);

/* A guest assembled at run time: flat 32-bit code appended at @at (a guest
 * address) of @mem. Each call emits one or a few instructions. */
struct vmm_asm {
	uint8_t *mem;
	uint32_t at;
};
void vmm_asm_bytes(struct vmm_asm *a, const void *bytes, size_t n);
void vmm_asm_store(struct vmm_asm *a, uint32_t addr, uint32_t value); /* mov dword [addr],value */
void vmm_asm_load(struct vmm_asm *a, uint32_t addr);                  /* mov eax,[addr] */
void vmm_asm_save(struct vmm_asm *a, uint32_t addr);                  /* mov [addr],eax */
void vmm_asm_inc(struct vmm_asm *a, uint32_t addr);                   /* inc dword [addr] */
void vmm_asm_out(struct vmm_asm *a, uint16_t port);                   /* mov dx,port; out dx,al */
void vmm_asm_wrmsr(struct vmm_asm *a, uint32_t msr, uint32_t value);  /* ecx, eax, edx = 0; wrmsr */
void vmm_asm_jmp(struct vmm_asm *a, uint32_t target);                 /* jmp target */
/* An interrupt handler here: inc dword [@counter], the local APIC's EOI,
 * iret (no register touched). Its address. */
uint32_t vmm_asm_handler(struct vmm_asm *a, uint32_t counter);
#endif

#if defined(__aarch64__)
/* The ONE_REG id of a core register: VMM_ARM64_CORE_REG(regs.pc). */
#define VMM_ARM64_CORE_REG(field)                                      \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |         \
	 (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

/* KVM_GET_ONE_REG or KVM_SET_ONE_REG (@cmd) of register @id, at @value. */
int vmm_one_reg(int vcpu, unsigned long cmd, uint64_t id, uint64_t *value);

/* KVM_ARM_VCPU_INIT of @vcpu with @vm's KVM_ARM_PREFERRED_TARGET and PSCI
 * 0.2. 0 or -1. */
int vmm_arm64_vcpu_init(int vm, int vcpu);

/* The devices of the arm64 transcript guests (tools/guests/arm64): a UART
 * at VMM_ARM64_UART (a read-only slot, so its byte writes exit) whose
 * bytes collect in @uart, and a scratch register at VMM_ARM64_DEVICE that
 * reads back the last write, each access printed. */
#define VMM_ARM64_UART 0x09000000
#define VMM_ARM64_DEVICE 0x0a000000
struct vmm_arm64_devices {
	char uart[256]; /* NUL-terminated */
	size_t uart_len;
	uint8_t scratch[8];
};
/* 1 if @run's MMIO exit was for one of them (and is served), else 0. */
int vmm_arm64_mmio(struct kvm_run *run, struct vmm_arm64_devices *d);
/* KVM_RUN until an exit that is not theirs: its reason, or -1 (printed)
 * for a failed RUN, MMIO elsewhere or 100,000 of theirs in a row. */
int vmm_arm64_run(int vcpu, struct kvm_run *run, struct vmm_arm64_devices *d);
#endif

#ifdef __cplusplus
}
#endif

#endif
