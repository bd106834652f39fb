// SPDX-License-Identifier: GPL-2.0
// Feature bits: Intel SDM vol. 2A "CPUID", AMD APM vol. 3 appendix E.
#include "cpuid.hpp"

namespace axvm::x86 {

namespace {

struct Leaf {
	u32 function;
	u32 eax, ebx, ecx, edx; // masks applied to the host's values
};

constexpr u32 kAll = ~0u;

// What the guest may see of each leaf. Left out on purpose: MONITOR/MWAIT,
// VMX/SVM (no nesting), XSAVE/OSXSAVE/AVX (XCR0 is not switched), x2APIC,
// APIC, MTRR, MCE/MCA (not emulated), RDTSCP (intercepted), the topology
// and APIC-ID fields (one flat CPU per vCPU).
constexpr u32 kLeaf1Ecx = (1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) |
			  (1u << 22) | (1u << 23) | (1u << 25) | (1u << 30);
constexpr u32 kLeaf1Edx = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
			  (1u << 6) | (1u << 8) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 16) |
			  (1u << 17) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
constexpr u32 kHypervisorBit = 1u << 31;
constexpr u32 kLeaf7Ebx = (1u << 0) | (1u << 3) | (1u << 7) | (1u << 8) | (1u << 9) | (1u << 19) |
			  (1u << 20) | (1u << 23);
constexpr u32 kExt1Ecx = (1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8);
constexpr u32 kExt1Edx = (1u << 11) | (1u << 20) | (1u << 22) | (1u << 26) | (1u << 29) | kLeaf1Edx;

constexpr Leaf kBasic[] = {
	{0x0, kAll, kAll, kAll, kAll},
	{0x1, kAll, 0x0000ffff, kLeaf1Ecx, kLeaf1Edx},
	{0x7, 0, kLeaf7Ebx, 0, 0},
};
constexpr Leaf kExtended[] = {
	{0x80000000, kAll, kAll, kAll, kAll},
	{0x80000001, kAll, 0, kExt1Ecx, kExt1Edx},
	{0x80000002, kAll, kAll, kAll, kAll},
	{0x80000003, kAll, kAll, kAll, kAll},
	{0x80000004, kAll, kAll, kAll, kAll},
	{0x80000008, 0x0000ffff, 0, 0, 0},
};

constexpr u32 kMaxBasic = 0x7, kMaxExtended = 0x80000008;
constexpr u32 kGuestPhysBits = 48; // what 4-level nested paging maps

u32 add_leaves(const Leaf *leaves, usize n, u32 host_max, u32 limit, axvm_cpuid_entry2 *out, u32 count, u32 max)
{
	for (usize i = 0; i < n; i++) {
		const Leaf &l = leaves[i];
		if (l.function > host_max)
			continue;
		if (count >= max) {
			count++; // counted, not written: the caller learns the size needed
			continue;
		}
		const CpuidResult h = cpuid(l.function, 0);
		axvm_cpuid_entry2 &e = out[count++];
		e = axvm_cpuid_entry2{};
		e.function = l.function;
		e.eax = h.eax & l.eax;
		e.ebx = h.ebx & l.ebx;
		e.ecx = h.ecx & l.ecx;
		e.edx = h.edx & l.edx;
		if (l.function == 0x0 || l.function == 0x80000000)
			e.eax = h.eax < limit ? h.eax : limit;
		if (l.function == 0x1)
			e.ecx |= kHypervisorBit;
		if (l.function == 0x7)
			e.flags = AXVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (l.function == 0x80000008 && (e.eax & 0xff) > kGuestPhysBits)
			e.eax = (e.eax & ~0xffu) | kGuestPhysBits;
	}
	return count;
}

} // namespace

u32 supported_cpuid(axvm_cpuid_entry2 *out, u32 max)
{
	u32 n = add_leaves(kBasic, array_size(kBasic), cpuid(0).eax, kMaxBasic, out, 0, max);
	return add_leaves(kExtended, array_size(kExtended), cpuid(0x80000000).eax, kMaxExtended, out, n, max);
}

void CpuidTable::reset()
{
	const u32 n = supported_cpuid(entries_, AXVM_MAX_CPUID_ENTRIES);
	count_ = n < AXVM_MAX_CPUID_ENTRIES ? n : AXVM_MAX_CPUID_ENTRIES;
}

Status CpuidTable::set(const axvm_cpuid2 &c, usize size)
{
	if (c.nent > AXVM_MAX_CPUID_ENTRIES || size < sizeof(c) + c.nent * sizeof(c.entries[0]))
		return fail(err::E2BIG);
	for (u32 i = 0; i < c.nent; i++)
		entries_[i] = c.entries[i];
	count_ = c.nent;
	return Status();
}

Status CpuidTable::get(axvm_cpuid2 &c, usize size) const
{
	if (c.nent < count_ || size < sizeof(c) + count_ * sizeof(c.entries[0])) {
		c.nent = count_;
		return fail(err::E2BIG);
	}
	for (u32 i = 0; i < count_; i++)
		c.entries[i] = entries_[i];
	c.nent = count_;
	return Status();
}

CpuidResult CpuidTable::lookup(u32 function, u32 index) const
{
	for (u32 i = 0; i < count_; i++) {
		const axvm_cpuid_entry2 &e = entries_[i];
		if (e.function != function)
			continue;
		if ((e.flags & AXVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e.index != index)
			continue;
		return CpuidResult{e.eax, e.ebx, e.ecx, e.edx};
	}
	return CpuidResult{0, 0, 0, 0};
}

} // namespace axvm::x86
