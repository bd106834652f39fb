// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile guests and a hostile VMM, written only against <linux/kvm.h>: a
 * triple fault, an exception storm, an endless loop with interrupts off,
 * writes over all guest-physical space and far beyond it, a million exits,
 * a forked child using its parent's VM, fds closed and memory slots deleted
 * while a vCPU runs, guest memory unmapped or protected under a running
 * guest, VMMs killed at random points; and against the in-kernel irqchip,
 * IPI and EOI storms, a periodic LAPIC timer at its shortest, eventfds
 * closed under a running guest, interrupts for vCPUs that do not exist.
 * The device path is the only argument; one line per scenario, and the
 * tests require the same lines from /dev/axvm and /dev/kvm
 * (tests/expected/kvm_hostile.out). The host's health afterwards (no kernel
 * report, no leak) is checked by the harness.
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (4ul << 20)
#define CODE VMM_CODE      /* real-mode code, CS = 0 */
#define TABLES 0x100000ul  /* long-mode page tables */
#define DATA_GPA 0x20000ul /* the second slot of the slot/munmap scenarios */

static const char *device;

struct vm {
	int dev;
	struct vmm_vm vm;     /* its RAM at guest address 0 */
	struct vmm_vcpu cpu;  /* vCPU 0 */
};

static void die(const char *what)
{
	printf("FATAL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_slot(struct vm *v, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	if (vmm_set_slot(v->vm.fd, slot, 0, gpa, size, host))
		die("KVM_SET_USER_MEMORY_REGION");
}

/* A VM with @ram bytes of RAM at 0 and one vCPU in real mode at CODE. */
static void vm_open_ram(struct vm *v, const uint8_t *code, size_t len, uint64_t ram)
{
	v->dev = vmm_open(device);
	if (v->dev < 0)
		die(device);
	const char *what = vmm_vm_create(&v->vm, v->dev, ram, code, len);
	if (!what)
		what = vmm_vcpu_create(&v->cpu, v->dev, v->vm.fd, 0);
	if (what)
		die(what);
	/* The CPUID a VMM gives its guest (KVM checks long mode against it). */
	if (vmm_set_cpuid(v->dev, v->cpu.fd))
		die("KVM_GET_SUPPORTED_CPUID/KVM_SET_CPUID2");

	struct kvm_sregs s;
	if (ioctl(v->cpu.fd, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS");
	s.cs.selector = 0, s.cs.base = 0;
	s.ds = s.es = s.ss = s.cs;
	s.ds.type = s.es.type = s.ss.type = 3;
	if (ioctl(v->cpu.fd, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS");
	if (vmm_set_regs_at(v->cpu.fd, CODE, 0x8000))
		die("KVM_SET_REGS");
}

static void vm_open(struct vm *v, const uint8_t *code, size_t len)
{
	vm_open_ram(v, code, len, MEM_SIZE);
}

static void vm_close(struct vm *v)
{
	vmm_vcpu_destroy(&v->cpu);
	vmm_vm_destroy(&v->vm);
	close(v->dev);
}

static void on_signal(int sig) { (void)sig; }

/* Arms SIGALRM @ms from now (0 disarms); RUN returns -EINTR when it fires. */
static void alarm_ms(long ms)
{
	struct itimerval t = {.it_value = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &t, NULL);
}

/* RUN, described in a few words that both KVM and axvm must produce. */
static const char *run_once(struct vm *v)
{
	static char buf[64];
	if (ioctl(v->cpu.fd, KVM_RUN, 0)) {
		snprintf(buf, sizeof(buf), "%s exit %u", errno == EINTR ? "EINTR" : strerror(errno),
			 v->cpu.run->exit_reason);
		return buf;
	}
	snprintf(buf, sizeof(buf), "exit %u", v->cpu.run->exit_reason);
	return buf;
}

/* Long mode at CODE, identity-mapped with 2 MiB pages over 0-4 GiB and
 * 511-512 GiB (tables at TABLES); the IDT at @idt. */
static void long_mode(struct vm *v, uint64_t idt)
{
	uint64_t *t = (uint64_t *)(v->vm.mem + TABLES);
	t[0] = (TABLES + 0x1000) | 3;                              /* PML4[0] */
	for (uint64_t i = 0; i < 4; i++)
		t[512 + i] = (TABLES + 0x2000 + 0x1000 * i) | 3;   /* PDPT[0..3] */
	t[512 + 511] = (TABLES + 0x6000) | 3;                      /* PDPT[511] */
	for (uint64_t i = 0; i < 4; i++)
		for (uint64_t j = 0; j < 512; j++)
			t[1024 + 512 * i + j] = ((i << 30) + (j << 21)) | 0x83;
	for (uint64_t j = 0; j < 512; j++)
		t[1024 + 2048 + j] = ((511ull << 30) + (j << 21)) | 0x83;

	struct kvm_sregs s;
	ioctl(v->cpu.fd, KVM_GET_SREGS, &s);
	vmm_flat_sregs(&s, 1);
	s.cr0 = 0x80000011, s.cr4 = 0x20, s.efer = 0x500, s.cr3 = TABLES;
	s.idt.base = idt, s.idt.limit = 0xfff;
	if (ioctl(v->cpu.fd, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS (long mode)");
}

/* int3 with the IDT in unmapped memory: #PF, #DF, shutdown. (Not through
 * #GP: KVM intercepts it on CPUs without SVME_ADDR_CHK, QEMU's among them,
 * and QEMU then never turns the re-injected #GP into #DF.) Then the vCPU
 * gets real-mode registers again and runs a HLT. */
static void triple_fault(void)
{
	static const uint8_t code[] = {0xcc};
	struct vm v;
	vm_open(&v, code, sizeof(code));
	long_mode(&v, 8ul << 30);
	struct kvm_regs r = {.rip = CODE, .rsp = 0x8000, .rflags = 2};
	ioctl(v.cpu.fd, KVM_SET_REGS, &r);
	v.vm.mem[0x1200] = 0xf4; /* hlt */
	alarm_ms(20000); /* a hang shows as EINTR rather than as a stuck test */
	printf("triple_fault: %s", run_once(&v));
	struct kvm_sregs s;
	ioctl(v.cpu.fd, KVM_GET_SREGS, &s);
	struct kvm_segment real = {.limit = 0xffff, .type = 11, .present = 1, .s = 1};
	s.cs = s.ds = s.es = s.fs = s.gs = s.ss = real;
	s.ds.type = s.es.type = s.fs.type = s.gs.type = s.ss.type = 3;
	s.cr0 = 0x10, s.cr4 = 0, s.efer = 0;
	s.idt.base = 0, s.idt.limit = 0x3ff;
	int err = ioctl(v.cpu.fd, KVM_SET_SREGS, &s);
	r.rip = 0x1200;
	err |= ioctl(v.cpu.fd, KVM_SET_REGS, &r);
	printf(", reset %s, then %s\n", err ? "refused" : "ok", run_once(&v));
	alarm_ms(0);
	vm_close(&v);
}

/* A #UD whose handler raises #UD again, forever; and cli; jmp $. Neither
 * exits by itself: a signal must still end RUN. */
static void endless(const char *name, const uint8_t *code, size_t len)
{
	struct vm v;
	vm_open(&v, code, len);
	static const uint8_t ud_handler[] = {0x83, 0xc4, 0x06, 0x0f, 0x0b}; /* add sp,6; ud2 */
	memcpy(v.vm.mem + 0x1100, ud_handler, sizeof(ud_handler));
	const uint16_t ivt6[2] = {0x1100, 0};
	memcpy(v.vm.mem + 4 * 6, ivt6, 4);
	alarm_ms(200);
	printf("%s: %s\n", name, run_once(&v));
	alarm_ms(0);
	vm_close(&v);
}

/* The guest writes its address to every 2 MiB of 0-4 GiB and 511-512 GiB.
 * Only the first 4 MiB are RAM: every other write is an MMIO exit with
 * exactly that address. */
static void writes_everywhere(void)
{
	/* Over [rax, rdx) in steps of rbx, then once more over [rsi, rdi). */
	static const uint8_t code[] = {
		0x48, 0x89, 0x00,       /* 0: mov [rax],rax */
		0x48, 0x01, 0xd8,       /* 3: add rax,rbx */
		0x48, 0x39, 0xd0,       /* 6: cmp rax,rdx */
		0x72, 0xf5,             /* 9: jb 0 */
		0x48, 0x39, 0xf8,       /* b: cmp rax,rdi */
		0x73, 0x08,             /* e: jae 18 (second range done) */
		0x48, 0x89, 0xf0,       /* 10: mov rax,rsi */
		0x48, 0x89, 0xfa,       /* 13: mov rdx,rdi */
		0xeb, 0xe8,             /* 16: jmp 0 */
		0xf4,                   /* 18: hlt */
	};
	struct vm v;
	vm_open(&v, code, sizeof(code));
	long_mode(&v, 0);
	struct kvm_regs r = {.rip = CODE, .rflags = 2, .rsp = 0x8000, .rax = 0, .rbx = 2ul << 20,
			     .rdx = 4ul << 30, .rsi = 511ul << 30, .rdi = 512ul << 30};
	if (ioctl(v.cpu.fd, KVM_SET_REGS, &r))
		die("KVM_SET_REGS (long mode)");

	unsigned long mmio = 0, wrong = 0;
	uint64_t expect = MEM_SIZE; /* the first 2 MiB steps below it are RAM */
	for (;;) {
		if (ioctl(v.cpu.fd, KVM_RUN, 0) || v.cpu.run->exit_reason != KVM_EXIT_MMIO)
			break;
		uint64_t value;
		memcpy(&value, v.cpu.run->mmio.data, 8);
		if (!v.cpu.run->mmio.is_write || v.cpu.run->mmio.len != 8 || v.cpu.run->mmio.phys_addr != expect ||
		    value != expect)
			wrong++;
		mmio++;
		expect += 2ul << 20;
		if (expect == 4ul << 30)
			expect = 511ul << 30;
	}
	printf("writes_everywhere: %lu mmio writes, %lu wrong, then exit %u\n", mmio, wrong,
	       v.cpu.run->exit_reason);
	vm_close(&v);
}

/* A million port writes, each an exit to this process (KVM_HOSTILE_EXITS
 * in the environment says how many where every instruction is emulated). */
static void million_exits(void)
{
	uint8_t code[] = {
		0x66, 0xb9, 0x40, 0x42, 0x0f, 0x00, /* mov ecx,1000000 */
		0xe6, 0xe9,                         /* out 0xe9,al */
		0x66, 0x49,                         /* dec ecx */
		0x75, 0xfa,                         /* jnz out */
		0xf4,
	};
	const char *count = getenv("KVM_HOSTILE_EXITS");
	if (count) {
		const uint32_t n = (uint32_t)strtoul(count, NULL, 10);
		memcpy(code + 2, &n, sizeof(n));
	}
	struct vm v;
	vm_open(&v, code, sizeof(code));
	unsigned long io = 0;
	while (!ioctl(v.cpu.fd, KVM_RUN, 0) && v.cpu.run->exit_reason == KVM_EXIT_IO)
		io++;
	printf("million_exits: %lu io exits, then exit %u\n", io, v.cpu.run->exit_reason);
	vm_close(&v);
}

/* A forked child (another mm) holding the fds gets -EIO for everything. */
static void forked_child(void)
{
	static const uint8_t code[] = {0xf4};
	struct vm v;
	vm_open(&v, code, sizeof(code));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct kvm_regs r;
		struct kvm_userspace_memory_region m = {.slot = 1, .guest_phys_addr = 1ul << 30,
							.memory_size = 4096,
							.userspace_addr = (uintptr_t)v.vm.mem};
		int run = ioctl(v.cpu.fd, KVM_RUN, 0) ? errno : 0;
		int regs = ioctl(v.cpu.fd, KVM_GET_REGS, &r) ? errno : 0;
		int vcpu = ioctl(v.vm.fd, KVM_CREATE_VCPU, 1) < 0 ? errno : 0;
		int slot = ioctl(v.vm.fd, KVM_SET_USER_MEMORY_REGION, &m) ? errno : 0;
		printf("forked_child: RUN %s, GET_REGS %s, CREATE_VCPU %s, SET_USER_MEMORY_REGION %s\n",
		       strerror(run), strerror(regs), strerror(vcpu), strerror(slot));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("forked_child_parent: then gets %s\n", run_once(&v));
	vm_close(&v);
}

struct runner {
	struct vmm_vcpu *cpu;
	pthread_t thread;
	volatile int inside;
	char result[64];
};

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	int vcpu = r->cpu->fd;
	struct kvm_run *run = r->cpu->run;
	r->inside = 1;
	if (ioctl(vcpu, KVM_RUN, 0))
		snprintf(r->result, sizeof(r->result), "%s", errno == EINTR ? "EINTR" : strerror(errno));
	else
		snprintf(r->result, sizeof(r->result), "exit %u", run->exit_reason);
	return NULL;
}

static void runner_start(struct runner *r, struct vmm_vcpu *cpu)
{
	r->cpu = cpu;
	r->inside = 0;
	pthread_create(&r->thread, NULL, runner_main, r);
	while (!r->inside)
		usleep(1000);
	usleep(50 * 1000); /* well inside RUN by now */
}

/* Ends RUN with a signal (if it has not ended yet) and waits for it. */
static const char *runner_stop(struct runner *r)
{
	pthread_kill(r->thread, SIGUSR1);
	pthread_join(r->thread, NULL);
	return r->result;
}

/* The vCPU, VM and device fds closed while another thread is inside RUN,
 * in both orders. */
static void close_while_running(void)
{
	static const uint8_t code[] = {0xfa, 0xeb, 0xfe}; /* cli; jmp $ */
	for (int order = 0; order < 2; order++) {
		struct vm v;
		struct runner r;
		vm_open(&v, code, sizeof(code));
		runner_start(&r, &v.cpu);
		if (order == 0) {
			close(v.cpu.fd), close(v.vm.fd), close(v.dev);
		} else {
			close(v.dev), close(v.vm.fd), close(v.cpu.fd);
		}
		printf("close_%s_first_while_running: RUN ended with %s\n", order ? "device" : "vcpu",
		       runner_stop(&r));
		munmap(v.cpu.run, v.cpu.run_size);
		munmap(v.vm.mem, v.vm.mem_size);
	}
}

/* Real mode: loop: mov ax,[es:0]; jmp loop, ES = DATA_GPA. */
static const uint8_t data_loop[] = {0x26, 0xa1, 0x00, 0x00, 0xeb, 0xfa};

static void data_loop_vm(struct vm *v, void *data)
{
	vm_open_ram(v, data_loop, sizeof(data_loop), DATA_GPA);
	set_slot(v, 1, DATA_GPA, 4096, data);
	struct kvm_sregs s;
	ioctl(v->cpu.fd, KVM_GET_SREGS, &s);
	s.es.selector = DATA_GPA >> 4, s.es.base = DATA_GPA;
	ioctl(v->cpu.fd, KVM_SET_SREGS, &s);
}

/* The slot the guest reads deleted under it: its next read is MMIO. */
static void slot_deleted_while_running(void)
{
	uint8_t *data = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vm v;
	struct runner r;
	data_loop_vm(&v, data);
	runner_start(&r, &v.cpu);
	set_slot(&v, 1, DATA_GPA, 0, data);
	usleep(50 * 1000);
	const char *res = runner_stop(&r);
	printf("slot_deleted_while_running: RUN ended with %s", res);
	if (!strcmp(res, "exit 6"))
		printf(" (%s of %u bytes at 0x%llx)", v.cpu.run->mmio.is_write ? "write" : "read",
		       v.cpu.run->mmio.len, (unsigned long long)v.cpu.run->mmio.phys_addr);
	printf("\n");
	vm_close(&v);
	munmap(data, 4096);
}

/* Guest memory unmapped or made inaccessible under a running guest. KVM
 * then fails RUN with EFAULT; axvm keeps the pinned pages for the guest and
 * the guest runs on until the signal. Either way RUN ends, the VMM's own
 * memory is what it now maps, and the VM goes away cleanly. */
static void memory_pulled(const char *name, int unmap)
{
	uint8_t *data = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vm v;
	struct runner r;
	data_loop_vm(&v, data);
	runner_start(&r, &v.cpu);
	if (unmap)
		munmap(data, 4096);
	else
		mprotect(data, 4096, PROT_NONE);
	usleep(50 * 1000);
	const char *res = runner_stop(&r);
	printf("%s: RUN ended (%s)\n", name,
	       !strcmp(res, "EINTR") || !strcmp(res, "Bad address") ? "EINTR or EFAULT" : res);
	vm_close(&v);
	if (!unmap)
		munmap(data, 4096);
}

/* VMMs SIGKILLed at many points of their life: opening, creating, running. */
static void killed_anywhere(void)
{
	static const uint8_t code[] = {0xe6, 0xe9, 0xeb, 0xfc}; /* out 0xe9,al; jmp back */
	int killed = 0, total = 0;
	for (long delay_us = 0; delay_us <= 40000; delay_us = delay_us * 2 + 250) {
		pid_t pid = fork();
		if (pid == 0) {
			struct vm v;
			for (;;) {
				vm_open(&v, code, sizeof(code));
				for (int i = 0; i < 1000; i++)
					ioctl(v.cpu.fd, KVM_RUN, 0);
				vm_close(&v);
			}
		}
		usleep(delay_us);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		total++;
		killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	}
	printf("killed_anywhere: %d of %d VMMs died by SIGKILL\n", killed, total);
}

/* ---- The in-kernel irqchip under hostile guests ----
 * Flat 32-bit guests (vmm_protected_mode) reaching the local APIC and the
 * IOAPIC, assembled at run time; their interrupt handlers count into
 * COUNTERS, which the VMM reads. Every vector without a handler of its own
 * counts into OTHER. */
#define APIC 0xfee00000u
#define APIC_EOI (APIC + 0xb0)
#define APIC_SVR (APIC + 0xf0)
#define APIC_ICR_LO (APIC + 0x300)
#define APIC_ICR_HI (APIC + 0x310)
#define APIC_LVTT (APIC + 0x320)
#define APIC_TMICT (APIC + 0x380)
#define APIC_TDCR (APIC + 0x3e0)
#define IOAPIC 0xfec00000u
#define GDT32 0x500
#define CODE1 0x3000          /* vCPU 1's code (vCPU 0's is at CODE) */
#define HANDLERS 0x4000
#define COUNTERS 0x5000
#define OTHER 63              /* the counter of unexpected vectors */
#define IDT_OF(cpu) ((cpu) ? 0x2000u : 0x600u)

struct chip {
	int dev;
	struct vmm_vm vm;
	struct vmm_vcpu cpu[2];
	int ncpus;
	struct vmm_asm code[2];  /* each vCPU's code, from its entry point */
	struct vmm_asm handlers;
};

static uint32_t counter(const struct chip *c, int n)
{
	uint32_t v;
	memcpy(&v, (const uint8_t *)c->vm.mem + COUNTERS + 4 * n, 4);
	return v;
}

/* Vector @vector of vCPU @cpu counts into counter @n. */
static void count_vector(struct chip *c, int cpu, int vector, int n)
{
	vmm_gate(c->vm.mem, IDT_OF(cpu), vector, vmm_asm_handler(&c->handlers, COUNTERS + 4 * n));
}

/* A VM with the in-kernel irqchip and @ncpus vCPUs (APIC IDs 0 and 1) in
 * flat protected mode, each with its local APIC software-enabled first. */
static void chip_open(struct chip *c, int ncpus)
{
	memset(c, 0, sizeof(*c));
	c->dev = vmm_open(device);
	if (c->dev < 0)
		die(device);
	const char *what = vmm_vm_create(&c->vm, c->dev, MEM_SIZE, NULL, 0);
	if (what)
		die(what);
	if (ioctl(c->vm.fd, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP");
	c->handlers = (struct vmm_asm){c->vm.mem, HANDLERS};
	const uint32_t other = vmm_asm_handler(&c->handlers, COUNTERS + 4 * OTHER);
	for (int i = 0; i < ncpus; i++) {
		const uint32_t entry = i ? CODE1 : CODE;
		what = vmm_vcpu_create(&c->cpu[i], c->dev, c->vm.fd, i);
		if (what)
			die(what);
		c->ncpus++;
		if (vmm_set_cpuid(c->dev, c->cpu[i].fd))
			die("KVM_SET_CPUID2");
		if (vmm_protected_mode(c->cpu[i].fd, c->vm.mem, GDT32, IDT_OF(i), other, entry, 0x8000 + 0x1000 * i))
			die("protected mode");
		/* With the local APIC in the kernel an AP waits for INIT/SIPI. */
		struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
		if (ioctl(c->cpu[i].fd, KVM_SET_MP_STATE, &mp))
			die("KVM_SET_MP_STATE");
		c->code[i] = (struct vmm_asm){c->vm.mem, entry};
		vmm_asm_store(&c->code[i], APIC_SVR, 0x1ff);
	}
}

static void chip_close(struct chip *c)
{
	for (int i = 0; i < c->ncpus; i++)
		vmm_vcpu_destroy(&c->cpu[i]);
	vmm_vm_destroy(&c->vm);
	close(c->dev);
}

static const uint8_t sti[] = {0xfb}, sti_hlt[] = {0xfb, 0xf4};

/* IOAPIC pin @pin's redirection entry: @low (vector, modes, mask), to
 * APIC @dest. */
static void asm_ioapic_pin(struct vmm_asm *a, int pin, uint32_t low, uint8_t dest)
{
	vmm_asm_store(a, IOAPIC, 0x11 + 2 * pin);
	vmm_asm_store(a, IOAPIC + 0x10, (uint32_t)dest << 24);
	vmm_asm_store(a, IOAPIC, 0x10 + 2 * pin);
	vmm_asm_store(a, IOAPIC + 0x10, low);
}

/* How long a timed scenario lets its guests run: @ms, or the percentage of
 * it in KVM_HOSTILE_TIME_PERCENT (Bochs: its guest clock is so slow that a
 * quarter of the time still runs millions of guest instructions). */
static long window(long ms)
{
	const char *p = getenv("KVM_HOSTILE_TIME_PERCENT");
	const long percent = p && atol(p) > 0 && atol(p) <= 100 ? atol(p) : 100;
	return ms * percent / 100 > 0 ? ms * percent / 100 : 1;
}

/* KVM_RUN under an alarm of @ms: "EINTR" when the alarm ended it. */
static const char *run_for(struct vmm_vcpu *cpu, long ms)
{
	static char buf[48];
	alarm_ms(ms);
	const int r = ioctl(cpu->fd, KVM_RUN, 0);
	const int e = errno;
	alarm_ms(0);
	if (!r)
		snprintf(buf, sizeof(buf), "exit %u", cpu->run->exit_reason);
	else
		snprintf(buf, sizeof(buf), "%s", e == EINTR ? "EINTR" : strerror(e));
	return buf;
}

/* Runs vCPU 0 through its set-up to its first OUT (an I/O exit): 0; or
 * the scenario's line says what came instead, and the VM is gone: -1. */
static int chip_ready(struct chip *c, const char *name)
{
	const char *ready = run_for(&c->cpu[0], 5000);
	if (!strcmp(ready, "exit 2"))
		return 0;
	printf("%s: set-up ended with %s\n", name, ready);
	chip_close(c);
	return -1;
}

/* Two vCPUs send fixed IPIs as fast as they can: to the other, to self,
 * with each shorthand (self, all, all but self), to an absent APIC ID, the
 * physical broadcast and an empty logical destination. Both must still
 * take IPIs and leave RUN on a signal. */
static void ipi_storm(void)
{
	enum { RECV0, RECV1, SENT0, SENT1 };
	struct chip c;
	struct runner r[2];
	chip_open(&c, 2);
	for (int i = 0; i < 2; i++) {
		struct vmm_asm *a = &c.code[i];
		count_vector(&c, i, 0x40, RECV0 + i);
		vmm_asm_bytes(a, sti, sizeof(sti));
		const uint32_t loop = a->at;
		vmm_asm_store(a, APIC_ICR_HI, (uint32_t)!i << 24);
		vmm_asm_store(a, APIC_ICR_LO, 0x4040);
		for (uint32_t shorthand = 1; shorthand < 4; shorthand++)
			vmm_asm_store(a, APIC_ICR_LO, 0x4040 | shorthand << 18);
		vmm_asm_store(a, APIC_ICR_HI, 7u << 24);
		vmm_asm_store(a, APIC_ICR_LO, 0x4040);
		vmm_asm_store(a, APIC_ICR_HI, 0xffu << 24);
		vmm_asm_store(a, APIC_ICR_LO, 0x4040);
		vmm_asm_store(a, APIC_ICR_HI, 0x80u << 24);
		vmm_asm_store(a, APIC_ICR_LO, 0x4840); /* logical */
		vmm_asm_inc(a, COUNTERS + 4 * (SENT0 + i));
		vmm_asm_jmp(a, loop);
	}
	runner_start(&r[0], &c.cpu[0]);
	runner_start(&r[1], &c.cpu[1]);
	usleep(window(300) * 1000);
	printf("ipi_storm: vcpu0 %s", runner_stop(&r[0]));
	printf(", vcpu1 %s", runner_stop(&r[1]));
	if (counter(&c, SENT0) && counter(&c, SENT1) && counter(&c, RECV0) && counter(&c, RECV1) && !counter(&c, OTHER))
		printf(", both sent and took IPIs\n");
	else
		printf(", sent %u %u, took %u %u, other vectors %u\n", counter(&c, SENT0), counter(&c, SENT1),
		       counter(&c, RECV0), counter(&c, RECV1), counter(&c, OTHER));
	chip_close(&c);
}

/* EOIs with nothing in service, as fast as the guest can write them, and
 * a level-triggered IOAPIC line that stays asserted: each EOI of its
 * interrupt delivers it again (KVM defers every 10000th in a row). Lowered,
 * it must stop; RUN must end on a signal throughout. */
static void eoi_storm(void)
{
	enum { TAKEN, LOOPS };
	struct chip c;
	chip_open(&c, 1);
	struct vmm_asm *a = &c.code[0];
	count_vector(&c, 0, 0x50, TAKEN);
	asm_ioapic_pin(a, 20, 0x8050, 0); /* level, vector 0x50 */
	vmm_asm_out(a, 0xe9);             /* ready */
	vmm_asm_bytes(a, sti, sizeof(sti));
	const uint32_t loop = a->at;
	vmm_asm_store(a, APIC_EOI, 0);
	vmm_asm_inc(a, COUNTERS + 4 * LOOPS);
	vmm_asm_jmp(a, loop);
	if (chip_ready(&c, "eoi_storm"))
		return;
	struct kvm_irq_level line = {.irq = 20, .level = 1};
	ioctl(c.vm.fd, KVM_IRQ_LINE, &line);
	printf("eoi_storm: asserted, RUN ended with %s", run_for(&c.cpu[0], window(200)));
	const uint32_t taken = counter(&c, TAKEN);
	line.level = 0;
	ioctl(c.vm.fd, KVM_IRQ_LINE, &line);
	printf(", lowered, %s", run_for(&c.cpu[0], window(100)));
	const uint32_t after = counter(&c, TAKEN) - taken;
	/* One delivery may have been on its way when the line dropped. */
	if (taken > 1 && after <= 1 && counter(&c, LOOPS) && !counter(&c, OTHER))
		printf("; the line came back after each EOI and stopped when lowered\n");
	else
		printf("; taken %u, then %u more, %u loops, other vectors %u\n", taken, after, counter(&c, LOOPS),
		       counter(&c, OTHER));
	chip_close(&c);
}

/* The LAPIC timer periodic with initial count 1 and divide by 1: KVM
 * stretches the period to min_timer_period_us (200 us) so that no guest can
 * make the host's timer fire back to back. The vCPU must leave RUN on the
 * alarm, and count no more ticks than that period allows. Where the guest
 * cannot take ticks that fast anyway (an emulator) only the current count
 * shows the stretch: KVM's TMCCT is what is left of the period, in bus
 * cycles (1 ns each), so it reads beyond the initial count of 1 (a period
 * of 1 ns reads 0). */
static void lapic_timer_min_period(void)
{
	enum { TICKS, TMCCT0, READS = 8 };
	const long min_period_us = 200, window_ms = window(300);
	struct chip c;
	chip_open(&c, 1);
	struct vmm_asm *a = &c.code[0];
	count_vector(&c, 0, 0x40, TICKS);
	vmm_asm_store(a, APIC_TDCR, 0xb);      /* divide by 1 */
	vmm_asm_store(a, APIC_LVTT, 0x20040); /* periodic, vector 0x40 */
	vmm_asm_store(a, APIC_TMICT, 1);
	for (int i = 0; i < READS; i++) {
		vmm_asm_load(a, APIC + 0x390);
		vmm_asm_save(a, COUNTERS + 4 * (TMCCT0 + i));
	}
	const uint32_t loop = a->at;
	vmm_asm_bytes(a, sti_hlt, sizeof(sti_hlt));
	vmm_asm_jmp(a, loop);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *res = run_for(&c.cpu[0], window_ms);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	const long us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
	const uint32_t ticks = counter(&c, TICKS);
	/* At most one tick per period, and the first one at once. */
	const long bound = us / min_period_us + 2;
	uint32_t tmcct = 0;
	for (int i = 0; i < READS; i++)
		if (counter(&c, TMCCT0 + i) > tmcct)
			tmcct = counter(&c, TMCCT0 + i);
	printf("lapic_timer_min_period: RUN ended with %s", res);
	if (us > 2000 * 1000 + window_ms * 1000)
		printf(" after %ld us, far past its %ld ms alarm\n", us, window_ms);
	else if (ticks && ticks <= bound && tmcct > 1 && !counter(&c, OTHER))
		printf(" on time, ticking no faster than every %ld us, TMCCT beyond the initial count\n",
		       min_period_us);
	else
		printf(", %u ticks in %ld us (bound %ld), TMCCT up to %u, other vectors %u\n", ticks, us, bound, tmcct,
		       counter(&c, OTHER));
	chip_close(&c);
}

/* An irqfd (GSI 10, IOAPIC pin 10) signalled while the guest takes its
 * interrupts, and ioeventfds (a port, an MMIO address) the guest writes in a
 * loop; then the VMM closes every eventfd, its last fd, with the vCPU
 * inside RUN. The irqfd goes with its eventfd; KVM keeps an ioeventfd (and
 * its eventfd) registered, so the guest's writes still never exit. Then the
 * VM is destroyed with all of it. */
static void eventfds_closed_while_running(void)
{
	enum { IRQS, LOOPS };
	const uint32_t mmio = 0xd0000000;
	struct chip c;
	struct runner r;
	chip_open(&c, 1);
	struct vmm_asm *a = &c.code[0];
	count_vector(&c, 0, 0x51, IRQS);
	asm_ioapic_pin(a, 10, 0x51, 0); /* edge, vector 0x51 */
	vmm_asm_bytes(a, sti, sizeof(sti));
	const uint32_t loop = a->at;
	vmm_asm_out(a, 0x700);
	vmm_asm_store(a, mmio, 1);
	vmm_asm_inc(a, COUNTERS + 4 * LOOPS);
	vmm_asm_jmp(a, loop);
	const int irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), pio = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		  mm = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct kvm_irqfd irqfd = {.fd = (uint32_t)irq, .gsi = 10};
	struct kvm_ioeventfd port = {.addr = 0x700, .len = 1, .fd = pio, .flags = KVM_IOEVENTFD_FLAG_PIO};
	struct kvm_ioeventfd addr = {.addr = mmio, .len = 4, .fd = mm};
	if (ioctl(c.vm.fd, KVM_IRQFD, &irqfd) || ioctl(c.vm.fd, KVM_IOEVENTFD, &port) ||
	    ioctl(c.vm.fd, KVM_IOEVENTFD, &addr))
		die("KVM_IRQFD/KVM_IOEVENTFD");
	runner_start(&r, &c.cpu[0]);
	const uint64_t one = 1;
	for (int i = 0; i < 20; i++) {
		if (write(irq, &one, 8) != 8)
			die("eventfd write");
		usleep(5000);
	}
	uint64_t ports = 0, writes = 0;
	if (read(pio, &ports, 8) != 8 || read(mm, &writes, 8) != 8)
		ports = writes = 0;
	/* The last signal still on its way to the guest as its fd goes. */
	if (write(irq, &one, 8) != 8)
		die("eventfd write");
	close(irq), close(pio), close(mm);
	usleep(window(100) * 1000);
	printf("eventfds_closed_while_running: %s, %s, RUN ended with %s",
	       counter(&c, IRQS) ? "irqfd delivered" : "irqfd never delivered",
	       ports && writes ? "ioeventfds signalled" : "ioeventfds not signalled", runner_stop(&r));
	const uint32_t loops = counter(&c, LOOPS);
	printf(", then %s", run_for(&c.cpu[0], window(100)));
	printf(", %s\n", counter(&c, LOOPS) > loops ? "the guest ran on" : "the guest stopped");
	chip_close(&c);
}

/* Interrupts for vCPUs that do not exist (the VM has APIC ID 0 only): MSIs
 * to APIC ID 5, the broadcast and an empty logical destination, IOAPIC
 * entries (edge and level) and an MSI route to APIC ID 9. What each call
 * answers, then what the one vCPU took. */
static void absent_destinations(void)
{
	enum { V45, V46, V47, V48 };
	struct chip c;
	chip_open(&c, 1);
	struct vmm_asm *a = &c.code[0];
	for (int v = 0; v < 4; v++)
		count_vector(&c, 0, 0x45 + v, V45 + v);
	vmm_asm_out(a, 0xe9); /* ready: the APIC is enabled */
	const uint32_t loop = a->at;
	vmm_asm_bytes(a, sti_hlt, sizeof(sti_hlt));
	vmm_asm_jmp(a, loop);
	if (chip_ready(&c, "absent_destinations"))
		return;
	printf("absent_destinations:");
	static const struct {
		const char *what;
		uint32_t address, data;
	} msis[] = {
		{"MSI to 5", APIC | 5 << 12, 0x45},
		{"to all", APIC | 0xff << 12, 0x46},
		{"logical 0x80", APIC | 0x80 << 12 | 4, 0x47},
	};
	for (size_t i = 0; i < sizeof(msis) / sizeof(msis[0]); i++) {
		struct kvm_msi msi = {.address_lo = msis[i].address, .data = msis[i].data};
		const int ret = ioctl(c.vm.fd, KVM_SIGNAL_MSI, &msi);
		printf("%s %s %d", i ? "," : "", msis[i].what, ret);
		if (ret < 0)
			printf(" (%s)", strerror(errno));
	}
	struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_IOAPIC};
	ioctl(c.vm.fd, KVM_GET_IRQCHIP, &chip);
	chip.chip.ioapic.redirtbl[17].bits = 0x48 | 9ull << 56;             /* edge */
	chip.chip.ioapic.redirtbl[18].bits = 0x48 | 1 << 15 | 9ull << 56; /* level */
	printf("; SET_IRQCHIP %d", ioctl(c.vm.fd, KVM_SET_IRQCHIP, &chip));
	struct {
		struct kvm_irq_routing h;
		struct kvm_irq_routing_entry e[1];
	} routes = {.h = {.nr = 1}};
	routes.e[0].gsi = 40;
	routes.e[0].type = KVM_IRQ_ROUTING_MSI;
	routes.e[0].u.msi.address_lo = APIC | 9 << 12;
	routes.e[0].u.msi.data = 0x48;
	static const char *const names[] = {"IOAPIC edge", "level", "MSI route"};
	for (uint32_t gsi = 17; gsi <= 19; gsi++) {
		if (gsi == 19)
			printf("; SET_GSI_ROUTING %d", ioctl(c.vm.fd, KVM_SET_GSI_ROUTING, &routes));
		struct kvm_irq_level line = {.irq = gsi == 19 ? 40 : gsi, .level = 1};
		const int ret = ioctl(c.vm.fd, KVM_IRQ_LINE_STATUS, &line);
		printf(", %s %d status %d", names[gsi - 17], ret, line.status);
		line.level = 0;
		ioctl(c.vm.fd, KVM_IRQ_LINE_STATUS, &line);
	}
	struct kvm_msi own = {.address_lo = APIC, .data = 0x48};
	printf("; MSI to 0 %d", ioctl(c.vm.fd, KVM_SIGNAL_MSI, &own));
	printf("; RUN ended with %s", run_for(&c.cpu[0], window(100)));
	printf(", took 0x45 %u 0x46 %u 0x47 %u 0x48 %u others %u\n", counter(&c, V45), counter(&c, V46),
	       counter(&c, V47), counter(&c, V48), counter(&c, OTHER));
	chip_close(&c);
}

/* A VMM asks for resampling irqfds (level-triggered, re-raised after each
 * EOI) on many GSIs, each with its own eventfd: KVM sets no limit. */
static void irqfd_resample_many(void)
{
	enum { N = 100 };
	struct chip c;
	chip_open(&c, 1);
	const int resample = eventfd(0, EFD_CLOEXEC);
	int fds[N], taken = 0;
	for (int i = 0; i < N; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		struct kvm_irqfd f = {.fd = (uint32_t)fds[i], .gsi = (uint32_t)i, .flags = KVM_IRQFD_FLAG_RESAMPLE,
				      .resamplefd = (uint32_t)resample};
		taken += !ioctl(c.vm.fd, KVM_IRQFD, &f);
	}
	printf("irqfd_resample_many: %d of %d resampling irqfds on distinct GSIs taken\n", taken, N);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	close(resample);
	chip_close(&c);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kvm_hostile DEVICE\n");
		return 2;
	}
	device = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	triple_fault();
	static const uint8_t storm[] = {0x0f, 0x0b};            /* ud2 */
	static const uint8_t cli_loop[] = {0xfa, 0xeb, 0xfe};   /* cli; jmp $ */
	endless("exception_storm", storm, sizeof(storm));
	endless("cli_loop", cli_loop, sizeof(cli_loop));
	writes_everywhere();
	million_exits();
	forked_child();
	close_while_running();
	slot_deleted_while_running();
	memory_pulled("munmap_while_running", 1);
	memory_pulled("mprotect_while_running", 0);
	killed_anywhere();
	ipi_storm();
	eoi_storm();
	lapic_timer_min_period();
	eventfds_closed_while_running();
	absent_destinations();
	irqfd_resample_many();
	return 0;
}
