// SPDX-License-Identifier: GPL-2.0
// The x86 local APIC of one vCPU, as KVM's in-kernel irqchip models it
// (arch/x86/kvm/lapic.c, Linux 6.1), with the architecture from the Intel
// SDM vol. 3A, chapter 11. A pure model: no locks (the caller serializes
// every call on one vCPU's model), no host timer, no allocation; time comes
// in as arguments.
//
// The register page is the 1 KiB `axvm_lapic_state.regs` layout: each
// register in the low 4 bytes of its 16-byte slot; ICR is kept split (low
// at 0x300, destination at 0x310) in both modes, which is also how
// KVM_GET/SET_LAPIC present it.
//
// Time: `now_ns` is the host's monotonic clock (ktime_get()), never 0; a
// count of 1 at the 1 GHz APIC bus lasts `divide` ns.
#pragma once

#include "irq_message.hpp"
#include "lapic_timer.hpp"

#include <axvm/result.hpp>
#include <uapi/axvm.h>

namespace axvm::x86 {

// Register offsets in the APIC page (SDM Table 11-1).
namespace apic {
constexpr u32 kId = 0x20;
constexpr u32 kLvr = 0x30;
constexpr u32 kTpr = 0x80;
constexpr u32 kApr = 0x90;
constexpr u32 kPpr = 0xa0;
constexpr u32 kEoi = 0xb0;
constexpr u32 kRrd = 0xc0;
constexpr u32 kLdr = 0xd0;
constexpr u32 kDfr = 0xe0;
constexpr u32 kSvr = 0xf0;
constexpr u32 kIsr = 0x100;
constexpr u32 kTmr = 0x180;
constexpr u32 kIrr = 0x200;
constexpr u32 kEsr = 0x280;
constexpr u32 kLvtCmci = 0x2f0;
constexpr u32 kIcr = 0x300;
constexpr u32 kIcr2 = 0x310;
constexpr u32 kLvtTimer = 0x320;
constexpr u32 kLvtThermal = 0x330;
constexpr u32 kLvtPerf = 0x340;
constexpr u32 kLvtLint0 = 0x350;
constexpr u32 kLvtLint1 = 0x360;
constexpr u32 kLvtError = 0x370;
constexpr u32 kTmict = 0x380;
constexpr u32 kTmcct = 0x390;
constexpr u32 kTdcr = 0x3e0;
constexpr u32 kSelfIpi = 0x3f0;

// IA32_APIC_BASE (MSR 0x1b, SDM 11.4.4).
constexpr u32 kMsrApicBase = 0x1b;
constexpr u64 kBaseBsp = 1ull << 8;
constexpr u64 kBaseExtd = 1ull << 10; // x2APIC mode
constexpr u64 kBaseEnable = 1ull << 11;
constexpr u64 kDefaultBase = 0xfee0'0000;
// The x2APIC registers are MSRs 0x800 + offset / 16 (SDM 11.12.1.2).
constexpr u32 kMsrX2apicFirst = 0x800;
constexpr u32 kMsrX2apicLast = 0x8ff;
constexpr u32 kMsrTscDeadline = 0x6e0;

constexpr u32 kSvrEnable = 1u << 8;
constexpr u32 kSvrFocusOff = 1u << 9;
constexpr u32 kSvrSuppressEoiBroadcast = 1u << 12;
constexpr u32 kLvrDirectedEoi = 1u << 24;
constexpr u32 kLvtMasked = 1u << 16;
} // namespace apic

// The LVT entries, in KVM's order (LVT_TIMER ... LVT_CMCI).
enum class Lvt : u8 { Timer, Thermal, Perf, Lint0, Lint1, Error, Cmci };

// What KVM derives for one local APIC from the VM and the vCPU's CPUID
// after the vCPU exists; the defaults are KVM's before KVM_SET_CPUID2.
struct LapicFeatures {
	bool cpuid_set = false;          // KVM_SET_CPUID2 done: periodic mode programmable
	bool cpuid_x2apic = false;       // CPUID.01H:ECX[21]: APIC_BASE.EXTD may be set
	bool cpuid_tsc_deadline = false; // CPUID.01H:ECX[24]: TSC-deadline mode programmable
	bool cmci = false;               // MCG_CAP[10] (MCG_CMCI_P): a 7th LVT, LVT_CMCI
	u8 maxphyaddr = 36;              // CPUID.80000008H:EAX[7:0]; 12..52
	bool ioapic_in_kernel = false;   // full irqchip: its IOAPIC has no EOI register, so
	                                 // LVR offers no directed EOI
	bool x2apic_format = false;      // KVM_X2APIC_API_USE_32BIT_IDS
	bool lint0_reenabled = true;     // KVM_X86_QUIRK_LINT0_REENABLED
	bool mmio_hole = true;           // KVM_X86_QUIRK_LAPIC_MMIO_HOLE
};

// The vector an EOI retired, for the IOAPIC's EOI broadcast (SDM 11.8.5).
struct Eoi {
	int vector = -1;          // -1: ISR was empty, nothing to tell anyone
	bool level = false;       // its TMR bit: it was accepted level-triggered
	bool suppressed = false;  // SVR[12]: the guest EOIs the IOAPIC itself (directed EOI)

	// An IOAPIC clears Remote IRR for this vector only then; its ack
	// notifiers (and axvm's KVM_EXIT_IOAPIC_EOI in split mode, like KVM's)
	// run for any retired vector it handles.
	bool broadcast() const { return vector >= 0 && level && !suppressed; }
};

// What a register write asks of the integrator besides the model's own state.
struct LapicWriteEffects {
	bool send_ipi = false;        // an ICR or SELF_IPI write: route `ipi` (deliver_to_apics)
	IrqMessage ipi = {};
	Eoi eoi;                      // an EOI register write: see Eoi
	bool routing_changed = false; // ID, LDR, DFR or the software enable changed
};

class Lapic {
public:
	// A new vCPU's APIC after its power-on RESET (KVM's kvm_create_lapic and
	// kvm_lapic_reset(false)). vcpu_id is its x2APIC ID; reset_bsp: it is
	// the VM's boot CPU (KVM_SET_BOOT_CPU_ID), fixed for its lifetime.
	Lapic(u32 vcpu_id, bool reset_bsp);

	// KVM_SET_CPUID2, MCG_CAP, KVM_ENABLE_CAP(X2APIC_API), quirks: LVR and
	// the LVT count follow at once (KVM's kvm_apic_set_version and
	// kvm_apic_after_set_mcg_cap), the timer modes at the next LVTT write.
	// -EINVAL for a MAXPHYADDR outside 12..52; nothing changes then.
	Status configure(const LapicFeatures &features);
	const LapicFeatures &features() const { return features_; }
	u32 vcpu_id() const { return vcpu_id_; }

	// RESET (init = false: power-on, also APIC_BASE and the xAPIC ID) or
	// INIT (SDM 11.4.7.3; KVM's kvm_lapic_reset). Pending NMI and SMI are
	// dropped; a latched INIT/SIPI is the caller's (see take_init()).
	void reset(bool init);

	// ---- IA32_APIC_BASE -------------------------------------------------
	u64 apic_base() const { return apic_base_; }
	// KVM's kvm_set_apic_base: reserved bits (0-7, 9, MAXPHYADDR and up,
	// EXTD without x2APIC in CPUID) and EXTD without EN fail; so do, for
	// the guest only, x2APIC -> xAPIC and disabled -> x2APIC (SDM 11.12.5).
	// An error is #GP for a guest WRMSR, a failure for the host's.
	Status set_apic_base(u64 value, bool host_initiated);
	bool hw_enabled() const { return apic_base_ & apic::kBaseEnable; }
	bool x2apic_mode() const { return apic_base_ & apic::kBaseExtd; }
	bool sw_enabled() const { return reg(apic::kSvr) & apic::kSvrEnable; }
	// Where the xAPIC page is decoded: [mmio_base(), mmio_base() + 4 KiB),
	// in every mode (disabled and x2APIC APICs answer as a hole there).
	u64 mmio_base() const { return apic_base_ & ~0xfffull; }

	// ---- The guest's accesses ---------------------------------------------
	// xAPIC MMIO at `offset` in the page, `size` bytes (KVM's
	// apic_mmio_read/write): ok means handled; -EOPNOTSUPP means not the
	// APIC's (offset beyond the page, or disabled/x2APIC without the MMIO
	// hole quirk): pass it on. Ignored reads give 0.
	Status mmio_read(u32 offset, unsigned size, u32 &value, u64 now_ns) const;
	Status mmio_write(u32 offset, unsigned size, u32 value, u64 now_ns, LapicWriteEffects &fx);
	// RDMSR/WRMSR 0x800-0x8ff; an error means #GP (KVM's
	// kvm_x2apic_msr_read/write).
	Status msr_read(u32 msr, u64 &value, u64 now_ns) const;
	Status msr_write(u32 msr, u64 value, u64 now_ns, LapicWriteEffects &fx);
	// IA32_TSC_DEADLINE (0x6e0; no #GP): reads 0 and ignores writes unless
	// the APIC is enabled in TSC-deadline mode.
	u64 tsc_deadline() const;
	void set_tsc_deadline(u64 value, u64 now_ns, u64 guest_tsc, u32 tsc_khz);
	// MOV to/from CR8 (SDM 11.8.6): TPR[7:4].
	void set_cr8(u64 cr8);
	u64 get_cr8() const { return (reg(apic::kTpr) >> 4) & 0xf; }

	// ---- Interrupts coming in ---------------------------------------------
	// Whether this APIC is a destination of a message (KVM's
	// kvm_apic_match_dest). is_source: this APIC sent it (an IPI);
	// broadcast_quirk: KVM's rewrite of an xAPIC broadcast (0xff) to the
	// x2APIC one for non-IPI messages, on unless userspace disabled it
	// with KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK; x2apic_32bit_ids only
	// shapes how an MSI's destination was decoded, so matching, as KVM's,
	// does not depend on it. A hardware-disabled APIC is no destination.
	bool matches(u32 dest, bool logical, u8 shorthand, bool is_source, bool x2apic_32bit_ids,
		     bool broadcast_quirk) const;
	// Takes a message that matched (KVM's __apic_accept_irq): Fixed and
	// lowest priority set IRR (and TMR := trigger) if the APIC is enabled
	// and it is not a level de-assert; NMI, SMI, INIT (not a level
	// de-assert) and SIPI latch for the vCPU. ExtINT and the rest: false.
	bool accept(const IrqMessage &m);
	// May win a lowest-priority arbitration (KVM: software-enabled).
	bool lowest_priority_candidate() const { return hw_enabled() && sw_enabled(); }
	// The PIC's INTR reaches this CPU: hardware-disabled, or LVT0 unmasked ExtINT.
	bool accepts_pic_interrupts() const;
	// LVT0 unmasked in NMI mode (the PIT's NMI watchdog looks for one).
	bool lvt0_nmi_mode() const;
	// A local interrupt source fires (LINT0/1, thermal, perf, error): the
	// LVT entry's message if enabled and unmasked (kvm_apic_local_deliver).
	bool deliver_lvt(Lvt lvt);

	// ---- Interrupts going out to the vCPU ---------------------------------
	// The highest IRR vector above PPR[7:4] (SDM 11.8.3.1), -1 if none or
	// hardware-disabled.
	int highest_deliverable() const;
	// The CPU took `vector` (the INTA cycle): IRR -> ISR, PPR raised.
	// false if it was not pending in IRR (nothing changes).
	bool on_inject(u8 vector);
	// EOI (SDM 11.8.5): retires the highest ISR vector.
	Eoi eoi();
	// PPR (SDM 11.8.3.1), kept current on every TPR and ISR change.
	u32 ppr() const { return reg(apic::kPpr); }

	// NMI and SMI arrive as flags the vCPU takes; INIT and SIPI latch
	// (an INIT drops a pending SIPI; a SIPI latches its vector) until the
	// vCPU processes them as KVM's kvm_apic_accept_events does.
	bool take_nmi() { return take(nmi_); }
	bool take_smi() { return take(smi_); }
	bool init_pending() const { return init_; }
	bool sipi_pending() const { return sipi_; }
	u8 sipi_vector() const { return sipi_vector_; }
	bool take_init() { return take(init_); }
	bool take_sipi() { return take(sipi_); }
	// KVM_SET_VCPU_EVENTS (latched INIT) and KVM_SET_MP_STATE (SIPI_RECEIVED).
	void set_init_pending(bool pending) { init_ = pending; }
	void set_sipi_pending(bool pending) { sipi_ = pending; }

	// ---- Timer -------------------------------------------------------------
	u32 current_count(u64 now_ns) const { return timer_.current_count(reg(apic::kTmict), now_ns); }
	// When to call expire() next (absolute ns, never before now_ns); 0: no
	// timer. Re-read after every call that may change it.
	u64 next_expiry_ns(u64 now_ns) const { return timer_.next_expiry_ns(now_ns); }
	// The timer fired if it was due: LVTT's vector goes into IRR unless
	// masked or the APIC is disabled (then the tick is lost, as in KVM),
	// and a periodic timer re-arms. Returns whether IRR got it.
	bool expire(u64 now_ns);
	TimerMode timer_mode() const { return timer_.mode(); }

	// ---- KVM_GET_LAPIC / KVM_SET_LAPIC -----------------------------------
	// The page with the live TMCCT and, in x2APIC mode, the ID as
	// KVM_CAP_X2APIC_API says: with 32-bit IDs the x2APIC ID as is (and
	// -EINVAL if it is not the vCPU id), else KVM's legacy ID << 24.
	Status get_state(axvm_lapic_state &out, u64 now_ns) const;
	// Checks first, then replaces the registers. In x2APIC mode with
	// 32-bit IDs the ID must be the vCPU id (-EINVAL, nothing changed);
	// LDR follows the ID. Registers keep only what the guest could have
	// written; LVR and PPR are recomputed, and the timer goes on from the
	// page's TMCCT. APIC_BASE is not in the page and decides how the ID
	// reads: restore it first (KVM_SET_SREGS/MSRS before KVM_SET_LAPIC).
	Status set_state(const axvm_lapic_state &in, u64 now_ns);

	// A register as stored (0 for an offset that names none).
	u32 reg(u32 offset) const { return offset < 0x400 && !(offset & 0xf) ? page_[offset / 4] : 0; }

private:
	static bool take(bool &flag)
	{
		const bool was = flag;
		flag = false;
		return was;
	}
	void set_reg(u32 offset, u32 value) { page_[offset / 4] = value; }
	bool test_vector(u32 base, u8 vector) const;
	void set_vector(u32 base, u8 vector, bool on);
	int highest_vector(u32 base) const;

	static constexpr u32 lvt_offset(u32 index) { return index == 6 ? apic::kLvtCmci : apic::kLvtTimer + 0x10 * index; }
	u32 version() const;
	u32 nr_lvt() const { return features_.cmci ? 7 : 6; }
	u32 timer_mode_mask() const;
	bool directed_eoi_offered() const { return reg(apic::kLvr) & apic::kLvrDirectedEoi; }
	u32 xapic_id() const { return reg(apic::kId) >> 24; }
	bool reg_readable(u32 offset) const;
	u32 read_reg(u32 offset, u64 now_ns) const;
	bool write_reg(u32 offset, u32 value, u64 now_ns, LapicWriteEffects &fx);
	void write_lvt(u32 offset, u32 value);
	void write_svr(u32 value, LapicWriteEffects &fx);
	void write_base(u64 value);
	void set_x2apic_id_and_ldr();
	void update_ppr();
	void update_timer_mode();
	void send_ipi(u32 icr_low, u32 icr_high, LapicWriteEffects &fx) const;

	u32 vcpu_id_;
	bool reset_bsp_;
	LapicFeatures features_;
	u32 page_[0x400 / 4] = {};
	u64 apic_base_ = 0;
	LapicTimer timer_;
	bool nmi_ = false, smi_ = false, init_ = false, sipi_ = false;
	u8 sipi_vector_ = 0;
};

// The x2APIC LDR of an x2APIC ID (SDM 11.12.10.2): cluster in [31:16],
// one bit of 16 in [15:0].
constexpr u32 x2apic_ldr(u32 id) { return ((id >> 4) << 16) | (1u << (id & 0xf)); }

// KVM's lowest-priority arbitration, its default "vector hashing": of the n
// candidates (APICs that matched and are lowest_priority_candidate(), in
// vCPU order), the one at index vector mod n wins. Stateless and the same
// on every call, so an interrupt stays on one CPU. (KVM without vector
// hashing uses a per-vCPU count of lowest-priority interrupts taken; the
// SDM's arbitration by PPR is not modelled by KVM either.)
constexpr u32 lowest_priority_winner(u8 vector, u32 n) { return n ? vector % n : 0; }

// KVM's kvm_irq_delivery_to_apic for one message over the VM's APICs
// (`apics`, vCPU order, null entries skipped): matching, the lowest-priority
// arbitration above (a physical broadcast goes to all as Fixed), accept().
// `source` is the sending APIC of an IPI, null for IOAPIC and MSI messages.
// Returns how many APICs took it, or -1 when KVM answers -1: nothing matched
// a message its APIC map cannot resolve (shorthands other than self,
// broadcasts, logical destinations while APICs use mixed logical modes).
// `accepted` (count entries, may be null) says which took it: the vCPUs
// to kick.
int deliver_to_apics(Lapic *const *apics, u32 count, const Lapic *source, const IrqMessage &m,
		     bool x2apic_32bit_ids, bool broadcast_quirk_disabled, bool *accepted = nullptr);

} // namespace axvm::x86
