// SPDX-License-Identifier: GPL-2.0
#include "irqchip.hpp"

#include <axvm/vm.hpp>

#include "../x86_vcpu.hpp"

namespace axvm::x86 {

Result<Irqchip *> Irqchip::create(Vm &vm, IrqchipMode mode)
{
	Irqchip *chip = new Irqchip(vm, mode);
	if (!chip)
		return fail(err::ENOMEM);
	Status s = chip->init();
	if (!s.ok()) {
		delete chip;
		return Error{s.error()};
	}
	return chip;
}

Status Irqchip::init()
{
	lock_ = axvm_spinlock_create();
	work_ = axvm_work_create(service, this);
	eoi_timer_ = axvm_timer_create(eoi_timer_fired, this);
	Result<RoutingTable *> table = full() ? RoutingTable::create_default() : RoutingTable::create_empty();
	if (!lock_ || !work_ || !eoi_timer_ || !table.ok())
		return fail(err::ENOMEM);
	routing_ = table.value();
	if (full()) {
		pic_ = new Pic(*this);
		ioapic_ = new Ioapic(*this, *this);
		if (!pic_ || !ioapic_)
			return fail(err::ENOMEM);
	}
	return Status();
}

Irqchip::~Irqchip()
{
	// The timers queue the work and the work re-arms the PIT's timer, so
	// neither may be freed while the other can still run: from here on
	// service() arms nothing (set under the lock it takes), then the
	// timers are stopped (a running callback waited for), then the work;
	// only then is anything freed. (Freeing the timers first let a running
	// service() start a freed timer: a GPF in hrtimer_start_range_ns.)
	if (lock_) {
		Guard g(*this);
		dying_ = true;
	}
	if (pit_timer_)
		axvm_timer_cancel(pit_timer_);
	if (eoi_timer_)
		axvm_timer_cancel(eoi_timer_);
	axvm_work_destroy(work_);
	axvm_timer_destroy(pit_timer_);
	axvm_timer_destroy(eoi_timer_);
	delete pit_;
	delete ioapic_;
	delete pic_;
	delete routing_;
	delete[] resample_;
	if (lock_)
		axvm_spinlock_destroy(lock_);
}

X86Vcpu *Irqchip::vcpu(u32 id) const
{
	KernelVcpu *v = vm_.vcpu(id);
	return v && v->vcpu().arch() ? static_cast<X86Vcpu *>(v->vcpu().arch()) : nullptr;
}

void Irqchip::kick(u32 vcpu_id)
{
	if (KernelVcpu *v = vm_.vcpu(vcpu_id)) {
		if (X86Vcpu *x = vcpu(vcpu_id))
			x->request_kick();
		v->kick();
	}
}

// ---- Delivery ----

// KVM's kvm_irq_delivery_to_apic over every vCPU's local APIC: @source is
// the sender of an IPI (null for the IOAPIC and MSIs); the vCPUs that
// accepted are kicked.
int Irqchip::route(const Lapic *source, const IrqMessage &msg, DestMap *dest_map)
{
	Lapic *apics[Vm::kMaxVcpus];
	u32 ids[Vm::kMaxVcpus];
	u32 n = 0;
	for (u32 id = 0; id < Vm::kMaxVcpus; id++) {
		X86Vcpu *v = vcpu(id);
		if (v && v->lapic()) {
			apics[n] = v->lapic();
			ids[n++] = id;
		}
	}
	bool accepted[Vm::kMaxVcpus] = {};
	const int r = deliver_to_apics(apics, n, source, msg, x2apic_format(), broadcast_quirk_disabled(), accepted);
	for (u32 i = 0; i < n; i++) {
		if (!accepted[i])
			continue;
		if (dest_map && (msg.delivery_mode == kDeliveryFixed || msg.delivery_mode == kDeliveryLowest) &&
		    ids[i] < kIrqMaxVcpus) {
			dest_map->vcpus |= 1ull << ids[i];
			dest_map->vectors[ids[i]] = msg.vector;
		}
		kick(ids[i]);
	}
	return r;
}

int Irqchip::deliver(const IrqMessage &msg, DestMap *dest_map) { return route(nullptr, msg, dest_map); }

void Irqchip::send_ipi(const Lapic &source, const IrqMessage &msg) { route(&source, msg, nullptr); }

// KVM's kvm_set_irq: every route of the GSI, results summed.
int Irqchip::set_gsi(u32 gsi, int source, bool level, bool line_status)
{
	GsiStatus status;
	for (const RouteTarget &t : routing_->lookup(gsi)) {
		if (t.type == AXVM_IRQ_ROUTING_MSI) {
			// KVM's kvm_set_msi: a deassert does nothing.
			status.add(level ? set_msi(*this, t.msi, true, x2apic_format()) : -1);
			continue;
		}
		Result<int> r = t.irqchip == kIrqChipIoapic
					? (ioapic_ ? ioapic_->set_irq(t.pin, source, level, line_status) : Result<int>(-1))
					: (pic_ ? pic_->set_irq(t.irqchip == kIrqChipPicSlave ? t.pin + 8u : t.pin, source, level)
						: Result<int>(-1));
		status.add(r.ok() ? r.value() : -1);
		if (t.irqchip != kIrqChipIoapic)
			pic_changed();
	}
	return status.value();
}

int Irqchip::irq_line(u32 gsi, bool level, bool line_status)
{
	Guard g(*this);
	return set_gsi(gsi, kUserspaceIrqSourceId, level, line_status);
}

Result<int> Irqchip::signal_msi(const axvm_msi &m)
{
	const MsiAddress msi{m.address_lo, m.address_hi, m.data};
	if ((m.flags & ~AXVM_MSI_VALID_DEVID) || msi_invalid(msi, x2apic_format())) {
		axvm_log(AXVM_LOG_WARN, "SIGNAL_MSI: flags 0x%x, address 0x%x:%08x", m.flags, m.address_hi, m.address_lo);
		return fail(err::EINVAL);
	}
	Guard g(*this);
	return set_msi(*this, msi, true, x2apic_format());
}

Status Irqchip::set_routing(const axvm_irq_routing &r)
{
	// Built outside the lock (it allocates); swapped in under it.
	RoutingTable *next = TRY(RoutingTable::create(r.entries, r.nr, r.flags, RoutingOptions{mode_, x2apic_format()}));
	RoutingTable *old;
	{
		Guard g(*this);
		old = routing_;
		routing_ = next;
	}
	delete old; // every reader holds the lock
	return Status();
}

// ---- The PIC ----

void Irqchip::pic_changed()
{
	if (!pic_ || !pic_->take_wakeup())
		return;
	for (u32 id = 0; id < Vm::kMaxVcpus; id++) {
		X86Vcpu *v = vcpu(id);
		if (v && v->lapic() && v->lapic()->accepts_pic_interrupts())
			kick(id);
	}
}

u8 Irqchip::pic_acknowledge()
{
	const u8 vector = pic_->acknowledge();
	pic_changed();
	return vector;
}

bool Irqchip::pic_intr_accepted()
{
	for (u32 id = 0; id < Vm::kMaxVcpus; id++) {
		X86Vcpu *v = vcpu(id);
		if (v && v->lapic() && v->lapic()->accepts_pic_interrupts())
			return true;
	}
	return false;
}

// ---- EOIs and notifiers ----

void Irqchip::lapic_eoi(u32 vcpu_id, const Eoi &eoi)
{
	if (ioapic_ && eoi.vector >= 0)
		ioapic_->eoi(vcpu_id, static_cast<u8>(eoi.vector), eoi.broadcast());
	if (ioapic_ && ioapic_->take_deferred_eoi_request())
		axvm_timer_start(eoi_timer_, axvm_now_ns() + kDeferredEoiNs);
}

bool Irqchip::eoi_exits_to_user(const Lapic &apic, u8 vector) const
{
	const u32 pins = reserved_ioapic_pins_ < routing_->nr_gsis() ? reserved_ioapic_pins_ : routing_->nr_gsis();
	for (u32 gsi = 0; gsi < pins; gsi++) {
		for (const RouteTarget &t : routing_->lookup(gsi)) {
			if (t.type != AXVM_IRQ_ROUTING_MSI)
				continue;
			const IrqMessage m = decode_msi(t.msi, x2apic_format());
			if (m.level && m.vector == vector &&
			    apic.matches(m.dest_id, m.logical, 0, false, x2apic_format(), !broadcast_quirk_disabled()))
				return true;
		}
	}
	return false;
}

void Irqchip::irq_acked(unsigned irqchip, unsigned pin)
{
	const int gsi = routing_->gsi_of(irqchip, pin);
	if (pit_ && gsi == 0 && pit_->irq_acked())
		pulse_pit_irq();
	if (gsi < 0)
		return;
	for (u32 i = 0; i < resample_size_; i++) {
		const Resample &r = resample_[i];
		if (r.count && r.gsi == static_cast<u32>(gsi)) {
			// KVM's irqfd_resampler_ack: the line drops, userspace
			// hears of it and raises it again if still pending.
			set_gsi(r.gsi, kIrqfdResampleIrqSourceId, false, false);
			axvm_irqfd_resampled(glue_, r.gsi);
		}
	}
}

void Irqchip::irqfd_inject(u32 gsi, bool resample)
{
	Guard g(*this);
	if (resample) {
		set_gsi(gsi, kIrqfdResampleIrqSourceId, true, false);
		return;
	}
	set_gsi(gsi, kUserspaceIrqSourceId, true, false);
	set_gsi(gsi, kUserspaceIrqSourceId, false, false);
}

// Lock held: one resampling irqfd more or fewer on @gsi; false when a new
// GSI finds no free entry.
bool Irqchip::resample_count(u32 gsi, bool on)
{
	Resample *free_slot = nullptr;
	for (u32 i = 0; i < resample_size_; i++) {
		Resample &r = resample_[i];
		if (r.count && r.gsi == gsi) {
			if (on) {
				r.count++;
			} else if (!--r.count) {
				set_gsi(gsi, kIrqfdResampleIrqSourceId, false, false);
			}
			return true;
		}
		if (!r.count && !free_slot)
			free_slot = &r;
	}
	if (!on)
		return true;
	if (!free_slot)
		return false;
	*free_slot = Resample{gsi, 1};
	return true;
}

// KVM takes resampling irqfds on any number of GSIs, so the table doubles
// when full; the bigger one is allocated outside the lock (a spinlock) and
// put in place under it.
Status Irqchip::resample_watch(u32 gsi, bool on, void *glue)
{
	Resample *bigger = nullptr;
	u32 size = 0;
	for (;;) {
		Resample *old = nullptr;
		bool done;
		{
			Guard g(*this);
			glue_ = glue;
			if (bigger && size > resample_size_) {
				for (u32 i = 0; i < resample_size_; i++)
					bigger[i] = resample_[i];
				old = resample_;
				resample_ = bigger;
				resample_size_ = size;
				bigger = nullptr;
			}
			done = resample_count(gsi, on);
			size = resample_size_ ? 2 * resample_size_ : 16;
		}
		delete[] old;
		delete[] bigger; // a table another thread's call made bigger first
		if (done)
			return Status();
		bigger = new Resample[size];
		if (!bigger)
			return fail(err::ENOMEM);
	}
}

void Irqchip::irq_mask_changed(unsigned irqchip, unsigned pin, bool masked)
{
	if (pit_ && routing_->gsi_of(irqchip, pin) == 0)
		pit_->irq_mask_changed(masked);
}

// ---- Device state ----

Status Irqchip::get_chip(axvm_irqchip &c)
{
	if (!full())
		return fail(err::ENXIO);
	Guard g(*this);
	switch (c.chip_id) {
	case AXVM_IRQCHIP_PIC_MASTER:
	case AXVM_IRQCHIP_PIC_SLAVE:
		return pic_->get_state(c.chip_id, c.chip.pic);
	case AXVM_IRQCHIP_IOAPIC:
		ioapic_->get_state(c.chip.ioapic);
		return Status();
	default:
		return fail(err::EINVAL);
	}
}

Status Irqchip::set_chip(const axvm_irqchip &c)
{
	if (!full())
		return fail(err::ENXIO);
	Guard g(*this);
	switch (c.chip_id) {
	case AXVM_IRQCHIP_PIC_MASTER:
	case AXVM_IRQCHIP_PIC_SLAVE: {
		Status s = pic_->set_state(c.chip_id, c.chip.pic);
		pic_changed();
		return s;
	}
	case AXVM_IRQCHIP_IOAPIC:
		ioapic_->set_state(c.chip.ioapic);
		return Status();
	default:
		return fail(err::EINVAL);
	}
}

// ---- Guest accesses ----

bool Irqchip::port_io(u16 port, unsigned size, bool write, u32 &value)
{
	if (!pic_ && !pit_)
		return false;
	Guard g(*this);
	if (pit_) {
		const u64 now = axvm_now_ns();
		const bool pit = write ? pit_->port_write(port, size, value, now) : pit_->port_read(port, size, value, now);
		if (pit) {
			arm_pit_timer();
			return true;
		}
	}
	if (pic_) {
		const bool pic = write ? pic_->port_write(port, size, value) : pic_->port_read(port, size, value);
		if (pic) {
			pic_changed();
			return true;
		}
	}
	return false;
}

bool Irqchip::mmio(u64 gpa, unsigned size, bool write, u64 &value)
{
	if (!ioapic_)
		return false;
	Guard g(*this);
	return write ? ioapic_->mmio_write(gpa, size, value) : ioapic_->mmio_read(gpa, size, value);
}

// ---- The PIT ----

Status Irqchip::create_pit(const axvm_pit_config &config)
{
	if (pit_)
		return fail(err::EEXIST);
	axvm_timer *timer = axvm_timer_create(pit_timer_fired, this);
	Pit *pit = new Pit(PitConfig{config.flags, full(), Pit::kDefaultMinPeriodNs}, axvm_now_ns());
	if (!timer || !pit) {
		axvm_timer_destroy(timer);
		delete pit;
		return fail(err::ENOMEM);
	}
	Guard g(*this);
	pit_timer_ = timer;
	pit_ = pit;
	return Status();
}

Status Irqchip::get_pit(axvm_pit_state2 &s)
{
	if (!pit_)
		return fail(err::ENXIO);
	Guard g(*this);
	pit_->get_state(s);
	return Status();
}

Status Irqchip::set_pit(const axvm_pit_state2 &s)
{
	if (!pit_)
		return fail(err::ENXIO);
	Guard g(*this);
	pit_->set_state(s, axvm_now_ns());
	arm_pit_timer();
	return Status();
}

Status Irqchip::reinject_control(const axvm_reinject_control &r)
{
	if (!pit_)
		return fail(err::ENXIO);
	Guard g(*this);
	pit_->set_reinject(r.pit_reinject != 0);
	return Status();
}

void Irqchip::pulse_pit_irq()
{
	set_gsi(0, kPitIrqSource, true, false);
	set_gsi(0, kPitIrqSource, false, false);
}

void Irqchip::arm_pit_timer()
{
	const u64 next = pit_->next_irq_ns();
	if (next == Pit::kNoTimer)
		axvm_timer_cancel(pit_timer_);
	else
		axvm_timer_start(pit_timer_, next);
}

void Irqchip::pit_timer_fired(void *arg)
{
	Irqchip *chip = static_cast<Irqchip *>(arg);
	__atomic_store_n(&chip->pit_due_, 1u, __ATOMIC_RELEASE);
	axvm_work_queue(chip->work_);
}

void Irqchip::eoi_timer_fired(void *arg)
{
	Irqchip *chip = static_cast<Irqchip *>(arg);
	__atomic_store_n(&chip->eoi_due_, 1u, __ATOMIC_RELEASE);
	axvm_work_queue(chip->work_);
}

// Process context: what the timers asked for.
void Irqchip::service(void *arg)
{
	Irqchip *chip = static_cast<Irqchip *>(arg);
	Guard g(*chip);
	if (chip->dying_)
		return; // both may arm a timer
	if (__atomic_exchange_n(&chip->eoi_due_, 0u, __ATOMIC_ACQ_REL) && chip->ioapic_)
		chip->ioapic_->deferred_eoi_inject();
	if (__atomic_exchange_n(&chip->pit_due_, 0u, __ATOMIC_ACQ_REL) && chip->pit_) {
		if (chip->pit_->expire(axvm_now_ns()))
			chip->pulse_pit_irq();
		chip->arm_pit_timer();
	}
}

} // namespace axvm::x86
