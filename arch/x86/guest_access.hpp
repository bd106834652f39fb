// SPDX-License-Identifier: GPL-2.0
// Guest-virtual memory as a vCPU sees it, for instruction fetch and string
// I/O: the guest's own page tables (guest_walk.hpp), then the VM's slots.
#pragma once

#include <axvm/memory_map.hpp>

#include "guest_walk.hpp"

namespace axvm::x86 {

// Reads or writes @len bytes at @linear; -EFAULT where the guest has no
// mapping or the page is not RAM.
Status access_linear(const PagingState &paging, MemoryMap &memory, u64 linear, void *buf, usize len,
		     bool write);

// The instruction bytes at @linear: up to @len, fewer if the instruction
// may end before a page the guest cannot read (@fetched says how many).
Status fetch_instruction(const PagingState &paging, MemoryMap &memory, u64 linear, u8 *bytes, usize len,
			 usize *fetched);

} // namespace axvm::x86
