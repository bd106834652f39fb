// SPDX-License-Identifier: GPL-2.0
// The core's page-table code with a test entry format: mappings land at
// the right index of every level, unmapping never allocates, remapping
// what was mapped reuses its tables, and the tree frees what it allocated.
#include "check.hpp"

#include <axvm/page_table.hpp>

using namespace axvm;

namespace {

struct TestFormat {
	static constexpr u64 kPresent = 1, kWrite = 2, kTable = 4;
	static u64 table(u64 pa) { return pa | kPresent | kTable; }
	static u64 leaf(u64 pa, bool writable) { return pa | kPresent | (writable ? kWrite : 0); }
	static bool present(u64 e) { return e & kPresent; }
	static u64 address(u64 e) { return e & ~0xfffull; }
};

// The physical page a walk reaches at @level for @gpa (0 if none).
u64 table_at(const PageTable<TestFormat> &pt, u64 gpa, int level)
{
	const u64 *table = static_cast<const u64 *>(axvm_phys_to_virt(pt.root_phys()));
	for (int l = 3; l > level; l--) {
		const u64 e = table[(gpa >> (12 + 9 * l)) & 511];
		if (!TestFormat::present(e))
			return 0;
		table = static_cast<const u64 *>(axvm_phys_to_virt(TestFormat::address(e)));
	}
	return axvm_virt_to_phys(table);
}

} // namespace

extern "C" void axvm_test_page_table_map_unmap(struct kunit *t)
{
	auto *pt = new PageTable<TestFormat>;
	CHECK(t, pt && pt->init().ok());
	if (!pt)
		return;
	const u64 a = 0x12345000, b = 0x12346000, far = 0x7f0000000000;
	CHECK(t, pt->lookup(a) == 0);
	CHECK(t, pt->map(a, 0xabc000, true).ok());
	CHECK(t, pt->map(b, 0xdef000, false).ok());
	CHECK(t, pt->map(far, 0x111000, true).ok());
	CHECK_EQ(t, pt->lookup(a), 0xabc000ull | 3);
	CHECK_EQ(t, pt->lookup(b), 0xdef000ull | 1); // read-only: no write bit
	CHECK_EQ(t, pt->lookup(far), 0x111000ull | 3);
	// Neighbours share their level-0 table; a far address has its own.
	CHECK(t, table_at(*pt, a, 0) && table_at(*pt, a, 0) == table_at(*pt, b, 0));
	CHECK(t, table_at(*pt, far, 0) != table_at(*pt, a, 0));
	// Each level is indexed by its own 9 bits.
	const u64 *leaf_table = static_cast<const u64 *>(axvm_phys_to_virt(table_at(*pt, a, 0)));
	CHECK_EQ(t, leaf_table[(a >> 12) & 511], 0xabc000ull | 3);

	const u64 tables_before = table_at(*pt, a, 0);
	pt->unmap(a);
	CHECK(t, pt->lookup(a) == 0 && pt->lookup(b) != 0);
	pt->unmap(0x5000); // never mapped: nothing to do, nothing allocated
	CHECK(t, table_at(*pt, 0x5000, 0) == 0); // no level-0 table was made for it
	CHECK(t, pt->map(a, 0xabc000, true).ok());
	CHECK_EQ(t, table_at(*pt, a, 0), tables_before); // the tables stayed
	delete pt; // frees every table (KASAN/kmemleak would see a leak)
}
