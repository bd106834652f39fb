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
		return hypercall();
	case kExitIo:
		return handle_io(exit_qualification_);
	case kExitRdmsr:
	case kExitWrmsr:
		return handle_msr(code == kExitWrmsr);
	case kExitCrAccess:
		return handle_cr(exit_qualification_);
	case kExitDrAccess:
		return handle_dr(exit_qualification_);
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
	case kExitMwait:
	case kExitMonitor:
	case kExitInvept:
	case kExitInvvpid:
	case kExitXsetbv:
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

Result<ExitReason> VmxVcpu::hypercall() { return hypercall_exit(g_.rip + exit_len_); }

// The exception bitmap: #UD, since VMMCALL, AMD's hypercall, is #UD on
// Intel CPUs and guests written for either vendor make hypercalls with it
// (KVM accepts both as well; every other #UD goes back to the guest); #DB
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
		if (!guest_alignment_check(static_cast<u8>((g_.seg[kSs].ar >> 5) & 3), g_.cr0) &&
		    axvm_x86_split_lock(g_.rip))
			return ExitReason::nothing(); // detection off for this task: try again
		return reflect_alignment_check();
	case x86::kVectorMc:
		return ExitReason::nothing();
	default:
		axvm_log(AXVM_LOG_ERR, "unexpected exception exit (interruption info 0x%x)", info);
		return unexpected_exit(kExitExceptionNmi);
	}
	u8 bytes[3];
	usize n = 0;
	const bool vmmcall =
		x86::fetch_instruction(paging(), vm_.memory(), segment_base(kCs) + g_.rip, bytes, 3, &n).ok() &&
		n == 3 && bytes[0] == 0x0f && bytes[1] == 0x01 && bytes[2] == 0xd9;
	if (!vmmcall)
		return inject_exception(x86::kVectorUd);
	exit_len_ = 3;
	return hypercall();
}

// The instruction that exited has executed: past it, and past the shadow
// an STI or MOV SS before it cast (the CPU would have ended it too).
ExitReason VmxVcpu::skip(ExitReason then)
{
	advance_rip(g_.rip + exit_len_);
	return then;
}

ExitReason VmxVcpu::inject_exception(u8 vector, bool has_error, u32 error)
{
	inject_info_ = vector | kIntrHwException | kIntrValid | (has_error ? kIntrErrorValid : 0);
	inject_error_ = error;
	inject_len_ = 0;
	return ExitReason::nothing();
}

// IN/OUT and INS/OUTS. String I/O moves one element per exit, as on SVM:
// a REP instruction with elements left executes again.
Result<ExitReason> VmxVcpu::handle_io(u64 q)
{
	const u8 size = io_size(q);
	const u16 port = static_cast<u16>(q >> 16);
	if (!(q & kIoString))
		return q & kIoIn ? port_in(port, size, g_.rip + exit_len_) : port_out(port, size, g_.rip + exit_len_);
	// Instruction information (SDM 28.2.5, table 28-8): address size in
	// bits 9:7, the OUTS segment in 17:15.
	const u64 info = axvm_vmread(VMCS_EXIT_INSTRUCTION_INFO);
	const u32 asize = (info >> 7) & 7;
	io_amask_ = asize == 0 ? 0xffff : asize == 1 ? 0xffffffffull : ~0ull;
	io_rep_ = q & kIoRep;
	io_size_ = size;
	if (io_rep_ && !(gpr(x86::kRcx) & io_amask_)) {
		advance_rip(g_.rip + exit_len_);
		return ExitReason::nothing();
	}
	if (q & kIoIn) {
		set_pending(Pending::StringIn, g_.rip + exit_len_);
		return ExitReason::io_read(port, width_of(size));
	}
	const u8 seg = (info >> 15) & 7;
	u64 value = 0;
	Status s = x86::access_linear(paging(), vm_.memory(), segment_base(seg < 6 ? seg : static_cast<u8>(kDs)) +
				      (gpr(x86::kRsi) & io_amask_), &value, size, false);
	if (!s.ok())
		return Error{s.error()};
	const i64 delta = g_.rflags & x86::kRflagsDf ? -static_cast<i64>(size) : size;
	set_gpr(x86::kRsi, x86::step_index(gpr(x86::kRsi), delta, io_amask_));
	advance_rep();
	return ExitReason::io_write(port, width_of(size), value);
}

void VmxVcpu::advance_rep()
{
	if (io_rep_) {
		set_gpr(x86::kRcx, x86::step_index(gpr(x86::kRcx), -1, io_amask_));
		if (gpr(x86::kRcx) & io_amask_)
			return; // elements left: execute the instruction again
	}
	advance_rip(g_.rip + exit_len_);
}

void VmxVcpu::complete_string_in(u64 value)
{
	const u64 linear = segment_base(kEs) + (gpr(x86::kRdi) & io_amask_);
	if (!x86::access_linear(paging(), vm_.memory(), linear, &value, io_size_, true).ok()) {
		// The buffer is not guest RAM: the element is dropped, as a
		// device write to a hole would be.
		axvm_log(AXVM_LOG_WARN, "INS to linear 0x%llx outside guest RAM", linear);
	}
	const i64 delta = g_.rflags & x86::kRflagsDf ? -static_cast<i64>(io_size_) : io_size_;
	set_gpr(x86::kRdi, x86::step_index(gpr(x86::kRdi), delta, io_amask_));
	advance_rep();
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
		if (x86::cr4_write_faults(value, g_.cr4, g_.cr3, g_.efer))
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

// MOV to/from DRn (qualification: SDM table 28-4), on the shadows.
Result<ExitReason> VmxVcpu::handle_dr(u64 q)
{
	const u8 dr = q & 7;
	const bool read = q & (1u << 4);
	access_dr(!read, dr, (q >> 8) & 0xf);
	return skip(ExitReason::nothing());
}

Result<ExitReason> VmxVcpu::handle_msr(bool write)
{
	const u32 msr = static_cast<u32>(gpr(x86::kRcx));
	const u64 value = (gpr(x86::kRdx) << 32) | static_cast<u32>(gpr(x86::kRax));
	u64 *reg = msr == x86::kMsrEfer ? &g_.efer : msr == x86::kMsrPat ? &g_.pat : nullptr;
	if (reg && !write) {
		set_gpr(x86::kRax, static_cast<u32>(*reg));
		set_gpr(x86::kRdx, *reg >> 32);
		return skip(ExitReason::nothing());
	}
	if (msr == x86::kMsrEfer) {
		if (x86::efer_write_faults(value, g_.efer, g_.cr0))
			return inject_exception(x86::kVectorGp, true, 0);
		g_.efer = (value & ~x86::kEferLma) | (g_.efer & x86::kEferLma);
		state_dirty_ = true;
		return skip(ExitReason::nothing());
	}
	if (msr == x86::kMsrPat) {
		if (!x86::pat_valid(value))
			return inject_exception(x86::kVectorGp, true, 0);
		g_.pat = value;
		state_dirty_ = true;
		return skip(ExitReason::nothing());
	}
	if (write && msr == x86::kMsrX2apicIcr)
		return skip(x86::x2apic_icr_write(value));
	// Every other MSR: what a CPU does for one it lacks (#GP), never a
	// host access. (The ones the VMCS and MSR areas switch never exit.)
	return inject_exception(x86::kVectorGp, true, 0);
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

	if (vm_.memory().backs(gpa, write))
		return ExitReason::nothing(); // a slot appeared since: the new stage 2 has it
	// Code or page tables outside RAM, or a fault while delivering an
	// event: nothing an MMIO exit can describe.
	const bool in_walk = (q & kEptLinearValid) && !(q & kEptTranslated);
	if ((q & kEptFetch) || in_walk || delivering)
		return ExitReason::nested_page_fault(gpa, access);

	u8 bytes[15];
	usize n = 0;
	Status s = x86::fetch_instruction(paging(), vm_.memory(), segment_base(kCs) + g_.rip, bytes, sizeof(bytes), &n);
	Result<x86::MmioInstruction> insn = s.ok() ? x86::decode_mmio(bytes, n, cpu_mode())
						   : Result<x86::MmioInstruction>(Error{s.error()});
	if (!insn.ok()) {
		axvm_log(AXVM_LOG_WARN, "MMIO at 0x%llx by an instruction axvm cannot decode (RIP 0x%llx)", gpa, g_.rip);
		return ExitReason::nested_page_fault(gpa, access);
	}
	return mmio_exit(gpa, insn.value(), g_.rip + insn.value().length);
}

x86::CpuMode VmxVcpu::cpu_mode() const
{
	const u32 cs = g_.seg[kCs].ar;
	if (!(g_.cr0 & x86::kCr0Pe) || (g_.rflags & (1ull << 17)))
		return x86::CpuMode::Real; // real or virtual-8086
	if ((g_.efer & x86::kEferLma) && (cs & kArL))
		return x86::CpuMode::Long64;
	return cs & kArDb ? x86::CpuMode::Protected32 : x86::CpuMode::Protected16;
}

u64 VmxVcpu::cs_base() const { return segment_base(kCs); }

// In 64-bit mode only FS and GS have a base (SDM vol. 3A, 3.4.4).
u64 VmxVcpu::segment_base(u8 seg) const
{
	return cpu_mode() == x86::CpuMode::Long64 && seg < kFs ? 0 : g_.seg[seg].base;
}

x86::PagingState VmxVcpu::paging() const { return x86::PagingState{g_.cr0, g_.cr3, g_.cr4, g_.efer}; }

} // namespace axvm::vmx
