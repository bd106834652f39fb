// SPDX-License-Identifier: GPL-2.0
// A VM owns its vCPUs and its guest memory. Calls that change either are
// serialized by the caller (the VM fd's lock in module/vm_fd.c); the vCPUs
// themselves are claimed one thread at a time (vcpu.hpp).
#pragma once

#include "arch_vm.hpp"
#include "memory_map.hpp"
#include "kernel_vcpu.hpp"

struct axvm_run;
struct axvm_userspace_memory_region;

namespace axvm {

class Vm {
public:
	enum : u32 { kMaxVcpus = 64 };
	// KVM's address spaces (KVM_CAP_MULTI_ADDRESS_SPACE): x86 has a second
	// one for System Management Mode, which its vCPUs use while in SMM;
	// a memory slot's number carries its address space in bits 16 and up.
#if defined(__aarch64__)
	enum : u32 { kAddressSpaces = 1 };
#else
	enum : u32 { kAddressSpaces = 2 };
#endif

	Vm() : serial_(__atomic_add_fetch(&next_serial_, 1, __ATOMIC_RELAXED)) {}
	~Vm();
	// Memory map and the backend's stage-2 tables (none without a backend).
	Status init();
	Vm(const Vm &) = delete;
	Vm &operator=(const Vm &) = delete;

	// Creates vCPU @id (< kMaxVcpus, unused) with @run as its run page and
	// sets it up (Created -> Free) when the host has a backend; without one
	// it stays Created and RUN reports -ENODEV.
	Result<KernelVcpu *> create_vcpu(u32 id, axvm_run &run);
	// From any thread (the in-kernel irqchip delivers to vCPUs while
	// others are created): a vCPU is published whole.
	KernelVcpu *vcpu(u32 id) const { return id < kMaxVcpus ? __atomic_load_n(&vcpus_[id], __ATOMIC_ACQUIRE) : nullptr; }
	u32 nr_vcpus() const { return nr_vcpus_; }

	// Unique among every VM the module ever made (a pointer may be reused).
	u64 serial() const { return serial_; }

	IoEvents &io_events() { return io_events_; }
	// Address space @as (< kAddressSpaces): 0 unless a vCPU is in SMM.
	MemoryMap &memory(u32 as = 0) { return memory_[as]; }
	const MemoryMap &memory(u32 as = 0) const { return memory_[as]; }
	Stage2 *stage2(u32 as = 0) const { return stage2_[as]; }
	// KVM_SET_USER_MEMORY_REGION: the slot's address space picks the map.
	Status set_memory_region(const axvm_userspace_memory_region &region);
	// A slot by its KVM number (address space in bits 16 and up); null
	// for a number no address space has.
	const MemorySlot *slot(u32 number) const;
	// The architecture's part (arch/<arch>/): never null after init().
	ArchVm *arch() const { return arch_; }

	// KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID): vCPU ids below @n from now on,
	// n <= kMaxVcpus; once (the same value again is fine), as in KVM.
	Status limit_vcpu_ids(u64 n);

	// AXVM_CAP_HALT_IN_KERNEL; set before vCPUs run (the VM lock serializes it).
	bool halt_in_kernel() const { return halt_in_kernel_; }
	void set_halt_in_kernel(bool on) { halt_in_kernel_ = on; }

private:
	static u64 next_serial_;
	const u64 serial_;
	Stage2 *stage2_[kAddressSpaces] = {}; // owned
	ArchVm *arch_ = nullptr;   // owned
	KernelVcpu *vcpus_[kMaxVcpus] = {}; // owned
	u32 nr_vcpus_ = 0;
	u32 max_vcpu_ids_ = 0; // 0: kMaxVcpus
	bool halt_in_kernel_ = false;
	MemoryMap memory_[kAddressSpaces];
	IoEvents io_events_; // after the vCPUs in destruction order: they read it
};

} // namespace axvm
