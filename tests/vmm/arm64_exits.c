// SPDX-License-Identifier: GPL-2.0
/*
 * Every exit of the arm64 backend, through /dev/axvm, against the guest
 * tools/guests/arm64/exits.S: WFI, a trapped system-register read and
 * write, a data abort without syndrome (KVM_EXIT_ARM_NISV), PSCI calls the
 * kernel answers, an UNDEF the guest takes itself, CPU_ON and
 * SYSTEM_RESET; FP/SIMD state; then RUN ended by a signal and by
 * immediate_exit, and a vCPU whose thread moves between CPUs.
 *
 *   arm64_exits GUEST      prints "ok - arm64.NAME" or "not ok - ..."
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <uapi/axvm.h>

#include "vmm.h" /* the set-up, in KVM's names for the same numbers */

#define RAM_SIZE 0x200000
#define LOAD 0x10000
#define SPIN 0x30000
#define COUNT 0x30100
#define UART 0x09000000
#define DEVICE 0x0a000000

static int failures;

static void check(int ok, const char *name, const char *detail)
{
	failures += vmm_check(ok, "arm64.", name, "%s", detail);
}

static int vcpu;
static struct axvm_run *run;
static char tag; /* the guest's last step */

static int reg(unsigned long cmd, uint64_t id, uint64_t *value)
{
	return vmm_one_reg(vcpu, cmd, id, value);
}

/* RUN until an exit other than a UART write; returns its reason. */
static int next_exit(void)
{
	for (;;) {
		if (ioctl(vcpu, AXVM_RUN, 0) < 0)
			return -errno;
		if (run->exit_reason == AXVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == UART) {
			tag = (char)run->mmio.data[0];
			continue;
		}
		return (int)run->exit_reason;
	}
}

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	char detail[160];
	if (argc != 2) {
		fprintf(stderr, "usage: %s GUEST\n", argv[0]);
		return 2;
	}
	alarm(30); /* a guest stuck where an exit should be kills the test, not the boot */
	int dev = vmm_open("/dev/axvm");
	int vm = dev < 0 ? -1 : ioctl(dev, AXVM_CREATE_VM, 0);
	uint8_t *ram = vmm_anon(RAM_SIZE, 1);
	uint8_t *uart = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const long n = vm < 0 || !ram || uart == MAP_FAILED ? -1 : vmm_load(argv[1], ram + LOAD, RAM_SIZE - LOAD);
	if (n < 0) {
		perror("setup");
		return 1;
	}
	if (!n)
		return 1;
	const uint32_t branch_to_self = 0x14000000;
	memcpy(ram + SPIN, &branch_to_self, 4);
	if (vmm_set_slot(vm, 0, 0, 0, RAM_SIZE, ram) || vmm_set_slot(vm, 1, AXVM_MEM_READONLY, UART, 4096, uart))
		return perror("slots"), 1;
	struct vmm_vcpu cpu;
	if (vmm_vcpu_create(&cpu, dev, vm, 0) || vmm_arm64_vcpu_init(vm, cpu.fd))
		return perror("vcpu"), 1;
	vcpu = cpu.fd;
	run = (struct axvm_run *)cpu.run;
	uint64_t pc = LOAD;
	reg(AXVM_SET_ONE_REG, AXVM_ARM64_PC, &pc);

	uint64_t bad = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | 0x13 << 16; /* a system register */
	check(reg(AXVM_GET_ONE_REG, bad, &pc) < 0 && errno == ENOENT, "one_reg_unknown_is_enoent", strerror(errno));
	check(reg(AXVM_GET_ONE_REG, AXVM_ARM64_PC & ~AXVM_REG_SIZE_MASK, &pc) < 0 && errno == EINVAL,
	      "one_reg_wrong_size_is_einval", strerror(errno));
	check(ioctl(vm, AXVM_CHECK_EXTENSION, AXVM_CAP_ARM_VM_IPA_SIZE) >= 40, "ipa_size_reported", "");

	int r = next_exit();
	check(r == AXVM_EXIT_HLT && tag == 'W', "wfi_is_hlt", "");

	/* Tags R and E pass without an exit to userspace: PMCR_EL0 is an UNDEF
	 * the guest counts (else tag F), the error records are answered in the
	 * kernel: 200 exits there, each counted. */
	const long long exits_before = vmm_stat(vcpu, "exits");
	r = next_exit();
	snprintf(detail, sizeof(detail), "exits in the kernel %lld", vmm_stat(vcpu, "exits") - exits_before);
	uint64_t undefs = 0;
	reg(AXVM_GET_ONE_REG, AXVM_ARM64_X(23), &undefs);
	if (r == AXVM_EXIT_ARM_NISV && undefs == 200)
		printf("skip - arm64.ras_error_records_raz_wi: the CPU has no error-record registers "
		       "(each access an UNDEF without an exit, as under QEMU's TCG)\n");
	else
		check(r == AXVM_EXIT_ARM_NISV && !undefs && vmm_stat(vcpu, "exits") - exits_before >= 200,
		      "ras_error_records_raz_wi", detail);
	snprintf(detail, sizeof(detail), "exit %d tag %c ipa 0x%llx iss 0x%llx", r, tag,
		 (unsigned long long)run->arm_nisv.fault_ipa, (unsigned long long)run->arm_nisv.esr_iss);
	check(r == AXVM_EXIT_ARM_NISV && tag == 'N' && run->arm_nisv.fault_ipa == DEVICE &&
		      !(run->arm_nisv.esr_iss & (1u << 24)),
	      "load_pair_from_device_is_nisv", detail);
	/* The VMM emulates it (here: skips it), as after KVM_EXIT_ARM_NISV. */
	reg(AXVM_GET_ONE_REG, AXVM_ARM64_PC, &pc);
	pc += 4;
	reg(AXVM_SET_ONE_REG, AXVM_ARM64_PC, &pc);

	/* The guest sets its d8 and halts; the RUN that runs it is a raw
	 * syscall with our own d8 set around it: the host's FP/SIMD state
	 * must come back untouched, the guest's must stay the guest's. */
	uint64_t mine = 0x0123456789abcdefull, after = mine;
	long ret = 0;
	do {
		register long x0 asm("x0") = vcpu;
		register long x1 asm("x1") = (long)AXVM_RUN;
		register long x2 asm("x2") = 0;
		register long x8 asm("x8") = __NR_ioctl;
		asm volatile("fmov d8, %[mine]\n\tsvc #0\n\tfmov %[after], d8"
			     : "+r"(x0), [after] "=r"(after)
			     : [mine] "r"(mine), "r"(x1), "r"(x2), "r"(x8)
			     : "memory", "v8");
		ret = x0;
		if (run->exit_reason == AXVM_EXIT_MMIO && run->mmio.phys_addr == UART)
			tag = (char)run->mmio.data[0];
	} while (ret == 0 && after == mine && run->exit_reason == AXVM_EXIT_MMIO);
	uint64_t v8[2] = {0, 0};
	reg(AXVM_GET_ONE_REG, AXVM_ARM64_V(8), v8);
	snprintf(detail, sizeof(detail), "ret %ld exit %u tag %c host d8 0x%llx guest v8 0x%llx", ret,
		 run->exit_reason, tag, (unsigned long long)after, (unsigned long long)v8[0]);
	check(ret == 0 && run->exit_reason == AXVM_EXIT_HLT && tag == 'P' && after == mine &&
		      v8[0] == 0x1122334455667788ull,
	      "fp_state_kept_for_host_and_guest", detail);

	r = next_exit();
	snprintf(detail, sizeof(detail), "exit %d tag %c target %llu entry 0x%llx arg 0x%llx", r, tag,
		 (unsigned long long)run->cpu_up.target_cpu, (unsigned long long)run->cpu_up.entry_point,
		 (unsigned long long)run->cpu_up.arg);
	/* Tag C: PSCI_VERSION and the unknown PSCI call were answered in the
	 * kernel and the UNDEF went to the guest's own vector (else tag F). */
	check(r == AXVM_EXIT_CPU_UP && tag == 'C' && run->cpu_up.target_cpu == 1 &&
		      run->cpu_up.entry_point == 0x20000 && run->cpu_up.arg == 0x99,
	      "psci_in_kernel_undef_to_guest_cpu_on_exit", detail);

	r = next_exit();
	snprintf(detail, sizeof(detail), "exit %d tag %c type %u", r, tag, run->system_event.type);
	check(r == AXVM_EXIT_SYSTEM_EVENT && tag == 'S' && run->system_event.type == AXVM_SYSTEM_EVENT_RESET,
	      "psci_system_reset", detail);

	/* A guest spinning with interrupts masked: a signal still ends RUN. */
	pc = SPIN;
	reg(AXVM_SET_ONE_REG, AXVM_ARM64_PC, &pc);
	signal(SIGALRM, on_alarm);
	struct itimerval t = {.it_value = {.tv_usec = 200000}};
	setitimer(ITIMER_REAL, &t, NULL);
	r = ioctl(vcpu, AXVM_RUN, 0);
	snprintf(detail, sizeof(detail), "ret %d (%s) exit %u", r, strerror(errno), run->exit_reason);
	check(r < 0 && errno == EINTR && run->exit_reason == AXVM_EXIT_INTR, "signal_ends_run", detail);
	reg(AXVM_GET_ONE_REG, AXVM_ARM64_PC, &pc);
	check(pc == SPIN, "spin_pc_kept", "");
	/* The host's timer interrupted the spin many times; each came out as
	 * an ExternalInterrupt, taken by the host, and the guest went on. */
	const long long irqs = vmm_stat(vcpu, "exit_external_interrupt");
	snprintf(detail, sizeof(detail), "%lld", irqs);
	check(irqs > 0, "interrupts_exit_and_resume", detail);

	run->immediate_exit = 1;
	r = ioctl(vcpu, AXVM_RUN, 0);
	check(r < 0 && errno == EINTR, "immediate_exit", strerror(errno));
	run->immediate_exit = 0;

	/* The vCPU thread hops between CPUs between runs: x0 counts the runs. */
	const uint32_t count[] = {0x91000400, 0xd503207f, 0x17fffffe}; /* add x0, x0, #1; wfi; b . - 8 */
	memcpy(ram + COUNT, count, sizeof(count));
	pc = COUNT;
	uint64_t x0 = 0;
	reg(AXVM_SET_ONE_REG, AXVM_ARM64_PC, &pc);
	reg(AXVM_SET_ONE_REG, AXVM_ARM64_X(0), &x0);
	const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int hops_ok = 1;
	for (int i = 0; i < 20; i++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(i % cpus, &set);
		sched_setaffinity(0, sizeof(set), &set);
		hops_ok &= ioctl(vcpu, AXVM_RUN, 0) == 0 && run->exit_reason == AXVM_EXIT_HLT;
	}
	reg(AXVM_GET_ONE_REG, AXVM_ARM64_X(0), &x0);
	snprintf(detail, sizeof(detail), "x0 %llu after 20 runs on %ld CPUs", (unsigned long long)x0, cpus);
	check(hops_ok && x0 == 20, "state_survives_cpu_hops", detail);
	return failures != 0;
}
