// SPDX-License-Identifier: GPL-2.0
// arm64 stage-2 descriptors (Arm ARM D8.3, VMSAv8-64 with a 4 KiB granule)
// for the core's PageTable. Pure: tested in kunit/arm64_test.cpp.
#pragma once

#include <axvm/types.hpp>

namespace axvm::arm64 {

struct Stage2Format {
	enum : u64 {
		kValid = 1,
		kTableOrPage = 2, // a table above level 3, a page at level 3
		// Leaf attributes: MemAttr 0b1111 (Normal, inner and outer
		// write-back; the guest's stage 1 can only make it weaker), inner
		// shareable, access flag set (no access-flag faults), S2AP
		// read-only or read/write, executable.
		kMemAttrNormalWb = 0xfull << 2,
		kS2apRead = 1ull << 6,
		kS2apWrite = 2ull << 6,
		kShInner = 3ull << 8,
		kAf = 1ull << 10,
		kAddress = 0x0000fffffffff000ull,
	};

	static u64 table(u64 pa) { return pa | kTableOrPage | kValid; }
	static u64 leaf(u64 pa, bool writable)
	{
		return pa | kAf | kShInner | kS2apRead | (writable ? u64{kS2apWrite} : 0) | kMemAttrNormalWb |
		       kTableOrPage | kValid;
	}
	static bool present(u64 entry) { return entry & kValid; }
	static u64 address(u64 entry) { return entry & kAddress; }
};

} // namespace axvm::arm64
