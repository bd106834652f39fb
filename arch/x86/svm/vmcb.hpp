// SPDX-License-Identifier: GPL-2.0
// The Virtual Machine Control Block: AMD64 APM vol. 2, appendix B ("Layout
// of VMCB"), tables B-1 (control area) and B-2 (state save area). One 4 KiB
// page per vCPU; the processor reads it on VMRUN and writes it on #VMEXIT.
#pragma once

#include <axvm/types.hpp>

#include "entry.h"

namespace axvm::svm {

struct VmcbSegment {
	u16 selector;
	u16 attrib; // descriptor bits 47:40 in 7:0, bits 55:52 in 11:8
	u32 limit;
	u64 base;
};

struct VmcbControl {
	u32 intercept_cr;   // 0x000: reads 15:0, writes 31:16
	u32 intercept_dr;   // 0x004
	u32 intercept_exceptions;
	u32 intercept_misc1; // 0x00c: kIntercept1*
	u32 intercept_misc2; // 0x010: kIntercept2*
	u32 intercept_misc3; // 0x014
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold;
	u16 pause_filter_count;
	u64 iopm_base_pa; // 0x040
	u64 msrpm_base_pa;
	u64 tsc_offset;
	u32 asid; // 0x058
	u8 tlb_control;
	u8 reserved_05d[3];
	u64 int_control; // 0x060: V_TPR, V_IRQ, V_INTR_MASKING, ...
	u64 int_state;   // 0x068: bit 0 interrupt shadow
	u64 exit_code;   // 0x070
	u64 exit_info1;
	u64 exit_info2;
	u64 exit_int_info; // 0x088
	u64 np_control;    // 0x090: bit 0 NP_ENABLE
	u64 avic_apic_bar;
	u64 ghcb_pa;
	u64 event_inj; // 0x0a8
	u64 n_cr3;     // 0x0b0
	u64 virt_ext;  // 0x0b8
	u32 clean;     // 0x0c0
	u32 reserved_0c4;
	u64 next_rip; // 0x0c8
	u8 insn_len;
	u8 insn_bytes[15];
	u8 reserved_0e0[0x400 - 0x0e0];
};

struct VmcbSave {
	VmcbSegment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; // 0x400
	u8 reserved_4a0[0x4cb - 0x4a0];
	u8 cpl;
	u32 reserved_4cc;
	u64 efer; // 0x4d0
	u8 reserved_4d8[0x548 - 0x4d8];
	u64 cr4; // 0x548
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip; // 0x578
	u8 reserved_580[0x5d8 - 0x580];
	u64 rsp; // 0x5d8
	u64 s_cet, ssp, isst_addr;
	u64 rax; // 0x5f8
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 cr2; // 0x640
	u8 reserved_648[0x668 - 0x648];
	u64 g_pat; // 0x668
	u64 dbgctl;
	u64 br_from, br_to, last_excp_from, last_excp_to;
};

struct Vmcb {
	VmcbControl control;
	VmcbSave save;
	u8 reserved[kPageSize - 0x400 - sizeof(VmcbSave)];
};

static_assert(__builtin_offsetof(VmcbControl, iopm_base_pa) == 0x040);
static_assert(__builtin_offsetof(VmcbControl, asid) == 0x058);
static_assert(__builtin_offsetof(VmcbControl, exit_code) == 0x070);
static_assert(__builtin_offsetof(VmcbControl, event_inj) == 0x0a8);
static_assert(__builtin_offsetof(VmcbControl, next_rip) == 0x0c8);
static_assert(sizeof(VmcbControl) == 0x400);
static_assert(__builtin_offsetof(Vmcb, save.cpl) == 0x4cb);
static_assert(__builtin_offsetof(Vmcb, save.efer) == 0x4d0);
static_assert(__builtin_offsetof(Vmcb, save.cr4) == 0x548);
static_assert(__builtin_offsetof(Vmcb, control.exit_code) == AXVM_VMCB_EXIT_CODE);
static_assert(__builtin_offsetof(Vmcb, control.exit_info1) == AXVM_VMCB_EXIT_INFO1);
static_assert(__builtin_offsetof(Vmcb, control.exit_info2) == AXVM_VMCB_EXIT_INFO2);
static_assert(__builtin_offsetof(Vmcb, save.rip) == AXVM_VMCB_RIP);
static_assert(__builtin_offsetof(Vmcb, save.rip) == 0x578);
static_assert(__builtin_offsetof(Vmcb, save.rsp) == 0x5d8);
static_assert(__builtin_offsetof(Vmcb, save.rax) == 0x5f8);
static_assert(__builtin_offsetof(Vmcb, save.cr2) == 0x640);
static_assert(__builtin_offsetof(Vmcb, save.g_pat) == 0x668);
static_assert(sizeof(Vmcb) == kPageSize);

// intercept_cr: writes of CR4 (bit 16 + 4).
constexpr u32 kInterceptCr4Write = 1u << 20;

// Intercept vector 3 (offset 0x00c), APM table B-1.
enum : u32 {
	kInterceptIntr = 1u << 0,
	kInterceptNmi = 1u << 1,
	kInterceptSmi = 1u << 2,
	kInterceptInit = 1u << 3,
	kInterceptVintr = 1u << 4,
	kInterceptRdpmc = 1u << 15,
	kInterceptCpuid = 1u << 18,
	kInterceptRsm = 1u << 19,
	kInterceptIret = 1u << 20,
	kInterceptInvd = 1u << 22,
	kInterceptHlt = 1u << 24,
	kInterceptInvlpga = 1u << 26,
	kInterceptIoio = 1u << 27,
	kInterceptMsr = 1u << 28,
	kInterceptShutdown = 1u << 31,
};

// Intercept vector 4 (offset 0x010).
enum : u32 {
	kInterceptVmrun = 1u << 0,
	kInterceptVmmcall = 1u << 1,
	kInterceptVmload = 1u << 2,
	kInterceptVmsave = 1u << 3,
	kInterceptStgi = 1u << 4,
	kInterceptClgi = 1u << 5,
	kInterceptSkinit = 1u << 6,
	kInterceptRdtscp = 1u << 7,
	kInterceptWbinvd = 1u << 9,
	kInterceptMonitor = 1u << 10,
	kInterceptMwait = 1u << 11,
	kInterceptMwaitCond = 1u << 12,
	kInterceptXsetbv = 1u << 13,
	kInterceptRdpru = 1u << 14,
};

// #VMEXIT codes, APM appendix C.
enum : u64 {
	kExitWriteCr4 = 0x14,
	kExitReadDr0 = 0x20,
	kExitWriteDr0 = 0x30,
	kExitExceptionBase = 0x40,
	kExitIntr = 0x60,
	kExitNmi = 0x61,
	kExitSmi = 0x62,
	kExitInit = 0x63,
	kExitVintr = 0x64,
	kExitRdpmc = 0x6f,
	kExitCpuid = 0x72,
	kExitRsm = 0x73,
	kExitIret = 0x74,
	kExitInvd = 0x76,
	kExitHlt = 0x78,
	kExitInvlpga = 0x7a,
	kExitIoio = 0x7b,
	kExitMsr = 0x7c,
	kExitShutdown = 0x7f,
	kExitVmrun = 0x80,
	kExitVmmcall = 0x81,
	kExitVmload = 0x82,
	kExitVmsave = 0x83,
	kExitStgi = 0x84,
	kExitClgi = 0x85,
	kExitSkinit = 0x86,
	kExitRdtscp = 0x87,
	kExitWbinvd = 0x89,
	kExitMonitor = 0x8a,
	kExitMwait = 0x8b,
	kExitMwaitCond = 0x8c,
	kExitXsetbv = 0x8d,
	kExitRdpru = 0x8e,
	kExitNpf = 0x400,
	kExitInvalid = ~0ull, // VMEXIT_INVALID: the VMCB failed VMRUN's consistency checks
};

// TLB_CONTROL (offset 0x05c), APM 15.16.1.
enum : u8 {
	kTlbFlushNothing = 0,
	kTlbFlushAll = 1,
	kTlbFlushAsid = 3,
};

// EVENTINJ / EXITINTINFO (APM 15.20): vector 7:0, type 10:8, EV 11, V 31.
enum : u64 {
	kEventTypeIntr = 0ull << 8,
	kEventTypeNmi = 2ull << 8,
	kEventTypeException = 3ull << 8,
	kEventTypeSoftInt = 4ull << 8,
	kEventTypeMask = 7ull << 8,
	kEventErrorValid = 1ull << 11,
	kEventValid = 1ull << 31,
};

// int_control (APM 15.21.1): V_TPR 3:0, V_IRQ 8, V_INTR_PRIO 19:16,
// V_IGN_TPR 20, V_INTR_MASKING 24 (guest IF/TPR are virtual).
constexpr u64 kIntVIrq = 1ull << 8;
constexpr u64 kIntVIntrPrioMax = 0xfull << 16;
constexpr u64 kIntVIgnTpr = 1ull << 20;
constexpr u64 kIntVIntrMasking = 1ull << 24;
constexpr u64 kIntVIntrVector = 0xffull << 32;
constexpr u64 kIntStateShadow = 1ull << 0; // int_state: STI/MOV SS shadow
constexpr u64 kNpEnable = 1ull << 0;

// Segment attributes in VMCB form (APM 15.5.1).
constexpr u16 kAttrPresent = 1u << 7;

} // namespace axvm::svm
