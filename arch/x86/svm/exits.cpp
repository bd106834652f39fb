// SPDX-License-Identifier: GPL-2.0
// #VMEXIT -> what X86Vcpu emulates, or an ExitReason (AMD APM vol. 2,
// 15.9-15.13 and appendix C). This file decodes; the rules are X86Vcpu's.
// Exits the kernel finishes alone come back as ExitReason::nothing() and
// the RUN loop re-enters.
#include "svm_vcpu.hpp"

#include "../emulate.hpp"
#include "svm_cpu.hpp"

namespace axvm::svm {

namespace {

// IOIO EXITINFO1 (APM 15.10.2).
constexpr u64 kIoIn = 1u << 0, kIoString = 1u << 2, kIoRep = 1u << 3;
u8 io_size(u64 info) { return info & (1u << 4) ? 1 : info & (1u << 5) ? 2 : 4; }
u64 io_address_mask(u64 info)
{
	return info & (1u << 7) ? 0xffff : info & (1u << 8) ? 0xffffffffull : ~0ull;
}
u8 io_segment(u64 info) { return (info >> 10) & 7; }
u16 io_port(u64 info) { return static_cast<u16>(info >> 16); }

// NPF EXITINFO1 (APM 15.25.6): the #PF error code plus where it happened.
constexpr u64 kNpfWrite = 1u << 1, kNpfFetch = 1u << 4, kNpfInGuestWalk = 1ull << 33;

} // namespace

Result<ExitReason> SvmVcpu::handle_exit()
{
	VmcbControl &c = vmcb_->control;
	// An event (interrupt, exception) was being delivered when the exit
	// came: deliver it again on the next entry (APM 15.7.2).
	if (c.exit_int_info & kEventValid)
		reinject(c.exit_int_info);

	const u64 code = c.exit_code;
	if (code >= kExitReadDr0 && code < kExitReadDr0 + 0x20)
		return handle_dr_access(code >= kExitWriteDr0, code & 0xf);

	switch (code) {
	case kExitIntr:
	case kExitNmi:
	case kExitSmi:
	case kExitInit:
		// Taken by the host once GIF is set again (entry.c).
		return ExitReason::external_interrupt(0);
	case kExitVintr:
		stats.irq_window_exits++;
		return ExitReason::nothing(); // the window opened: the next entry decides
	case kExitIret:
		// An NMI handler returns: the next entry decides again (interrupts.cpp).
		return ExitReason::nothing();
	case kExitHlt:
		return skip(1, ExitReason::halt());
	case kExitCpuid:
		return skip(2, handle_cpuid());
	case kExitVmmcall:
		return hypercall_exit(TRY(next_rip(3)));
	case kExitMonitor:
	case kExitMwait:
	case kExitMwaitCond:
		return monitor_mwait(TRY(next_rip(3)));
	case kExitExceptionBase + x86::kVectorUd: {
		// Intel's VMCALL (KVM_X86_QUIRK_FIX_HYPERCALL_INSN); any other
		// #UD is the guest's.
		static const u8 vmcall[3] = {0x0f, 0x01, 0xc1}, vmmcall[3] = {0x0f, 0x01, 0xd9};
		return invalid_opcode(vmcall, vmmcall);
	}
	case kExitRsm:
		return emulate_rsm();
	case kExitIoio:
		return handle_ioio();
	case kExitMsr:
		return msr_access(c.exit_info1 & 1, TRY(next_rip(2)));
	case kExitNpf:
		return handle_npf();
	case kExitWriteCr4:
		return handle_cr4_write();
	case kExitRdtscp:
		return emulate_rdtscp(TRY(next_rip(3)));
	case kExitXsetbv:
		return emulate_xsetbv(TRY(next_rip(3)));
	case kExitExceptionBase + x86::kVectorDb: {
		// The CPU reported the debug condition in the VMCB's DR6, which
		// goes back to its neutral value for the next entry.
		const u64 hit = vmcb_->save.dr6 ^ x86::kDr6Fixed;
		vmcb_->save.dr6 = x86::kDr6Fixed;
		return reflect_debug(hit);
	}
	case kExitExceptionBase + x86::kVectorAc:
		return reflect_alignment_check(); // AMD CPUs raise no split-lock #AC
	case kExitExceptionBase + x86::kVectorMc:
		return ExitReason::nothing(); // the host's, handled by entry.c
	case kExitShutdown:
		// The VMCB is undefined after a shutdown intercept (APM 15.12):
		// start over from reset state, and keep reporting the shutdown
		// until userspace gives the vCPU new registers.
		init_vmcb();
		shut_down_ = true;
		return ExitReason::system_down(SystemDownKind::TripleFault);
	case kExitRdpmc:
		// No PMU is offered (CPUID leaf 0xA is absent): every counter
		// index is invalid, which is #GP (SDM vol. 2B, RDPMC).
		return inject_exception(x86::kVectorGp, true, 0);
	case kExitInvd:
	case kExitWbinvd:
		return skip(2, ExitReason::nothing()); // the host keeps its caches coherent
	case kExitVmrun:
	case kExitVmload:
	case kExitVmsave:
	case kExitStgi:
	case kExitClgi:
	case kExitSkinit:
	case kExitInvlpga:
	case kExitRdpru:
		// Not offered in CPUID: the guest gets what a CPU without them gives.
		return inject_exception(x86::kVectorUd);
	case kExitInvalid:
		axvm_log(AXVM_LOG_WARN, "VMRUN refused the guest state (VMEXIT_INVALID)");
		return ExitReason::fail_entry(code);
	default: {
		// KVM's report of an exit it does not handle; the vCPU stays usable.
		axvm_log(AXVM_LOG_WARN, "#VMEXIT 0x%llx (info1 0x%llx info2 0x%llx) is not handled: internal error to userspace",
			 code, c.exit_info1, c.exit_info2);
		const u64 data[2] = {code, static_cast<u64>(cpu_)};
		return ExitReason::internal_error(kInternalErrorUnexpectedExit, 2, data);
	}
	}
}

// Without NRIP save (QEMU's SVM has none), the length of the intercepted
// instruction is its opcode plus whatever legacy and REX prefixes precede it.
Result<u64> SvmVcpu::next_rip(u8 opcode_len)
{
	if (features().nrips && vmcb_->control.next_rip)
		return vmcb_->control.next_rip;
	return vmcb_->save.rip + TRY(prefix_bytes()) + opcode_len;
}

Result<ExitReason> SvmVcpu::skip(u8 opcode_len, ExitReason then)
{
	advance_rip(TRY(next_rip(opcode_len)));
	return then;
}

Result<u8> SvmVcpu::prefix_bytes()
{
	const bool long_mode = cpu_mode() == x86::CpuMode::Long64;
	auto is_prefix = [long_mode](u8 b) {
		return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
		       b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65 || (long_mode && (b & 0xf0) == 0x40);
	};
	// Almost every instruction that gets here has no prefix: look at the
	// first bytes only, and at all 15 when they are all prefixes.
	u8 bytes[15];
	usize n = 0;
	Status s = fetch(bytes, 4, &n);
	u8 i = 0;
	while (s.ok() && i < n && is_prefix(bytes[i]))
		i++;
	if (s.ok() && i == n && n == 4) {
		s = fetch(bytes, sizeof(bytes), &n);
		while (s.ok() && i < n && is_prefix(bytes[i]))
			i++;
	}
	if (!s.ok()) {
		axvm_log(AXVM_LOG_WARN, "cannot fetch the instruction at RIP 0x%llx", vmcb_->save.rip);
		return Error{s.error()};
	}
	return i;
}

Result<ExitReason> SvmVcpu::handle_ioio()
{
	const u64 info = vmcb_->control.exit_info1;
	const u64 next = vmcb_->control.exit_info2; // APM 15.10.2: always saved for IOIO
	if (!(info & kIoString))
		return port_io(io_port(info), io_size(info), info & kIoIn, next);
	const u8 segment = info & kIoIn ? static_cast<u8>(x86::kEs) : TRY(outs_segment(info));
	return string_io(x86::StringIo{io_port(info), io_size(info), (info & kIoIn) != 0, (info & kIoRep) != 0,
				       io_address_mask(info), segment, next});
}

// OUTS reads DS:rSI unless a segment prefix says otherwise. EXITINFO1
// names the segment only with decode assists (APM 15.10.2), which QEMU
// lacks, so without them the prefixes are read from the instruction.
Result<u8> SvmVcpu::outs_segment(u64 info)
{
	if (features().decode_assists)
		return static_cast<u8>(io_segment(info) < 6 ? io_segment(info) : static_cast<u8>(x86::kDs));
	u8 bytes[15];
	usize n = 0;
	TRY(fetch(bytes, sizeof(bytes), &n));
	u8 seg = x86::kDs;
	for (usize i = 0; i < n; i++) {
		switch (bytes[i]) {
		case 0x26: seg = x86::kEs; continue;
		case 0x2e: seg = x86::kCs; continue;
		case 0x36: seg = x86::kSs; continue;
		case 0x3e: seg = x86::kDs; continue;
		case 0x64: seg = x86::kFs; continue;
		case 0x65: seg = x86::kGs; continue;
		case 0x66: case 0x67: case 0xf2: case 0xf3: continue;
		default: break;
		}
		break;
	}
	return seg;
}

// MOV to/from CRn/DRn (0F 20-23 /r; ModRM.reg = n, ModRM.rm = GPR, the
// mod bits ignored).
Result<u8> SvmVcpu::mov_crdr_gpr(u8 *len)
{
	u8 bytes[15];
	usize n = 0;
	const u8 p = TRY(prefix_bytes());
	if (!fetch(bytes, sizeof(bytes), &n).ok() || n < p + 3u)
		return fail(err::EFAULT);
	const bool rex_b = p && (bytes[p - 1] & 0xf1) == 0x41;
	*len = p + 3;
	return static_cast<u8>((bytes[p + 2] & 7) | (rex_b ? 8 : 0));
}

// MOV to CR4, intercepted so that a guest cannot set what SET_SREGS
// refuses: with OSXSAVE it could use the host's XCR0 and the register state
// beyond SSE that axvm does not switch. Checks as a CPU does (#GP).
Result<ExitReason> SvmVcpu::handle_cr4_write()
{
	u8 len = 0;
	const u8 reg = TRY(mov_crdr_gpr(&len));
	VmcbSave &s = vmcb_->save;
	const u64 value = gpr(reg);
	if (x86::cr4_write_faults(value, s.cr4, s.cr3, efer(), cr4_extra()))
		return inject_exception(x86::kVectorGp, true, 0);
	// The paging bits change translations: flush this ASID, as the
	// instruction itself would have.
	if (((value ^ s.cr4) & x86::kCr4FlushBits) && vmcb_->control.tlb_control == kTlbFlushNothing)
		vmcb_->control.tlb_control = tlb_flush_;
	s.cr4 = value;
	advance_rip(s.rip + len);
	return ExitReason::nothing();
}

Result<ExitReason> SvmVcpu::handle_dr_access(bool write, u8 dr)
{
	u8 len = 0;
	const u8 reg = TRY(mov_crdr_gpr(&len));
	if (dr >= 8)
		return inject_exception(x86::kVectorUd);
	access_dr(write, dr, reg);
	advance_rip(vmcb_->save.rip + len);
	return ExitReason::nothing();
}

Result<ExitReason> SvmVcpu::handle_npf()
{
	const u64 info = vmcb_->control.exit_info1;
	const bool write = info & kNpfWrite;
	const u32 access = write ? kAccessWrite : (info & kNpfFetch) ? kAccessExec : kAccessRead;
	// Code or page tables outside RAM, or a fault while delivering an
	// event, are nothing an MMIO exit can describe.
	const bool describable =
		!(info & (kNpfFetch | kNpfInGuestWalk)) && !(vmcb_->control.exit_int_info & kEventValid);
	return mmio_fault(vmcb_->control.exit_info2, access, describable);
}

} // namespace axvm::svm
