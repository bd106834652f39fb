// SPDX-License-Identifier: GPL-2.0
// The second translation stage of one VM (x86 NPT or EPT, arm64 stage 2):
// guest-physical to host-physical, built from the VM's memory slots.
#pragma once

#include "page_table.hpp"

namespace axvm {

class Stage2 {
public:
	virtual ~Stage2() = default;
	virtual Status map(u64 gpa, u64 hpa, bool writable) = 0;
	virtual void unmap(u64 gpa) = 0;
	virtual u64 root_phys() const = 0;
	// After [gpa, gpa + size) was unmapped: detaches the tables it no longer
	// needs (PageTable::prune), freed by free_detached() after invalidate().
	virtual void *detach_unused(u64 gpa, u64 size) = 0;
	virtual void free_detached(void *tables) = 0;

	// After mappings were removed or changed: no vCPU of the VM may use a
	// stale translation once this returns. Every vCPU compares generation()
	// with the one it last entered with, interrupts off, right before entry,
	// and flushes its TLB tag when they differ; this bumps the generation and
	// then interrupts every CPU, so a vCPU in the guest at that moment exits
	// (and re-checks) before the call returns.
	void invalidate()
	{
		after_change();
		__atomic_add_fetch(&generation_, 1, __ATOMIC_SEQ_CST);
		axvm_run_on_each_cpu([](void *) {}, nullptr);
	}
	// Once after a batch of map/unmap calls, before the vCPUs re-check:
	// maintenance a backend needs per change rather than per page.
	virtual void after_change() {}

	u64 generation() const { return __atomic_load_n(&generation_, __ATOMIC_ACQUIRE); }
	// For the entry path, which reads it with interrupts off.
	const u64 *generation_ptr() const { return &generation_; }

private:
	u64 generation_ = 0;
};

// A Stage2 over the core's PageTable in the backend's entry format.
template <class Format> class PageTableStage2 final : public Stage2 {
public:
	Status init() { return table_.init(); }
	Status map(u64 gpa, u64 hpa, bool writable) override { return table_.map(gpa, hpa, writable); }
	void unmap(u64 gpa) override { table_.unmap(gpa); }
	u64 root_phys() const override { return table_.root_phys(); }
	void *detach_unused(u64 gpa, u64 size) override { return table_.prune(gpa, gpa + size); }
	void free_detached(void *tables) override { table_.free_detached(static_cast<u64 *>(tables)); }
	const PageTable<Format> &table() const { return table_; }

private:
	PageTable<Format> table_;
};

} // namespace axvm
