// SPDX-License-Identifier: GPL-2.0
/*
 * Every exit of the arm64 backend, through /dev/axvm, against the guest
 * tools/guests/arm64/exits.S: WFI, a trapped system-register read and
 * write, a data abort without syndrome (KVM_EXIT_ARM_NISV), PSCI calls the
 * kernel answers, an UNDEF the guest takes itself, PSCI CPU_ON, CPU_OFF and
 * AFFINITY_INFO between two vCPUs in the kernel, SYSTEM_RESET; FP/SIMD
 * state; KVM_GET_REG_LIST and MP states; then RUN ended by a signal and by
 * immediate_exit, and a vCPU whose thread moves between CPUs.
 *
 *   arm64_exits GUEST      prints "ok - arm64.NAME" or "not ok - ..."
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
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
#define CPU1_ENTRY 0x30200 /* vCPU 1's code: PSCI CPU_OFF (exits.S turns it on there) */

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

/* vCPU 1: created powered off (KVM_ARM_VCPU_POWER_OFF); its thread sits in
 * one KVM_RUN, asleep in the kernel but for the moment between the guest's
 * CPU_ON and its own CPU_OFF, until a signal ends it. */
static int vcpu1;
static struct axvm_run *run1;
static int cpu1_ret, cpu1_errno;

static void *cpu1_thread(void *arg)
{
	(void)arg;
	cpu1_ret = ioctl(vcpu1, AXVM_RUN, 0);
	cpu1_errno = errno;
	return NULL;
}

static void on_usr1(int sig) { (void)sig; }

static void reg1_get_pc(uint64_t *pc) { vmm_one_reg(vcpu1, AXVM_GET_ONE_REG, AXVM_ARM64_PC, pc); }

/* KVM_GET_REG_LIST as KVM answers it: a list too small is -E2BIG with n
 * set to what is needed; every id listed reads and takes its own value
 * back; the firmware and identification registers refuse what axvm does
 * not have. */
static void reg_list_checks(void)
{
	static struct {
		uint64_t n;
		uint64_t reg[AXVM_MAX_REG_LIST];
	} list;
	char detail[160];
	list.n = 1;
	int r = ioctl(vcpu, AXVM_GET_REG_LIST, &list);
	snprintf(detail, sizeof(detail), "ret %d (%s) n %llu", r, strerror(errno), (unsigned long long)list.n);
	check(r < 0 && errno == E2BIG && list.n > 1 && list.n <= AXVM_MAX_REG_LIST && !list.reg[0],
	      "reg_list_too_small_is_e2big_with_n", detail);
	const uint64_t n = list.n;
	r = ioctl(vcpu, AXVM_GET_REG_LIST, &list);
	check(r == 0 && list.n == n, "reg_list", strerror(errno));
	uint64_t bad_get = 0, bad_set = 0, pc_listed = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v[2] = {0, 0};
		bad_get += reg(AXVM_GET_ONE_REG, list.reg[i], v) != 0;
		bad_set += reg(AXVM_SET_ONE_REG, list.reg[i], v) != 0;
		pc_listed |= list.reg[i] == AXVM_ARM64_PC;
	}
	snprintf(detail, sizeof(detail), "%llu ids, %llu failed get, %llu failed set", (unsigned long long)n,
		 (unsigned long long)bad_get, (unsigned long long)bad_set);
	check(!bad_get && !bad_set && pc_listed, "reg_list_every_id_reads_and_writes_back", detail);

	const uint64_t fw = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | AXVM_REG_ARM_FW;
	const uint64_t bmap = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | AXVM_REG_ARM_FW_FEAT_BMAP;
	const uint64_t midr = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | AXVM_REG_ARM64_SYSREG | 3u << 14;
	uint64_t v = 0x10001; /* PSCI 1.1, KVM 6.1's default */
	check(reg(AXVM_GET_ONE_REG, fw, &v) == 0 && v == 0x10001, "psci_version_reg_is_1_1", "");
	v = 0x10002;
	r = reg(AXVM_SET_ONE_REG, fw, &v);
	check(r < 0 && errno == EINVAL, "psci_version_reg_refuses_unknown", strerror(errno));
	v = 1; /* ARCH_WORKAROUND_1 AVAIL: more than NOT_AVAIL */
	r = reg(AXVM_SET_ONE_REG, fw | 1, &v);
	check(r < 0 && errno == EINVAL, "workaround_reg_refuses_more", strerror(errno));
	uint64_t std = 0, vendor = 0;
	reg(AXVM_GET_ONE_REG, bmap, &std);
	reg(AXVM_GET_ONE_REG, bmap | 2, &vendor);
	snprintf(detail, sizeof(detail), "std 0x%llx vendor 0x%llx", (unsigned long long)std,
		 (unsigned long long)vendor);
	check(std == 1 && vendor == 3, "service_bitmaps_offer_trng_kvm_vendor_ptp", detail);
	v = 2; /* bit 1 of the standard services: none */
	r = reg(AXVM_SET_ONE_REG, bmap, &v);
	check(r < 0 && errno == EINVAL, "service_bitmap_refuses_unoffered", strerror(errno));

	/* The steal-time attribute: KVM's answers to bad input. */
	uint64_t ipa = 0x1000 + 8;
	struct axvm_device_attr attr = {.group = AXVM_ARM_VCPU_PVTIME_CTRL, .attr = AXVM_ARM_VCPU_PVTIME_IPA,
					.addr = (uintptr_t)&ipa};
	if (ioctl(vcpu, AXVM_HAS_DEVICE_ATTR, &attr) == 0) {
		r = ioctl(vcpu, AXVM_SET_DEVICE_ATTR, &attr);
		check(r < 0 && errno == EINVAL, "pvtime_ipa_misaligned_is_einval", strerror(errno));
		ipa = 0x40000000; /* no memory there */
		r = ioctl(vcpu, AXVM_SET_DEVICE_ATTR, &attr);
		check(r < 0 && errno == EINVAL, "pvtime_ipa_outside_memory_is_einval", strerror(errno));
		r = ioctl(vcpu, AXVM_GET_DEVICE_ATTR, &attr);
		check(r == 0 && ipa == ~0ull, "pvtime_ipa_unset_reads_all_ones", strerror(errno));
	} else {
		check(errno == ENXIO, "pvtime_absent_is_enxio", strerror(errno));
	}
	attr.group = 0; /* the PMU's: not offered */
	r = ioctl(vcpu, AXVM_HAS_DEVICE_ATTR, &attr);
	check(r < 0 && errno == ENXIO, "vcpu_attr_unknown_group_is_enxio", strerror(errno));
	reg(AXVM_GET_ONE_REG, midr, &v);
	v ^= 1;
	r = reg(AXVM_SET_ONE_REG, midr, &v);
	check(r < 0 && errno == EINVAL, "midr_refuses_other_value", strerror(errno));
	r = reg(AXVM_GET_ONE_REG, fw | 4, &v);
	check(r < 0 && errno == ENOENT, "fw_reg_unknown_is_enoent", strerror(errno));
}

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
	struct vmm_vcpu cpu1;
	struct axvm_vcpu_init init1;
	if (vmm_vcpu_create(&cpu1, dev, vm, 1) || ioctl(vm, AXVM_ARM_PREFERRED_TARGET, &init1))
		return perror("vcpu 1"), 1;
	init1.features[0] |= 1u << AXVM_ARM_VCPU_PSCI_0_2 | 1u << AXVM_ARM_VCPU_POWER_OFF;
	if (ioctl(cpu1.fd, AXVM_ARM_VCPU_INIT, &init1))
		return perror("vcpu 1 init"), 1;
	vcpu1 = cpu1.fd;
	run1 = (struct axvm_run *)cpu1.run;
	/* movz x0, #2; movk x0, #0x8400, lsl #16 (PSCI CPU_OFF); hvc #0; b . */
	const uint32_t cpu_off[] = {0xd2800040, 0xf2b08000, 0xd4000002, 0x14000000};
	memcpy(ram + CPU1_ENTRY, cpu_off, sizeof(cpu_off));
	struct axvm_mp_state mp = {.mp_state = 99};
	check(ioctl(vcpu1, AXVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == AXVM_MP_STATE_STOPPED,
	      "power_off_feature_is_stopped", strerror(errno));
	check(ioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_MP_STATE) == 1, "mp_state_offered", "");
	struct sigaction usr1 = {.sa_handler = on_usr1}; /* no SA_RESTART: RUN returns -EINTR */
	sigaction(SIGUSR1, &usr1, NULL);
	pthread_t thread1;
	if (pthread_create(&thread1, NULL, cpu1_thread, NULL))
		return perror("vcpu 1 thread"), 1;
	uint64_t pc = LOAD;
	reg(AXVM_SET_ONE_REG, AXVM_ARM64_PC, &pc);

	uint64_t bad = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | 0x13 << 16; /* a system register */
	check(reg(AXVM_GET_ONE_REG, bad, &pc) < 0 && errno == ENOENT, "one_reg_unknown_is_enoent", strerror(errno));
	check(reg(AXVM_GET_ONE_REG, AXVM_ARM64_PC & ~AXVM_REG_SIZE_MASK, &pc) < 0 && errno == EINVAL,
	      "one_reg_wrong_size_is_einval", strerror(errno));
	check(ioctl(vm, AXVM_CHECK_EXTENSION, AXVM_CAP_ARM_VM_IPA_SIZE) >= 40, "ipa_size_reported", "");
	reg_list_checks();

	int r = next_exit();
	check(r == AXVM_EXIT_HLT && tag == 'W', "wfi_is_hlt", "");
	uint64_t none = 0; /* the VM ran: its services are fixed */
	r = reg(AXVM_SET_ONE_REG, AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | AXVM_REG_ARM_FW_FEAT_BMAP, &none);
	check(r < 0 && errno == EBUSY, "service_bitmap_fixed_once_run", strerror(errno));

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

	/* Tag C passed (else tag F): PSCI_VERSION, PSCI_FEATURES and the
	 * unknown calls were answered in the kernel, so were SMCCC_VERSION,
	 * TRNG_RND64 and PV_TIME_FEATURES (tag T), the UNDEF went to the
	 * guest's own vector, vCPU 1 was turned on, ran and turned itself off,
	 * AFFINITY_INFO saw both, CPU_ON of a vCPU that is on or of no vCPU
	 * failed as PSCI says. Then SYSTEM_RESET, x0 INTERNAL_FAILURE for a
	 * VMM that would run the vCPU again, as KVM does. */
	r = next_exit();
	uint64_t x0_after = 0;
	reg(AXVM_GET_ONE_REG, AXVM_ARM64_X(0), &x0_after);
	snprintf(detail, sizeof(detail), "exit %d tag %c type %u ndata %u x0 0x%llx", r, tag, run->system_event.type,
		 run->system_event.ndata, (unsigned long long)x0_after);
	check(r == AXVM_EXIT_SYSTEM_EVENT && tag == 'S' && run->system_event.type == AXVM_SYSTEM_EVENT_RESET &&
		      run->system_event.ndata == 1 && run->system_event.data[0] == 0 && x0_after == (uint64_t)-6,
	      "psci_in_kernel_cpu_on_off_affinity_then_system_reset", detail);

	/* vCPU 1 is off again and asleep: no entry, no exit while it is. */
	const long long exits1 = vmm_stat(vcpu1, "exits");
	usleep(300000);
	snprintf(detail, sizeof(detail), "exits %lld then %lld", exits1, vmm_stat(vcpu1, "exits"));
	check(exits1 > 0 && vmm_stat(vcpu1, "exits") == exits1, "powered_off_vcpu_sleeps", detail);
	pthread_kill(thread1, SIGUSR1);
	pthread_join(thread1, NULL);
	snprintf(detail, sizeof(detail), "ret %d (%s) exit %u", cpu1_ret, strerror(cpu1_errno), run1->exit_reason);
	check(cpu1_ret < 0 && cpu1_errno == EINTR && run1->exit_reason == AXVM_EXIT_INTR,
	      "signal_wakes_powered_off_vcpu", detail);
	uint64_t pc1 = 0;
	reg1_get_pc(&pc1);
	mp.mp_state = 99;
	ioctl(vcpu1, AXVM_GET_MP_STATE, &mp);
	snprintf(detail, sizeof(detail), "mp_state %u pc 0x%llx", mp.mp_state, (unsigned long long)pc1);
	check(mp.mp_state == AXVM_MP_STATE_STOPPED && pc1 == CPU1_ENTRY + 12, "cpu_off_leaves_stopped", detail);
	mp.mp_state = 99; /* no such state */
	r = ioctl(vcpu1, AXVM_SET_MP_STATE, &mp);
	check(r < 0 && errno == EINVAL, "mp_state_unknown_refused", strerror(errno));
	/* SUSPENDED: RUN waits in the kernel for an interrupt line (a signal
	 * ends the wait), then exits with the wake-up, at every RUN until the
	 * VMM makes the vCPU RUNNABLE. */
	mp.mp_state = AXVM_MP_STATE_SUSPENDED;
	r = ioctl(vcpu1, AXVM_SET_MP_STATE, &mp);
	mp.mp_state = 99;
	check(r == 0 && ioctl(vcpu1, AXVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == AXVM_MP_STATE_SUSPENDED,
	      "mp_state_suspended", strerror(errno));
	signal(SIGALRM, on_alarm);
	struct itimerval wait = {.it_value = {.tv_usec = 200000}};
	setitimer(ITIMER_REAL, &wait, NULL);
	r = ioctl(vcpu1, AXVM_RUN, 0);
	snprintf(detail, sizeof(detail), "ret %d (%s) exit %u", r, strerror(errno), run1->exit_reason);
	check(r < 0 && errno == EINTR && run1->exit_reason == AXVM_EXIT_INTR, "suspended_waits_for_interrupt",
	      detail);
	alarm(30);
	struct axvm_irq_level line = {.irq = AXVM_ARM_IRQ_TYPE_CPU << AXVM_ARM_IRQ_TYPE_SHIFT |
					     1 << AXVM_ARM_IRQ_VCPU_SHIFT | AXVM_ARM_IRQ_CPU_IRQ,
				      .level = 1};
	int woken = ioctl(vm, AXVM_IRQ_LINE, &line) == 0;
	for (int i = 0; i < 2; i++)
		woken &= ioctl(vcpu1, AXVM_RUN, 0) == 0 && run1->exit_reason == AXVM_EXIT_SYSTEM_EVENT &&
			 run1->system_event.type == AXVM_SYSTEM_EVENT_WAKEUP;
	line.level = 0;
	ioctl(vm, AXVM_IRQ_LINE, &line);
	check(woken, "suspended_wakes_on_irq_line", "");
	mp.mp_state = AXVM_MP_STATE_RUNNABLE;
	r = ioctl(vcpu1, AXVM_SET_MP_STATE, &mp);
	mp.mp_state = 99;
	check(r == 0 && ioctl(vcpu1, AXVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == AXVM_MP_STATE_RUNNABLE,
	      "mp_state_runnable", strerror(errno));

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
