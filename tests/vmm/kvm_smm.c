// SPDX-License-Identifier: GPL-2.0
/*
 * System Management Mode the KVM way: SMRAM in address space 1, KVM_SMI,
 * MSR_IA32_SMBASE, the smi fields of KVM_GET_VCPU_EVENTS and KVM_RUN's
 * KVM_RUN_X86_SMM flag. A real-mode guest is sent SMIs; its handlers
 * report the SMM entry state, rewrite the saved EAX and move SMBASE in the
 * state-save map, and leave with RSM; an NMI queued in SMM waits for RSM;
 * RSM outside SMM is #UD and the guest's RDMSR of SMBASE #GP. Run once
 * with long mode in CPUID (KVM's 64-bit map) and once without (its 32-bit
 * map). Written only against <linux/kvm.h>; the device path is its only
 * argument. It prints the state-save map byte for byte, and the tests
 * require the same lines from /dev/axvm and /dev/kvm.
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define MEM_SIZE 0x100000 /* RAM, in both address spaces */
#define SMRAM_GPA 0x200000 /* SMRAM: address space 1 only */
#define SMRAM_SIZE 0x20000
#define SMBASE1 0x200000
#define SMBASE2 0x210000
#define MSR_SMBASE 0x9e

/* Real mode at 0:0x1000; exits are OUTs: 0x10 asks for an SMI, 0x11 comes
 * from an SMM handler, 0x12 from an exception or NMI handler, 0x13 reports
 * back from SMM. */
static const uint8_t main_code[] = {
	0x66, 0xb8, 0x11, 0x11, 0x11, 0x11, /* 1000 mov eax,0x11111111 */
	0x66, 0xbb, 0x22, 0x22, 0x22, 0x22, /* 1006 mov ebx,0x22222222 */
	0xe6, 0x10,                         /* 100c out 0x10,al: SMI */
	0xe6, 0x13,                         /* 100e out 0x13,al */
	0xe6, 0x10,                         /* 1010 out 0x10,al: SMI (relocated) */
	0xe6, 0x13,                         /* 1012 out 0x13,al */
	0x0f, 0xaa,                         /* 1014 rsm: #UD outside SMM */
	0x66, 0xb9, 0x9e, 0x00, 0x00, 0x00, /* 1016 mov ecx,MSR_SMBASE */
	0x0f, 0x32,                         /* 101c rdmsr: #GP for the guest */
	0xf4,                               /* 101e hlt */
};
/* mov al,C; out 0x12,al; then past the 2-byte instruction that faulted:
 * push bp; mov bp,sp; add word [bp+2],2; pop bp; iret */
#define FAULT_HANDLER(c) {0xb0, c, 0xe6, 0x12, 0x55, 0x89, 0xe5, 0x83, 0x46, 0x02, 0x02, 0x5d, 0xcf}
static const uint8_t ud_handler[] = FAULT_HANDLER('U');
static const uint8_t gp_handler[] = FAULT_HANDLER('G');
static const uint8_t nmi_handler[] = {0xb0, 'N', 0xe6, 0x12, 0xcf};
#define UD_HANDLER 0x500
#define GP_HANDLER 0x520
#define NMI_HANDLER 0x540

static int vcpu;
static struct kvm_run *run;
static uint8_t *smram;

static void ivt(uint8_t *mem, int vector, uint16_t offset)
{
	memcpy(mem + 4 * vector, &offset, 2); /* segment 0 */
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* The first SMM handler (at SMBASE1 + 0x8000): out 0x11; the saved EAX
 * becomes 0x44444444 and SMBASE SMBASE2 (through 32-bit addresses: DS is
 * flat in SMM); rsm. The second: out 0x11; rsm. */
static void smm_handlers(int long_mode)
{
	uint8_t *h = smram + (SMBASE1 - SMRAM_GPA) + 0x8000;
	const uint32_t eax_at = SMBASE1 + (long_mode ? 0xfff8 : 0xffd0);
	const uint32_t smbase_at = SMBASE1 + (long_mode ? 0xff00 : 0xfef8);
	const uint8_t head[] = {0xb0, 'S', 0xe6, 0x11, 0x66, 0x67, 0xc7, 0x05};
	memcpy(h, head, sizeof(head));
	put32(h + 8, eax_at);
	put32(h + 12, 0x44444444);
	const uint8_t mov[] = {0x66, 0x67, 0xc7, 0x05};
	memcpy(h + 16, mov, sizeof(mov));
	put32(h + 20, smbase_at);
	put32(h + 24, SMBASE2);
	h[28] = 0x0f, h[29] = 0xaa;
	const uint8_t second[] = {0xb0, 'T', 0xe6, 0x11, 0x0f, 0xaa};
	memcpy(smram + (SMBASE2 - SMRAM_GPA) + 0x8000, second, sizeof(second));
}

static uint64_t smbase_msr(void)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = MSR_SMBASE};
	if (ioctl(vcpu, KVM_GET_MSRS, &m) != 1)
		return ~0ull;
	return m.e.data;
}

static void print_events(const char *when)
{
	struct kvm_vcpu_events e;
	memset(&e, 0, sizeof(e));
	ioctl(vcpu, KVM_GET_VCPU_EVENTS, &e);
	printf("%s: events valid_smm=%d smm=%u pending=%u inside_nmi=%u latched_init=%u nmi pending=%u masked=%u\n",
	       when, !!(e.flags & KVM_VCPUEVENT_VALID_SMM), e.smi.smm, e.smi.pending, e.smi.smm_inside_nmi,
	       e.smi.latched_init, e.nmi.pending, e.nmi.masked);
}

static void print_segment(const char *name, const struct kvm_segment *s)
{
	printf("  %s sel=0x%x base=0x%llx limit=0x%x type=%u s=%u dpl=%u p=%u db=%u l=%u g=%u unusable=%u\n", name,
	       s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl, s->present, s->db, s->l, s->g,
	       s->unusable);
}

/* The vCPU as the SMM handler finds it, and the state-save map. */
static void print_smm_entry(uint32_t smbase)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_debugregs d;
	ioctl(vcpu, KVM_GET_SREGS, &s);
	ioctl(vcpu, KVM_GET_REGS, &r);
	memset(&d, 0, sizeof(d));
	ioctl(vcpu, KVM_GET_DEBUGREGS, &d);
	printf("  run flags smm=%d\n", !!(run->flags & KVM_RUN_X86_SMM));
	printf("  rip=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx dr7=0x%llx\n",
	       (unsigned long long)r.rip, (unsigned long long)r.rflags, (unsigned long long)s.cr0,
	       (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer,
	       (unsigned long long)d.dr7);
	print_segment("cs", &s.cs);
	print_segment("ds", &s.ds);
	print_segment("ss", &s.ss);
	print_segment("tr", &s.tr);
	printf("  idt base=0x%llx limit=0x%x gdt base=0x%llx limit=0x%x\n", (unsigned long long)s.idt.base,
	       s.idt.limit, (unsigned long long)s.gdt.base, s.gdt.limit);
	/* The map: SMBASE + 0xfe00 .. + 0xffff, each non-zero dword. */
	const uint8_t *map = smram + (smbase - SMRAM_GPA) + 0xfe00;
	for (int off = 0; off < 512; off += 4) {
		uint32_t v;
		memcpy(&v, map + off, 4);
		if (v)
			printf("  map 0x%04x: 0x%08x\n", 0x7e00 + off, v);
	}
}

/* RUN until an exit that is not an OUT to port 0x12 (printed as they come). */
static int run_exit(char *what, size_t size)
{
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0)) {
			snprintf(what, size, "RUN failed: %s", strerror(errno));
			return -1;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			snprintf(what, size, "hlt");
			return 0;
		}
		if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
			snprintf(what, size, "exit %u", run->exit_reason);
			return -1;
		}
		const uint8_t v = *vmm_io_data(run);
		if (run->io.port == 0x12) {
			printf("handler '%c'\n", v);
			continue;
		}
		snprintf(what, size, "out 0x%x '%c'", run->io.port, v >= 0x20 && v < 0x7f ? v : '.');
		return 0;
	}
}

static int scenario(int dev, int long_mode)
{
	struct vmm_vm vm;
	struct vmm_vcpu cpu;
	printf("== %s map (long mode %s in CPUID)\n", long_mode ? "64-bit" : "32-bit", long_mode ? "set" : "not set");
	const char *step = vmm_vm_create(&vm, dev, MEM_SIZE, main_code, sizeof(main_code));
	if (step || (step = vmm_vcpu_create(&cpu, dev, vm.fd, 0))) {
		printf("%s failed: %s\n", step, strerror(errno));
		return 1;
	}
	vcpu = cpu.fd;
	run = cpu.run;
	smram = vmm_anon(SMRAM_SIZE, 0);
	/* Address space 1: the same RAM, and SMRAM above it. */
	if (!smram || vmm_set_slot(vm.fd, 1u << 16 | 0, 0, 0, MEM_SIZE, vm.mem) ||
	    vmm_set_slot(vm.fd, 1u << 16 | 1, 0, SMRAM_GPA, SMRAM_SIZE, smram)) {
		printf("address space 1 slots: %s\n", strerror(errno));
		return 1;
	}
	if (long_mode && vmm_set_cpuid(dev, vcpu)) {
		printf("KVM_SET_CPUID2: %s\n", strerror(errno));
		return 1;
	}
	ivt(vm.mem, 6, UD_HANDLER);
	ivt(vm.mem, 13, GP_HANDLER);
	ivt(vm.mem, 2, NMI_HANDLER);
	memcpy(vm.mem + UD_HANDLER, ud_handler, sizeof(ud_handler));
	memcpy(vm.mem + GP_HANDLER, gp_handler, sizeof(gp_handler));
	memcpy(vm.mem + NMI_HANDLER, nmi_handler, sizeof(nmi_handler));
	smm_handlers(long_mode);
	if (vmm_real_mode(vcpu, VMM_CODE, 0x8000)) {
		printf("real mode: %s\n", strerror(errno));
		return 1;
	}
	printf("SMBASE at reset 0x%llx\n", (unsigned long long)smbase_msr());
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = MSR_SMBASE, .e.data = SMBASE1};
	printf("KVM_SET_MSRS SMBASE: %d\n", ioctl(vcpu, KVM_SET_MSRS, &m));

	const int rounds = long_mode ? 2 : 1;
	char what[80];
	for (int i = 0; i < rounds; i++) {
		/* The guest asks for an SMI. */
		if (run_exit(what, sizeof(what)) || strncmp(what, "out 0x10 ", 9)) {
			printf("expected the SMI request, got %s\n", what);
			return 1;
		}
		print_events("before KVM_SMI");
		printf("KVM_SMI: %d\n", ioctl(vcpu, KVM_SMI, 0));
		print_events("after KVM_SMI");
		/* In the handler. */
		if (run_exit(what, sizeof(what)))
			return printf("%s\n", what), 1;
		printf("%s\n", what);
		print_events("in SMM");
		print_smm_entry(i ? SMBASE2 : SMBASE1);
		if (i) {
			printf("KVM_NMI in SMM: %d\n", ioctl(vcpu, KVM_NMI, 0));
			print_events("NMI queued in SMM");
		}
		/* Back. */
		if (run_exit(what, sizeof(what)))
			return printf("%s\n", what), 1;
		struct kvm_regs r;
		ioctl(vcpu, KVM_GET_REGS, &r);
		printf("%s: rax=0x%llx rbx=0x%llx rip=0x%llx rflags=0x%llx run flags smm=%d SMBASE 0x%llx\n", what,
		       (unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rip,
		       (unsigned long long)r.rflags, !!(run->flags & KVM_RUN_X86_SMM),
		       (unsigned long long)smbase_msr());
		print_events("after RSM");
	}
	if (long_mode) {
		/* RSM outside SMM, the guest's RDMSR, then HLT. */
		if (run_exit(what, sizeof(what)))
			return printf("%s\n", what), 1;
		printf("%s\n", what);
	}
	vmm_vcpu_destroy(&cpu);
	vmm_vm_destroy(&vm);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kvm_smm DEVICE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int dev = vmm_open(argv[1]);
	if (dev < 0) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("KVM_CAP_X86_SMM %d, KVM_CAP_MULTI_ADDRESS_SPACE %d\n", ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM),
	       ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE));
	/* A third address space does not exist. */
	struct vmm_vm vm;
	if (!vmm_vm_create(&vm, dev, 0x10000, NULL, 0)) {
		errno = 0;
		const int r = vmm_set_slot(vm.fd, 2u << 16 | 0, 0, 0x100000, 0x10000, vm.mem);
		printf("slot in address space 2: %d %s\n", r, r ? strerror(errno) : "");
		vmm_vm_destroy(&vm);
	}
	int failed = scenario(dev, 1);
	failed |= scenario(dev, 0);
	printf("done\n");
	return failed;
}
