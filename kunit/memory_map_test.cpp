// SPDX-License-Identifier: GPL-2.0
// Every rejection of KVM_SET_USER_MEMORY_REGION that needs no real memory
// (slots backed by pinned pages are covered from userspace: tests/vmm/abi/).
#include "check.hpp"

#include <axvm/memory_map.hpp>
#include <uapi/axvm.h>

using namespace axvm;

namespace {

axvm_userspace_memory_region region(u32 slot, u32 flags, u64 gpa, u64 size, u64 uaddr)
{
	axvm_userspace_memory_region r = {};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = uaddr;
	return r;
}

constexpr u64 kUser = 0x7f0000000000ull;

} // namespace

extern "C" void axvm_test_memory_map_rejections(struct kunit *t)
{
	MemoryMap *map = new MemoryMap;
	CHECK(t, map);
	if (!map)
		return;
	CHECK(t, map->init().ok());
	const int einval = -err::EINVAL;

	CHECK_EQ(t, map->check(region(0, 0, 0, 0x200000, kUser)).error(), 0);
	CHECK_EQ(t, map->check(region(MemoryMap::kMaxSlots - 1, AXVM_MEM_READONLY, 0, 0x1000, kUser)).error(), 0);

	CHECK_EQ(t, map->check(region(1u << 16, 0, 0, 0x1000, kUser)).error(), einval); // address space 1
	CHECK_EQ(t, map->check(region(MemoryMap::kMaxSlots, 0, 0, 0x1000, kUser)).error(), einval);
	CHECK_EQ(t, map->check(region(0, AXVM_MEM_LOG_DIRTY_PAGES, 0, 0x1000, kUser)).error(), 0); // dirty logging is accepted
	CHECK_EQ(t, map->check(region(0, 1u << 2, 0, 0x1000, kUser)).error(), einval); // unknown flag
	CHECK_EQ(t, map->check(region(0, 0, 0, 0x1001, kUser)).error(), einval);
	CHECK_EQ(t, map->check(region(0, 0, 0x800, 0x1000, kUser)).error(), einval);
	CHECK_EQ(t, map->check(region(0, 0, 0, 0x1000, kUser + 8)).error(), einval);
	CHECK_EQ(t, map->check(region(0, 0, 0, 0, kUser)).error(), einval); // delete of an empty slot
	CHECK_EQ(t, map->check(region(0, 0, MemoryMap::kGuestPhysLimit, 0x1000, kUser)).error(), einval);
	CHECK_EQ(t, map->check(region(0, 0, MemoryMap::kGuestPhysLimit - 0x1000, 0x2000, kUser)).error(), einval);
	CHECK_EQ(t, map->check(region(0, 0, ~0xfffull, 0x2000, kUser)).error(), einval); // gpa + size wraps
	CHECK_EQ(t, map->check(region(0, 0, 0, 0x2000, ~0xfffull)).error(), einval);     // uaddr + size wraps

	// set_region refuses the same way, before touching any memory.
	CHECK_EQ(t, map->set_region(region(0, 0, 0, 0x1001, kUser)).error(), einval);

	// An empty map translates nothing: every address is MMIO.
	CHECK(t, map->find(0) == nullptr);
	CHECK_EQ(t, map->host_phys(0x1000).error(), -err::EFAULT);
	delete map;
}

extern "C" void axvm_test_memory_map_slot_geometry(struct kunit *t)
{
	MemorySlot s;
	CHECK(t, !s.used());
	s.gpa = 0x100000;
	s.size = 0x2000;
	CHECK(t, s.used());
	CHECK(t, !s.contains(0xfffff));
	CHECK(t, s.contains(0x100000));
	CHECK(t, s.contains(0x101fff));
	CHECK(t, !s.contains(0x102000));
	CHECK(t, !s.read_only());
	s.flags = AXVM_MEM_READONLY;
	CHECK(t, s.read_only());
}
