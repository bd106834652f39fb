// SPDX-License-Identifier: GPL-2.0
// Guest-virtual memory as the vCPU sees it, for instruction fetch and string
// I/O: the guest's own page tables, then the VM's memory slots.
#include "svm_vcpu.hpp"

#include "../guest_walk.hpp"
#include "../x86.hpp"

namespace axvm::svm {

Status SvmVcpu::access_linear(u64 linear, void *buf, usize len, bool write)
{
	const VmcbSave &s = vmcb_->save;
	const x86::PagingState paging{s.cr0, s.cr3, s.cr4, s.efer};
	u8 *p = static_cast<u8 *>(buf);
	while (len) {
		Result<u64> gpa = x86::translate(paging, linear, vm_.memory());
		if (!gpa.ok())
			return Error{gpa.error()};
		usize n = kPageSize - (gpa.value() & (kPageSize - 1));
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

} // namespace axvm::svm
