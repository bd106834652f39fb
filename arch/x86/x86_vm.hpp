// SPDX-License-Identifier: GPL-2.0
// What an x86 VM keeps beside memory and vCPUs: the TSC its vCPUs agree on,
// the MSR settings userspace makes for the whole VM (which accesses exit to
// it, the MSR filter, whether PLATFORM_INFO is readable), and the VM ioctls
// of KVM's x86.c that are not about interrupt controllers.
#pragma once

#include <axvm/arch_vm.hpp>
#include <uapi/axvm.h>

#include "irqchip/irqchip.hpp"

namespace axvm {
class Vm;
}

namespace axvm::x86 {

// KVM_X86_SET_MSR_FILTER, copied in full: the ranges and their bitmaps.
struct MsrFilter {
	struct Range {
		u32 flags; // AXVM_MSR_FILTER_READ/WRITE
		u32 base, nmsrs;
		u8 *bitmap; // owned, (nmsrs + 7) / 8 bytes
	};
	bool default_deny = false;
	u32 count = 0;
	Range ranges[AXVM_MSR_FILTER_MAX_RANGES] = {};

	~MsrFilter();
	// Whether the guest may make this access (KVM's kvm_msr_allowed()).
	bool allows(u32 index, bool write) const;
};

class X86Vm final : public ArchVm {
public:
	explicit X86Vm(Vm &vm) : vm_(vm) {}
	~X86Vm() override;
	// What may fail in setting up: the lock of the TSC record.
	Status init();
	Result<long> ioctl(unsigned int cmd, void *arg, usize size) override;
	Status enable_cap(u32 cap, u64 arg0) override;
	Status irqfd_allowed(bool resample) const override;
	void irqfd_inject(u32 gsi, bool resample) override;
	Status irqfd_resample(u32 gsi, bool on) override;

	// ---- The in-kernel interrupt controllers ----
	// Null until KVM_CREATE_IRQCHIP or KVM_CAP_SPLIT_IRQCHIP (then for the
	// VM's life; set before any vCPU exists).
	Irqchip *irqchip() const { return __atomic_load_n(&irqchip_, __ATOMIC_ACQUIRE); }
	// A PIT created before any irqchip (KVM allows it: its ports answer,
	// it never interrupts) lives in an Irqchip of its own, mode None.
	Irqchip *pit_only() const { return __atomic_load_n(&pit_only_, __ATOMIC_ACQUIRE); }
	u32 boot_cpu_id() const { return boot_cpu_id_; }
	// KVM_SET_GSI_ROUTING, the entries copied in by the glue.
	Status set_gsi_routing(const axvm_irq_routing &r);

	// ---- The TSC (KVM's kvm_synchronize_tsc) ----
	// The offset a vCPU's TSC gets when userspace writes @value to it:
	// a write that matches the VM's last one (the same value, or one as
	// far along as the time since, within a second) takes the same
	// offset, so vCPUs set one after the other keep one TSC.
	u64 tsc_offset_for_write(u64 value);
	// A vCPU's offset set as such (KVM_VCPU_TSC_OFFSET): it becomes the
	// last write, the TSC value it gives now; returns @offset.
	u64 tsc_offset_set(u64 offset);

	// ---- MSR settings (KVM_CAP_X86_USER_SPACE_MSR, the filter) ----
	u32 user_space_msr() const { return user_space_msr_; }
	// The filter a guest access goes through (userspace accesses do not).
	bool msr_allowed(u32 index, bool write) const;
	// Whether the filter refuses one of the MSRs guests otherwise use
	// without exits (kPassThroughMsrs): then every MSR access exits.
	bool filters_pass_through() const { return __atomic_load_n(&filters_pass_through_, __ATOMIC_ACQUIRE); }
	bool guest_can_read_platform_info() const { return platform_info_readable_; }

	// ---- KVM_CAP_DISABLE_QUIRKS(2) ----
	// Whether the quirk @q (AXVM_X86_QUIRK_*) is on: the default, unless
	// userspace disabled it. vCPU threads read it while the VM ioctl sets it.
	bool quirk(u64 q) const { return !(__atomic_load_n(&disabled_quirks_, __ATOMIC_RELAXED) & q); }

private:
	Status set_msr_filter(const axvm_msr_filter &f);
	// @reserved_pins: the split irqchip's GSIs of userspace's IOAPIC.
	Status create_irqchip(IrqchipMode mode, u32 reserved_pins = 0);
	u64 note_tsc_write(u64 value, u64 host_tsc, u64 offset);

	Vm &vm_;
	Irqchip *irqchip_ = nullptr; // owned
	Irqchip *pit_only_ = nullptr; // owned
	u32 boot_cpu_id_ = 0;
	u64 nr_mmu_pages_ = 0; // KVM_SET_NR_MMU_PAGES (0: never set)
	u32 x2apic_api_ = 0;
	u32 user_space_msr_ = 0; // AXVM_MSR_EXIT_REASON_*
	MsrFilter *filter_ = nullptr; // replaced whole, freed after an RCU grace period
	bool filters_pass_through_ = false;
	bool platform_info_readable_ = true;
	u64 disabled_quirks_ = 0;
	u64 identity_map_addr_ = 0xfffbc000; // KVM's default; VMX without unrestricted guest would use it
	// The last TSC write, which vCPU threads (guest WRMSRs, SET_MSRS, the
	// TSC offset attribute) read and update together: under tsc_lock_.
	axvm_spinlock *tsc_lock_ = nullptr;
	bool tsc_written_ = false;
	u64 last_tsc_write_ = 0, last_tsc_host_ = 0, last_tsc_offset_ = 0;
};

} // namespace axvm::x86
