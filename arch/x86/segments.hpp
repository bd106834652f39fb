// SPDX-License-Identifier: GPL-2.0
// Segment registers in one form for both backends: the VMCB's (AMD APM vol.
// 2, 15.5.1), which SVM stores as is and VMX converts to and from its access
// rights (Intel SDM vol. 3C, 25.4.1); and KVM's struct kvm_segment.
#pragma once

#include <uapi/axvm.h>

#include "x86.hpp"

namespace axvm::x86 {

// The segment registers in instruction-encoding order (ES..GS), then LDTR, TR.
enum Seg : u8 { kEs, kCs, kSs, kDs, kFs, kGs, kLdtr, kTr, kNumSegs };

// Attributes: descriptor bits 47:40 in 7:0 (type, S, DPL, P), bits 55:52 in
// 11:8 (AVL, L, D/B, G). A segment without P is unusable.
struct Segment {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
};
constexpr u16 kAttrS = 1u << 4, kAttrP = 1u << 7, kAttrL = 1u << 9, kAttrDb = 1u << 10;

constexpr u8 attrib_dpl(u16 attrib) { return (attrib >> 5) & 3; }

struct DescTable {
	u64 base;
	u32 limit;
};

inline Segment from_kvm(const axvm_segment &s)
{
	const u16 attrib = (s.type & 0xf) | (s.s & 1) << 4 | (s.dpl & 3) << 5 |
			   (s.unusable ? 0 : (s.present & 1) << 7) | (s.avl & 1) << 8 | (s.l & 1) << 9 |
			   (s.db & 1) << 10 | (s.g & 1) << 11;
	return Segment{s.selector, attrib, s.limit, s.base};
}

inline axvm_segment to_kvm(const Segment &v)
{
	axvm_segment s = {};
	s.base = v.base;
	s.limit = v.limit;
	s.selector = v.selector;
	s.type = v.attrib & 0xf;
	s.s = (v.attrib >> 4) & 1;
	s.dpl = (v.attrib >> 5) & 3;
	s.present = (v.attrib >> 7) & 1;
	s.avl = (v.attrib >> 8) & 1;
	s.l = (v.attrib >> 9) & 1;
	s.db = (v.attrib >> 10) & 1;
	s.g = (v.attrib >> 11) & 1;
	s.unusable = !s.present;
	return s;
}

// VMX access rights: the same bits with 55:52 in 15:12, and bit 16
// "unusable" where the VMCB has P clear. An unusable segment goes to VMX as
// that bit alone, as KVM writes it (vmx_segment_access_rights); what the
// CPU leaves in the other bits comes back with P clear.
constexpr u32 kArUnusable = 1u << 16;

constexpr u32 to_vmx_ar(u16 attrib)
{
	return (attrib & kAttrP) ? (attrib & 0xffu) | ((attrib >> 8) & 0xfu) << 12 : kArUnusable;
}

constexpr u16 from_vmx_ar(u32 ar)
{
	const u16 attrib = static_cast<u16>((ar & 0xff) | ((ar >> 12) & 0xf) << 8);
	return (ar & kArUnusable) ? attrib & ~kAttrP : attrib;
}

} // namespace axvm::x86
