// SPDX-License-Identifier: GPL-2.0
// What an arm64 VM keeps beside memory and vCPUs: the PSCI version its
// guest sees, whether SYSTEM_SUSPEND goes to userspace, the virtual
// counter's offset its vCPUs share, and the lock under which PSCI moves
// vCPUs between on and off (psci.cpp).
#pragma once

#include <axvm/arch_vm.hpp>

#include "esr.hpp"

namespace axvm {
class Vm;
}

namespace axvm::arm64 {

class Arm64Vm final : public ArchVm {
public:
	explicit Arm64Vm(Vm &vm) : vm_(vm) {}
	~Arm64Vm() override;
	bool init(); // false: no memory for the lock
	Status enable_cap(u32 cap, u64 arg0) override;

	Vm &vm() const { return vm_; }
	axvm_spinlock *psci_lock() const { return psci_lock_; }

	// KVM_REG_ARM_PSCI_VERSION: KVM 6.1's default is 1.1; 0.2, 1.0 and 1.1
	// may be chosen (axvm has no PSCI 0.1).
	u32 psci_version() const { return __atomic_load_n(&psci_version_, __ATOMIC_RELAXED); }
	void set_psci_version(u32 v) { __atomic_store_n(&psci_version_, v, __ATOMIC_RELAXED); }
	// KVM_CAP_ARM_SYSTEM_SUSPEND enabled.
	bool system_suspend() const { return __atomic_load_n(&system_suspend_, __ATOMIC_RELAXED); }
	// CNTVOFF_EL2 for every vCPU (a write of KVM_REG_ARM_TIMER_CNT on any
	// vCPU moves them all, as in KVM 6.1).
	u64 cntvoff() const { return __atomic_load_n(&cntvoff_, __ATOMIC_RELAXED); }
	void set_cntvoff(u64 v) { __atomic_store_n(&cntvoff_, v, __ATOMIC_RELAXED); }

	// The hypercall services KVM's bitmap firmware registers govern
	// (KVM_REG_ARM_STD_BMAP, STD_HYP_BMAP, VENDOR_HYP_BMAP: @index 0-2):
	// every service axvm has, until the VMM clears some; changed only
	// before the VM first runs (-EBUSY after, as KVM).
	u64 services(u32 index) const { return __atomic_load_n(&services_[index], __ATOMIC_RELAXED); }
	Status set_services(u32 index, u64 value);
	static u64 services_offered(u32 index);
	void note_ran() { __atomic_store_n(&has_run_, true, __ATOMIC_RELAXED); }

	// KVM_ARM_VCPU_EL1_32BIT: the first KVM_ARM_VCPU_INIT fixes whether
	// the VM's EL1 is AArch32; false for an INIT that asks otherwise.
	bool claim_width(bool aarch32)
	{
		u32 now = 0;
		const u32 want = aarch32 ? 2 : 1;
		return __atomic_compare_exchange_n(&width_, &now, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
		       now == want;
	}

private:
	Vm &vm_;
	axvm_spinlock *psci_lock_ = nullptr;
	u32 psci_version_ = kPsci11;
	bool system_suspend_ = false;
	u64 cntvoff_ = 0;
	u64 services_[3] = {services_offered(0), services_offered(1), services_offered(2)};
	bool has_run_ = false;
	u32 width_ = 0; // 0 until the first VCPU_INIT, then 1 AArch64 or 2 AArch32
};

} // namespace axvm::arm64
