// SPDX-License-Identifier: GPL-2.0
// System registers the arm64 backend reads and writes, by their generic
// S<op0>_<op1>_C<n>_C<m>_<op2> names so that any assembler takes them
// (the *_EL12/*_EL02 aliases need ARMv8.1 assembler support).
//
// Under VHE (HCR_EL2.E2H=1) the host kernel's *_EL1 accesses go to the EL2
// registers; the guest's EL1 state is reached through the *_EL12 aliases.
#pragma once

#include <axvm/types.hpp>

namespace axvm::arm64 {

#define AXVM_SYSREG_READ(name)                                                                     \
	({                                                                                         \
		u64 value_;                                                                        \
		asm volatile("mrs %0, " name : "=r"(value_));                                     \
		value_;                                                                            \
	})
#define AXVM_SYSREG_WRITE(name, value) asm volatile("msr " name ", %0" : : "r"(static_cast<u64>(value)))

// EL2 control
#define SYS_HCR_EL2 "s3_4_c1_c1_0"
#define SYS_MDCR_EL2 "s3_4_c1_c1_1"
#define SYS_CPTR_EL2 "s3_4_c1_c1_2"
#define SYS_HSTR_EL2 "s3_4_c1_c1_3"
#define SYS_VTTBR_EL2 "s3_4_c2_c1_0"
#define SYS_VTCR_EL2 "s3_4_c2_c1_2"
#define SYS_ESR_EL2 "s3_4_c5_c2_0"
#define SYS_FAR_EL2 "s3_4_c6_c0_0"
#define SYS_HPFAR_EL2 "s3_4_c6_c0_4"
#define SYS_CNTHCTL_EL2 "s3_4_c14_c1_0"
#define SYS_CNTVOFF_EL2 "s3_4_c14_c0_3"
#define SYS_VPIDR_EL2 "s3_4_c0_c0_0"
#define SYS_VMPIDR_EL2 "s3_4_c0_c0_5"
// Fine-grained traps (FEAT_FGT) and the extended HCR (FEAT_HCX), by encoding:
// assemblers of the kernels axvm builds against may not know the names.
#define SYS_HFGRTR_EL2 "s3_4_c1_c1_4"
#define SYS_HFGWTR_EL2 "s3_4_c1_c1_5"
#define SYS_HCRX_EL2 "s3_4_c1_c2_2"
#define SYS_VDISR_EL2 "s3_4_c12_c1_1" // FEAT_RAS
// The guest's EL1 registers (VHE aliases)
#define SYS_SCTLR_EL12 "s3_5_c1_c0_0"
#define SYS_CPACR_EL12 "s3_5_c1_c0_2"
#define SYS_TTBR0_EL12 "s3_5_c2_c0_0"
#define SYS_TTBR1_EL12 "s3_5_c2_c0_1"
#define SYS_TCR_EL12 "s3_5_c2_c0_2"
#define SYS_SPSR_EL12 "s3_5_c4_c0_0"
#define SYS_ELR_EL12 "s3_5_c4_c0_1"
#define SYS_AFSR0_EL12 "s3_5_c5_c1_0"
#define SYS_AFSR1_EL12 "s3_5_c5_c1_1"
#define SYS_ESR_EL12 "s3_5_c5_c2_0"
#define SYS_FAR_EL12 "s3_5_c6_c0_0"
#define SYS_MAIR_EL12 "s3_5_c10_c2_0"
#define SYS_AMAIR_EL12 "s3_5_c10_c3_0"
#define SYS_VBAR_EL12 "s3_5_c12_c0_0"
#define SYS_CONTEXTIDR_EL12 "s3_5_c13_c0_1"
#define SYS_CNTKCTL_EL12 "s3_5_c14_c1_0"
#define SYS_CNTV_CTL_EL02 "s3_5_c14_c3_1"
#define SYS_CNTV_CVAL_EL02 "s3_5_c14_c3_2"
// Registers the host and the guest share under VHE: switched by value
#define SYS_SP_EL1 "s3_4_c4_c1_0"
#define SYS_SP_EL0 "s3_0_c4_c1_0"
#define SYS_PAR_EL1 "s3_0_c7_c4_0"
#define SYS_TPIDR_EL1 "s3_0_c13_c0_4"
#define SYS_CSSELR_EL1 "s3_2_c0_c0_0"
#define SYS_MDSCR_EL1 "s2_0_c0_c2_2"
#define SYS_TPIDR_EL0 "s3_3_c13_c0_2"
#define SYS_TPIDRRO_EL0 "s3_3_c13_c0_3"
// An AArch32 EL1's own state: its banked SPSRs and the registers AArch64
// has no EL1 twin for (only with AArch32 at EL1; switched for such guests)
#define SYS_SPSR_IRQ "s3_4_c4_c3_0"
#define SYS_SPSR_ABT "s3_4_c4_c3_1"
#define SYS_SPSR_UND "s3_4_c4_c3_2"
#define SYS_SPSR_FIQ "s3_4_c4_c3_3"
#define SYS_DACR32_EL2 "s3_4_c3_c0_0"
#define SYS_IFSR32_EL2 "s3_4_c5_c0_1"
#define SYS_FPEXC32_EL2 "s3_4_c5_c3_0"
// Identification
#define SYS_MIDR_EL1 "s3_0_c0_c0_0"
#define SYS_ID_AA64PFR0_EL1 "s3_0_c0_c4_0"
#define SYS_ID_AA64MMFR0_EL1 "s3_0_c0_c7_0"
#define SYS_ID_AA64MMFR1_EL1 "s3_0_c0_c7_1"

inline u64 current_el()
{
	u64 el;
	asm volatile("mrs %0, CurrentEL" : "=r"(el));
	return (el >> 2) & 3;
}

} // namespace axvm::arm64
