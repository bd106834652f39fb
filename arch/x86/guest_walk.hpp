// TEMPORARY STUB (replaced by the decoder branch)
#pragma once
#include <axvm/memory_map.hpp>
namespace axvm::x86 {
struct PagingState { u64 cr0, cr3, cr4, efer; };
inline Result<u64> translate(const PagingState &p, u64 linear, const MemoryMap &) {
	if (p.cr0 & (1ull << 31)) return fail(err::EFAULT);
	return linear;
}
}
