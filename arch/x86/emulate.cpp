// SPDX-License-Identifier: GPL-2.0
#include "emulate.hpp"

namespace axvm::x86 {

bool cr4_write_faults(u64 value, u64 cr4, u64 cr3, u64 efer, u64 extra)
{
	const bool long_mode = efer & kEferLma;
	return (value & ~(kCr4Allowed | extra)) || (long_mode && !(value & kCr4Pae)) ||
	       ((value & kCr4Pcide) && !(cr4 & kCr4Pcide) && (!long_mode || (cr3 & 0xfff)));
}

bool efer_write_faults(u64 value, u64 efer, u64 cr0)
{
	return (value & ~kEferAllowed) || ((cr0 & kCr0Pg) && ((value ^ efer) & kEferLme));
}

bool sregs_valid(const axvm_sregs &in, u64 cr4_extra, bool log)
{
	const bool paging = in.cr0 & kCr0Pg;
	if ((in.cr0 >> 32) || (paging && !(in.cr0 & kCr0Pe)) || ((in.cr0 & kCr0Nw) && !(in.cr0 & kCr0Cd))) {
		if (log)
			axvm_log(AXVM_LOG_WARN, "SET_SREGS: invalid CR0 0x%llx", in.cr0);
		return false;
	}
	if (in.cr4 & ~(kCr4Allowed | cr4_extra)) {
		if (log)
			axvm_log(AXVM_LOG_WARN, "SET_SREGS: CR4 0x%llx has bits axvm does not virtualize", in.cr4);
		return false;
	}
	if (in.efer & ~kEferAllowed) {
		if (log)
			axvm_log(AXVM_LOG_WARN, "SET_SREGS: EFER 0x%llx has bits axvm does not virtualize", in.efer);
		return false;
	}
	if ((in.efer & kEferLme) && paging) {
		if (!(in.cr4 & kCr4Pae) || !(in.efer & kEferLma) || (in.cs.l && in.cs.db)) {
			if (log)
				axvm_log(AXVM_LOG_WARN, "SET_SREGS: inconsistent long mode (CR4.PAE, EFER.LMA, CS.L/D)");
			return false;
		}
	} else if (in.efer & kEferLma) {
		if (log)
			axvm_log(AXVM_LOG_WARN, "SET_SREGS: EFER.LMA without EFER.LME and CR0.PG");
		return false;
	}
	if (in.cr3 >> 52) {
		if (log)
			axvm_log(AXVM_LOG_WARN, "SET_SREGS: CR3 0x%llx beyond the physical address width", in.cr3);
		return false;
	}
	for (u64 word : in.interrupt_bitmap) {
		if (word) {
			if (log)
				axvm_log(AXVM_LOG_WARN, "SET_SREGS: pending interrupts in interrupt_bitmap are not supported");
			return false;
		}
	}
	return true;
}

bool vcpu_events_valid(const axvm_vcpu_events &e)
{
	const u32 known = AXVM_VCPUEVENT_VALID_NMI_PENDING | AXVM_VCPUEVENT_VALID_SIPI_VECTOR |
			  AXVM_VCPUEVENT_VALID_SHADOW | AXVM_VCPUEVENT_VALID_SMM;
	if (e.flags & ~known) {
		axvm_log(AXVM_LOG_WARN, "SET_VCPU_EVENTS: flags 0x%x not supported (payloads, triple fault)",
			 e.flags);
		return false;
	}
	// KVM checks the vector of an exception only when one is there: QEMU
	// sends an idle one as 0xff.
	const int injected = e.exception.injected + e.interrupt.injected + e.nmi.injected;
	if (injected > 1 || (e.exception.injected && (e.exception.nr >= 32 || e.exception.nr == kVectorNmi)) ||
	    e.exception.has_error_code > 1) {
		axvm_log(AXVM_LOG_WARN, "SET_VCPU_EVENTS: at most one injected event, exceptions below 32 but NMI");
		return false;
	}
	return true;
}

bool pat_valid(u64 value)
{
	for (int i = 0; i < 8; i++) {
		const u8 type = (value >> (8 * i)) & 0xff;
		if (type == 2 || type == 3 || type > 7)
			return false;
	}
	return true;
}

u64 step_index(u64 reg, i64 delta, u64 mask)
{
	const u64 moved = (reg + static_cast<u64>(delta)) & mask;
	return mask == 0xffff ? (reg & ~mask) | moved : moved;
}

ExitReason x2apic_icr_write(u64 value)
{
	// Destination 63:32, shorthand 19:18 (1 self, 2 all, 3 all but self),
	// vector 7:0; target_aux carries delivery mode 10:8 and destination
	// mode 11.
	const u64 shorthand = (value >> 18) & 3;
	return ExitReason::send_ipi(value >> 32, (value >> 8) & 0xf, shorthand >= 2, shorthand == 1 || shorthand == 2,
				    value & 0xff);
}

ExitReason hypercall(const u64 *gprs, bool long_mode)
{
	const u64 mask = long_mode ? ~0ull : 0xffffffffull;
	const u64 args[6] = {gprs[kRbx] & mask, gprs[kRcx] & mask, gprs[kRdx] & mask,
			     gprs[kRsi] & mask, gprs[kRdi] & mask, gprs[kR8] & mask};
	return ExitReason::hypercall(gprs[kRax] & mask, args);
}

} // namespace axvm::x86
