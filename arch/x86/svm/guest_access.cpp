// SPDX-License-Identifier: GPL-2.0
// Guest-virtual memory as the vCPU sees it, for instruction fetch and string
// I/O: the guest's own page tables, then the VM's memory slots.
#include "svm_vcpu.hpp"

#include "../guest_walk.hpp"

namespace axvm::svm {

namespace {

struct Slots final : x86::GuestPhys {
	const MemoryMap &memory;
	explicit Slots(const MemoryMap &m) : memory(m) {}
	Status read(u64 gpa, void *dst, usize len) const override { return memory.read(gpa, dst, len); }
};

} // namespace

Status SvmVcpu::access_linear(u64 linear, void *buf, usize len, bool write)
{
	const VmcbSave &s = vmcb_->save;
	const x86::PagingState paging{s.cr0, s.cr3, s.cr4, s.efer};
	const Slots slots(vm_.memory());
	u8 *p = static_cast<u8 *>(buf);
	while (len) {
		Result<u64> gpa = x86::translate(paging, linear, slots);
		if (!gpa.ok())
			return Error{gpa.error()};
		usize n = kPageSize - (linear & (kPageSize - 1));
		if (n > len)
			n = len;
		Status st = write ? vm_.memory().write(gpa.value(), p, n) : vm_.memory().read(gpa.value(), p, n);
		if (!st.ok())
			return st;
		linear += n;
		p += n;
		len -= n;
	}
	return Status();
}

Status SvmVcpu::fetch(u8 *bytes, usize len, usize *fetched)
{
	const VmcbSave &s = vmcb_->save;
	const u64 linear = segment_base(s.cs, 1) + s.rip;
	// The instruction may end right before a page the guest cannot read:
	// take what this page holds, then as much of the next as is there.
	usize first = kPageSize - (linear & (kPageSize - 1));
	if (first > len)
		first = len;
	Status st = access_linear(linear, bytes, first, false);
	if (!st.ok())
		return st;
	*fetched = first;
	if (first < len && access_linear(linear + first, bytes + first, len - first, false).ok())
		*fetched = len;
	return Status();
}

} // namespace axvm::svm
