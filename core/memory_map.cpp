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
	if (lock_)
		axvm_rwlock_destroy(lock_);
}

Status MemoryMap::init()
{
	lock_ = axvm_rwlock_create();
	return lock_ ? Status() : fail(err::ENOMEM);
}

static bool aligned(u64 v) { return (v & (kPageSize - 1)) == 0; }

Status MemoryMap::check(const axvm_userspace_memory_region &r) const
{
	const u32 id = r.slot & 0xffff;
	if ((r.slot >> 16) != 0 || id >= kMaxSlots)
		return fail(err::EINVAL);
	if (r.flags & ~(AXVM_MEM_READONLY | AXVM_MEM_LOG_DIRTY_PAGES))
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
	// As in KVM, an existing slot may move or start or stop dirty logging,
	// never resize, change its backing memory or become (or stop being)
	// read-only.
	if (old.used() && (old.size != r.memory_size || old.uaddr != r.userspace_addr ||
			   ((old.flags ^ r.flags) & AXVM_MEM_READONLY)))
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

Status MemoryMap::map_slot(const MemorySlot &slot)
{
	for (u64 off = 0; off < slot.size; off += kPageSize) {
		const u64 hpa = axvm_pinned_page_phys(slot.pinned, off / kPageSize);
		Status s = stage2_->map(slot.gpa + off, hpa, !slot.read_only());
		if (!s.ok())
			return s;
	}
	return Status();
}

void MemoryMap::unmap_slot(const MemorySlot &slot)
{
	for (u64 off = 0; off < slot.size; off += kPageSize)
		stage2_->unmap(slot.gpa + off);
}

Status MemoryMap::set_region(const axvm_userspace_memory_region &r)
{
	Status s = check(r);
	if (!s.ok())
		return s;

	MemorySlot &slot = slots_[r.slot & 0xffff];
	const MemorySlot old = slot;
	MemorySlot next;
	if (r.memory_size) {
		const int writable = !(r.flags & AXVM_MEM_READONLY);
		int e = axvm_pin_user_pages(r.userspace_addr, r.memory_size / kPageSize, writable, &next.pinned);
		if (e)
			return Error{e};
		next.gpa = r.guest_phys_addr;
		next.size = r.memory_size;
		next.uaddr = r.userspace_addr;
		next.flags = r.flags;
	}
	if (stage2_) {
		if (old.used())
			unmap_slot(old);
		Status m = next.used() ? map_slot(next) : Status();
		if (!m.ok()) {
			// Back to the old mapping; its tables exist, so this cannot fail.
			unmap_slot(next);
			if (old.used())
				(void)map_slot(old);
			void *unused = stage2_->detach_unused(next.gpa, next.size);
			stage2_->invalidate();
			stage2_->free_detached(unused);
			axvm_unpin_user_pages(next.pinned);
			return m;
		}
		// The tables only the old range needed go too, once no vCPU can
		// walk them (after invalidate()): a VMM moving and deleting slots
		// for ever must not grow the tree for ever.
		void *unused = old.used() ? stage2_->detach_unused(old.gpa, old.size) : nullptr;
		stage2_->invalidate();
		stage2_->free_detached(unused);
	}
	if (lock_)
		axvm_write_lock(lock_);
	slot = next;
	if (lock_)
		axvm_write_unlock(lock_);
	// No reader sees the old slot now, and invalidate() made sure no vCPU
	// translates to its pages: they can go.
	if (old.pinned)
		axvm_unpin_user_pages(old.pinned);
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

Status MemoryMap::copy(u64 gpa, u8 *buf, usize len, bool to_guest) const
{
	if (!lock_)
		return fail(err::EFAULT);
	Status status;
	axvm_read_lock(lock_);
	while (len) {
		const MemorySlot *s = find(gpa);
		if (!s || (to_guest && s->read_only())) {
			status = fail(err::EFAULT);
			break;
		}
		const u64 offset = gpa - s->gpa;
		const u64 in_page = offset & (kPageSize - 1);
		usize n = kPageSize - in_page;
		if (n > len)
			n = len;
		u8 *host = static_cast<u8 *>(axvm_phys_to_virt(axvm_pinned_page_phys(s->pinned, offset / kPageSize))) +
			   in_page;
		for (usize i = 0; i < n; i++) {
			if (to_guest)
				host[i] = buf[i];
			else
				buf[i] = host[i];
		}
		gpa += n;
		buf += n;
		len -= n;
	}
	axvm_read_unlock(lock_);
	return status;
}

bool MemoryMap::backs(u64 gpa, bool write) const
{
	axvm_read_lock(lock_);
	const MemorySlot *s = find(gpa);
	const bool ok = s && !(write && s->read_only());
	axvm_read_unlock(lock_);
	return ok;
}

Status MemoryMap::read(u64 gpa, void *dst, usize len) const
{
	return copy(gpa, static_cast<u8 *>(dst), len, false);
}

Status MemoryMap::write(u64 gpa, const void *src, usize len)
{
	return copy(gpa, static_cast<u8 *>(const_cast<void *>(src)), len, true);
}

} // namespace axvm
