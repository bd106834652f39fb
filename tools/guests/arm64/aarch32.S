/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An AArch32 guest at EL1 (a VM made with KVM_ARM_VCPU_EL1_32BIT), MMU
 * off, loaded and entered at 0x10000 in Supervisor mode, ARM state. What
 * it does, in order (tests/vmm/kvm_arm32.c checks each):
 *
 *   - points VBAR at its vectors, opens cp10/cp11 (CPACR) for VMRS;
 *   - prints 'A' (a byte store to the UART at 0x09000000);
 *   - writes 0x12345678 to the device at 0x0a000000 and reads it into r5;
 *   - reads ID_PFR0 (MRC p15, trapped by HCR_EL2.TID3) into r4 and MVFR0
 *     (VMRS, TID3) into r8;
 *   - an MRCNE whose condition fails: r3 keeps 0x55;
 *   - reads PMCR: a guest without a PMU takes an UNDEF, its handler prints
 *     'U' and returns past it;
 *   - the debug registers through MRC/MCR p14 (DBGDIDR; DBGBVR0, DBGBCR0,
 *     DBGWVR0 written and read back; DBGBXVR4, the high half of DBGBVR4,
 *     which QEMU's CPU does not have: both accesses UNDEF there, 'U' 'U';
 *     DBGDSCRint), ACTLR and ID_ISAR0, all stored at 0x11000 (not DBGVCR:
 *     Debian 6.1's KVM reads back whatever the CPU holds there);
 *     then a write to ID_PFR0: UNDEF, 'U' again. (Not an ID register of
 *     CRm 4-7, RAZ: Debian 6.1's KVM never moves the PC past that MRC.)
 *   - PSCI_VERSION (HVC) into r11; CPU_ON's SMC64 form, which an AArch32
 *     caller may not use (NOT_SUPPORTED), into r12; prints 'P';
 *   - turns vCPU 1 on (PSCI CPU_ON) at a Thumb entry point, which prints
 *     'S' and turns itself off, and waits for that (AFFINITY_INFO);
 *   - in Thumb: two 16-bit stores in a row ("Th": the PC moves 2 bytes
 *     past a trapped 16-bit instruction), then ITE EQ around two stores
 *     ('T' only: the IT state moves on past a trapped instruction), 'h';
 *   - PSCI SYSTEM_OFF (HVC in Thumb).
 *
 * The cross toolchain here assembles AArch64 only, so the A32 and T32
 * instructions are words and halfwords, each with its assembly beside it;
 * branches and PC-relative offsets are computed by the assembler.
 * `objdump -b binary -m arm -D` (add -M force-thumb from `thumb`) lists them.
 */
	.text
	.global _start
_start:
0:	.word	0xea000000 | (((start - (0b + 8)) >> 2) & 0xffffff)	/* b start */

	.balign	32
vectors:
	.word	0xeafffffe			/* reset: b . */
1:	.word	0xea000000 | (((undef - (1b + 8)) >> 2) & 0xffffff) /* undefined: b undef */
	.word	0xeafffffe			/* SVC */
	.word	0xeafffffe			/* prefetch abort */
	.word	0xeafffffe			/* data abort */
	.word	0xeafffffe			/* (hyp) */
	.word	0xeafffffe			/* IRQ */
	.word	0xeafffffe			/* FIQ */

/*
 * Back to Supervisor mode and past the UNDEFINED instruction by hand, not
 * with `movs pc, lr`: under QEMU's TCG an exception return in Undefined
 * mode entered from EL2 (as KVM and axvm inject it) does not restore the
 * SPSR_und the hypervisor wrote, and the guest fails on the next
 * instruction (on /dev/kvm as on /dev/axvm). SPSR_und stays for the VMM to read.
 */
undef:	.word	0xe3a00055			/* mov r0, #'U' */
	.word	0xe5c90000			/* strb r0, [r9] */
	.word	0xe1a0000e			/* mov r0, lr */
	.word	0xe321f0d3			/* msr cpsr_c, #0xd3: Supervisor, I and F masked */
	.word	0xe12fff10			/* bx r0 */

start:	.word	0xe3a09409			/* mov r9, #0x09000000: the UART */
	.word	0xe3a0a40a			/* mov r10, #0x0a000000: the device */
2:	.word	0xe24f1000 | (((2b + 8) - vectors) & 0xff) /* sub r1, pc, #(. + 8 - vectors) */
	.word	0xee0c1f10			/* mcr p15, 0, r1, c12, c0, 0: VBAR */
	.word	0xe3a0060f			/* mov r0, #0x00f00000 */
	.word	0xee010f50			/* mcr p15, 0, r0, c1, c0, 2: CPACR */
	.word	0xf57ff06f			/* isb */

	.word	0xe3a00041			/* mov r0, #'A' */
	.word	0xe5c90000			/* strb r0, [r9] */

	.word	0xe3056678			/* movw r6, #0x5678 */
	.word	0xe3416234			/* movt r6, #0x1234 */
	.word	0xe58a6000			/* str r6, [r10] */
	.word	0xe59a5000			/* ldr r5, [r10] */

	.word	0xee104f11			/* mrc p15, 0, r4, c0, c1, 0: ID_PFR0 */
	.word	0xeef78a10			/* vmrs r8, mvfr0 */

	.word	0xe3a03055			/* mov r3, #0x55 */
	.word	0xe1500000			/* cmp r0, r0: Z set */
	.word	0x1e103f11			/* mrcne p15, 0, r3, c0, c1, 0 */

	.word	0xee190f1c			/* mrc p15, 0, r0, c9, c12, 0: PMCR */

	/* The debug registers through p14 and a few p15 registers, results
	 * into 0x11000 for the VMM to print; then a write to an ID register.
	 * Nothing is enabled: KVM loads what the guest writes into the CPU. */
	.word	0xe3016000			/* movw r6, #0x1000 */
	.word	0xe3406001			/* movt r6, #0x1: results at 0x11000 */
	.word	0xee100e10			/* mrc p14, 0, r0, c0, c0, 0: DBGDIDR */
	.word	0xe5860000			/* str r0, [r6] */
	.word	0xe3050678			/* movw r0, #0x5678 */
	.word	0xe3410234			/* movt r0, #0x1234 */
	.word	0xee000e90			/* mcr p14, 0, r0, c0, c0, 4: DBGBVR0 */
	.word	0xee101e90			/* mrc p14, 0, r1, c0, c0, 4 */
	.word	0xe5861004			/* str r1, [r6, #4] */
	.word	0xe30001e6			/* movw r0, #0x1e6: disabled (E clear), all bytes, EL0 and EL1 */
	.word	0xee000eb0			/* mcr p14, 0, r0, c0, c0, 5: DBGBCR0 */
	.word	0xee101eb0			/* mrc p14, 0, r1, c0, c0, 5 */
	.word	0xe5861008			/* str r1, [r6, #8] */
	.word	0xe3040444			/* movw r0, #0x4444 */
	.word	0xee000e94			/* mcr p14, 0, r0, c0, c4, 4: DBGBVR4 (context-matching: has a DBGBXVR) */
	.word	0xe30a0bcd			/* movw r0, #0xabcd */
	.word	0xee010e34			/* mcr p14, 0, r0, c1, c4, 1: DBGBXVR4, DBGBVR4's high half */
	.word	0xee111e34			/* mrc p14, 0, r1, c1, c4, 1 */
	.word	0xe586100c			/* str r1, [r6, #12] */
	.word	0xee101e94			/* mrc p14, 0, r1, c0, c4, 4: DBGBVR4's low half, unchanged */
	.word	0xe5861010			/* str r1, [r6, #16] */
	.word	0xee101e11			/* mrc p14, 0, r1, c0, c1, 0: DBGDSCRint */
	.word	0xe5861014			/* str r1, [r6, #20] */
	.word	0xe3020000			/* movw r0, #0x2000 */
	.word	0xee000ed0			/* mcr p14, 0, r0, c0, c0, 6: DBGWVR0 */
	.word	0xee101ed0			/* mrc p14, 0, r1, c0, c0, 6 */
	.word	0xe5861018			/* str r1, [r6, #24] */
	.word	0xee111f30			/* mrc p15, 0, r1, c1, c0, 1: ACTLR */
	.word	0xe586101c			/* str r1, [r6, #28] */
	.word	0xee101f12			/* mrc p15, 0, r1, c0, c2, 0: ID_ISAR0 */
	.word	0xe5861020			/* str r1, [r6, #32] */
	.word	0xee000f11			/* mcr p15, 0, r0, c0, c1, 0: ID_PFR0 written: UNDEF */

	.word	0xe3000000			/* movw r0, #0 */
	.word	0xe3480400			/* movt r0, #0x8400: PSCI_VERSION */
	.word	0xe1400070			/* hvc #0 */
	.word	0xe1a0b000			/* mov r11, r0 */
	.word	0xe3000003			/* movw r0, #3 */
	.word	0xe34c0400			/* movt r0, #0xc400: CPU_ON, SMC64 */
	.word	0xe1400070			/* hvc #0 */
	.word	0xe1a0c000			/* mov r12, r0 */
	.word	0xe3a00050			/* mov r0, #'P' */
	.word	0xe5c90000			/* strb r0, [r9] */

	/* PSCI CPU_ON of vCPU 1 (MPIDR 1) at a Thumb entry (bit 0 set), the
	 * UART's address its context id; then AFFINITY_INFO until it is off */
	.word	0xe3000003			/* movw r0, #3 */
	.word	0xe3480400			/* movt r0, #0x8400: CPU_ON */
	.word	0xe3a01001			/* mov r1, #1 */
4:	.word	0xe28f2000 | (((cpu1 + 1) - (4b + 8)) & 0xff) /* add r2, pc, #(cpu1 + 1 - . - 8) */
	.word	0xe1a03009			/* mov r3, r9 */
	.word	0xe1400070			/* hvc #0 */
5:	.word	0xe3000004			/* movw r0, #4 */
	.word	0xe3480400			/* movt r0, #0x8400: AFFINITY_INFO */
	.word	0xe3a01001			/* mov r1, #1 */
	.word	0xe3a02000			/* mov r2, #0 */
	.word	0xe1400070			/* hvc #0 */
	.word	0xe3500001			/* cmp r0, #1: OFF */
6:	.word	0x1a000000 | (((5b - (6b + 8)) >> 2) & 0xffffff) /* bne 5b */

	.word	0xe1a01009			/* mov r1, r9 */
	.word	0xe3a00054			/* mov r0, #'T' */
	.word	0xe3a02058			/* mov r2, #'X' */
	.word	0xe3a03068			/* mov r3, #'h' */
	.word	0xe3007008			/* movw r7, #8 */
	.word	0xe3487400			/* movt r7, #0x8400: SYSTEM_OFF */
3:	.word	0xe28f6000 | (((thumb + 1) - (3b + 8)) & 0xff) /* add r6, pc, #(thumb + 1 - . - 8) */
	.word	0xe12fff16			/* bx r6: to Thumb */

	.balign	4
thumb:	.hword	0x7008				/* strb r0, [r1] */
	.hword	0x700b				/* strb r3, [r1] */
	.hword	0x4280				/* cmp r0, r0 */
	.hword	0xbf0c				/* ite eq */
	.hword	0x7008				/* strbeq r0, [r1] */
	.hword	0x700a				/* strbne r2, [r1] */
	.hword	0x700b				/* strb r3, [r1] */
	.hword	0x4638				/* mov r0, r7 */
	.hword	0xf7e0, 0x8000			/* hvc #0 */
	.hword	0xe7fe				/* b . */

/* vCPU 1, from CPU_ON: Thumb, r0 the UART. Prints 'S', then CPU_OFF. */
	.balign	4
cpu1:	.hword	0x2153				/* movs r1, #'S' */
	.hword	0x7001				/* strb r1, [r0] */
	.hword	0xf240, 0x0002			/* movw r0, #2 */
	.hword	0xf2c8, 0x4000			/* movt r0, #0x8400: CPU_OFF */
	.hword	0xf7e0, 0x8000			/* hvc #0 */
	.hword	0xe7fe				/* b . */
