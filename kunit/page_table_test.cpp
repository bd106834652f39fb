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

// A range unmapped and pruned gives its tables back (once the caller frees
// the detached list), and only the tables nothing else needs.
extern "C" void axvm_test_page_table_prune(struct kunit *t)
{
	auto *pt = new PageTable<TestFormat>;
	CHECK(t, pt && pt->init().ok());
	if (!pt)
		return;
	const u64 near = 0x200000, far = 0x7f0000000000;
	CHECK(t, pt->map(near, 0xabc000, true).ok());
	const u64 with_near = pt->tables();
	CHECK_EQ(t, with_near, 4ull); // the root and one table per level below
	for (u64 off = 0; off < 0x400000; off += kPageSize) // 4 MiB: two level-0 tables
		CHECK(t, pt->map(far + off, 0x111000, true).ok());
	CHECK_EQ(t, pt->tables(), with_near + 4);
	for (u64 off = 0; off < 0x400000; off += kPageSize)
		pt->unmap(far + off);
	CHECK_EQ(t, pt->tables(), with_near + 4); // unmapping alone frees nothing
	u64 *detached = pt->prune(far, far + 0x400000);
	CHECK(t, detached != nullptr);
	CHECK_EQ(t, table_at(*pt, far, 2), 0ull); // out of the tree already
	pt->free_detached(detached);
	CHECK_EQ(t, pt->tables(), with_near);
	CHECK_EQ(t, pt->lookup(near), 0xabc000ull | 3); // the neighbour kept its tables
	// Half a level-0 table unmapped: it still maps the other half and stays.
	CHECK(t, pt->map(near + kPageSize, 0xdef000, true).ok());
	pt->unmap(near);
	pt->free_detached(pt->prune(near, near + kPageSize));
	CHECK_EQ(t, pt->tables(), with_near);
	CHECK_EQ(t, pt->lookup(near + kPageSize), 0xdef000ull | 3);
	pt->unmap(near + kPageSize);
	pt->free_detached(pt->prune(0, 1ull << 48));
	CHECK_EQ(t, pt->tables(), 1ull); // the root alone
	delete pt;
}
