// SPDX-License-Identifier: GPL-2.0
// Interrupts through the local APIC: destinations (SDM 11.6.2, 11.12.10),
// acceptance (11.6.3, 11.8.4), priorities (11.8.3.1), injection and EOI
// (11.8.5), and KVM's routing of one message over a VM's APICs.
#include "lapic.hpp"

namespace axvm::x86 {

using namespace apic;

namespace {

constexpr u32 kXapicBroadcast = 0xff;
constexpr u32 kX2apicBroadcast = 0xffff'ffff;
constexpr u32 kDfrFlat = 0xffff'ffff;
constexpr u32 kDfrCluster = 0x0fff'ffff;

enum DeliveryMode : u8 { kFixed = 0, kLowest = 1, kSmi = 2, kNmi = 4, kInit = 5, kStartup = 6, kExtInt = 7 };
enum Shorthand : u8 { kNoShorthand = 0, kSelf = 1, kAllIncludingSelf = 2, kAllExcludingSelf = 3 };

} // namespace

// ---- IRR, ISR, TMR and PPR -------------------------------------------------

// 256 bits as eight 32-bit registers 16 bytes apart.
bool Lapic::test_vector(u32 base, u8 vector) const
{
	return (reg(base + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}

void Lapic::set_vector(u32 base, u8 vector, bool on)
{
	const u32 offset = base + 0x10 * (vector / 32);
	const u32 bit = 1u << (vector % 32);
	set_reg(offset, on ? reg(offset) | bit : reg(offset) & ~bit);
}

int Lapic::highest_vector(u32 base) const
{
	for (int i = 7; i >= 0; i--) {
		const u32 bits = reg(base + 0x10 * u32(i));
		if (bits)
			return 32 * i + 31 - __builtin_clz(bits);
	}
	return -1;
}

// PPR = TPR if its class is at least the highest in-service class, else
// that class (SDM 11.8.3.1, KVM's __apic_update_ppr).
void Lapic::update_ppr()
{
	const u32 tpr = reg(kTpr);
	const int isr = highest_vector(kIsr);
	const u32 isrv = isr < 0 ? 0 : u32(isr);
	set_reg(kPpr, (tpr & 0xf0) >= (isrv & 0xf0) ? tpr & 0xff : isrv & 0xf0);
}

int Lapic::highest_deliverable() const
{
	if (!hw_enabled())
		return -1;
	const int irr = highest_vector(kIrr);
	if (irr < 0 || u32(irr & 0xf0) <= ppr())
		return -1;
	return irr;
}

bool Lapic::on_inject(u8 vector)
{
	if (!test_vector(kIrr, vector))
		return false;
	set_vector(kIrr, vector, false);
	set_vector(kIsr, vector, true);
	update_ppr();
	return true;
}

Eoi Lapic::eoi()
{
	Eoi done;
	done.vector = highest_vector(kIsr);
	if (done.vector < 0)
		return done; // an EOI with nothing in service is harmless
	const u8 vector = u8(done.vector);
	set_vector(kIsr, vector, false);
	update_ppr();
	done.level = test_vector(kTmr, vector);
	done.suppressed = reg(kSvr) & kSvrSuppressEoiBroadcast;
	return done;
}

// ---- Destinations -----------------------------------------------------------

bool Lapic::matches(u32 dest, bool logical, u8 shorthand, bool is_source, bool x2apic_32bit_ids,
		    bool broadcast_quirk) const
{
	(void)x2apic_32bit_ids; // see the declaration
	if (!hw_enabled())
		return false;
	switch (shorthand) {
	case kNoShorthand:
		break;
	case kSelf:
		return is_source;
	case kAllIncludingSelf:
		return true;
	case kAllExcludingSelf:
		return !is_source;
	default:
		return false;
	}
	// KVM delivers an IOAPIC/MSI broadcast (0xff) to x2APIC-mode APICs
	// too unless the quirk is off: without interrupt remapping those
	// messages cannot name an x2APIC broadcast.
	const u32 mda = broadcast_quirk && dest == kXapicBroadcast && x2apic_mode() ? kX2apicBroadcast : dest;
	if (mda == (x2apic_mode() ? kX2apicBroadcast : kXapicBroadcast))
		return true;
	if (!logical) {
		// An ID beyond 8 bits is always compared with the x2APIC ID (KVM's
		// hot-plug rule: such a vCPU may still be in xAPIC mode); KVM does
		// not alias it onto xAPIC IDs as hardware would.
		if (x2apic_mode() || mda > 0xff)
			return mda == vcpu_id_;
		return mda == xapic_id();
	}
	const u32 ldr = reg(kLdr);
	if (x2apic_mode()) // cluster in 31:16, one bit per APIC in 15:0
		return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff);
	const u32 logical_id = ldr >> 24;
	switch (reg(kDfr)) {
	case kDfrFlat: // one bit per APIC (SDM 11.6.2.2)
		return logical_id & mda;
	case kDfrCluster: // cluster in 7:4, one bit of four in 3:0
		return (logical_id >> 4) == (mda >> 4) && (logical_id & mda & 0xf);
	default:
		return false;
	}
}

// ---- Acceptance ---------------------------------------------------------------

bool Lapic::accept(const IrqMessage &m)
{
	switch (m.delivery_mode) {
	case kFixed:
	case kLowest:
		// A level de-assert only matters to the sender (the IOAPIC's
		// remote IRR), and a disabled APIC takes nothing (SDM 11.4.7.2).
		// KVM takes vectors 0-15 too, without an illegal-vector error.
		if ((m.level && !m.assert) || !hw_enabled() || !sw_enabled())
			return false;
		set_vector(kTmr, m.vector, m.level);
		set_vector(kIrr, m.vector, true);
		return true;
	case kSmi:
		smi_ = true;
		return true;
	case kNmi:
		nmi_ = true;
		return true;
	case kInit:
		// "INIT level de-assert" (SDM 11.6.1) is ignored. INIT is taken
		// by a software-disabled APIC too, and drops a pending SIPI.
		if (m.level && !m.assert)
			return false;
		init_ = true;
		sipi_ = false;
		return true;
	case kStartup:
		sipi_vector_ = m.vector;
		sipi_ = true;
		return true;
	default:
		// ExtINT comes through the PIC's path (accepts_pic_interrupts);
		// KVM counts the obsolete remote read (3) as a PV unhalt kick,
		// which axvm does not have.
		return false;
	}
}

bool Lapic::accepts_pic_interrupts() const
{
	const u32 lvt0 = reg(kLvtLint0);
	return !hw_enabled() || (!(lvt0 & kLvtMasked) && ((lvt0 >> 8) & 7) == kExtInt);
}

bool Lapic::lvt0_nmi_mode() const
{
	return (reg(kLvtLint0) & (kLvtMasked | 0x700)) == u32(kNmi) << 8;
}

bool Lapic::deliver_lvt(Lvt lvt)
{
	const u32 index = u32(lvt);
	if (index >= nr_lvt())
		return false;
	const u32 entry = reg(lvt_offset(index));
	if (!hw_enabled() || (entry & kLvtMasked))
		return false;
	IrqMessage m = {};
	m.vector = u8(entry);
	m.delivery_mode = (entry >> 8) & 7; // 0 for the timer and error LVTs
	m.level = entry & (1u << 15);
	m.assert = true;
	return accept(m);
}

// ---- Routing over a VM's APICs ---------------------------------------------------

namespace {

// KVM's APIC map modes: how the enabled APICs use logical destinations.
enum : u8 { kMapX2apic = 1, kMapFlat = 2, kMapCluster = 4 };

u8 logical_modes(Lapic *const *apics, u32 count)
{
	u8 modes = 0;
	for (u32 i = 0; i < count; i++) {
		const Lapic *a = apics[i];
		if (!a || !a->hw_enabled() || !a->sw_enabled())
			continue;
		if (a->x2apic_mode())
			modes |= kMapX2apic;
		else if (a->reg(kLdr))
			modes |= a->reg(kDfr) == kDfrFlat ? kMapFlat : kMapCluster;
	}
	return modes;
}

} // namespace

int deliver_to_apics(Lapic *const *apics, u32 count, const Lapic *source, const IrqMessage &m,
		     bool x2apic_32bit_ids, bool broadcast_quirk_disabled, bool *accepted)
{
	auto offer = [&](u32 i, const IrqMessage &msg) {
		const bool took = apics[i]->accept(msg);
		if (accepted)
			accepted[i] = took;
		return int(took);
	};
	if (accepted)
		for (u32 i = 0; i < count; i++)
			accepted[i] = false;
	if (m.shorthand == kSelf) {
		for (u32 i = 0; i < count; i++)
			if (apics[i] && apics[i] == source)
				return offer(i, m);
		return 0;
	}
	// Would KVM's APIC map resolve it (kvm_apic_map_get_dest_lapic)? Then
	// "no destination" is 0, else -1 (kvm_irq_delivery_to_apic).
	const u8 modes = logical_modes(apics, count);
	bool broadcast;
	if (broadcast_quirk_disabled)
		broadcast = (m.dest_id == kXapicBroadcast && modes != kMapX2apic) || m.dest_id == kX2apicBroadcast;
	else
		broadcast = m.dest_id == (source && source->x2apic_mode() ? kX2apicBroadcast : kXapicBroadcast);
	const bool one_mode = modes == kMapX2apic || modes == kMapFlat || modes == kMapCluster;
	const bool resolvable = m.shorthand == kNoShorthand && !broadcast && (!m.logical || one_mode);

	IrqMessage msg = m;
	if (!resolvable && !msg.logical && msg.dest_id == kXapicBroadcast && msg.delivery_mode == kLowest)
		msg.delivery_mode = kFixed; // a physical broadcast goes to all
	const bool quirk = !broadcast_quirk_disabled && !source;
	auto matched = [&](const Lapic *a) {
		return a && a->matches(msg.dest_id, msg.logical, msg.shorthand, a == source, x2apic_32bit_ids, quirk);
	};

	int taken = -1;
	u32 candidates = 0;
	for (u32 i = 0; i < count; i++) {
		if (!matched(apics[i]))
			continue;
		if (msg.delivery_mode != kLowest)
			taken = (taken < 0 ? 0 : taken) + offer(i, msg);
		else if (apics[i]->lowest_priority_candidate())
			candidates++;
	}
	if (candidates) {
		u32 skip = lowest_priority_winner(msg.vector, candidates);
		for (u32 i = 0; i < count; i++) {
			if (!matched(apics[i]) || !apics[i]->lowest_priority_candidate() || skip--)
				continue;
			taken = offer(i, msg);
			break;
		}
	}
	return resolvable && taken < 0 ? 0 : taken;
}

} // namespace axvm::x86
