// SPDX-License-Identifier: GPL-2.0
// The local APIC model (arch/x86/irqchip/lapic.hpp) against KVM's lapic.c
// (Linux 6.1) and the SDM: Linux's bring-up sequence, priorities and EOI,
// MMIO and x2APIC MSR access, IPIs and destinations, INIT/SIPI, the timer,
// APIC_BASE and KVM_GET/SET_LAPIC.
#include "check.hpp"

#include <arch/x86/irqchip/lapic.hpp>
#include <axvm/raii.hpp>

using namespace axvm;
using namespace axvm::x86;
using namespace axvm::x86::apic;

namespace {

// now_ns is the host's monotonic clock, never 0.
constexpr u64 kT0 = 1'000'000'000;

// What a VMM gives a modern guest: x2APIC and TSC deadline in CPUID, split
// irqchip (so directed EOI is offered).
LapicFeatures modern()
{
	LapicFeatures f;
	f.cpuid_set = true;
	f.cpuid_x2apic = true;
	f.cpuid_tsc_deadline = true;
	return f;
}

Lapic *make(struct kunit *t, u32 vcpu_id, bool bsp, const LapicFeatures &f = modern())
{
	Lapic *a = new Lapic(vcpu_id, bsp);
	CHECK(t, a);
	if (a)
		CHECK(t, a->configure(f).ok());
	return a;
}

u32 rd(const Lapic &a, u32 offset, unsigned size = 4, u64 now = kT0)
{
	u32 v = 0xdead'beef;
	return a.mmio_read(offset, size, v, now).ok() ? v : 0xbad0'0bad;
}

LapicWriteEffects wr(Lapic &a, u32 offset, u32 value, u64 now = kT0)
{
	LapicWriteEffects fx;
	// Where the page is a hole or not decoded, the tests check that apart.
	static_cast<void>(a.mmio_write(offset, 4, value, now, fx));
	return fx;
}

bool gp_read(const Lapic &a, u32 msr)
{
	u64 v;
	return a.msr_read(msr, v, kT0).error() == -err::EINVAL;
}

bool gp_write(Lapic &a, u32 msr, u64 value)
{
	LapicWriteEffects fx;
	return a.msr_write(msr, value, kT0, fx).error() == -err::EINVAL;
}

u64 msr(const Lapic &a, u32 msr)
{
	u64 v = 0;
	return a.msr_read(msr, v, kT0).ok() ? v : 0xbad0'0bad'bad0'0badull;
}

IrqMessage fixed(u8 vector, bool level = false)
{
	IrqMessage m = {};
	m.vector = vector;
	m.level = level;
	m.assert = true;
	return m;
}

IrqMessage with_mode(u8 mode, u8 vector = 0, bool level = false, bool assert = true)
{
	IrqMessage m = fixed(vector, level);
	m.delivery_mode = mode;
	m.assert = assert;
	return m;
}

void enable(Lapic &a) { wr(a, kSvr, 0x1ff); }

bool in_irr(const Lapic &a, u8 v) { return (a.reg(kIrr + 0x10 * (v / 32)) >> (v % 32)) & 1; }

} // namespace

extern "C" void axvm_test_lapic_reset_and_bringup(struct kunit *t)
{
	Owned<Lapic> bsp(make(t, 0, true));
	Owned<Lapic> ap(make(t, 1, false));
	if (!bsp || !ap)
		return;
	// KVM's kvm_lapic_reset(false).
	CHECK_EQ(t, bsp->apic_base(), kDefaultBase | kBaseEnable | kBaseBsp);
	CHECK_EQ(t, ap->apic_base(), kDefaultBase | kBaseEnable);
	CHECK_EQ(t, bsp->mmio_base(), kDefaultBase);
	CHECK_EQ(t, rd(*ap, kId), 1u << 24);
	CHECK_EQ(t, rd(*ap, kLvr), 0x0105'0014u); // 6 LVTs, directed EOI (x2APIC, no in-kernel IOAPIC)
	CHECK_EQ(t, rd(*ap, kSvr), 0xffu);
	CHECK_EQ(t, rd(*ap, kDfr), 0xffff'ffffu);
	CHECK_EQ(t, rd(*ap, kLdr) | rd(*ap, kTpr) | rd(*ap, kPpr) | rd(*ap, kTdcr) | rd(*ap, kTmict), 0u);
	for (u32 off = kLvtTimer; off <= kLvtError; off += 0x10)
		CHECK_EQ(t, rd(*ap, off), kLvtMasked);
	CHECK_EQ(t, rd(*bsp, kLvtLint0), 0x700u); // LINT0_REENABLED: ExtINT on the BSP
	CHECK(t, bsp->accepts_pic_interrupts() && !ap->accepts_pic_interrupts());
	CHECK(t, !ap->sw_enabled() && ap->hw_enabled() && !ap->x2apic_mode());

	// Software-disabled: the LVTs stay masked, Fixed interrupts bounce.
	wr(*ap, kLvtLint1, 0x400);
	CHECK_EQ(t, rd(*ap, kLvtLint1), 0x1'0400u);
	CHECK(t, !ap->accept(fixed(0x40)));

	// Linux's setup_local_APIC() on an AP, in its order.
	wr(*ap, kTpr, 0);
	wr(*ap, kDfr, 0xffff'ffff);           // flat
	wr(*ap, kLdr, 0x0200'0000);           // logical ID 1 << cpu
	wr(*ap, kSvr, 0x100 | 0xff);          // enable, spurious vector 0xff
	wr(*ap, kLvtLint0, 0x1'0700);         // ExtINT, masked on APs
	wr(*ap, kLvtLint1, 0x400);            // NMI
	wr(*ap, kEsr, 0);
	wr(*ap, kEsr, 0);
	wr(*ap, kLvtError, 0xfe);
	wr(*ap, kTdcr, 0xb);                  // divide by 1
	wr(*ap, kLvtTimer, 0x2'00ec);         // periodic, LOCAL_TIMER_VECTOR
	CHECK(t, ap->sw_enabled());
	CHECK_EQ(t, rd(*ap, kSvr), 0x1ffu);
	CHECK_EQ(t, rd(*ap, kLdr), 0x0200'0000u);
	CHECK_EQ(t, rd(*ap, kLvtLint0), 0x1'0700u);
	CHECK_EQ(t, rd(*ap, kLvtLint1), 0x400u);
	CHECK_EQ(t, rd(*ap, kLvtError), 0xfeu);
	CHECK_EQ(t, rd(*ap, kEsr), 0u);
	CHECK_EQ(t, rd(*ap, kLvtTimer), 0x2'00ecu);
	CHECK(t, ap->timer_mode() == TimerMode::Periodic);
	CHECK(t, ap->accept(fixed(0x40)));
	CHECK(t, !ap->lvt0_nmi_mode());

	// Only the writable bits stick (KVM's masks).
	wr(*ap, kLvtLint1, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kLvtLint1), 0x1'f7ffu);
	wr(*ap, kLvtPerf, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kLvtPerf), 0x1'17ffu);
	wr(*ap, kLvtError, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kLvtError), 0x1'10ffu);
	wr(*ap, kLvtTimer, 0xfff9'ffff); // mode bits 0: stays one-shot-able
	CHECK_EQ(t, rd(*ap, kLvtTimer), 0x1'10ffu);
	wr(*ap, kTpr, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kTpr), 0xffu);
	wr(*ap, kTpr, 0);
	wr(*ap, kLdr, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kLdr), 0xff00'0000u);
	wr(*ap, kDfr, 0);
	CHECK_EQ(t, rd(*ap, kDfr), 0x0fff'ffffu);
	wr(*ap, kTdcr, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kTdcr), 0xbu);
	wr(*ap, kIcr2, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kIcr2), 0xff00'0000u);
	wr(*ap, kId, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kId), 0xff00'0000u);
	wr(*ap, kSvr, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kSvr), 0x13ffu); // bit 12 because LVR offers it
	// LVT0 unmasked in NMI mode: the PIT's NMI watchdog target.
	wr(*ap, kLvtLint0, 0x400);
	CHECK(t, ap->lvt0_nmi_mode());
	CHECK(t, ap->deliver_lvt(Lvt::Lint0) && ap->take_nmi());
	CHECK(t, !ap->deliver_lvt(Lvt::Cmci)); // no 7th LVT

	// Clearing the software enable masks every LVT (SDM 11.4.7.2).
	wr(*ap, kSvr, 0xff);
	for (u32 off = kLvtTimer; off <= kLvtError; off += 0x10)
		CHECK(t, rd(*ap, off) & kLvtMasked);
	CHECK(t, !ap->deliver_lvt(Lvt::Lint1));

	// A 7th LVT appears masked with MCG_CAP.CMCI_P, and LVR says so.
	LapicFeatures cmci = modern();
	cmci.cmci = true;
	CHECK(t, ap->configure(cmci).ok());
	CHECK_EQ(t, rd(*ap, kLvr), 0x0106'0014u);
	CHECK_EQ(t, rd(*ap, kLvtCmci), kLvtMasked);
	// With the in-kernel IOAPIC or without x2APIC, no directed EOI.
	LapicFeatures full = modern();
	full.ioapic_in_kernel = true;
	CHECK(t, ap->configure(full).ok());
	CHECK_EQ(t, rd(*ap, kLvr), 0x0005'0014u);
	wr(*ap, kSvr, 0xffff'ffff);
	CHECK_EQ(t, rd(*ap, kSvr), 0x3ffu);
	CHECK(t, ap->configure(LapicFeatures()).ok());
	CHECK_EQ(t, rd(*ap, kLvr), 0x0005'0014u);
}

extern "C" void axvm_test_lapic_priorities_and_eoi(struct kunit *t)
{
	Owned<Lapic> a(make(t, 0, true));
	if (!a)
		return;
	enable(*a);
	CHECK(t, a->accept(fixed(0x31)));
	CHECK(t, a->accept(fixed(0x52)));
	CHECK(t, a->accept(fixed(0x45, true)));
	CHECK(t, !a->accept(with_mode(0, 0x46, true, false))); // level de-assert
	CHECK(t, (a->reg(kTmr + 0x20) >> 5) & 1);              // 0x45 level
	CHECK_EQ(t, a->highest_deliverable(), 0x52);
	CHECK(t, !a->on_inject(0x53)); // not pending
	CHECK(t, a->on_inject(0x52));
	CHECK_EQ(t, a->ppr(), 0x50u);
	CHECK_EQ(t, rd(*a, kPpr), 0x50u);
	CHECK_EQ(t, a->highest_deliverable(), -1); // 0x45's class is below
	CHECK(t, a->accept(fixed(0x61)));
	CHECK_EQ(t, a->highest_deliverable(), 0x61);
	CHECK(t, a->on_inject(0x61));
	CHECK_EQ(t, a->ppr(), 0x60u);

	// EOI retires the highest in-service vector first.
	Eoi e = a->eoi();
	CHECK(t, e.vector == 0x61 && !e.level && !e.broadcast());
	CHECK_EQ(t, a->ppr(), 0x50u);
	CHECK_EQ(t, a->highest_deliverable(), -1);
	LapicWriteEffects fx = wr(*a, kEoi, 0x1234); // the value does not matter
	CHECK(t, fx.eoi.vector == 0x52 && !fx.send_ipi);
	CHECK_EQ(t, a->ppr(), 0u);
	CHECK_EQ(t, a->highest_deliverable(), 0x45);
	CHECK(t, a->on_inject(0x45));
	e = a->eoi();
	CHECK(t, e.vector == 0x45 && e.level && !e.suppressed && e.broadcast()); // for the IOAPIC
	CHECK_EQ(t, a->eoi().vector, -1); // nothing in service
	CHECK_EQ(t, wr(*a, kEoi, 0).eoi.vector, -1);

	// TPR and CR8 (SDM 11.8.3.1, 11.8.6).
	wr(*a, kTpr, 0x40);
	CHECK_EQ(t, a->ppr(), 0x40u);
	CHECK_EQ(t, a->get_cr8(), 4u);
	CHECK_EQ(t, a->highest_deliverable(), -1); // 0x31 is below
	a->set_cr8(0x12);                           // only bits 3:0
	CHECK_EQ(t, rd(*a, kTpr), 0x20u);
	CHECK_EQ(t, a->highest_deliverable(), 0x31);
	wr(*a, kTpr, 0x35);
	CHECK_EQ(t, a->ppr(), 0x35u);
	CHECK_EQ(t, a->highest_deliverable(), -1); // class 3 is not above PPR 0x35
	wr(*a, kTpr, 0x2f);
	CHECK_EQ(t, a->highest_deliverable(), 0x31);
	CHECK(t, a->on_inject(0x31));
	CHECK_EQ(t, a->ppr(), 0x30u); // the ISR class wins over TPR 0x2f
	wr(*a, kTpr, 0x3f);
	CHECK_EQ(t, a->ppr(), 0x3fu); // TPR's class equals ISR's: TPR
	CHECK_EQ(t, a->eoi().vector, 0x31);
	wr(*a, kTpr, 0);

	// A vector accepted edge after level loses its TMR bit.
	CHECK(t, a->accept(fixed(0x45, true)) && a->accept(fixed(0x45)));
	CHECK(t, a->on_inject(0x45));
	CHECK(t, !a->eoi().level);

	// Directed EOI: SVR[12] set, a level EOI is not broadcast.
	wr(*a, kSvr, 0x11ff);
	CHECK(t, a->accept(fixed(0x70, true)) && a->on_inject(0x70));
	e = a->eoi();
	CHECK(t, e.vector == 0x70 && e.level && e.suppressed && !e.broadcast());

	// A hardware-disabled APIC offers nothing, even with IRR bits.
	CHECK(t, a->accept(fixed(0x80)));
	CHECK(t, a->set_apic_base(kDefaultBase, false).ok());
	CHECK_EQ(t, a->highest_deliverable(), -1);
	CHECK(t, !a->accept(fixed(0x81)));
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable, false).ok());
	CHECK_EQ(t, a->highest_deliverable(), 0x80);
}

extern "C" void axvm_test_lapic_mmio(struct kunit *t)
{
	Owned<Lapic> a(make(t, 0x12, false));
	if (!a)
		return;
	enable(*a);
	// Reads: 1, 2 or 4 bytes inside one register (KVM's kvm_lapic_reg_read).
	CHECK_EQ(t, rd(*a, kId), 0x1200'0000u);
	CHECK_EQ(t, rd(*a, kId + 3, 1), 0x12u);
	CHECK_EQ(t, rd(*a, kId + 2, 2), 0x1200u);
	CHECK_EQ(t, rd(*a, kId + 1, 4), 0u); // crosses the register
	CHECK_EQ(t, rd(*a, kId + 3, 2), 0u);
	CHECK_EQ(t, rd(*a, kId, 3), 0u);
	CHECK_EQ(t, rd(*a, kId, 8), 0u);
	CHECK_EQ(t, rd(*a, kId + 4, 1), 0u); // beyond the register's 32 bits
	// Not readable: EOI, RRD, SELF_IPI, reserved slots, beyond 0x3f0.
	wr(*a, kTpr, 0x20);
	const u32 list1[] = { kEoi, kRrd, kSelfIpi, 0x40u, 0x70u, 0x2a0u, 0x3c0u, 0x400u, 0xff0u };
	for (u32 off : list1)
		CHECK_EQ(t, rd(*a, off), 0u);
	CHECK_EQ(t, rd(*a, kApr), 0u); // readable, always 0 in KVM
	CHECK_EQ(t, rd(*a, kLvtCmci), 0u);
	// Writes: only 32-bit, 16-byte aligned; read-only registers ignore them.
	LapicWriteEffects fx;
	CHECK(t, a->mmio_write(kTpr, 2, 0x30, kT0, fx).ok());
	CHECK(t, a->mmio_write(kTpr + 4, 4, 0x30, kT0, fx).ok());
	CHECK(t, a->mmio_write(kTpr, 8, 0x30, kT0, fx).ok());
	CHECK_EQ(t, rd(*a, kTpr), 0x20u);
	wr(*a, kLvr, 0);
	wr(*a, kPpr, 0x80);
	wr(*a, kIrr + 0x10, ~0u);
	wr(*a, kIsr, ~0u);
	wr(*a, kTmcct, 5);
	wr(*a, kSelfIpi, 0x40); // x2APIC only
	CHECK_EQ(t, rd(*a, kLvr), 0x0105'0014u);
	CHECK_EQ(t, rd(*a, kPpr), 0x20u);
	CHECK_EQ(t, rd(*a, kIrr + 0x10) | rd(*a, kIsr) | rd(*a, kTmcct), 0u);
	CHECK(t, !wr(*a, kSelfIpi, 0x40).send_ipi);
	// Beyond the page: not the APIC's.
	u32 v;
	CHECK_EQ(t, a->mmio_read(0x1000, 4, v, kT0).error(), -err::EOPNOTSUPP);
	CHECK_EQ(t, a->mmio_write(0x1000, 4, 0, kT0, fx).error(), -err::EOPNOTSUPP);

	// Hardware-disabled or x2APIC: the page is a hole (reads all-ones,
	// writes dropped), or not decoded without KVM_X86_QUIRK_LAPIC_MMIO_HOLE.
	CHECK(t, a->set_apic_base(kDefaultBase, false).ok());
	CHECK_EQ(t, rd(*a, kTpr), 0xffff'ffffu);
	CHECK_EQ(t, rd(*a, kTpr, 2), 0xffffu);
	CHECK_EQ(t, rd(*a, kTpr, 1), 0xffu);
	wr(*a, kTpr, 0x50);
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable, false).ok());
	CHECK_EQ(t, rd(*a, kTpr), 0x20u); // kept through the disable
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, false).ok());
	CHECK_EQ(t, rd(*a, kTpr), 0xffff'ffffu);
	LapicFeatures no_hole = modern();
	no_hole.mmio_hole = false;
	CHECK(t, a->configure(no_hole).ok());
	CHECK_EQ(t, a->mmio_read(kTpr, 4, v, kT0).error(), -err::EOPNOTSUPP);
	CHECK_EQ(t, a->mmio_write(kTpr, 4, 0, kT0, fx).error(), -err::EOPNOTSUPP);

	// CMCI readable with 7 LVTs.
	Owned<Lapic> b(make(t, 1, false));
	if (!b)
		return;
	LapicFeatures cmci = modern();
	cmci.cmci = true;
	CHECK(t, b->configure(cmci).ok());
	CHECK_EQ(t, rd(*b, kLvtCmci), kLvtMasked);
	enable(*b);
	wr(*b, kLvtCmci, 0xffff'ffff);
	CHECK_EQ(t, rd(*b, kLvtCmci), 0x1'17ffu);
}

extern "C" void axvm_test_lapic_x2apic_msrs(struct kunit *t)
{
	Owned<Lapic> a(make(t, 0x21, false));
	if (!a)
		return;
	// Every MSR #GPs while the APIC is in xAPIC mode.
	CHECK(t, gp_read(*a, 0x802) && gp_read(*a, 0x808) && gp_write(*a, 0x808, 0));
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, false).ok());
	CHECK(t, a->x2apic_mode());
	CHECK(t, gp_write(*a, 0x80f, 0x100 | 0xff) == false);
	// ID and LDR (SDM 11.12.10.2): cluster 2, bit 1.
	CHECK_EQ(t, msr(*a, 0x802), 0x21ull);
	CHECK_EQ(t, msr(*a, 0x80d), 0x0002'0002ull);
	CHECK_EQ(t, msr(*a, 0x803), 0x0105'0014ull);
	CHECK_EQ(t, msr(*a, 0x80f), 0x1ffull);
	// Readable ones.
	const u32 list2[] = { 0x802u, 0x803u, 0x808u, 0x80au, 0x80du, 0x80fu, 0x810u, 0x817u, 0x818u, 0x81fu, 0x820u,
		       0x827u, 0x828u, 0x830u, 0x832u, 0x833u, 0x834u, 0x835u, 0x836u, 0x837u, 0x838u, 0x839u, 0x83eu };
	for (u32 m : list2)
		CHECK(t, !gp_read(*a, m));
	// #GP on read: APR, EOI, RRD, DFR, ICR2, SELF_IPI, CMCI (6 LVTs), reserved, outside the range.
	const u32 list3[] = { 0x809u, 0x80bu, 0x80cu, 0x80eu, 0x831u, 0x83fu, 0x82fu, 0x800u, 0x801u, 0x804u, 0x807u, 0x829u,
		       0x83au, 0x83du, 0x840u, 0x8ffu, 0x7ffu, 0x900u };
	for (u32 m : list3)
		CHECK(t, gp_read(*a, m));
	// #GP on write: read-only and absent registers, reserved bits.
	const u32 list4[] = { 0x802u, 0x803u, 0x809u, 0x80au, 0x80cu, 0x80du, 0x80eu, 0x810u, 0x818u, 0x820u, 0x827u, 0x82fu,
		       0x831u, 0x839u, 0x800u, 0x840u, 0x8ffu, 0x900u };
	for (u32 m : list4)
		CHECK(t, gp_write(*a, m, 0));
	CHECK(t, gp_write(*a, 0x828, 1));           // ESR: only 0
	CHECK(t, gp_write(*a, 0x808, 1ull << 32));  // bits 63:32 of a 32-bit register
	CHECK(t, gp_write(*a, 0x80b, 1ull << 32));
	CHECK(t, gp_write(*a, 0x83f, 0x100));       // SELF_IPI: vector only
	const u64 list5[] = { 1ull << 13, 1ull << 16, 1ull << 17, 1ull << 20, 1ull << 31 };
	for (u64 bit : list5)
		CHECK(t, gp_write(*a, 0x830, 0x30 | bit)); // ICR reserved bits
	// Allowed writes.
	CHECK(t, !gp_write(*a, 0x808, 0x20));
	CHECK_EQ(t, msr(*a, 0x808), 0x20ull);
	CHECK_EQ(t, msr(*a, 0x80a), 0x20ull);
	CHECK(t, !gp_write(*a, 0x828, 0));
	CHECK(t, !gp_write(*a, 0x80b, 0));
	CHECK(t, !gp_write(*a, 0x80b, 7)); // KVM does not check EOI's value
	CHECK(t, !gp_write(*a, 0x83e, 3));
	CHECK_EQ(t, msr(*a, 0x83e), 3ull);
	CHECK(t, !gp_write(*a, 0x835, 0x700));
	CHECK_EQ(t, msr(*a, 0x835), 0x700ull);

	// ICR is one 64-bit register; the busy bit never reads back.
	LapicWriteEffects fx;
	CHECK(t, a->msr_write(0x830, 0x1234'5678'0000'1831ull, kT0, fx).ok());
	CHECK_EQ(t, msr(*a, 0x830), 0x1234'5678'0000'0831ull);
	CHECK(t, fx.send_ipi && fx.ipi.dest_id == 0x1234'5678 && fx.ipi.vector == 0x31 && fx.ipi.logical &&
		 fx.ipi.delivery_mode == 0 && fx.ipi.shorthand == 0);
	// SELF_IPI: a Fixed edge IPI to this APIC.
	fx = LapicWriteEffects();
	CHECK(t, a->msr_write(0x83f, 0x44, kT0, fx).ok());
	CHECK(t, fx.send_ipi && fx.ipi.shorthand == 1 && fx.ipi.vector == 0x44 && fx.ipi.delivery_mode == 0 &&
		 !fx.ipi.level);
	CHECK(t, a->accept(fx.ipi) && in_irr(*a, 0x44));
	// EOI through the MSR.
	CHECK(t, a->on_inject(0x44));
	fx = LapicWriteEffects();
	CHECK(t, a->msr_write(0x80b, 0, kT0, fx).ok());
	CHECK_EQ(t, fx.eoi.vector, 0x44);

	// A disabled APIC has no MSRs either.
	CHECK(t, a->set_apic_base(kDefaultBase, false).ok());
	CHECK(t, gp_read(*a, 0x802) && gp_write(*a, 0x808, 0));
}

extern "C" void axvm_test_lapic_icr_messages(struct kunit *t)
{
	Owned<Lapic> a(make(t, 0, true));
	if (!a)
		return;
	enable(*a);
	// Linux's INIT (level, assert) and SIPI to APIC 3.
	wr(*a, kIcr2, 0x0300'0000);
	LapicWriteEffects fx = wr(*a, kIcr, 0xc500);
	CHECK(t, fx.send_ipi);
	IrqMessage m = fx.ipi;
	CHECK(t, m.dest_id == 3 && m.delivery_mode == 5 && m.level && m.assert && !m.logical && m.shorthand == 0);
	fx = wr(*a, kIcr, 0x0608);
	m = fx.ipi;
	CHECK(t, m.dest_id == 3 && m.delivery_mode == 6 && m.vector == 8 && !m.level && !m.assert);
	// The delivery status (busy, bit 12) never reads as set.
	wr(*a, kIcr, 0x1000 | 0x4031);
	CHECK_EQ(t, rd(*a, kIcr), 0x4031u);
	// Logical destination, lowest priority, NMI.
	wr(*a, kIcr2, 0x0f00'0000);
	m = wr(*a, kIcr, 0x4931).ipi;
	CHECK(t, m.logical && m.dest_id == 0x0f && m.delivery_mode == 1 && m.vector == 0x31 && m.assert);
	m = wr(*a, kIcr, 0x4400).ipi;
	CHECK(t, m.delivery_mode == 4 && !m.logical);
	// The shorthands.
	for (u32 sh = 0; sh < 4; sh++) {
		m = wr(*a, kIcr, sh << 18 | 0x4040).ipi;
		CHECK(t, m.shorthand == sh && m.vector == 0x40);
	}
	// ICR2 alone sends nothing; its low bits are reserved.
	CHECK(t, !wr(*a, kIcr2, 0x05ff'ffff).send_ipi);
	CHECK_EQ(t, wr(*a, kIcr, 0x4040).ipi.dest_id, 5u);

	// x2APIC: the destination is 32 bits.
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, false).ok());
	fx = LapicWriteEffects();
	CHECK(t, a->msr_write(0x830, 0x0000'0100'000c'4020ull, kT0, fx).ok());
	CHECK(t, fx.ipi.dest_id == 0x100 && fx.ipi.shorthand == 3 && fx.ipi.assert);
}

extern "C" void axvm_test_lapic_destinations(struct kunit *t)
{
	Owned<Lapic> x(make(t, 1, false));
	Owned<Lapic> hot(make(t, 0x101, false)); // an ID xAPIC cannot name
	Owned<Lapic> x2(make(t, 0x21, false));
	if (!x || !hot || !x2)
		return;
	auto phys = [](const Lapic &a, u32 dest, bool quirk = false) {
		return a.matches(dest, false, 0, false, false, quirk);
	};
	auto logical = [](const Lapic &a, u32 dest, bool quirk = false) {
		return a.matches(dest, true, 0, false, true, quirk);
	};
	// Physical xAPIC (SDM 11.6.2.1).
	CHECK(t, phys(*x, 1) && !phys(*x, 2) && phys(*x, 0xff) && !phys(*x, 0x101));
	// KVM's hot-plug rule: beyond 0xff the x2APIC ID counts, in xAPIC mode too.
	CHECK(t, phys(*hot, 0x101) && phys(*hot, 1) && !phys(*hot, 0x201));
	// Logical flat: one bit per APIC.
	enable(*x);
	wr(*x, kLdr, 0x0200'0000);
	CHECK(t, logical(*x, 0x02) && logical(*x, 0x0f) && !logical(*x, 0x01) && logical(*x, 0xff));
	// Logical cluster: cluster 2, member bit 0.
	wr(*x, kDfr, 0x0fff'ffff);
	wr(*x, kLdr, 0x2100'0000);
	CHECK(t, logical(*x, 0x21) && logical(*x, 0x23) && !logical(*x, 0x11) && !logical(*x, 0x22) &&
		 logical(*x, 0xff));
	// Any other DFR model never matches (KVM).
	wr(*x, kDfr, 0x5fff'ffff);
	CHECK(t, !logical(*x, 0x21) && logical(*x, 0xff));
	wr(*x, kDfr, 0xffff'ffff);
	// A guest-chosen xAPIC ID counts for physical destinations.
	wr(*x, kId, 0x0700'0000);
	CHECK(t, phys(*x, 7) && !phys(*x, 1));

	// x2APIC: 32-bit physical IDs, broadcast 0xffffffff, cluster LDR.
	CHECK(t, x2->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, false).ok());
	CHECK(t, phys(*x2, 0x21) && !phys(*x2, 0x22) && phys(*x2, 0xffff'ffff));
	CHECK(t, !phys(*x2, 0xff) && phys(*x2, 0xff, true)); // the broadcast quirk
	CHECK(t, logical(*x2, 0x0002'0002) && logical(*x2, 0x0002'0003) && !logical(*x2, 0x0001'0002) &&
		 !logical(*x2, 0x0002'0001) && logical(*x2, 0xffff'ffff) && !logical(*x2, 0xff) &&
		 logical(*x2, 0xff, true));
	// The 32-bit-ID flag does not change matching (KVM's neither).
	CHECK(t, x2->matches(0x21, false, 0, false, true, false) == x2->matches(0x21, false, 0, false, false, false));

	// Shorthands; a software-disabled APIC still matches (INIT reaches it).
	Owned<Lapic> off(make(t, 9, false));
	if (!off)
		return;
	CHECK(t, off->matches(0, false, 1, true, false, false) && !off->matches(0, false, 1, false, false, false));
	CHECK(t, off->matches(0, false, 2, true, false, false) && off->matches(0, false, 2, false, false, false));
	CHECK(t, !off->matches(0, false, 3, true, false, false) && off->matches(0, false, 3, false, false, false));
	CHECK(t, off->matches(9, false, 0, false, false, false));
	// A hardware-disabled APIC is no destination at all.
	CHECK(t, off->set_apic_base(kDefaultBase, false).ok());
	CHECK(t, !off->matches(9, false, 0, false, false, false) && !off->matches(0, false, 2, false, false, false));
}

extern "C" void axvm_test_lapic_routing(struct kunit *t)
{
	Lapic *apics[4] = {};
	for (u32 i = 0; i < 4; i++) {
		apics[i] = make(t, i, i == 0);
		if (!apics[i])
			goto out;
		enable(*apics[i]);
		wr(*apics[i], kLdr, (1u << i) << 24); // flat, as Linux sets it
	}
	{
		IrqMessage m = fixed(0x30);
		m.dest_id = 2;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 1);
		CHECK(t, in_irr(*apics[2], 0x30) && !in_irr(*apics[1], 0x30));
		m.dest_id = 9; // nobody: KVM's map answers 0
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 0);
		m.dest_id = 0xff;
		m.vector = 0x31;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 4);

		// Lowest priority: vector hashing over the candidates, in vCPU order.
		m = with_mode(1, 0x33);
		m.logical = true;
		m.dest_id = 0x0f;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 1);
		CHECK(t, in_irr(*apics[3], 0x33) && !in_irr(*apics[0], 0x33)); // 0x33 % 4 = 3
		m.vector = 0x34;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 1);
		CHECK(t, in_irr(*apics[0], 0x34));
		wr(*apics[1], kSvr, 0xff); // not a candidate while software-disabled
		m.vector = 0x35;           // 0x35 % 3 = 2: the third of 0, 2, 3
		bool won[4] = {};
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false, won), 1);
		CHECK(t, !won[0] && !won[1] && !won[2] && won[3]);
		CHECK(t, in_irr(*apics[3], 0x35) && !in_irr(*apics[2], 0x35));
		// A physical broadcast goes to all, as Fixed.
		m.logical = false;
		m.dest_id = 0xff;
		m.vector = 0x36;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 3); // APIC 1 refuses
		enable(*apics[1]);

		// IPIs: shorthands from APIC 0; `accepted` names the vCPUs to kick.
		m = fixed(0x40);
		m.shorthand = 3;
		bool took[4] = { true, false, false, false };
		CHECK_EQ(t, deliver_to_apics(apics, 4, apics[0], m, false, false, took), 3);
		CHECK(t, !took[0] && took[1] && took[2] && took[3]);
		CHECK(t, !in_irr(*apics[0], 0x40) && in_irr(*apics[1], 0x40));
		m.shorthand = 1;
		m.vector = 0x41;
		CHECK_EQ(t, deliver_to_apics(apics, 4, apics[0], m, false, false, took), 1);
		CHECK(t, took[0] && !took[1] && !took[2] && !took[3]);
		CHECK(t, in_irr(*apics[0], 0x41) && !in_irr(*apics[1], 0x41));
		m.shorthand = 2;
		m.delivery_mode = 4; // NMI to all
		CHECK_EQ(t, deliver_to_apics(apics, 4, apics[0], m, false, false), 4);
		CHECK(t, apics[0]->take_nmi() && apics[3]->take_nmi() && !apics[3]->take_nmi());

		// No logical match while all use flat: 0; with mixed models KVM's
		// map gives up and the answer is -1.
		m = fixed(0x42);
		m.logical = true;
		m.dest_id = 0x10;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 0);
		wr(*apics[3], kDfr, 0x0fff'ffff);
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), -1);
		// A broadcast that finds nobody: -1.
		for (Lapic *a : apics)
			CHECK(t, a->set_apic_base(kDefaultBase, false).ok());
		m.logical = false;
		m.dest_id = 0xff;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), -1);
		m.dest_id = 1;
		CHECK_EQ(t, deliver_to_apics(apics, 4, nullptr, m, false, false), 0);
		CHECK_EQ(t, lowest_priority_winner(7, 0), 0u);
	}
out:
	for (Lapic *a : apics)
		delete a;
}

extern "C" void axvm_test_lapic_init_sipi(struct kunit *t)
{
	Owned<Lapic> a(make(t, 2, false));
	if (!a)
		return;
	// Taken while software-disabled; INIT level de-assert is ignored.
	CHECK(t, !a->accept(with_mode(5, 0, true, false)));
	CHECK(t, !a->init_pending());
	CHECK(t, a->accept(with_mode(5, 0, true, true)));
	CHECK(t, a->init_pending() && !a->sipi_pending());
	CHECK(t, a->accept(with_mode(6, 0x9a)));
	CHECK(t, a->sipi_pending() && a->sipi_vector() == 0x9a);
	CHECK(t, a->accept(with_mode(6, 0x9b)));
	CHECK_EQ(t, a->sipi_vector(), 0x9b);
	// A second INIT drops the SIPI (KVM: pending_events = INIT).
	CHECK(t, a->accept(with_mode(5)));
	CHECK(t, a->init_pending() && !a->sipi_pending());
	CHECK(t, a->take_init() && !a->take_init());
	CHECK(t, a->accept(with_mode(6, 0x10)) && a->take_sipi() && !a->take_sipi());
	// NMI and SMI are flags; ExtINT and remote read are not taken here.
	CHECK(t, a->accept(with_mode(4)) && a->accept(with_mode(4)) && a->accept(with_mode(2)));
	CHECK(t, a->take_nmi() && !a->take_nmi() && a->take_smi() && !a->take_smi());
	CHECK(t, !a->accept(with_mode(7, 0x20)) && !a->accept(with_mode(3)));

	// INIT reset: registers back, APIC_BASE and the ID kept; a SIPI that
	// came after the INIT survives it (the vCPU then takes it).
	enable(*a);
	wr(*a, kId, 0x0800'0000);
	wr(*a, kTpr, 0x30);
	wr(*a, kLdr, 0x0400'0000);
	CHECK(t, a->accept(fixed(0x50)) && a->on_inject(0x50));
	CHECK(t, a->set_apic_base(0xfed0'0000 | kBaseEnable, false).ok());
	CHECK(t, a->accept(with_mode(4)) && a->accept(with_mode(6, 0x12)));
	a->reset(true);
	CHECK_EQ(t, a->apic_base(), 0xfed0'0000ull | kBaseEnable);
	CHECK_EQ(t, rd(*a, kId), 0x0800'0000u);
	CHECK_EQ(t, rd(*a, kSvr) | rd(*a, kTpr) << 8 | rd(*a, kLdr) | rd(*a, kIsr + 0x20), 0xffu);
	CHECK(t, !a->take_nmi() && a->sipi_pending() && a->sipi_vector() == 0x12);
	// INIT in x2APIC mode keeps the mode, the ID and the LDR.
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, false).ok());
	a->reset(true);
	CHECK(t, a->x2apic_mode() && msr(*a, 0x802) == 2 && msr(*a, 0x80d) == x2apic_ldr(2));
	// RESET: the power-on APIC_BASE (EXTD off), the xAPIC ID, nothing latched.
	a->reset(false);
	CHECK_EQ(t, a->apic_base(), kDefaultBase | kBaseEnable);
	CHECK_EQ(t, rd(*a, kId), 0x0200'0000u);
	CHECK_EQ(t, rd(*a, kLdr), 0u);
	CHECK(t, !a->sipi_pending() && !a->init_pending());
}

extern "C" void axvm_test_lapic_timer_oneshot_periodic(struct kunit *t)
{
	Owned<Lapic> a(make(t, 0, true));
	if (!a)
		return;
	enable(*a);
	// One-shot, divide by 16: 1000 counts are 16 us.
	wr(*a, kLvtTimer, 0x30);
	wr(*a, kTdcr, 0x3);
	wr(*a, kTmict, 1000, kT0);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kT0 + 16'000);
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 16), 999u);
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 8'000), 500u);
	CHECK_EQ(t, a->current_count(kT0 + 15'999), 0u);
	CHECK(t, !a->expire(kT0 + 15'999) && !in_irr(*a, 0x30));
	CHECK(t, a->expire(kT0 + 16'000) && in_irr(*a, 0x30));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 16'000), 0ull);
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 16'001), 0u); // a finished one-shot reads 0
	CHECK(t, !a->expire(kT0 + 20'000));
	// A late expiry: next_expiry_ns is never in the past.
	wr(*a, kTmict, 10, kT0);
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 500), kT0 + 500);

	// TDCR mid-count: the rest goes on at the new rate.
	wr(*a, kTdcr, 0x0);            // by 2
	wr(*a, kTmict, 1000, kT0);     // 2000 ns
	wr(*a, kTdcr, 0x2, kT0 + 1000); // by 8: 1000 ns left become 4000
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 1000), kT0 + 5000);
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 1000), 500u);
	// TMICT 0 stops it.
	wr(*a, kTmict, 0, kT0 + 1000);
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 1000), 0ull);
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 1000), 0u);

	// Periodic at 1.6 ms: re-arms from the previous target.
	wr(*a, kTdcr, 0x3);
	wr(*a, kLvtTimer, 0x2'0031);
	CHECK(t, a->timer_mode() == TimerMode::Periodic);
	wr(*a, kTmict, 100'000, kT0);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kT0 + 1'600'000);
	CHECK(t, a->expire(kT0 + 1'600'100) && in_irr(*a, 0x31));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 1'600'100), kT0 + 3'200'000);
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 2'400'000), 50'000u);
	// Past the target before its expiry is taken: reloaded, 1.2 ms left.
	CHECK_EQ(t, rd(*a, kTmcct, 4, kT0 + 3'600'000), 75'000u);
	// Missed periods are not caught up: one tick now, then from now.
	CHECK(t, a->expire(kT0 + 10'000'000));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 10'000'000), kT0 + 10'000'000);
	CHECK(t, a->expire(kT0 + 10'000'000));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 10'000'000), kT0 + 11'600'000);
	// Masked: the tick is lost, the timer goes on.
	wr(*a, kLvtTimer, 0x3'0031);
	CHECK(t, !a->expire(kT0 + 11'600'000));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 11'600'000), kT0 + 13'200'000);

	// KVM's 200 us floor for periodic timers (min_timer_period_us).
	wr(*a, kLvtTimer, 0x2'0032);
	wr(*a, kTdcr, 0xb); // by 1
	wr(*a, kTmict, 1000, kT0);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kT0 + kLapicMinPeriodNs);
	CHECK(t, a->expire(kT0 + 200'000));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 200'000), kT0 + 400'000);
	// A one-shot count is not clamped; becoming periodic clamps its period
	// and keeps the running expiry.
	wr(*a, kLvtTimer, 0x32);
	wr(*a, kTmict, 1000, kT0);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kT0 + 1000);
	wr(*a, kLvtTimer, 0x2'0032, kT0 + 10);
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 10), kT0 + 1000);
	CHECK(t, a->expire(kT0 + 1000));
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 1000), kT0 + 201'000);

	// A software-disabled APIC masks LVTT: the ticks are lost.
	wr(*a, kSvr, 0xff);
	CHECK(t, !a->expire(kT0 + 201'000));

	// Before KVM_SET_CPUID2 only one-shot is programmable.
	Owned<Lapic> b(make(t, 1, false, LapicFeatures()));
	if (!b)
		return;
	enable(*b);
	wr(*b, kLvtTimer, 0x6'0030);
	CHECK_EQ(t, rd(*b, kLvtTimer), 0x30u);
	CHECK(t, b->timer_mode() == TimerMode::OneShot);
}

extern "C" void axvm_test_lapic_timer_tsc_deadline(struct kunit *t)
{
	Owned<Lapic> a(make(t, 0, true));
	if (!a)
		return;
	enable(*a);
	constexpr u32 kKhz = 2'000'000; // 2 GHz
	wr(*a, kTmict, 5000);
	// Entering TSC-deadline mode stops the count and zeroes TMICT.
	wr(*a, kLvtTimer, 0x4'0040);
	CHECK(t, a->timer_mode() == TimerMode::TscDeadline);
	CHECK_EQ(t, rd(*a, kTmict), 0u);
	CHECK_EQ(t, a->next_expiry_ns(kT0), 0ull);
	wr(*a, kTmict, 77); // ignored in this mode
	CHECK_EQ(t, rd(*a, kTmict), 0u);
	// 2,000,000 cycles at 2 GHz: 1 ms.
	a->set_tsc_deadline(3'000'000, kT0, 1'000'000, kKhz);
	CHECK_EQ(t, a->tsc_deadline(), 3'000'000ull);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kT0 + 1'000'000);
	CHECK_EQ(t, rd(*a, kTmcct), 0u);
	CHECK(t, !a->expire(kT0 + 999'999));
	CHECK(t, a->expire(kT0 + 1'000'000) && in_irr(*a, 0x40));
	CHECK_EQ(t, a->tsc_deadline(), 0ull); // reads 0 once fired
	CHECK_EQ(t, a->next_expiry_ns(kT0 + 1'000'000), 0ull);
	// A deadline already passed is due now.
	a->set_tsc_deadline(500, kT0, 1000, kKhz);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kT0);
	CHECK(t, a->expire(kT0));
	// 0 disarms; without a TSC rate the value is kept, nothing armed.
	a->set_tsc_deadline(5'000'000, kT0, 0, kKhz);
	a->set_tsc_deadline(0, kT0, 0, kKhz);
	CHECK(t, a->next_expiry_ns(kT0) == 0 && a->tsc_deadline() == 0);
	a->set_tsc_deadline(5'000'000, kT0, 0, 0);
	CHECK(t, a->next_expiry_ns(kT0) == 0 && a->tsc_deadline() == 5'000'000);
	// A deadline beyond what ktime_t holds is capped, not wrapped.
	a->set_tsc_deadline(~0ull, kT0, 0, 1);
	CHECK_EQ(t, a->next_expiry_ns(kT0), kLapicMaxTargetNs);
	// Leaving the mode forgets the deadline; the MSR reads 0 outside it.
	wr(*a, kLvtTimer, 0x40);
	CHECK_EQ(t, a->tsc_deadline(), 0ull);
	a->set_tsc_deadline(3'000'000, kT0, 0, kKhz); // ignored
	wr(*a, kLvtTimer, 0x4'0040);
	CHECK(t, a->tsc_deadline() == 0 && a->next_expiry_ns(kT0) == 0);
	// Hardware-disabled: the MSR reads 0 and ignores writes.
	CHECK(t, a->set_apic_base(kDefaultBase, false).ok());
	a->set_tsc_deadline(3'000'000, kT0, 0, kKhz);
	CHECK(t, a->tsc_deadline() == 0 && a->next_expiry_ns(kT0) == 0);

	// The 96-bit arithmetic behind it.
	CHECK_EQ(t, mul_div_u64(1ull << 63, 1'000'000, 1'000'000), 1ull << 63);
	CHECK_EQ(t, mul_div_u64(~0ull, 1'000'000, 1), ~0ull);
	CHECK_EQ(t, mul_div_u64(~0ull, 1'000'000, 1'000'000), ~0ull);
	CHECK_EQ(t, mul_div_u64(3, 1'000'000, 7), 428'571ull);
	CHECK_EQ(t, mul_div_u64(0x1234'5678'9abc'def0ull, 1'000'000, 2'500'000), 0x0748'2296'a44b'8c60ull);
}

extern "C" void axvm_test_lapic_apic_base(struct kunit *t)
{
	Owned<Lapic> a(make(t, 5, false));
	if (!a)
		return;
	const u64 en = kDefaultBase | kBaseEnable;
	// Reserved bits: 0-7, 9, MAXPHYADDR (36) and up; EXTD without EN.
	const u64 list6[] = { en | 1, en | 0x80, en | 0x200, en | 1ull << 36, en | 1ull << 63, kDefaultBase | kBaseExtd };
	for (u64 bad : list6)
		CHECK_EQ(t, a->set_apic_base(bad, true).error(), -err::EINVAL);
	CHECK(t, a->set_apic_base(en | 1ull << 35 | kBaseBsp, false).ok());
	CHECK_EQ(t, a->mmio_base(), kDefaultBase | 1ull << 35);
	CHECK(t, a->set_apic_base(en, false).ok());
	// The guest: xAPIC -> x2APIC, x2APIC -> disabled -> xAPIC; not x2APIC
	// -> xAPIC, nor disabled -> x2APIC (SDM 11.12.5).
	enable(*a);
	wr(*a, kTpr, 0x20);
	wr(*a, kId, 0x0900'0000);
	CHECK(t, a->set_apic_base(en | kBaseExtd, false).ok());
	CHECK(t, msr(*a, 0x802) == 5 && msr(*a, 0x80d) == 0x20);
	CHECK_EQ(t, a->set_apic_base(en, false).error(), -err::EINVAL);
	CHECK(t, a->x2apic_mode());
	CHECK(t, a->set_apic_base(kDefaultBase, false).ok());
	CHECK(t, !a->hw_enabled() && !a->x2apic_mode());
	CHECK_EQ(t, a->reg(kTpr), 0x20u); // KVM resets nothing on disable
	CHECK(t, !a->accept(fixed(0x60)) && a->accepts_pic_interrupts());
	CHECK_EQ(t, a->set_apic_base(en | kBaseExtd, false).error(), -err::EINVAL);
	CHECK(t, a->set_apic_base(en, false).ok());
	CHECK_EQ(t, rd(*a, kId), 0x0500'0000u); // re-enabled: the xAPIC ID again
	// The host may do what the guest may not.
	CHECK(t, a->set_apic_base(en | kBaseExtd, true).ok());
	CHECK(t, a->set_apic_base(en, true).ok());
	CHECK(t, a->set_apic_base(kDefaultBase, true).ok());
	CHECK(t, a->set_apic_base(en | kBaseExtd, true).ok());
	CHECK(t, msr(*a, 0x802) == 5);
	// No x2APIC in CPUID: EXTD is reserved, for the host too.
	Owned<Lapic> b(make(t, 6, false, LapicFeatures()));
	if (!b)
		return;
	CHECK_EQ(t, b->set_apic_base(en | kBaseExtd, true).error(), -err::EINVAL);
	CHECK_EQ(t, b->apic_base(), en);
	// MAXPHYADDR bounds the base; configure() refuses nonsense.
	LapicFeatures f;
	f.maxphyaddr = 46;
	CHECK(t, b->configure(f).ok());
	CHECK(t, b->set_apic_base(en | 1ull << 45, false).ok());
	f.maxphyaddr = 53;
	CHECK_EQ(t, b->configure(f).error(), -err::EINVAL);
	f.maxphyaddr = 11;
	CHECK_EQ(t, b->configure(f).error(), -err::EINVAL);
	CHECK_EQ(t, b->features().maxphyaddr, 46);
}

extern "C" void axvm_test_lapic_state(struct kunit *t)
{
	Owned<Lapic> a(make(t, 3, false));
	Owned<Lapic> b(make(t, 3, false));
	Owned<axvm_lapic_state> s(new axvm_lapic_state);
	Owned<axvm_lapic_state> s2(new axvm_lapic_state);
	if (!a || !b || !s || !s2)
		return;
	auto slot = [](const axvm_lapic_state &st, u32 offset) {
		u32 v;
		__builtin_memcpy(&v, st.regs + offset, 4);
		return v;
	};
	auto put = [](axvm_lapic_state &st, u32 offset, u32 v) { __builtin_memcpy(st.regs + offset, &v, 4); };
	auto same = [](const axvm_lapic_state &x, const axvm_lapic_state &y) {
		for (u32 i = 0; i < sizeof(x.regs); i++)
			if (x.regs[i] != y.regs[i])
				return false;
		return true;
	};

	// xAPIC round trip with a running periodic timer.
	enable(*a);
	wr(*a, kTpr, 0x20);
	wr(*a, kLdr, 0x0800'0000);
	wr(*a, kLvtLint1, 0x400);
	wr(*a, kTdcr, 0x1); // by 4
	wr(*a, kLvtTimer, 0x2'00ec);
	wr(*a, kTmict, 1'000'000, kT0); // 4 ms
	CHECK(t, a->accept(fixed(0x51, true)) && a->on_inject(0x51) && a->accept(fixed(0x33)));
	const u64 t1 = kT0 + 1'000'000;
	CHECK(t, a->get_state(*s, t1).ok());
	CHECK_EQ(t, slot(*s, kTmcct), 750'000u);
	CHECK_EQ(t, slot(*s, kPpr), 0x50u);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK(t, b->get_state(*s2, t1).ok());
	CHECK(t, same(*s, *s2));
	CHECK_EQ(t, b->next_expiry_ns(t1), kT0 + 4'000'000);
	CHECK(t, b->expire(kT0 + 4'000'000));
	CHECK_EQ(t, b->next_expiry_ns(kT0 + 4'000'000), kT0 + 8'000'000); // then full periods
	CHECK_EQ(t, b->eoi().vector, 0x51);

	// TMCCT 0: a periodic timer waits a full period, a one-shot one is due.
	put(*s, kTmcct, 0);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK_EQ(t, b->next_expiry_ns(t1), t1 + 4'000'000);
	put(*s, kLvtTimer, 0xec);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK_EQ(t, b->next_expiry_ns(t1), t1);
	// More than TMICT: counts from TMICT. TMICT 0: no timer.
	put(*s, kTmcct, 2'000'000);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK_EQ(t, b->next_expiry_ns(t1), t1 + 4'000'000);
	put(*s, kTmict, 0);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK_EQ(t, b->next_expiry_ns(t1), 0ull);

	// x2APIC without KVM_X2APIC_API_USE_32BIT_IDS: the ID is id << 24.
	CHECK(t, a->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, false).ok());
	CHECK(t, b->set_apic_base(kDefaultBase | kBaseEnable | kBaseExtd, true).ok());
	CHECK(t, a->get_state(*s, t1).ok());
	CHECK_EQ(t, slot(*s, kId), 3u << 24);
	CHECK_EQ(t, slot(*s, kLdr), x2apic_ldr(3));
	put(*s, kLdr, 0xdead'beef); // recomputed from the ID
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK(t, msr(*b, 0x802) == 3 && msr(*b, 0x80d) == x2apic_ldr(3));
	// ICR: split in the page, one MSR for the guest.
	put(*s, kIcr, 0x4031);
	put(*s, kIcr2, 0x0001'0000);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK_EQ(t, msr(*b, 0x830), 0x0001'0000'0000'4031ull);
	// With 32-bit IDs: the ID as is, and only the vCPU's own.
	LapicFeatures f = modern();
	f.x2apic_format = true;
	CHECK(t, a->configure(f).ok() && b->configure(f).ok());
	CHECK(t, a->get_state(*s, t1).ok());
	CHECK_EQ(t, slot(*s, kId), 3u);
	wr(*b, kTpr, 0); // (MMIO is a hole in x2APIC mode: no effect)
	CHECK(t, !gp_write(*b, 0x808, 0x10));
	put(*s, kId, 4);
	put(*s, kTpr, 0x70);
	CHECK_EQ(t, b->set_state(*s, t1).error(), -err::EINVAL);
	CHECK_EQ(t, msr(*b, 0x808), 0x10ull); // nothing changed
	put(*s, kId, 3);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK_EQ(t, msr(*b, 0x808), 0x70ull);
	// A legacy-format ID that is not the vCPU's cannot be read back with
	// 32-bit IDs (KVM's GET fails the same way).
	CHECK(t, b->configure(modern()).ok());
	put(*s, kId, 7u << 24);
	CHECK(t, b->set_state(*s, t1).ok());
	CHECK(t, b->configure(f).ok());
	CHECK_EQ(t, b->get_state(*s2, t1).error(), -err::EINVAL);

	// A hostile page: every byte 0xff.
	Owned<Lapic> c(make(t, 3, false));
	if (!c)
		return;
	for (char &byte : s->regs)
		byte = char(0xff);
	CHECK(t, c->set_state(*s, t1).ok());
	CHECK_EQ(t, c->reg(kLvr), 0x0105'0014u);      // KVM's version, always
	CHECK_EQ(t, c->reg(kId), 0xff00'0000u);
	CHECK_EQ(t, c->reg(kSvr), 0x13ffu);
	CHECK_EQ(t, c->reg(kPpr), 0xffu);            // recomputed: TPR 0xff
	CHECK_EQ(t, c->reg(kIcr), 0xffff'efffu);     // no busy bit
	CHECK_EQ(t, c->reg(kLvtTimer), 0x7'10ffu);   // mode 3: reserved, no timer
	CHECK(t, c->timer_mode() == TimerMode::Reserved && c->next_expiry_ns(t1) == 0);
	CHECK_EQ(t, c->reg(kLvtLint0), 0x1'f7ffu);
	CHECK_EQ(t, c->reg(kTdcr), 0xbu);
	CHECK_EQ(t, c->reg(kEsr), 0xffu);
	wr(*c, kEsr, 0); // write-then-read: no error since the last write
	CHECK_EQ(t, c->reg(kEsr), 0u);
	const u32 list7[] = { kApr, kEoi, kRrd, kTmcct, kSelfIpi, kLvtCmci, 0x40u, 0x3c0u };
	for (u32 off : list7)
		CHECK_EQ(t, c->reg(off), 0u);
	CHECK(t, c->get_state(*s2, t1).ok());
	bool padding_zero = true;
	for (u32 off = 0; off < 0x400; off += 0x10)
		for (u32 i = 4; i < 16; i++)
			padding_zero = padding_zero && s2->regs[off + i] == 0;
	CHECK(t, padding_zero);
	CHECK_EQ(t, c->highest_deliverable(), -1); // every class is at or below PPR 0xff
	CHECK_EQ(t, c->eoi().vector, 255);
	// The same page with a sane LVTT: TMCCT beyond TMICT counts from TMICT.
	put(*s, kLvtTimer, 0x2'0020);
	CHECK(t, c->set_state(*s, t1).ok());
	CHECK_EQ(t, c->next_expiry_ns(t1), t1 + 0xffff'ffffull); // divide by 1
}
