// SPDX-License-Identifier: GPL-2.0
// A VM's arm64 stage-2 tables: the core's PageTable in Stage2Format, the
// IPA size enforced and the cache maintenance a mapping needs.
#pragma once

#include <axvm/stage2.hpp>

#include "stage2_format.hpp"

namespace axvm::arm64 {

// Cleans and invalidates [va, va + len) to the point of coherency, so that
// a guest sees memory as the host wrote it even with its caches off.
inline void clean_to_poc(void *va, u64 len)
{
	u64 ctr;
	asm volatile("mrs %0, ctr_el0" : "=r"(ctr));
	const u64 line = 4ull << ((ctr >> 16) & 0xf); // DminLine: log2 words
	const u64 start = reinterpret_cast<u64>(va) & ~(line - 1);
	for (u64 a = start; a < reinterpret_cast<u64>(va) + len; a += line)
		asm volatile("dc civac, %0" : : "r"(a) : "memory");
	asm volatile("dsb ish" : : : "memory");
}

// A VM's stage 2, refusing guest-physical addresses beyond the IPA size.
class Stage2Tables final : public Stage2 {
public:
	explicit Stage2Tables(u64 ipa_limit) : ipa_limit_(ipa_limit) {}
	Status init() { return table_.init(); }
	Status map(u64 gpa, u64 hpa, bool writable) override
	{
		if (gpa >= ipa_limit_)
			return fail(err::EINVAL);
		// The guest may read the page uncached (its MMU off): what the VMM
		// wrote through its cached mapping must be in memory first.
		clean_to_poc(axvm_phys_to_virt(hpa), kPageSize);
		return table_.map(gpa, hpa, writable);
	}
	void unmap(u64 gpa) override { table_.unmap(gpa); }
	void *detach_unused(u64 gpa, u64 size) override { return table_.prune(gpa, gpa + size); }
	void free_detached(void *tables) override { table_.free_detached(static_cast<u64 *>(tables)); }
	// The instruction caches, once per change of the slots rather than per
	// page (under QEMU every IC IALLUIS throws away all translated code).
	void after_change() override { asm volatile("ic ialluis\n\tdsb ish\n\tisb" : : : "memory"); }
	u64 root_phys() const override { return table_.root_phys(); }
	const PageTable<Stage2Format> &table() const { return table_; }

private:
	const u64 ipa_limit_;
	PageTable<Stage2Format> table_;
};

} // namespace axvm::arm64
