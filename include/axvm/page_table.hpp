// SPDX-License-Identifier: GPL-2.0
// The core's page-table code: a 4-level radix tree of 512-entry tables with
// 4 KiB leaves, the shape of x86-64 NPT/EPT and of arm64 stage 2 with a 4 KiB
// granule. Only the entry encoding differs, so the backend supplies it:
//
//   struct Format {
//       static u64 table(u64 pa);                  // entry pointing to a table
//       static u64 leaf(u64 pa, bool writable);    // entry mapping a 4 KiB page
//       static bool present(u64 entry);
//       static u64 address(u64 entry);             // the pa an entry holds
//   };
//
// Tables are allocated when a mapping first needs them, so unmapping never
// allocates and remapping what was mapped before cannot fail; tables a
// range no longer needs are detached by prune() and freed by the caller
// once no CPU can walk them (free_detached), else with the tree. Callers
// serialize changes; the hardware walks the tree concurrently, which is
// safe because each entry is one 64-bit store.
#pragma once

#include "result.hpp"

namespace axvm {

template <class Format> class PageTable {
public:
	enum : int { kLevels = 4 };
	enum : u64 { kEntries = 512 };

	PageTable() = default;
	~PageTable() { free_table(root_, kLevels - 1, tables_); }
	PageTable(const PageTable &) = delete;
	PageTable &operator=(const PageTable &) = delete;

	Status init()
	{
		root_ = static_cast<u64 *>(axvm_alloc_page(&root_pa_));
		tables_ = root_ ? 1 : 0;
		return root_ ? Status() : fail(err::ENOMEM);
	}

	u64 root_phys() const { return root_pa_; }
	// Table pages the tree holds (the root included).
	u64 tables() const { return tables_; }

	// Maps the 4 KiB page at @gpa (aligned) to @hpa.
	Status map(u64 gpa, u64 hpa, bool writable)
	{
		u64 *entry = walk(gpa, true);
		if (!entry)
			return fail(err::ENOMEM);
		store(entry, Format::leaf(hpa, writable));
		return Status();
	}

	void unmap(u64 gpa)
	{
		if (u64 *entry = walk(gpa, false))
			store(entry, 0);
	}

	// The leaf entry for @gpa, or 0.
	u64 lookup(u64 gpa) const
	{
		u64 *entry = const_cast<PageTable *>(this)->walk(gpa, false);
		return entry ? *entry : 0;
	}

	// After [@lo, @hi) was unmapped: the tables below the root that map
	// nothing any more and lie in that range are taken out of the tree
	// (their parent entry cleared) and returned as a list, linked through
	// their first word, for free_detached() once no CPU can reach them.
	// The walk is bounded by kLevels.
	u64 *prune(u64 lo, u64 hi)
	{
		u64 *list = nullptr;
		if (root_ && lo < hi)
			prune_level(root_, kLevels - 1, 0, lo, hi, list);
		return list;
	}

	// Frees what prune() detached.
	void free_detached(u64 *list)
	{
		while (list) {
			u64 *next = reinterpret_cast<u64 *>(list[0]);
			axvm_free_page(list);
			tables_--;
			list = next;
		}
	}

private:
	static u64 index(u64 gpa, int level) { return (gpa >> (12 + 9 * level)) & (kEntries - 1); }
	static void store(u64 *entry, u64 value) { __atomic_store_n(entry, value, __ATOMIC_RELEASE); }

	// The level-0 entry for @gpa; with @create, missing tables are added.
	u64 *walk(u64 gpa, bool create)
	{
		u64 *table = root_;
		for (int level = kLevels - 1; level > 0 && table; level--) {
			u64 *entry = &table[index(gpa, level)];
			if (!Format::present(*entry)) {
				if (!create)
					return nullptr;
				u64 pa;
				if (!axvm_alloc_page(&pa))
					return nullptr;
				tables_++;
				store(entry, Format::table(pa));
			}
			table = static_cast<u64 *>(axvm_phys_to_virt(Format::address(*entry)));
		}
		return table ? &table[index(gpa, 0)] : nullptr;
	}

	// Bytes of guest-physical space one entry of a table at @level maps.
	static u64 span(int level) { return 1ull << (12 + 9 * level); }

	static bool empty(const u64 *table)
	{
		for (u64 i = 0; i < kEntries; i++)
			if (Format::present(table[i]))
				return false;
		return true;
	}

	// @table at @level maps guest-physical addresses from @base on.
	// Recursion depth is bounded by kLevels.
	static void prune_level(u64 *table, int level, u64 base, u64 lo, u64 hi, u64 *&list)
	{
		if (level == 0)
			return;
		const u64 first = lo > base ? (lo - base) / span(level) : 0;
		for (u64 i = first; i < kEntries && base + i * span(level) < hi; i++) {
			if (!Format::present(table[i]))
				continue;
			u64 *child = static_cast<u64 *>(axvm_phys_to_virt(Format::address(table[i])));
			prune_level(child, level - 1, base + i * span(level), lo, hi, list);
			if (!empty(child))
				continue;
			store(&table[i], 0);
			child[0] = reinterpret_cast<u64>(list);
			list = child;
		}
	}

	// Recursion depth is bounded by kLevels.
	static void free_table(u64 *table, int level, u64 &count)
	{
		if (!table)
			return;
		for (u64 i = 0; level > 0 && i < kEntries; i++)
			if (Format::present(table[i]))
				free_table(static_cast<u64 *>(axvm_phys_to_virt(Format::address(table[i]))),
					   level - 1, count);
		axvm_free_page(table);
		count--;
	}

	u64 *root_ = nullptr;
	u64 root_pa_ = 0;
	u64 tables_ = 0;
};

} // namespace axvm
