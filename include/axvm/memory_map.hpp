// SPDX-License-Identifier: GPL-2.0
// Guest-physical memory of one VM: up to kMaxSlots userspace ranges with
// KVM_SET_USER_MEMORY_REGION semantics, pinned while registered. A guest
// address in no slot is MMIO, never a host access.
#pragma once

#include "result.hpp"

struct axvm_userspace_memory_region;

namespace axvm {


struct MemorySlot {
	u64 gpa = 0;
	u64 size = 0; // 0: slot unused
	u64 uaddr = 0;
	u32 flags = 0;
	axvm_pinned *pinned = nullptr;

	bool used() const { return size != 0; }
	bool contains(u64 addr) const { return addr >= gpa && addr - gpa < size; }
	bool read_only() const;
};

class MemoryMap {
public:
	static constexpr u32 kMaxSlots = 32;
	// Guest-physical addresses a slot may cover: what 4-level nested paging maps.
	static constexpr u64 kGuestPhysLimit = 1ull << 48;

	MemoryMap() = default;
	~MemoryMap();
	MemoryMap(const MemoryMap &) = delete;
	MemoryMap &operator=(const MemoryMap &) = delete;

	// KVM_SET_USER_MEMORY_REGION: add, move/re-flag (same size and address),
	// or delete (memory_size 0). Pins or unpins the pages.
	Status set_region(const axvm_userspace_memory_region &region);

	// The checks alone, without pinning: 0 or the errno set_region returns.
	Status check(const axvm_userspace_memory_region &region) const;

	const MemorySlot *find(u64 gpa) const;
	const MemorySlot &slot(u32 index) const { return slots_[index]; }

	// Host physical address backing @gpa; -EFAULT outside every slot.
	Result<u64> host_phys(u64 gpa) const;

private:
	MemorySlot slots_[kMaxSlots];
};

} // namespace axvm
