// SPDX-License-Identifier: GPL-2.0
// KVM_SET_USER_MEMORY_REGION semantics on a fixed slot table.
#include <axvm/memory_map.hpp>
#include <uapi/axvm.h>

namespace axvm {

bool MemorySlot::read_only() const { return flags & AXVM_MEM_READONLY; }

MemoryMap::~MemoryMap()
{
	for (MemorySlot &s : slots_)
		if (s.pinned)
			axvm_unpin_user_pages(s.pinned);
}

static bool aligned(u64 v) { return (v & (kPageSize - 1)) == 0; }

Status MemoryMap::check(const axvm_userspace_memory_region &r) const
{
	const u32 id = r.slot & 0xffff;
	if ((r.slot >> 16) != 0 || id >= kMaxSlots)
		return fail(err::EINVAL);
	if (r.flags & ~AXVM_MEM_READONLY)
		return fail(err::EINVAL);
	if (!aligned(r.memory_size) || !aligned(r.guest_phys_addr) || !aligned(r.userspace_addr))
		return fail(err::EINVAL);

	const MemorySlot &old = slots_[id];
	if (r.memory_size == 0)
		return old.used() ? Status() : fail(err::EINVAL);

	if (r.guest_phys_addr >= kGuestPhysLimit || r.memory_size > kGuestPhysLimit - r.guest_phys_addr)
		return fail(err::EINVAL);
	if (r.userspace_addr + r.memory_size < r.userspace_addr)
		return fail(err::EINVAL);
	// As in KVM, an existing slot may move or change flags, never resize or
	// change its backing memory.
	if (old.used() && (old.size != r.memory_size || old.uaddr != r.userspace_addr))
		return fail(err::EINVAL);

	for (u32 i = 0; i < kMaxSlots; i++) {
		const MemorySlot &s = slots_[i];
		if (i == id || !s.used())
			continue;
		if (r.guest_phys_addr < s.gpa + s.size && s.gpa < r.guest_phys_addr + r.memory_size)
			return fail(err::EEXIST);
	}
	return Status();
}

Status MemoryMap::set_region(const axvm_userspace_memory_region &r)
{
	Status s = check(r);
	if (!s.ok())
		return s;

	MemorySlot &slot = slots_[r.slot & 0xffff];
	axvm_pinned *pinned = nullptr;
	if (r.memory_size) {
		const int writable = !(r.flags & AXVM_MEM_READONLY);
		int e = axvm_pin_user_pages(r.userspace_addr, r.memory_size / kPageSize, writable, &pinned);
		if (e)
			return Error{e};
	}
	if (slot.pinned)
		axvm_unpin_user_pages(slot.pinned);
	slot = MemorySlot{};
	if (r.memory_size)
		slot = MemorySlot{r.guest_phys_addr, r.memory_size, r.userspace_addr, r.flags, pinned};
	return Status();
}

const MemorySlot *MemoryMap::find(u64 gpa) const
{
	for (const MemorySlot &s : slots_)
		if (s.used() && s.contains(gpa))
			return &s;
	return nullptr;
}

Result<u64> MemoryMap::host_phys(u64 gpa) const
{
	const MemorySlot *s = find(gpa);
	if (!s)
		return fail(err::EFAULT);
	const u64 offset = gpa - s->gpa;
	return axvm_pinned_page_phys(s->pinned, offset / kPageSize) + (offset & (kPageSize - 1));
}

} // namespace axvm
