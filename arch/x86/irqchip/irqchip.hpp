// SPDX-License-Identifier: GPL-2.0
// A VM's in-kernel interrupt controllers, as KVM wires them (x86.c,
// irq_comm.c, i8254.c): with KVM_CREATE_IRQCHIP a PIC pair, an IOAPIC and
// GSI routing, with KVM_CAP_SPLIT_IRQCHIP routing alone (the PIC and IOAPIC
// are userspace's), and in both a local APIC per vCPU (X86Vcpu keeps its
// own) and, with KVM_CREATE_PIT2, an i8254.
//
// One lock covers all of it, the local APICs included: every model call
// happens with it held, from the vCPU threads (exits, injection), the VM
// ioctls, irqfds and the PIT's work. It is a spinlock no hard interrupt
// takes: timer callbacks only set flags, kick and queue work.
#pragma once

#include "ioapic.hpp"
#include "lapic.hpp"
#include "pic.hpp"
#include "pit.hpp"
#include "routing.hpp"

#include <axvm/boundary.h>
#include <axvm/raii.hpp>

namespace axvm {
class Vm;
}

namespace axvm::x86 {

class X86Vcpu;

class Irqchip final : public IrqSink, public IrqNotifier {
public:
	// KVM_CREATE_IRQCHIP (Kernel) or KVM_ENABLE_CAP(SPLIT_IRQCHIP) (Split).
	static Result<Irqchip *> create(Vm &vm, IrqchipMode mode);
	~Irqchip();
	Irqchip(const Irqchip &) = delete;
	Irqchip &operator=(const Irqchip &) = delete;

	IrqchipMode mode() const { return mode_; }
	// The PIC and IOAPIC are in the kernel too (KVM's irqchip_kernel()).
	bool full() const { return mode_ == IrqchipMode::Kernel; }

	// The lock, for X86Vcpu's calls into its local APIC and here.
	class Guard : public SpinGuard {
	public:
		explicit Guard(Irqchip &chip) : SpinGuard(chip.lock_) {}
	};

	// ---- VM settings (the VM's lock held) ----
	// KVM_CAP_X2APIC_API: the bits only ever turn on.
	void set_x2apic_api(u32 flags) { x2apic_api_ |= flags; }
	bool x2apic_format() const { return x2apic_api_ & AXVM_X2APIC_API_USE_32BIT_IDS; }
	bool broadcast_quirk_disabled() const { return x2apic_api_ & AXVM_X2APIC_API_DISABLE_BROADCAST_QUIRK; }
	// KVM_CAP_SPLIT_IRQCHIP's args[0]: GSIs 0 to @n - 1 are userspace's
	// IOAPIC pins, whose level-triggered EOIs exit.
	void set_reserved_ioapic_pins(u32 n) { reserved_ioapic_pins_ = n; }

	// ---- VM ioctls (the VM's lock held; they take the irqchip lock) ----
	// KVM_IRQ_LINE(_STATUS): the line of @gsi from userspace's source;
	// KVM's status (sum of the routes' results, -1 with none).
	int irq_line(u32 gsi, bool level, bool line_status);
	// KVM_SIGNAL_MSI: the delivery count (KVM's kvm_send_userspace_msi).
	Result<int> signal_msi(const axvm_msi &msi);
	// KVM_SET_GSI_ROUTING with @r's @nr entries (the glue checked the size).
	Status set_routing(const axvm_irq_routing &r);
	Status get_chip(axvm_irqchip &c);
	Status set_chip(const axvm_irqchip &c);
	// KVM_CREATE_PIT2 and the PIT's ioctls; -ENXIO without a PIT.
	Status create_pit(const axvm_pit_config &config);
	bool has_pit() const { return pit_ != nullptr; }
	Status get_pit(axvm_pit_state2 &s);
	Status set_pit(const axvm_pit_state2 &s);
	Status reinject_control(const axvm_reinject_control &r);

	// ---- irqfds (process context; they take the lock) ----
	// An irqfd fired: an edge on @gsi from userspace's source, or (with
	// @resample) the line held up from the resampling source.
	void irqfd_inject(u32 gsi, bool resample);
	// A resampling irqfd on @gsi comes or goes; the guest's EOIs of that
	// line are told to @glue (axvm_irqfd_resampled), and the line drops.
	Status resample_watch(u32 gsi, bool on, void *glue);

	// ---- From vCPU exits (the vCPU thread; they take the lock) ----
	// Port I/O to the PIC, the ELCR or the PIT: handled here (true).
	bool port_io(u16 port, unsigned size, bool write, u32 &value);
	// MMIO to the IOAPIC: handled here (true).
	bool mmio(u64 gpa, unsigned size, bool write, u64 &value);

	// ---- With the lock held: what the local APICs ask ----
	// An IPI from @source (an ICR or SELF_IPI write).
	void send_ipi(const Lapic &source, const IrqMessage &msg);
	// @vcpu_id's APIC retired a vector: the IOAPIC's EOI (full irqchip).
	void lapic_eoi(u32 vcpu_id, const Eoi &eoi);
	// Split irqchip: whether an EOI of @vector on @apic goes to userspace
	// (KVM_EXIT_IOAPIC_EOI): a level-triggered MSI route of one of the
	// userspace IOAPIC's GSIs (below KVM_CAP_SPLIT_IRQCHIP's args[0])
	// targets it with that vector (KVM's kvm_scan_ioapic_routes).
	bool eoi_exits_to_user(const Lapic &apic, u8 vector) const;
	// The PIC's INTR output, its INTA cycle (full irqchip).
	bool pic_output() const { return pic_ && pic_->intr_asserted(); }
	u8 pic_acknowledge();

	// IrqSink, IrqNotifier (lock held; the models call them).
	int deliver(const IrqMessage &msg, DestMap *dest_map) override;
	void irq_acked(unsigned irqchip, unsigned pin) override;
	void irq_mask_changed(unsigned irqchip, unsigned pin, bool masked) override;
	bool pic_intr_accepted() override;

private:
	Irqchip(Vm &vm, IrqchipMode mode) : vm_(vm), mode_(mode) {}
	Status init();

	int set_gsi(u32 gsi, int source, bool level, bool line_status);
	int route(const Lapic *source, const IrqMessage &msg, DestMap *dest_map);
	// After the PIC changed: wake the vCPUs that take its interrupt.
	void pic_changed();
	void pulse_pit_irq();
	void arm_pit_timer();
	void kick(u32 vcpu_id);
	X86Vcpu *vcpu(u32 id) const;
	// The PIT's timer fired (hard interrupt): its work does the rest.
	static void pit_timer_fired(void *chip);
	static void eoi_timer_fired(void *chip);
	static void service(void *chip);

	enum : int { kPitIrqSource = 2 }; // KVM allocates the PIT's source id from 2
	enum : u64 { kDeferredEoiNs = 10 * 1000 * 1000 };

	Vm &vm_;
	const IrqchipMode mode_;
	axvm_spinlock *lock_ = nullptr;
	Pic *pic_ = nullptr;       // full irqchip
	Ioapic *ioapic_ = nullptr; // full irqchip
	Pit *pit_ = nullptr;       // KVM_CREATE_PIT2
	RoutingTable *routing_ = nullptr; // replaced whole under the lock
	u32 x2apic_api_ = 0;
	u32 reserved_ioapic_pins_ = 0;
	axvm_timer *pit_timer_ = nullptr, *eoi_timer_ = nullptr;
	axvm_work *work_ = nullptr;
	u32 pit_due_ = 0, eoi_due_ = 0; // set by the timers, taken by service()
	bool dying_ = false;            // under the lock: service() arms no timer
	// The GSIs resampling irqfds listen on, with how many each (count 0:
	// a free entry); resample_watch() grows the table.
	struct Resample {
		u32 gsi, count;
	};
	Resample *resample_ = nullptr;
	u32 resample_size_ = 0;
	bool resample_count(u32 gsi, bool on);
	void *glue_ = nullptr;
};

} // namespace axvm::x86
