// SPDX-License-Identifier: GPL-2.0
// Guest-virtual (linear) to guest-physical, through the guest's own page
// tables, for the few times the hypervisor must read what the guest sees at
// an address: the instruction at RIP, the buffer of a string I/O. Intel SDM
// vol. 3A ch. 4 ("Paging"): 32-bit (4.3), PAE (4.4) and 4-level (4.5).
#pragma once

#include <axvm/result.hpp>

namespace axvm::x86 {

struct PagingState {
	u64 cr0, cr3, cr4, efer;
};

// Reads guest-physical memory for the walker; -EFAULT outside RAM.
class GuestPhys {
public:
	virtual Status read(u64 gpa, void *dst, usize len) const = 0;

protected:
	~GuestPhys() = default;
};

// -EFAULT for a non-present entry (or a table outside RAM), -EOPNOTSUPP
// for 5-level paging. Permissions are not checked: the callers act for the
// CPU on an access the guest itself has just made.
Result<u64> translate(const PagingState &paging, u64 linear, const GuestPhys &mem);

} // namespace axvm::x86
