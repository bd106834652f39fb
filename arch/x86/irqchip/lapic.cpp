// SPDX-License-Identifier: GPL-2.0
// The register model: reset, APIC_BASE, MMIO and MSR access, the timer's
// registers and KVM_GET/SET_LAPIC. Interrupt acceptance, priorities, EOI
// and destinations are in lapic_delivery.cpp.
#include "lapic.hpp"

namespace axvm::x86 {

using namespace apic;

namespace {

// KVM's APIC_VERSION: "Xeon and Pentium" integrated APIC (SDM 11.4.8).
constexpr u32 kVersion = 0x14;
constexpr u32 kIcrBusy = 1u << 12; // delivery status: KVM never shows it
// ICR bits that must be 0 when written as MSR 0x830: 31:20, 17:16, 13.
constexpr u64 kX2apicIcrReserved = 0xfff0'0000ull | 0x3'0000ull | 0x2000ull;
constexpr u32 kDfrFlat = 0xffff'ffff;

// What the guest can write into each LVT (KVM's apic_lvt_mask; SDM
// 11.5.1): vector, delivery status, mask, and per entry the delivery mode
// and, for LINT0/1, polarity, remote IRR and trigger mode. The timer's
// mode bits are added by what the CPUID offers.
constexpr u32 kLvtCommon = 0x1'10ff;
constexpr u32 kLvtWithMode = kLvtCommon | 0x700;
constexpr u32 kLvtLint = kLvtWithMode | 0xe000;
constexpr u32 kLvtMasks[] = { kLvtCommon, kLvtWithMode, kLvtWithMode, kLvtLint, kLvtLint, kLvtCommon, kLvtWithMode };
static_assert(array_size(kLvtMasks) == 7);

// The LVT index of a register offset, or -1.
int lvt_index(u32 offset)
{
	if (offset == kLvtCmci)
		return 6;
	if (offset < kLvtTimer || offset > kLvtError)
		return -1;
	return int((offset - kLvtTimer) / 0x10);
}

} // namespace

Lapic::Lapic(u32 vcpu_id, bool reset_bsp) : vcpu_id_(vcpu_id), reset_bsp_(reset_bsp)
{
	// KVM stuffs EN before the first RESET, so RESET sees no enable edge.
	apic_base_ = kBaseEnable;
	reset(false);
}

Status Lapic::configure(const LapicFeatures &features)
{
	if (features.maxphyaddr < 12 || features.maxphyaddr > 52)
		return fail(err::EINVAL);
	const u32 old_lvts = nr_lvt();
	features_ = features;
	// A new LVT starts masked; one that goes away keeps its value, unused.
	for (u32 i = old_lvts; i < nr_lvt(); i++)
		set_reg(lvt_offset(i), kLvtMasked);
	set_reg(kLvr, version());
	return Status();
}

u32 Lapic::version() const
{
	u32 v = kVersion | (nr_lvt() - 1) << 16;
	// KVM offers EOI-broadcast suppression only with x2APIC in CPUID and
	// no in-kernel IOAPIC, whose 82093AA model has no EOI register for
	// the guest to use instead.
	if (features_.cpuid_x2apic && !features_.ioapic_in_kernel)
		v |= kLvrDirectedEoi;
	return v;
}

u32 Lapic::timer_mode_mask() const
{
	if (!features_.cpuid_set)
		return 0;
	return features_.cpuid_tsc_deadline ? 3u << 17 : 1u << 17;
}

void Lapic::reset(bool init)
{
	if (!init)
		write_base(kDefaultBase | kBaseEnable | (reset_bsp_ ? kBaseBsp : 0));
	timer_.reset();
	if (!init)
		set_reg(kId, (vcpu_id_ & 0xff) << 24);
	set_reg(kLvr, version());
	for (u32 i = 0; i < nr_lvt(); i++)
		set_reg(lvt_offset(i), kLvtMasked);
	// KVM_X86_QUIRK_LINT0_REENABLED: the boot CPU takes the PIC's
	// interrupts (LVT0 ExtINT, unmasked) from power-on, and after INIT.
	if (reset_bsp_ && features_.lint0_reenabled)
		set_reg(kLvtLint0, 0x700);
	set_reg(kDfr, kDfrFlat);
	set_reg(kSvr, 0xff);
	set_reg(kTpr, 0);
	if (!x2apic_mode())
		set_reg(kLdr, 0);
	set_reg(kEsr, 0);
	set_reg(kIcr, 0);
	set_reg(kIcr2, 0);
	set_reg(kTdcr, 0);
	set_reg(kTmict, 0);
	for (u32 i = 0; i < 8; i++) {
		set_reg(kIrr + 0x10 * i, 0);
		set_reg(kIsr + 0x10 * i, 0);
		set_reg(kTmr + 0x10 * i, 0);
	}
	update_ppr();
	nmi_ = smi_ = false;
	if (!init)
		init_ = sipi_ = false;
}

// ---- IA32_APIC_BASE ---------------------------------------------------------

Status Lapic::set_apic_base(u64 value, bool host_initiated)
{
	const u64 reserved = ~0ull << features_.maxphyaddr | 0x2ff | (features_.cpuid_x2apic ? 0 : kBaseExtd);
	const u64 mode = value & (kBaseEnable | kBaseExtd);
	const u64 old_mode = apic_base_ & (kBaseEnable | kBaseExtd);
	if ((value & reserved) || mode == kBaseExtd)
		return fail(err::EINVAL);
	// SDM 11.12.5: x2APIC can only be left by disabling the
	// APIC, and only entered from xAPIC mode. KVM lets the host do both.
	if (!host_initiated) {
		if (old_mode == (kBaseEnable | kBaseExtd) && mode == kBaseEnable)
			return fail(err::EINVAL);
		if (old_mode == 0 && mode == (kBaseEnable | kBaseExtd))
			return fail(err::EINVAL);
	}
	write_base(value);
	return Status();
}

// KVM's kvm_lapic_set_base. Disabling resets nothing (KVM keeps every
// register); an APIC coming back gets its xAPIC ID back, one entering
// x2APIC mode its x2APIC ID and the LDR derived from it (SDM 11.12.5.1).
void Lapic::write_base(u64 value)
{
	const u64 changed = apic_base_ ^ value;
	apic_base_ = value;
	if ((changed & kBaseEnable) && (value & kBaseEnable))
		set_reg(kId, (vcpu_id_ & 0xff) << 24);
	if ((changed & kBaseExtd) && (value & kBaseExtd))
		set_x2apic_id_and_ldr();
}

void Lapic::set_x2apic_id_and_ldr()
{
	set_reg(kId, vcpu_id_);
	set_reg(kLdr, x2apic_ldr(vcpu_id_));
}

// ---- Register reads -----------------------------------------------------------

// KVM's valid_reg_mask (kvm_lapic_reg_read): EOI, RRD, SELF_IPI and the
// reserved slots read nothing; APR and ICR2 exist only in xAPIC mode, LVT_CMCI
// only with 7 LVTs. `offset` is 16-byte aligned.
bool Lapic::reg_readable(u32 offset) const
{
	switch (offset) {
	case kId: case kLvr: case kTpr: case kPpr: case kLdr: case kDfr: case kSvr: case kEsr: case kIcr:
	case kLvtTimer: case kLvtThermal: case kLvtPerf: case kLvtLint0: case kLvtLint1: case kLvtError:
	case kTmict: case kTmcct: case kTdcr:
		return true;
	case kApr: case kIcr2:
		return !x2apic_mode();
	case kLvtCmci:
		return nr_lvt() == 7;
	default:
		return offset >= kIsr && offset < kIrr + 0x80; // ISR, TMR, IRR
	}
}

u32 Lapic::read_reg(u32 offset, u64 now_ns) const
{
	switch (offset) {
	case kApr:
		return 0; // KVM has no arbitration priority
	case kTmcct:
		return timer_.mode() == TimerMode::TscDeadline ? 0 : current_count(now_ns);
	default:
		return reg(offset);
	}
}

Status Lapic::mmio_read(u32 offset, unsigned size, u32 &value, u64 now_ns) const
{
	value = 0;
	if (offset >= 0x1000)
		return fail(err::EOPNOTSUPP);
	if (!hw_enabled() || x2apic_mode()) {
		if (!features_.mmio_hole)
			return fail(err::EOPNOTSUPP);
		value = size >= 4 ? ~0u : (1u << (8 * size)) - 1;
		return Status();
	}
	// Any 1-, 2- or 4-byte read inside one register's 32 bits; the rest
	// is ignored (SDM 11.4.1 wants aligned 32-bit accesses; KVM is kinder).
	const u32 within = offset & 0xf;
	const u32 base = offset & ~0xfu;
	if ((size != 1 && size != 2 && size != 4) || within + size > 4 || base > 0x3f0 || !reg_readable(base))
		return Status();
	value = read_reg(base, now_ns) >> (8 * within);
	if (size < 4)
		value &= (1u << (8 * size)) - 1;
	return Status();
}

Status Lapic::msr_read(u32 msr, u64 &value, u64 now_ns) const
{
	value = 0;
	if (msr < kMsrX2apicFirst || msr > kMsrX2apicLast || !x2apic_mode())
		return fail(err::EINVAL);
	const u32 offset = (msr - kMsrX2apicFirst) << 4;
	// x2APIC has no DFR (SDM 11.12.1.2); ICR is one 64-bit MSR.
	if (offset == kDfr || offset > 0x3f0 || !reg_readable(offset))
		return fail(err::EINVAL);
	if (offset == kIcr)
		value = reg(kIcr) | u64(reg(kIcr2)) << 32;
	else
		value = read_reg(offset, now_ns);
	return Status();
}

// ---- Register writes ------------------------------------------------------------

Status Lapic::mmio_write(u32 offset, unsigned size, u32 value, u64 now_ns, LapicWriteEffects &fx)
{
	if (offset >= 0x1000)
		return fail(err::EOPNOTSUPP);
	if (!hw_enabled() || x2apic_mode())
		return features_.mmio_hole ? Status() : fail(err::EOPNOTSUPP);
	// Writes must be 32-bit and 16-byte aligned (SDM 11.4.1); KVM drops
	// the others, and writes to what is not writable, silently.
	if (size == 4 && !(offset & 0xf))
		write_reg(offset, value, now_ns, fx);
	return Status();
}

Status Lapic::msr_write(u32 msr, u64 value, u64 now_ns, LapicWriteEffects &fx)
{
	if (msr < kMsrX2apicFirst || msr > kMsrX2apicLast || !x2apic_mode())
		return fail(err::EINVAL);
	const u32 offset = (msr - kMsrX2apicFirst) << 4;
	if (offset == kIcr) {
		// SDM 11.12.9. The busy bit is reserved in x2APIC mode; KVM
		// clears it rather than faulting.
		if (value & kX2apicIcrReserved)
			return fail(err::EINVAL);
		const u32 low = u32(value) & ~kIcrBusy;
		const u32 high = u32(value >> 32);
		send_ipi(low, high, fx);
		set_reg(kIcr, low);
		set_reg(kIcr2, high);
		return Status();
	}
	if (value >> 32)
		return fail(err::EINVAL); // reserved in every other register
	return write_reg(offset, u32(value), now_ns, fx) ? Status() : fail(err::EINVAL);
}

// KVM's kvm_lapic_reg_write for everything but the x2APIC ICR: false when
// the register cannot be written (x2APIC: #GP; xAPIC: dropped).
bool Lapic::write_reg(u32 offset, u32 value, u64 now_ns, LapicWriteEffects &fx)
{
	switch (offset) {
	case kId:
		if (x2apic_mode())
			return false; // read-only in x2APIC mode (SDM 11.12.5.1)
		set_reg(kId, value & 0xff00'0000);
		fx.routing_changed = true;
		return true;
	case kTpr:
		set_reg(kTpr, value & 0xff);
		update_ppr();
		return true;
	case kEoi:
		// KVM ignores the value, in x2APIC mode too.
		fx.eoi = eoi();
		return true;
	case kLdr:
		if (x2apic_mode())
			return false; // derived from the x2APIC ID
		set_reg(kLdr, value & 0xff00'0000);
		fx.routing_changed = true;
		return true;
	case kDfr:
		if (x2apic_mode())
			return false;
		set_reg(kDfr, value | 0x0fff'ffff); // only the model, bits 31:28
		fx.routing_changed = true;
		return true;
	case kSvr:
		write_svr(value, fx);
		return true;
	case kIcr:
		// xAPIC: writing the low half sends (SDM 11.6.1). Delivery is
		// instantaneous here, so the delivery status never reads busy.
		value &= ~kIcrBusy;
		send_ipi(value, reg(kIcr2), fx);
		set_reg(kIcr, value);
		return true;
	case kIcr2:
		if (x2apic_mode())
			return false;
		set_reg(kIcr2, value & 0xff00'0000);
		return true;
	case kLvtTimer:
		if (!sw_enabled())
			value |= kLvtMasked;
		set_reg(kLvtTimer, value & (kLvtCommon | timer_mode_mask()));
		update_timer_mode();
		return true;
	case kLvtCmci: case kLvtThermal: case kLvtPerf: case kLvtLint0: case kLvtLint1: case kLvtError: {
		const int index = lvt_index(offset);
		if (u32(index) >= nr_lvt())
			return false;
		// While the APIC is software-disabled every LVT stays masked
		// (SDM 11.4.7.2).
		if (!sw_enabled())
			value |= kLvtMasked;
		set_reg(offset, value & kLvtMasks[index]);
		return true;
	}
	case kTmict:
		if (timer_.mode() == TimerMode::TscDeadline)
			return true; // ignored in TSC-deadline mode (SDM 11.5.4.1)
		set_reg(kTmict, value);
		timer_.start(value, now_ns);
		return true;
	case kTdcr:
		set_reg(kTdcr, value & 0xb);
		timer_.set_divide(value & 0xb, reg(kTmict), now_ns);
		return true;
	case kEsr:
		// A write loads ESR with the errors since the previous write
		// (SDM 11.5.3); like KVM the model detects none. x2APIC wants 0.
		if (x2apic_mode() && value)
			return false;
		set_reg(kEsr, 0);
		return true;
	case kSelfIpi:
		// x2APIC only; bits 31:8 reserved (SDM 11.12.11). A Fixed edge
		// IPI to this APIC.
		if (!x2apic_mode() || (value & ~0xffu))
			return false;
		send_ipi(1u << 18 | value, 0, fx);
		return true;
	default:
		return false; // LVR, APR, PPR, RRD, ISR, TMR, IRR, TMCCT, reserved
	}
}

void Lapic::write_svr(u32 value, LapicWriteEffects &fx)
{
	const bool was_enabled = sw_enabled();
	// Bit 12 only when LVR offers it (SDM 11.9, 11.8.5).
	const u32 mask = 0x3ff | (directed_eoi_offered() ? kSvrSuppressEoiBroadcast : 0);
	set_reg(kSvr, value & mask);
	if (was_enabled != sw_enabled())
		fx.routing_changed = true;
	if (!sw_enabled()) {
		// Software disable masks every LVT (SDM 11.4.7.2); the timer
		// keeps counting, its ticks are then lost.
		for (u32 i = 0; i < nr_lvt(); i++)
			set_reg(lvt_offset(i), reg(lvt_offset(i)) | kLvtMasked);
		update_timer_mode();
	}
}

void Lapic::update_timer_mode()
{
	const TimerMode mode = TimerMode((reg(kLvtTimer) & timer_mode_mask()) >> 17);
	if (timer_.set_mode(mode))
		set_reg(kTmict, 0);
}

void Lapic::send_ipi(u32 low, u32 high, LapicWriteEffects &fx) const
{
	fx.send_ipi = true;
	fx.ipi.dest_id = x2apic_mode() ? high : high >> 24;
	fx.ipi.vector = u8(low);
	fx.ipi.delivery_mode = (low >> 8) & 7;
	fx.ipi.logical = low & (1u << 11);
	fx.ipi.assert = low & (1u << 14);
	fx.ipi.level = low & (1u << 15);
	fx.ipi.shorthand = (low >> 18) & 3;
}

// ---- TSC deadline, timer expiry, CR8 -----------------------------------------

u64 Lapic::tsc_deadline() const
{
	if (!hw_enabled() || timer_.mode() != TimerMode::TscDeadline)
		return 0;
	return timer_.deadline();
}

void Lapic::set_tsc_deadline(u64 value, u64 now_ns, u64 guest_tsc, u32 tsc_khz)
{
	if (hw_enabled() && timer_.mode() == TimerMode::TscDeadline)
		timer_.set_deadline(value, now_ns, guest_tsc, tsc_khz);
}

bool Lapic::expire(u64 now_ns)
{
	return timer_.fire(now_ns) && deliver_lvt(Lvt::Timer);
}

void Lapic::set_cr8(u64 cr8)
{
	set_reg(kTpr, u32(cr8 & 0xf) << 4);
	update_ppr();
}

// ---- KVM_GET_LAPIC / KVM_SET_LAPIC ----------------------------------------------

Status Lapic::get_state(axvm_lapic_state &out, u64 now_ns) const
{
	static_assert(sizeof(out.regs) == sizeof(page_));
	u32 id = reg(kId);
	// KVM's kvm_apic_state_fixup: in x2APIC mode userspace sees the ID as
	// KVM_CAP_X2APIC_API asks.
	if (x2apic_mode()) {
		if (features_.x2apic_format && id != vcpu_id_)
			return fail(err::EINVAL);
		if (!features_.x2apic_format)
			id <<= 24;
	}
	__builtin_memcpy(out.regs, page_, sizeof(page_));
	const u32 tmcct = read_reg(kTmcct, now_ns);
	__builtin_memcpy(out.regs + kTmcct, &tmcct, 4);
	__builtin_memcpy(out.regs + kId, &id, 4);
	return Status();
}

namespace {

// A register of a page from userspace; each is read once.
u32 slot(const axvm_lapic_state &in, u32 offset)
{
	u32 value;
	__builtin_memcpy(&value, in.regs + offset, 4);
	return value;
}

} // namespace

Status Lapic::set_state(const axvm_lapic_state &in, u64 now_ns)
{
	// Checks first; nothing changes on an error (KVM has already stored
	// the new SVR by then).
	u32 id = slot(in, kId);
	u32 ldr;
	if (x2apic_mode()) {
		if (features_.x2apic_format && id != vcpu_id_)
			return fail(err::EINVAL);
		if (!features_.x2apic_format)
			id >>= 24; // KVM's legacy format: the ID in bits 31:24
		ldr = x2apic_ldr(id);
	} else {
		id &= 0xff00'0000;
		ldr = slot(in, kLdr) & 0xff00'0000;
	}

	// Keep what a guest could have written, as write_reg() stores it;
	// everything else (reserved and write-only slots, the upper 12 bytes
	// of each slot) reads 0. KVM copies the page as it comes.
	for (u32 &word : page_)
		word = 0;
	set_reg(kId, id);
	set_reg(kLvr, version());
	set_reg(kTpr, slot(in, kTpr) & 0xff);
	set_reg(kLdr, ldr);
	set_reg(kDfr, slot(in, kDfr) | 0x0fff'ffff);
	set_reg(kSvr, slot(in, kSvr) & (0x3ff | (directed_eoi_offered() ? kSvrSuppressEoiBroadcast : 0)));
	for (u32 i = 0; i < 8; i++) {
		set_reg(kIsr + 0x10 * i, slot(in, kIsr + 0x10 * i));
		set_reg(kTmr + 0x10 * i, slot(in, kTmr + 0x10 * i));
		set_reg(kIrr + 0x10 * i, slot(in, kIrr + 0x10 * i));
	}
	set_reg(kEsr, slot(in, kEsr) & 0xff);
	set_reg(kIcr, slot(in, kIcr) & ~kIcrBusy);
	set_reg(kIcr2, slot(in, kIcr2) & (x2apic_mode() ? ~0u : 0xff00'0000));
	for (u32 i = 0; i < nr_lvt(); i++)
		set_reg(lvt_offset(i), slot(in, lvt_offset(i)) & (i ? kLvtMasks[i] : kLvtCommon | timer_mode_mask()));
	set_reg(kTmict, slot(in, kTmict));
	set_reg(kTdcr, slot(in, kTdcr) & 0xb);
	update_ppr();

	// The timer goes on from the page's TMCCT. Entering TSC-deadline
	// mode forgets the deadline, and TMICT means nothing there (KVM's
	// apic_update_lvtt zeroes it). KVM also zeroes the new page's TMICT
	// when leaving TSC-deadline mode, dropping a restored count; the
	// model restores it.
	const TimerMode mode = TimerMode((reg(kLvtTimer) & timer_mode_mask()) >> 17);
	timer_.restore(mode, reg(kTdcr), reg(kTmict), slot(in, kTmcct), now_ns);
	if (mode == TimerMode::TscDeadline)
		set_reg(kTmict, 0);
	return Status();
}

} // namespace axvm::x86
