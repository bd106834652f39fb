// SPDX-License-Identifier: GPL-2.0
#include "guest_walk.hpp"

#include "x86.hpp"

namespace axvm::x86 {

namespace {

constexpr u64 kPresent = 1, kPageSizeBit = 1 << 7;
constexpr u64 kAddress = 0x000ffffffffff000ull; // bits 51:12

Result<u64> entry(const GuestPhys &mem, u64 gpa, usize size)
{
	u64 e = 0;
	Status s = mem.read(gpa, &e, size);
	if (!s.ok())
		return Error{s.error()};
	if (!(e & kPresent))
		return fail(err::EFAULT);
	return e;
}

// 4-level (from level 3) or PAE (from level 1, after the PDPTE): 8-byte
// entries, 9 bits per level, PS at levels 2 (1 GiB) and 1 (2 MiB).
Result<u64> walk64(const GuestPhys &mem, u64 table, int level, u64 linear)
{
	for (; level >= 0; level--) {
		const u64 shift = 12 + 9 * level;
		Result<u64> e = entry(mem, (table & kAddress) + ((linear >> shift) & 511) * 8, 8);
		if (!e.ok())
			return e;
		if (level > 0 && level < 3 && (e.value() & kPageSizeBit)) {
			const u64 page_mask = (1ull << shift) - 1;
			return (e.value() & kAddress & ~page_mask) | (linear & page_mask);
		}
		table = e.value();
	}
	return (table & kAddress) | (linear & 0xfff);
}

} // namespace

Result<u64> translate(const PagingState &p, u64 linear, const GuestPhys &mem)
{
	if (!(p.cr0 & kCr0Pg))
		return linear & 0xffffffffull;
	if (p.cr4 & kCr4La57)
		return fail(err::EOPNOTSUPP);
	if (p.efer & kEferLma)
		return walk64(mem, p.cr3, 3, linear);
	linear &= 0xffffffffull;
	if (p.cr4 & kCr4Pae) {
		// PDPTE: CR3 bits 31:5 point at four 8-byte entries (SDM 4.4.1).
		Result<u64> pdpte = entry(mem, (p.cr3 & 0xffffffe0ull) + (linear >> 30) * 8, 8);
		if (!pdpte.ok())
			return pdpte;
		return walk64(mem, pdpte.value(), 1, linear);
	}
	// 32-bit paging: 4-byte entries, 10 bits per level.
	Result<u64> pde = entry(mem, (p.cr3 & 0xfffff000ull) + (linear >> 22) * 4, 4);
	if (!pde.ok())
		return pde;
	if ((pde.value() & kPageSizeBit) && (p.cr4 & kCr4Pse)) {
		// 4 MiB page; PSE-36 puts physical bits 39:32 in PDE bits 20:13.
		const u64 high = ((pde.value() >> 13) & 0xff) << 32;
		return high | (pde.value() & 0xffc00000ull) | (linear & 0x3fffff);
	}
	Result<u64> pte = entry(mem, (pde.value() & 0xfffff000ull) + ((linear >> 12) & 0x3ff) * 4, 4);
	if (!pte.ok())
		return pte;
	return (pte.value() & 0xfffff000ull) | (linear & 0xfff);
}

} // namespace axvm::x86
