// SPDX-License-Identifier: GPL-2.0
// VM exit -> ExitReason (Intel SDM vol. 3C, ch. 27 and appendix C). Exits
// the kernel finishes alone (CPUID, EFER/PAT, control and debug registers,
// a refused instruction) come back as ExitReason::nothing() and the RUN
// loop re-enters.
#include "vmx_vcpu.hpp"

#include "../emulate.hpp"
#include "../guest_access.hpp"
#include "vmcs.h"
#include "vmx_insn.h"

namespace axvm::vmx {

namespace {

enum ExitCode : u32 {
	kExitExceptionNmi = 0,
	kExitExtInt = 1,
	kExitTripleFault = 2,
	kExitInit = 3,
	kExitSipi = 4,
	kExitIntWindow = 7,
	kExitNmiWindow = 8,
	kExitCpuid = 10,
	kExitGetsec = 11,
	kExitHlt = 12,
	kExitInvd = 13,
	kExitRdpmc = 15,
	kExitRsm = 17,
	kExitVmcall = 18,
	kExitVmclear = 19, // ... through 27 (VMXON): the VMX instructions
	kExitVmxon = 27,
	kExitCrAccess = 28,
	kExitDrAccess = 29,
	kExitIo = 30,
	kExitRdmsr = 31,
	kExitWrmsr = 32,
	kExitInvalidState = 33,
	kExitMsrLoadFailed = 34,
	kExitMwait = 36,
	kExitMonitor = 39,
	kExitMceDuringEntry = 41,
	kExitEptViolation = 48,
	kExitEptMisconfig = 49,
	kExitInvept = 50,
	kExitPreemptionTimer = 52,
	kExitInvvpid = 53,
	kExitWbinvd = 54,
	kExitXsetbv = 55,
};

// I/O exit qualification (SDM 28.2.1, table 28-5).
u8 io_size(u64 q) { return static_cast<u8>((q & 7) + 1); }
constexpr u64 kIoIn = 1u << 3, kIoString = 1u << 4, kIoRep = 1u << 5;
// EPT violation exit qualification (table 28-7).
constexpr u64 kEptWrite = 1u << 1, kEptFetch = 1u << 2, kEptLinearValid = 1u << 7, kEptTranslated = 1u << 8;
constexpr u64 kEptNmiUnblocked = 1u << 12;

} // namespace

Result<ExitReason> VmxVcpu::handle_exit(u32 reason)
{
	if (reason & kExitFailedEntry) {
		// The guest state or the MSR areas were refused: KVM's
		// FAIL_ENTRY with the full exit reason (SDM 27.8).
		axvm_log(AXVM_LOG_WARN, "VM entry refused the guest state (exit reason 0x%x, qualification 0x%llx)",
			 reason, exit_qualification_);
		return ExitReason::fail_entry(reason);
	}
	const u32 code = reason & 0xffff;
	if (code >= kExitVmclear && code <= kExitVmxon)
		return inject_exception(x86::kVectorUd);
	switch (code) {
	case kExitExceptionNmi:
		return handle_exception_or_nmi();
	case kExitExtInt:
	case kExitPreemptionTimer:
		return ExitReason::external_interrupt(0);
	case kExitInit:
	case kExitSipi:
		return ExitReason::nothing(); // no INIT or SIPI is ever sent to a guest
	case kExitIntWindow:
		stats.irq_window_exits++;
		return ExitReason::nothing(); // the window opened: the next entry decides
	case kExitNmiWindow:
		return ExitReason::nothing();
	case kExitTripleFault:
		// As on SVM (whose VMCB is undefined after a shutdown): the vCPU
		// starts over from reset state and reports the shutdown until
		// userspace gives it new registers.
		reset();
		inject_info_ = 0;
		shut_down_ = true;
		return ExitReason::system_down(SystemDownKind::TripleFault);
	case kExitHlt:
		return skip(ExitReason::halt());
	case kExitCpuid:
		return skip(handle_cpuid());
	case kExitVmcall:
		return hypercall_exit(g_.rip + exit_len_);
	case kExitMwait:
	case kExitMonitor:
		return monitor_mwait(g_.rip + exit_len_);
	case kExitIo:
		return handle_io(exit_qualification_);
	case kExitRdmsr:
	case kExitWrmsr:
		return msr_access(code == kExitWrmsr, g_.rip + exit_len_);
	case kExitXsetbv:
		return emulate_xsetbv(g_.rip + exit_len_);
	case kExitCrAccess:
		return handle_cr(exit_qualification_);
	case kExitDrAccess:
		// MOV to/from DRn (qualification: SDM table 28-4), on the shadows.
		access_dr(!(exit_qualification_ & (1u << 4)), exit_qualification_ & 7, (exit_qualification_ >> 8) & 0xf);
		return skip(ExitReason::nothing());
	case kExitEptViolation:
		return handle_ept_violation(exit_qualification_);
	case kExitRdpmc:
		// No PMU is offered (CPUID leaf 0xA is absent): every counter
		// index is invalid, which is #GP (SDM vol. 2B, RDPMC).
		return inject_exception(x86::kVectorGp, true, 0);
	case kExitInvd:
	case kExitWbinvd:
		return skip(ExitReason::nothing()); // the host keeps its caches coherent
	case kExitGetsec:
	case kExitRsm:
	case kExitInvept:
	case kExitInvvpid:
		// Not offered in CPUID: the guest gets what a CPU without them gives.
		return inject_exception(x86::kVectorUd);
	case kExitEptMisconfig:
		axvm_log(AXVM_LOG_ERR, "EPT misconfiguration at GPA 0x%llx: a bad stage-2 entry",
			 axvm_vmread(VMCS_GUEST_PHYSICAL_ADDRESS));
		return unexpected_exit(code);
	default:
		axvm_log(AXVM_LOG_WARN, "VM exit %u (qualification 0x%llx) is not handled: internal error to userspace",
			 code, exit_qualification_);
		return unexpected_exit(code);
	}
}

// An exit axvm does not handle (a task switch, say): KVM's report of it, so
// that userspace sees why and can go on with new registers; the vCPU itself
// stays usable (KVM's kvm_prepare_unexpected_reason_exit()).
ExitReason VmxVcpu::unexpected_exit(u32 code) const
{
	const u64 data[2] = {code, static_cast<u64>(vmcs_.cpu)};
	return ExitReason::internal_error(kInternalErrorUnexpectedExit, 2, data);
}

// The exception bitmap: #UD, since VMMCALL, AMD's hypercall, is #UD on
// Intel CPUs: KVM rewrites it into VMCALL (KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
// foreign_hypercall), and RSM is #UD in VMX non-root operation: KVM
// emulates it (every other #UD goes back to the guest); #DB
// and #AC, reflected, as KVM intercepts them so that a guest cannot make the
// CPU deliver one endlessly (CVE-2015-5307, CVE-2015-8104); #MC, the host's,
// handled by entry.c. An NMI exits here too: the host's, raised again for
// it by entry.c.
Result<ExitReason> VmxVcpu::handle_exception_or_nmi()
{
	const u32 info = static_cast<u32>(axvm_vmread(VMCS_EXIT_INTR_INFO));
	if ((info & kIntrTypeMask) == kIntrNmi)
		return ExitReason::external_interrupt(0);
	switch (info & 0xff) {
	case x86::kVectorUd:
		break;
	case x86::kVectorDb:
		// ICEBP (INT1) exits before it completes: past it first (SDM
		// 27.1); the qualification holds the DR6 bits (SDM table 28-1).
		if ((info & kIntrTypeMask) == kIntrPrivSoftException)
			set_rip(g_.rip + exit_len_);
		return reflect_debug(exit_qualification_);
	case x86::kVectorAc:
		// With split-lock detection on, the host's #AC for a split lock
		// is not the guest's own alignment check (KVM's vmx_guest_inject_ac).
		if (!guest_alignment_check() && axvm_x86_split_lock(g_.rip))
			return ExitReason::nothing(); // detection off for this task: try again
		return reflect_alignment_check();
	case x86::kVectorMc:
		return ExitReason::nothing();
	default:
		axvm_log(AXVM_LOG_ERR, "unexpected exception exit (interruption info 0x%x)", info);
		return unexpected_exit(kExitExceptionNmi);
	}
	// RSM (outside real SMM a #UD in VMX non-root operation) and AMD's
	// VMMCALL are ours; any other #UD is the guest's.
	static const u8 vmcall[3] = {0x0f, 0x01, 0xc1}, vmmcall[3] = {0x0f, 0x01, 0xd9};
	return invalid_opcode(vmmcall, vmcall);
}

// The instruction that exited has executed: past it, and past the shadow
// an STI or MOV SS before it cast (the CPU would have ended it too).
ExitReason VmxVcpu::skip(ExitReason then)
{
	advance_rip(g_.rip + exit_len_);
	return then;
}

// IN/OUT and INS/OUTS; instruction information (SDM 28.2.5, table 28-8)
// gives a string instruction's address size (bits 9:7) and OUTS segment
// (17:15).
Result<ExitReason> VmxVcpu::handle_io(u64 q)
{
	const u8 size = io_size(q);
	const u16 port = static_cast<u16>(q >> 16);
	const u64 next = g_.rip + exit_len_;
	if (!(q & kIoString))
		return port_io(port, size, q & kIoIn, next);
	const u64 info = axvm_vmread(VMCS_EXIT_INSTRUCTION_INFO);
	const u32 asize = (info >> 7) & 7;
	const u8 seg = (info >> 15) & 7;
	return string_io(x86::StringIo{port, size, (q & kIoIn) != 0, (q & kIoRep) != 0,
				       asize == 0 ? 0xffff : asize == 1 ? 0xffffffffull : ~0ull,
				       (q & kIoIn) ? static_cast<u8>(x86::kEs) : seg < 6 ? seg : static_cast<u8>(x86::kDs),
				       next});
}

// Control-register accesses (qualification: SDM table 28-3): MOV to CR0
// that changes a host-owned bit (NE), every MOV to CR4 (checked as SVM
// checks it), and CR8, which axvm keeps (there is no local APIC to own it).
Result<ExitReason> VmxVcpu::handle_cr(u64 q)
{
	const u8 cr = q & 0xf;
	const u8 type = (q >> 4) & 3;
	const u8 reg = (q >> 8) & 0xf;
	if (type == 0 && cr == 0)
		return write_cr0(gpr(reg));
	if (type == 0 && cr == 4) {
		const u64 value = gpr(reg);
		if (x86::cr4_write_faults(value, g_.cr4, g_.cr3, g_.efer, cr4_extra()))
			return inject_exception(x86::kVectorGp, true, 0);
		if ((value ^ g_.cr4) & x86::kCr4FlushBits)
			flush_vpid_ = true; // as the instruction itself would have
		g_.cr4 = value;
		if (!load_pdptes().ok())
			return inject_exception(x86::kVectorGp, true, 0);
		state_dirty_ = true;
		return skip(ExitReason::nothing());
	}
	if (cr == 8 && type <= 1) {
		if (type == 0)
			cr8_ = gpr(reg) & 0xf;
		else
			set_gpr(reg, cr8_);
		return skip(ExitReason::nothing());
	}
	// LMSW and CLTS touch no host-owned bit, so they never exit.
	axvm_log(AXVM_LOG_ERR, "unexpected control-register exit (qualification 0x%llx)", q);
	return unexpected_exit(kExitCrAccess);
}

// MOV to CR0 as the CPU would do it (SDM vol. 3A, 2.5 and 9.8.5): #GP for
// an invalid value, long mode entered or left with paging.
Result<ExitReason> VmxVcpu::write_cr0(u64 value)
{
	const bool paging = value & x86::kCr0Pg;
	if ((value >> 32) || (paging && !(value & x86::kCr0Pe)) ||
	    ((value & x86::kCr0Nw) && !(value & x86::kCr0Cd)) ||
	    (paging && !(g_.cr0 & x86::kCr0Pg) && (g_.efer & x86::kEferLme) && !(g_.cr4 & x86::kCr4Pae)))
		return inject_exception(x86::kVectorGp, true, 0);
	if (!features().unrestricted_guest && (!(value & x86::kCr0Pe) || !paging)) {
		axvm_log(AXVM_LOG_WARN, "the guest left paged protected mode, which needs unrestricted guest");
		return fail(err::EOPNOTSUPP);
	}
	const u64 changed = value ^ g_.cr0;
	g_.cr0 = value | x86::kCr0Et;
	if ((changed & x86::kCr0Pg) && (g_.efer & x86::kEferLme))
		g_.efer = paging ? g_.efer | x86::kEferLma : g_.efer & ~x86::kEferLma;
	if (changed & (x86::kCr0Pg | x86::kCr0Wp | x86::kCr0Pe))
		flush_vpid_ = true;
	if (!load_pdptes().ok())
		return inject_exception(x86::kVectorGp, true, 0);
	state_dirty_ = true;
	return skip(ExitReason::nothing());
}

Result<ExitReason> VmxVcpu::handle_ept_violation(u64 q)
{
	const u64 gpa = axvm_vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
	const bool write = q & kEptWrite;
	const u32 access = write ? kAccessWrite : (q & kEptFetch) ? kAccessExec : kAccessRead;
	const bool delivering = inject_info_ & kIntrValid;
	// An IRET that unblocked NMIs faulted: it runs again, so NMIs stay
	// blocked until it completes (SDM 28.2.3).
	if ((q & kEptNmiUnblocked) && !delivering)
		g_.interruptibility |= kBlockNmi;
	// Code or page tables outside RAM, or a fault while delivering an
	// event, are nothing an MMIO exit can describe.
	const bool in_walk = (q & kEptLinearValid) && !(q & kEptTranslated);
	return mmio_fault(gpa, access, !(q & kEptFetch) && !in_walk && !delivering);
}

} // namespace axvm::vmx
