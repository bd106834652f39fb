// SPDX-License-Identifier: GPL-2.0
// Guest-physical memory of one VM: up to kMaxSlots userspace ranges with
// KVM_SET_USER_MEMORY_REGION semantics, pinned while registered. A guest
// address in no slot is MMIO, never a host access.
#pragma once

#include "stage2.hpp"

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
	enum : u32 { kMaxSlots = 32 };
	// Guest-physical addresses a slot may cover: what 4-level nested paging maps.
	enum : u64 { kGuestPhysLimit = 1ull << 48 };

	MemoryMap() = default;
	~MemoryMap();
	// Allocates the lock that lets vCPUs read guest memory while slots change.
	Status init();
	MemoryMap(const MemoryMap &) = delete;
	MemoryMap &operator=(const MemoryMap &) = delete;

	// From now on every slot change is mirrored into @stage2 (may be null).
	void attach(Stage2 *stage2) { stage2_ = stage2; }

	// KVM_SET_USER_MEMORY_REGION: add, move/re-flag (same size and address),
	// or delete (memory_size 0). Pins or unpins the pages and updates the
	// stage-2 tables; old pages are unpinned only after no vCPU can reach
	// them any more.
	Status set_region(const axvm_userspace_memory_region &region);

	// The checks alone, without pinning: 0 or the errno set_region returns.
	Status check(const axvm_userspace_memory_region &region) const;

	const MemorySlot *find(u64 gpa) const;
	const MemorySlot &slot(u32 index) const { return slots_[index]; }

	// Host physical address backing @gpa; -EFAULT outside every slot.
	Result<u64> host_phys(u64 gpa) const;

	// Copies guest-physical memory for a vCPU's exit handler (any context
	// but interrupts); -EFAULT if any byte is outside RAM slots, or, for
	// writes, in a read-only slot. Safe against concurrent set_region.
	Status read(u64 gpa, void *dst, usize len) const;
	Status write(u64 gpa, const void *src, usize len);
	// Whether @gpa is guest RAM the access may use (for writes: not read-only).
	bool backs(u64 gpa, bool write) const;

private:
	Status map_slot(const MemorySlot &slot);
	void unmap_slot(const MemorySlot &slot);

	Status copy(u64 gpa, u8 *buf, usize len, bool to_guest) const;

	MemorySlot slots_[kMaxSlots];
	Stage2 *stage2_ = nullptr;
	axvm_rwlock *lock_ = nullptr; // readers: copy(); writer: set_region's slot update
};

} // namespace axvm
