// SPDX-License-Identifier: GPL-2.0
// The guest page walker over page tables built in a fake guest memory, for
// every x86 paging mode, with large pages and non-present entries.
#include "check.hpp"

#include <arch/x86/guest_walk.hpp>
#include <arch/x86/x86.hpp>

using namespace axvm;
using namespace axvm::x86;

namespace {

// 64 KiB of guest-physical memory at address 0.
struct FakeMemory final : GuestPhys {
	static constexpr u64 kSize = 0x10000;
	u8 *bytes = static_cast<u8 *>(axvm_kzalloc(kSize));

	~FakeMemory() { axvm_kfree(bytes); }
	Status read(u64 gpa, void *dst, usize len) const override
	{
		if (gpa >= kSize || len > kSize - gpa)
			return fail(err::EFAULT);
		for (usize i = 0; i < len; i++)
			static_cast<u8 *>(dst)[i] = bytes[gpa + i];
		return Status();
	}
	void put64(u64 gpa, u64 v)
	{
		for (int i = 0; i < 8; i++)
			bytes[gpa + i] = static_cast<u8>(v >> (8 * i));
	}
	void put32(u64 gpa, u32 v)
	{
		for (int i = 0; i < 4; i++)
			bytes[gpa + i] = static_cast<u8>(v >> (8 * i));
	}
};

constexpr u64 P = 1, RW = 2, PS = 0x80;

bool translates(const FakeMemory &m, const PagingState &p, u64 linear, u64 want)
{
	Result<u64> r = translate(p, linear, m);
	return r.ok() && r.value() == want;
}

} // namespace

extern "C" void axvm_test_guest_walk_unpaged_and_32bit(struct kunit *t)
{
	FakeMemory m;
	CHECK(t, m.bytes);
	if (!m.bytes)
		return;
	const PagingState off{kCr0Pe, 0, 0, 0};
	CHECK(t, translates(m, off, 0x12345, 0x12345));

	// 32-bit paging: PD at 0x1000, PT at 0x2000; 0x00400000 -> 0x5000;
	// PDE 2 is a 4 MiB page at 0x0c00000 (with PSE-36 bits 20:13 = 1).
	m.put32(0x1000 + 1 * 4, 0x2000 | P | RW);
	m.put32(0x2000 + 3 * 4, 0x5000 | P);
	m.put32(0x1000 + 2 * 4, 0x00c00000 | (1u << 13) | PS | P);
	const PagingState p32{kCr0Pe | kCr0Pg, 0x1000, kCr4Pse, 0};
	CHECK(t, translates(m, p32, 0x00403abc, 0x5abc));
	CHECK(t, translates(m, p32, 0x00812345, 0x100c12345ull));
	CHECK_EQ(t, translate(p32, 0x00404000, m).error(), -err::EFAULT); // PTE not present
	CHECK_EQ(t, translate(p32, 0x10000000, m).error(), -err::EFAULT); // PDE not present
	// Without CR4.PSE the PS bit means nothing: PDE 2 points at a table (0x0c00000, outside RAM).
	const PagingState nopse{kCr0Pe | kCr0Pg, 0x1000, 0, 0};
	CHECK_EQ(t, translate(nopse, 0x00812345, m).error(), -err::EFAULT);
}

extern "C" void axvm_test_guest_walk_pae_and_long(struct kunit *t)
{
	FakeMemory m;
	CHECK(t, m.bytes);
	if (!m.bytes)
		return;
	// PAE: PDPT at 0x1020 (32-byte aligned), PD at 0x3000, PT at 0x4000.
	m.put64(0x1020 + 1 * 8, 0x3000 | P);                 // 1-2 GiB
	m.put64(0x3000 + 2 * 8, 0x4000 | P | RW);            // 0x40400000
	m.put64(0x4000 + 5 * 8, 0x9000 | P);                 // 0x40405000
	m.put64(0x3000 + 3 * 8, 0x200000ull * 7 | PS | P);   // 0x40600000: 2 MiB page
	const PagingState pae{kCr0Pe | kCr0Pg, 0x1020, kCr4Pae, 0};
	CHECK(t, translates(m, pae, 0x40405123, 0x9123));
	CHECK(t, translates(m, pae, 0x40612345, 0xe12345));
	CHECK_EQ(t, translate(pae, 0x80000000, m).error(), -err::EFAULT); // PDPTE 2 not present

	// 4-level: PML4 0x5000 -> PDPT 0x6000 -> PD 0x7000 -> PT 0x8000.
	m.put64(0x5000 + 1 * 8, 0x6000 | P | RW);             // 512 GiB
	m.put64(0x6000 + 0 * 8, 0x7000 | P | RW);
	m.put64(0x7000 + 0 * 8, 0x8000 | P | RW);
	m.put64(0x8000 + 1 * 8, 0xa000 | P | RW | (1ull << 63)); // NX does not matter here
	m.put64(0x6000 + 1 * 8, 0x40000000ull * 3 | PS | P);  // 1 GiB page
	m.put64(0x7000 + 1 * 8, 0x200000ull * 9 | PS | P);     // 2 MiB page
	const PagingState lm{kCr0Pe | kCr0Pg, 0x5000, kCr4Pae, kEferLme | kEferLma};
	const u64 base = 1ull << 39;
	CHECK(t, translates(m, lm, base + 0x1234, 0xa234));
	CHECK(t, translates(m, lm, base + 0x40000000 + 0x123456, 0xc0123456ull));
	CHECK(t, translates(m, lm, base + 0x200000 + 0x54321, 0x1254321ull));
	CHECK_EQ(t, translate(lm, base + 0x2000, m).error(), -err::EFAULT);  // PTE
	CHECK_EQ(t, translate(lm, 0x1000, m).error(), -err::EFAULT);         // PML4E
	const PagingState la57{kCr0Pe | kCr0Pg, 0x5000, kCr4Pae | kCr4La57, kEferLme | kEferLma};
	CHECK_EQ(t, translate(la57, base, m).error(), -err::EOPNOTSUPP);
	// A table outside guest RAM is a fault too, never a host access.
	const PagingState wild{kCr0Pe | kCr0Pg, 0x7fff0000, kCr4Pae, kEferLme | kEferLma};
	CHECK_EQ(t, translate(wild, base, m).error(), -err::EFAULT);
}
