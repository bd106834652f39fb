// SPDX-License-Identifier: GPL-2.0
#include "x86_vm.hpp"

#include <axvm/vm.hpp>

#include "host.h"
#include "msrs.hpp"
#include "x86.hpp"

namespace axvm::x86 {

MsrFilter::~MsrFilter()
{
	for (u32 i = 0; i < count; i++)
		delete[] ranges[i].bitmap;
}

bool MsrFilter::allows(u32 index, bool write) const
{
	const u32 want = write ? AXVM_MSR_FILTER_WRITE : AXVM_MSR_FILTER_READ;
	for (u32 i = 0; i < count; i++) {
		const Range &r = ranges[i];
		if (!(r.flags & want) || index < r.base || index - r.base >= r.nmsrs)
			continue;
		const u32 bit = index - r.base;
		return r.bitmap[bit / 8] & (1u << (bit % 8));
	}
	return !default_deny;
}

X86Vm::~X86Vm()
{
	delete irqchip_;
	delete pit_only_;
	delete filter_;
	if (tsc_lock_)
		axvm_spinlock_destroy(tsc_lock_);
}

Status X86Vm::init()
{
	tsc_lock_ = axvm_spinlock_create();
	return tsc_lock_ ? Status() : fail(err::ENOMEM);
}

Status X86Vm::create_irqchip(IrqchipMode mode, u32 reserved_pins)
{
	if (irqchip_) {
		axvm_log(AXVM_LOG_WARN, "the VM has an in-kernel irqchip already");
		return fail(err::EEXIST);
	}
	if (has_vcpus()) {
		axvm_log(AXVM_LOG_WARN, "an in-kernel irqchip must come before the vCPUs");
		// KVM's answers: KVM_CREATE_IRQCHIP -EINVAL, the split one -EEXIST.
		return fail(mode == IrqchipMode::Kernel ? err::EINVAL : err::EEXIST);
	}
	Irqchip *chip = TRY(Irqchip::create(vm_, mode));
	chip->set_x2apic_api(x2apic_api_);
	chip->set_reserved_ioapic_pins(reserved_pins);
	__atomic_store_n(&irqchip_, chip, __ATOMIC_RELEASE);
	return Status();
}

// KVM's kvm_arch_irqfd_allowed: an in-kernel irqchip; resampling needs
// its IOAPIC (the split irqchip's is userspace's).
Status X86Vm::irqfd_allowed(bool resample) const
{
	Irqchip *chip = irqchip();
	if (!chip || (resample && !chip->full())) {
		axvm_log(AXVM_LOG_WARN, "IRQFD: needs %s", resample ? "the full in-kernel irqchip" : "an in-kernel irqchip");
		return fail(err::EINVAL);
	}
	return Status();
}

void X86Vm::irqfd_inject(u32 gsi, bool resample)
{
	if (Irqchip *chip = irqchip())
		chip->irqfd_inject(gsi, resample);
}

Status X86Vm::irqfd_resample(u32 gsi, bool on)
{
	Irqchip *chip = irqchip();
	return chip ? chip->resample_watch(gsi, on, glue()) : fail(err::EINVAL);
}

Status X86Vm::set_gsi_routing(const axvm_irq_routing &r)
{
	Irqchip *chip = irqchip();
	if (!chip) {
		axvm_log(AXVM_LOG_WARN, "SET_GSI_ROUTING: needs an in-kernel irqchip (KVM_CREATE_IRQCHIP)");
		return fail(err::EINVAL);
	}
	return chip->set_routing(r);
}

u64 X86Vm::tsc_offset_for_write(u64 value)
{
	const u64 hz = static_cast<u64>(axvm_x86_tsc_khz()) * 1000;
	SpinGuard guard(tsc_lock_);
	const u64 now = rdtsc();
	bool matched = false;
	if (tsc_written_) {
		const u64 expected = last_tsc_write_ + (now - last_tsc_host_);
		matched = value == 0 || (value < expected + hz && value + hz > expected);
	}
	return note_tsc_write(value, now, matched ? last_tsc_offset_ : value - now);
}

u64 X86Vm::tsc_offset_set(u64 offset)
{
	SpinGuard guard(tsc_lock_);
	const u64 now = rdtsc();
	return note_tsc_write(now + offset, now, offset);
}

u64 X86Vm::note_tsc_write(u64 value, u64 host_tsc, u64 offset)
{
	tsc_written_ = true;
	last_tsc_write_ = value;
	last_tsc_host_ = host_tsc;
	last_tsc_offset_ = offset;
	return offset;
}

Status X86Vm::set_msr_filter(const axvm_msr_filter &f)
{
	if (f.flags & ~AXVM_MSR_FILTER_DEFAULT_DENY) {
		axvm_log(AXVM_LOG_WARN, "X86_SET_MSR_FILTER: flags 0x%x", f.flags);
		return fail(err::EINVAL);
	}
	MsrFilter *next = new MsrFilter;
	if (!next)
		return fail(err::ENOMEM);
	next->default_deny = f.flags & AXVM_MSR_FILTER_DEFAULT_DENY;
	bool empty = true;
	for (const axvm_msr_filter_range &r : f.ranges) {
		if (!r.flags)
			continue; // an unused slot, as in KVM
		empty = false;
		const u32 bytes = (r.nmsrs + 7) / 8;
		if ((r.flags & ~(AXVM_MSR_FILTER_READ | AXVM_MSR_FILTER_WRITE)) || !r.nmsrs ||
		    bytes > AXVM_MSR_FILTER_MAX_BITMAP_SIZE) {
			axvm_log(AXVM_LOG_WARN, "X86_SET_MSR_FILTER: range flags 0x%x, %u MSRs", r.flags, r.nmsrs);
			delete next;
			return fail(err::EINVAL);
		}
		// The glue copied the bitmap into the kernel (bitmap is then a
		// kernel address); one more copy makes it ours.
		u8 *bitmap = new u8[bytes];
		if (!bitmap) {
			delete next;
			return fail(err::ENOMEM);
		}
		const u8 *from = reinterpret_cast<const u8 *>(static_cast<usize>(r.bitmap));
		for (u32 i = 0; i < bytes; i++)
			bitmap[i] = from[i];
		next->ranges[next->count++] = MsrFilter::Range{r.flags, r.base, r.nmsrs, bitmap};
	}
	// An empty allow-by-default filter is no filter (KVM frees it too).
	if (empty && !next->default_deny) {
		delete next;
		next = nullptr;
	}
	bool covers = false;
	for (u32 msr : kPassThroughMsrs)
		covers |= next && (!next->allows(msr, false) || !next->allows(msr, true));
	// The new filter first: a vCPU that enters with every MSR exiting
	// must find it. (One that entered before exits for nothing else: it
	// may run on with the old map until its next entry, as under KVM
	// until its KVM_REQ_MSR_FILTER_CHANGED is seen.)
	MsrFilter *old = __atomic_exchange_n(&filter_, next, __ATOMIC_ACQ_REL);
	__atomic_store_n(&filters_pass_through_, covers, __ATOMIC_RELEASE);
	// vCPUs read the filter in their exit handlers, with preemption off:
	// once an RCU grace period has passed none holds the old one.
	if (old) {
		axvm_synchronize_rcu();
		delete old;
	}
	return Status();
}

bool X86Vm::msr_allowed(u32 index, bool write) const
{
	const MsrFilter *f = __atomic_load_n(&filter_, __ATOMIC_ACQUIRE);
	return !f || f->allows(index, write);
}

constexpr u64 kMinMmuPages = 64; // KVM_MIN_ALLOC_MMU_PAGES

static Result<long> done(Status s)
{
	if (!s.ok())
		return Error{s.error()};
	return 0L;
}

Result<long> X86Vm::ioctl(unsigned int cmd, void *arg, usize)
{
	Irqchip *chip = irqchip();
	switch (cmd) {
	case AXVM_SET_IDENTITY_MAP_ADDR:
		// Only VMX without unrestricted guest would use the page (axvm
		// requires unrestricted guest); KVM takes it before vCPUs only.
		if (has_vcpus()) {
			axvm_log(AXVM_LOG_WARN, "SET_IDENTITY_MAP_ADDR after vCPUs were created");
			return fail(err::EINVAL);
		}
		identity_map_addr_ = *static_cast<const u64 *>(arg);
		return 0L;
	case AXVM_X86_SET_MSR_FILTER:
		return done(set_msr_filter(*static_cast<const axvm_msr_filter *>(arg)));
	case AXVM_CREATE_IRQCHIP:
		return done(create_irqchip(IrqchipMode::Kernel));
	case AXVM_SET_GSI_ROUTING:
		return done(set_gsi_routing(*static_cast<const axvm_irq_routing *>(arg)));
	case AXVM_SET_BOOT_CPU_ID: {
		// KVM: the argument (by value) is not checked; -EBUSY once vCPUs exist.
		if (has_vcpus())
			return fail(err::EBUSY);
		boot_cpu_id_ = static_cast<u32>(*static_cast<const u64 *>(arg));
		return 0L;
	}
	case AXVM_SET_NR_MMU_PAGES: {
		// KVM: at least KVM_MIN_ALLOC_MMU_PAGES. Nested paging has no
		// shadow pages to bound: the number is kept for GET only.
		const u64 n = *static_cast<const u64 *>(arg);
		if (n < kMinMmuPages) {
			axvm_log(AXVM_LOG_WARN, "SET_NR_MMU_PAGES %llu: fewer than %llu", n, kMinMmuPages);
			return fail(err::EINVAL);
		}
		nr_mmu_pages_ = n;
		return 0L;
	}
	case AXVM_GET_NR_MMU_PAGES: {
		if (nr_mmu_pages_)
			return static_cast<long>(nr_mmu_pages_);
		// KVM's kvm_mmu_calculate_default_mmu_pages(): 20 per 1000
		// pages of the memory slots, at least 64.
		u64 pages = 0;
		for (u32 i = 0; i < MemoryMap::kMaxSlots; i++)
			pages += vm_.memory().slot(i).size >> 12;
		const u64 n = pages * 20 / 1000;
		return static_cast<long>(n > kMinMmuPages ? n : kMinMmuPages);
	}
	case AXVM_CREATE_PIT2: {
		// KVM creates a PIT without an irqchip too (its ports answer in
		// the kernel; with no IOAPIC it never interrupts). One created
		// so stays without interrupts if an irqchip comes later.
		const axvm_pit_config &config = *static_cast<const axvm_pit_config *>(arg);
		if (pit_only_)
			return done(pit_only_->create_pit(config)); // -EEXIST
		if (chip)
			return done(chip->create_pit(config));
		Irqchip *holder = TRY(Irqchip::create(vm_, IrqchipMode::None));
		Status s = holder->create_pit(config);
		if (!s.ok()) {
			delete holder;
			return Error{s.error()};
		}
		__atomic_store_n(&pit_only_, holder, __ATOMIC_RELEASE);
		return 0L;
	}
	case AXVM_GET_PIT2:
	case AXVM_SET_PIT2:
	case AXVM_REINJECT_CONTROL: {
		Irqchip *pit = pit_only_ ? pit_only_ : chip;
		if (!pit || !pit->has_pit()) {
			axvm_log(AXVM_LOG_WARN, "VM ioctl 0x%x: no PIT (KVM_CREATE_PIT2)", cmd);
			return fail(err::ENXIO);
		}
		if (cmd == AXVM_GET_PIT2)
			return done(pit->get_pit(*static_cast<axvm_pit_state2 *>(arg)));
		if (cmd == AXVM_SET_PIT2)
			return done(pit->set_pit(*static_cast<const axvm_pit_state2 *>(arg)));
		return done(pit->reinject_control(*static_cast<const axvm_reinject_control *>(arg)));
	}
	default:
		break;
	}
	// The rest need an in-kernel irqchip: KVM's -ENXIO without one.
	if (!chip) {
		switch (cmd) {
		case AXVM_IRQ_LINE:
		case AXVM_IRQ_LINE_STATUS:
		case AXVM_GET_IRQCHIP:
		case AXVM_SET_IRQCHIP:
			axvm_log(AXVM_LOG_WARN, "VM ioctl 0x%x: no in-kernel irqchip (KVM_CREATE_IRQCHIP)", cmd);
			return fail(err::ENXIO);
		case AXVM_SIGNAL_MSI:
			axvm_log(AXVM_LOG_WARN, "SIGNAL_MSI: no in-kernel irqchip (KVM_CREATE_IRQCHIP)");
			return fail(err::EINVAL);
		default:
			return fail(err::ENOTTY);
		}
	}
	switch (cmd) {
	case AXVM_IRQ_LINE:
	case AXVM_IRQ_LINE_STATUS: {
		axvm_irq_level &l = *static_cast<axvm_irq_level *>(arg);
		const int status = chip->irq_line(l.irq, l.level != 0, cmd == AXVM_IRQ_LINE_STATUS);
		l.status = status; // copied back for LINE_STATUS only
		return 0L;
	}
	case AXVM_GET_IRQCHIP:
		return done(chip->get_chip(*static_cast<axvm_irqchip *>(arg)));
	case AXVM_SET_IRQCHIP:
		return done(chip->set_chip(*static_cast<const axvm_irqchip *>(arg)));
	case AXVM_SIGNAL_MSI: {
		Result<int> r = chip->signal_msi(*static_cast<const axvm_msi *>(arg));
		if (!r.ok())
			return Error{r.error()};
		// KVM returns the delivery count; -1 (no APIC at all) is -EPERM.
		return static_cast<long>(r.value());
	}
	default:
		return fail(err::ENOTTY);
	}
}

Status X86Vm::enable_cap(u32 cap, u64 arg0)
{
	switch (cap) {
	case AXVM_CAP_MSR_PLATFORM_INFO:
		platform_info_readable_ = arg0 != 0;
		return Status();
	case AXVM_CAP_SPLIT_IRQCHIP:
		// args[0]: the GSIs userspace's IOAPIC keeps (QEMU: 24).
		if (arg0 > AXVM_MAX_IRQ_ROUTES)
			return fail(err::EINVAL);
		return create_irqchip(IrqchipMode::Split, static_cast<u32>(arg0));
	case AXVM_CAP_X2APIC_API:
		if (arg0 & ~u64{AXVM_X2APIC_API_USE_32BIT_IDS | AXVM_X2APIC_API_DISABLE_BROADCAST_QUIRK})
			return fail(err::EINVAL);
		x2apic_api_ |= static_cast<u32>(arg0);
		if (Irqchip *chip = irqchip())
			chip->set_x2apic_api(x2apic_api_);
		return Status();
	case AXVM_CAP_DISABLE_QUIRKS2:
		// KVM 6.1: unknown bits are -EINVAL here; the set replaces the
		// last one, whether or not vCPUs exist or have run.
		if (arg0 & ~u64{AXVM_X86_QUIRKS_SUPPORTED})
			return fail(err::EINVAL);
		__atomic_store_n(&disabled_quirks_, arg0, __ATOMIC_RELAXED);
		return Status();
	case AXVM_CAP_DISABLE_QUIRKS:
		// Version 1 takes any bits (KVM stores them all); those axvm
		// cannot disable stay on, which DISABLE_QUIRKS2's answer shows.
		__atomic_store_n(&disabled_quirks_, arg0, __ATOMIC_RELAXED);
		return Status();
	case AXVM_CAP_X86_USER_SPACE_MSR:
		if (arg0 & ~u64{AXVM_MSR_EXIT_REASON_INVAL | AXVM_MSR_EXIT_REASON_UNKNOWN | AXVM_MSR_EXIT_REASON_FILTER})
			return fail(err::EINVAL);
		user_space_msr_ = static_cast<u32>(arg0);
		return Status();
	default:
		return fail(err::EINVAL);
	}
}

} // namespace axvm::x86
