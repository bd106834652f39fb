// SPDX-License-Identifier: GPL-2.0
#include "guest_access.hpp"

namespace axvm::x86 {

namespace {

struct Slots final : GuestPhys {
	const MemoryMap &memory;
	explicit Slots(const MemoryMap &m) : memory(m) {}
	Status read(u64 gpa, void *dst, usize len) const override { return memory.read(gpa, dst, len); }
};

} // namespace

Status access_linear(const PagingState &paging, MemoryMap &memory, u64 linear, void *buf, usize len,
		     bool write)
{
	const Slots slots(memory);
	u8 *p = static_cast<u8 *>(buf);
	while (len) {
		Result<u64> gpa = translate(paging, linear, slots);
		if (!gpa.ok())
			return Error{gpa.error()};
		usize n = kPageSize - (linear & (kPageSize - 1));
		if (n > len)
			n = len;
		Status st = write ? memory.write(gpa.value(), p, n) : memory.read(gpa.value(), p, n);
		if (!st.ok())
			return st;
		linear += n;
		p += n;
		len -= n;
	}
	return Status();
}

Status fetch_instruction(const PagingState &paging, MemoryMap &memory, u64 linear, u8 *bytes, usize len,
			 usize *fetched)
{
	// Take what this page holds, then as much of the next as is there.
	usize first = kPageSize - (linear & (kPageSize - 1));
	if (first > len)
		first = len;
	Status st = access_linear(paging, memory, linear, bytes, first, false);
	if (!st.ok())
		return st;
	*fetched = first;
	if (first < len && access_linear(paging, memory, linear + first, bytes + first, len - first, false).ok())
		*fetched = len;
	return Status();
}

} // namespace axvm::x86
