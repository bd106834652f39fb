// SPDX-License-Identifier: GPL-2.0
/*
 * An AArch32 guest through KVM's API only (<linux/kvm.h>): a VM whose
 * vCPUs are made AArch32 at EL1 by KVM_ARM_VCPU_INIT's
 * KVM_ARM_VCPU_EL1_32BIT, set up through ONE_REG, running
 * tools/guests/arm64/aarch32.S (ARM and Thumb code: MMIO, trapped
 * coprocessor reads, a failed condition, an UNDEF, PSCI, a second vCPU
 * turned on at a Thumb entry point, an IT block) to PSCI SYSTEM_OFF. Before it: the capability, the reset state, the modes
 * ONE_REG takes, registers narrowed to 32 bits, and a second vCPU of the
 * other width refused. It prints a transcript that must be the same on
 * /dev/kvm and on /dev/axvm (tests/expected/kvm_arm32.out).
 *
 *   kvm_arm32 DEVICE GUEST     GUEST: aarch32.bin, flat, loaded at 0x10000
 *
 * Exit status 3: the device has no AArch32 EL1 (KVM_CAP_ARM_EL1_32BIT 0).
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define RAM_SIZE 0x200000
#define LOAD 0x10000
#define UART VMM_ARM64_UART

static void say(const char *what, int ret)
{
	printf("%s: %s\n", what, ret < 0 ? strerror(errno) : "ok");
}

static int vcpu;

/* vCPU 1: powered off until vCPU 0's CPU_ON; its thread serves its UART
 * byte and stays in KVM_RUN (asleep after its CPU_OFF) until a signal. */
static struct vmm_arm64_devices devices1;
static struct kvm_run *run1;
static int vcpu1, cpu1_other_exits;
static volatile int cpu1_done;

static void *cpu1_thread(void *arg)
{
	(void)arg;
	while (ioctl(vcpu1, KVM_RUN, 0) == 0)
		if (run1->exit_reason != KVM_EXIT_MMIO || !vmm_arm64_mmio(run1, &devices1))
			cpu1_other_exits++;
	cpu1_done = 1;
	return NULL;
}

static void on_usr1(int sig) { (void)sig; }

static unsigned long long core(uint64_t id)
{
	uint64_t v = 0;
	if (vmm_one_reg(vcpu, KVM_GET_ONE_REG, id, &v))
		printf("GET_ONE_REG 0x%llx: %s\n", (unsigned long long)id, strerror(errno));
	return v;
}

#define X(n) VMM_ARM64_CORE_REG(regs.regs[n])

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE GUEST\n", argv[0]);
		return 2;
	}
	/* A guest stuck in a loop ends the test (KVM_RUN interrupted, where
	 * it was printed), not the boot. */
	struct sigaction alarm_sa = {.sa_handler = on_usr1};
	sigaction(SIGALRM, &alarm_sa, NULL);
	alarm(30);
	int dev = vmm_open(argv[1]);
	int vm = dev < 0 ? -1 : ioctl(dev, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("create VM: %s\n", strerror(errno));
		return 1;
	}
	const int cap = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_EL1_32BIT);
	printf("EL1_32BIT: %d\n", cap);
	if (cap <= 0)
		return 3;

	uint8_t *ram = vmm_anon(RAM_SIZE, 1);
	uint8_t *uart = vmm_anon(4096, 1);
	const long n = ram && uart ? vmm_load(argv[2], ram + LOAD, RAM_SIZE - LOAD) : -1;
	if (n <= 0) {
		perror("setup");
		return 1;
	}
	say("RAM slot", vmm_set_slot(vm, 0, 0, 0, RAM_SIZE, ram));
	say("read-only UART slot", vmm_set_slot(vm, 1, KVM_MEM_READONLY, UART, 4096, uart));

	struct vmm_vcpu cpu, cpu1;
	if (vmm_vcpu_create(&cpu, dev, vm, 0) || vmm_vcpu_create(&cpu1, dev, vm, 1)) {
		perror("vcpu");
		return 1;
	}
	vcpu = cpu.fd;
	struct kvm_run *run = cpu.run;
	struct kvm_vcpu_init init;
	say("ARM_PREFERRED_TARGET", ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init));
	struct kvm_vcpu_init init64 = init;
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2 | 1u << KVM_ARM_VCPU_EL1_32BIT;
	say("ARM_VCPU_INIT EL1_32BIT", ioctl(vcpu, KVM_ARM_VCPU_INIT, &init));
	/* Every vCPU of a VM has the same width. */
	say("ARM_VCPU_INIT AArch64 beside it", ioctl(cpu1.fd, KVM_ARM_VCPU_INIT, &init64));
	struct kvm_vcpu_init init1 = init;
	init1.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	say("ARM_VCPU_INIT EL1_32BIT, powered off, beside it", ioctl(cpu1.fd, KVM_ARM_VCPU_INIT, &init1));
	vcpu1 = cpu1.fd;
	run1 = cpu1.run;

	const uint64_t pstate_id = VMM_ARM64_CORE_REG(regs.pstate);
	printf("reset pstate: 0x%llx\n", core(pstate_id));
	uint64_t v = 0x3c5; /* EL1h: AArch64, not a mode of this vCPU */
	say("SET_ONE_REG pstate EL1h", vmm_one_reg(vcpu, KVM_SET_ONE_REG, pstate_id, &v));
	v = 0x1d6; /* Monitor mode */
	say("SET_ONE_REG pstate Monitor", vmm_one_reg(vcpu, KVM_SET_ONE_REG, pstate_id, &v));
	v = 0x1df; /* System mode */
	say("SET_ONE_REG pstate System", vmm_one_reg(vcpu, KVM_SET_ONE_REG, pstate_id, &v));
	v = 0xffffffff12345678ull;
	say("SET_ONE_REG r0 with 64 bits", vmm_one_reg(vcpu, KVM_SET_ONE_REG, X(0), &v));
	printf("r0 reads 0x%llx\n", core(X(0)));
	v = 0x1d3; /* back to Supervisor, A I F masked */
	say("SET_ONE_REG pstate Supervisor", vmm_one_reg(vcpu, KVM_SET_ONE_REG, pstate_id, &v));
	v = LOAD;
	say("SET_ONE_REG pc", vmm_one_reg(vcpu, KVM_SET_ONE_REG, VMM_ARM64_CORE_REG(regs.pc), &v));

	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART: the signal ends KVM_RUN */
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t t1;
	if (pthread_create(&t1, NULL, cpu1_thread, NULL)) {
		perror("thread");
		return 1;
	}
	struct vmm_arm64_devices devices = {0};
	for (int exits = 0; exits < 1000; exits++) {
		switch (vmm_arm64_run(vcpu, run, &devices)) {
		case -1:
			printf("stopped: UART %s, pc 0x%llx, pstate 0x%llx, LR_und 0x%llx\n", devices.uart,
			       core(VMM_ARM64_CORE_REG(regs.pc)), core(pstate_id), core(X(22)));
			return 1;
		case KVM_EXIT_SYSTEM_EVENT: {
			printf("UART: %s\n", devices.uart);
			printf("system event %u (%s)\n", run->system_event.type,
			       run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? "shutdown" : "?");
			/* What the guest left: its ID_PFR0 and MVFR0 reads against
			 * ONE_REG's; the 32-bit halves the AArch32 code sees. */
			const uint64_t pfr0 = ARM64_SYS_REG(3, 0, 0, 1, 0), mvfr0 = ARM64_SYS_REG(3, 0, 0, 3, 0);
			printf("r4 (ID_PFR0) %s ONE_REG's\n",
			       (core(X(4)) & 0xffffffff) == (core(pfr0) & 0xffffffff) ? "is" : "is not");
			printf("r8 (MVFR0) %s ONE_REG's\n",
			       (core(X(8)) & 0xffffffff) == (core(mvfr0) & 0xffffffff) ? "is" : "is not");
			printf("r3 0x%llx, r5 0x%llx, r11 0x%llx, r12 0x%llx\n", core(X(3)) & 0xffffffff,
			       core(X(5)) & 0xffffffff, core(X(11)) & 0xffffffff, core(X(12)) & 0xffffffff);
			/* What the guest read through p14 and p15 (aarch32.S). */
			static const char *const names[] = {"DBGDIDR",    "DBGBVR0", "DBGBCR0", "DBGBXVR4", "DBGBVR4",
							    "DBGDSCRint", "DBGWVR0", "ACTLR",   "ID_ISAR0"};
			for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
				uint32_t w;
				memcpy(&w, ram + 0x11000 + 4 * i, 4);
				printf("%s 0x%x\n", names[i], w);
			}
			/* The last UNDEF: LR_und (x22) past the MCR, SPSR_und the CPSR there. */
			printf("LR_und 0x%llx, SPSR_und 0x%llx\n", core(X(22)) & 0xffffffff,
			       core(VMM_ARM64_CORE_REG(spsr[KVM_SPSR_UND])) & 0xffffffff);
			printf("pstate 0x%llx, pc 0x%llx\n", core(pstate_id),
			       core(VMM_ARM64_CORE_REG(regs.pc)) & 0xffffffff);
			/* vCPU 1, asleep after its CPU_OFF: out of KVM_RUN, then its
			 * state, entered in Thumb by the CPU_ON. */
			while (!cpu1_done) {
				pthread_kill(t1, SIGUSR1);
				usleep(10000);
			}
			pthread_join(t1, NULL);
			printf("vCPU 1 UART: %s, %d other exits\n", devices1.uart, cpu1_other_exits);
			vcpu = vcpu1;
			printf("vCPU 1 pstate 0x%llx, pc 0x%llx\n", core(pstate_id),
			       core(VMM_ARM64_CORE_REG(regs.pc)) & 0xffffffff);
			return 0;
		}
		default:
			printf("unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}
	printf("no SYSTEM_OFF after 1000 exits: UART %s, pc 0x%llx, pstate 0x%llx, LR_und 0x%llx, SPSR_und 0x%llx\n",
	       devices.uart, core(VMM_ARM64_CORE_REG(regs.pc)), core(pstate_id), core(X(22)),
	       core(VMM_ARM64_CORE_REG(spsr[KVM_SPSR_UND])));
	return 1;
}
