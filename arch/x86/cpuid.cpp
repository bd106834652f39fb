// SPDX-License-Identifier: GPL-2.0
// Feature bits: Intel SDM vol. 2A "CPUID", AMD APM vol. 3 appendix E.
#include "cpuid.hpp"

#include <axvm/steal_clock.hpp>

namespace axvm::x86 {

namespace {

struct Leaf {
	u32 function, index;
	u32 eax, ebx, ecx, edx; // masks applied to the host's values
};

constexpr u32 kAll = ~0u;

// What the guest may see of each leaf. Left out on purpose: MONITOR/MWAIT,
// VMX/SVM (no nesting), MTRR,
// MCE/MCA (VMMs add them; the MSRs are there), XSAVES (no XSS), PKU, the
// topology and APIC-ID fields (one flat CPU per vCPU). XSAVE and AVX only
// where the host has XSAVE on (XCR0 is switched per guest), RDTSCP only on
// SVM (where its TSC_AUX is the guest's).
constexpr u32 kLeaf1Ecx = (1u << 0) | (1u << 1) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) |
			  (1u << 22) | (1u << 23) | (1u << 25) | (1u << 30);
constexpr u32 kLeaf1EcxXsave = (1u << 12) | (1u << 26) | (1u << 28) | (1u << 29); // FMA XSAVE AVX F16C
// The local APIC and x2APIC, which KVM offers whatever the host has (the
// in-kernel irqchip emulates them; a VMM without one clears the bits).
constexpr u32 kLeaf1EcxX2apic = 1u << 21, kLeaf1EdxApic = 1u << 9;
constexpr u32 kLeaf7EbxAvx2 = 1u << 5;
constexpr u32 kXsaveSubleaf1 = 0x7; // XSAVEOPT, XSAVEC, XGETBV1
constexpr u32 kLeaf1Edx = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
			  (1u << 6) | (1u << 8) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 16) |
			  (1u << 17) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
constexpr u32 kHypervisorBit = 1u << 31;
constexpr u32 kLeaf7Ebx = (1u << 0) | (1u << 3) | (1u << 7) | (1u << 8) | (1u << 9) | (1u << 19) |
			  (1u << 20) | (1u << 23);
constexpr u32 kExt1Ecx = (1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8);
constexpr u32 kExt1Edx = (1u << 11) | (1u << 20) | (1u << 22) | (1u << 26) | (1u << 29) | kLeaf1Edx;

constexpr Leaf kBasic[] = {
	{0x0, 0, kAll, kAll, kAll, kAll},
	{0x1, 0, kAll, 0x0000ffff, kLeaf1Ecx | kLeaf1EcxXsave, kLeaf1Edx},
	{0x7, 0, 0, kLeaf7Ebx | kLeaf7EbxAvx2, 0, 0},
	{0xd, 0, kAll, kAll, kAll, kAll},
	{0xd, 1, kXsaveSubleaf1, 0, 0, 0},
	{0xd, 2, kAll, kAll, 0, 0},
};
constexpr Leaf kExtended[] = {
	{0x80000000, 0, kAll, kAll, kAll, kAll},
	{0x80000001, 0, kAll, 0, kExt1Ecx, kExt1Edx | (1u << 27)},
	{0x80000002, 0, kAll, kAll, kAll, kAll},
	{0x80000003, 0, kAll, kAll, kAll, kAll},
	{0x80000004, 0, kAll, kAll, kAll, kAll},
	{0x80000008, 0, 0x0000ffff, 0, 0, 0},
};

constexpr u32 kMaxBasic = 0xd, kMaxExtended = 0x80000008;
constexpr u32 kGuestPhysBits = 48; // what 4-level nested paging maps

u32 add_leaves(const Leaf *leaves, usize n, u32 host_max, u32 limit, axvm_cpuid_entry2 *out, u32 count, u32 max,
	       bool rdtscp)
{
	const u64 xcr0 = supported_xcr0();
	for (usize i = 0; i < n; i++) {
		const Leaf &l = leaves[i];
		if (l.function > host_max)
			continue;
		// XSAVE's leaf and the AVX component only where the host has them.
		if (l.function == 0xd && (!xcr0 || (l.index >= 2 && !(xcr0 & (1ull << l.index)))))
			continue;
		if (count >= max) {
			count++; // counted, not written: the caller learns the size needed
			continue;
		}
		const CpuidResult h = cpuid(l.function, l.index);
		axvm_cpuid_entry2 &e = out[count++];
		e = axvm_cpuid_entry2{};
		e.function = l.function;
		e.index = l.index;
		e.eax = h.eax & l.eax;
		e.ebx = h.ebx & l.ebx;
		e.ecx = h.ecx & l.ecx;
		e.edx = h.edx & l.edx;
		if (l.function == 0x0 || l.function == 0x80000000)
			e.eax = h.eax < limit ? h.eax : limit;
		if (l.function == 0x1) {
			e.ecx |= kHypervisorBit | kLeaf1EcxX2apic;
			e.edx |= kLeaf1EdxApic;
		}
		if (l.function == 0x7 || l.function == 0xd)
			e.flags = AXVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (l.function == 0x7)
			e.ebx |= kCpuidTscAdjust;
		if (l.function == 0x1 && !(xcr0 & 4))
			e.ecx &= ~kLeaf1EcxXsave | (xcr0 ? 1u << 26 : 0); // AVX and friends need YMM in XCR0
		if (l.function == 0x7 && !(xcr0 & 4))
			e.ebx &= ~kLeaf7EbxAvx2;
		if (l.function == 0xd && l.index == 0) {
			e.eax = static_cast<u32>(xcr0);
			e.edx = static_cast<u32>(xcr0 >> 32);
			e.ebx = e.ecx = xsave_size(xcr0);
		}
		if (l.function == 0x80000001 && !rdtscp)
			e.edx &= ~(1u << 27);
		if (l.function == 0x80000008 && (e.eax & 0xff) > kGuestPhysBits)
			e.eax = (e.eax & ~0xffu) | kGuestPhysBits;
	}
	return count;
}

} // namespace

// The bytes an XSAVE area needs for the components in @xcr0 (standard
// layout): the legacy area and header, then each component where the
// host's CPUID leaf 0xD puts it.
u32 xsave_size(u64 xcr0)
{
	u32 size = 512 + 64;
	for (u32 i = 2; i < 64; i++) {
		if (!(xcr0 & (1ull << i)))
			continue;
		const CpuidResult c = cpuid(0xd, i);
		if (c.ebx + c.eax > size)
			size = c.ebx + c.eax;
	}
	return size;
}

u32 supported_cpuid(axvm_cpuid_entry2 *out, u32 max, bool rdtscp)
{
	u32 n = add_leaves(kBasic, array_size(kBasic), cpuid(0).eax, kMaxBasic, out, 0, max, rdtscp);
	n = add_leaves(kExtended, array_size(kExtended), cpuid(0x80000000).eax, kMaxExtended, out, n, max, rdtscp);
	// KVM's signature leaf and its paravirtual features, as KVM offers
	// them: "KVMKVMKVM", the highest leaf 0x40000001, and of the features
	// steal time alone, where the scheduler counts run delays (no
	// kvmclock, PV EOI or PV IPIs here; KVM_HC_SCHED_YIELD is answered
	// but, as yielding to the target is not done, not offered).
	const u32 pv = StealClock::supported() ? 1u << kFeatureStealTime : 0;
	const axvm_cpuid_entry2 kvm[] = {
		{0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d, {}},
		{0x40000001, 0, 0, pv, 0, 0, 0, {}},
	};
	for (const axvm_cpuid_entry2 &e : kvm) {
		if (n < max)
			out[n] = e;
		n++;
	}
	return n;
}

void CpuidTable::reset(bool rdtscp)
{
	const u32 n = supported_cpuid(entries_, AXVM_MAX_CPUID_ENTRIES, rdtscp);
	count_ = n < AXVM_MAX_CPUID_ENTRIES ? n : AXVM_MAX_CPUID_ENTRIES;
	update_cr4_features();
}

namespace {

// CR4's bits for the features of leaf 1 ECX and leaf 7 EBX.
u64 cr4_bits_of(u32 leaf1_ecx, u32 leaf7_ebx)
{
	u64 bits = 0;
	if (leaf1_ecx & (1u << 17))
		bits |= 1ull << 17; // PCID: PCIDE
	if (leaf1_ecx & (1u << 26))
		bits |= kCr4Osxsave; // XSAVE
	if (leaf7_ebx & (1u << 0))
		bits |= 1ull << 16; // FSGSBASE
	if (leaf7_ebx & (1u << 7))
		bits |= 1ull << 20; // SMEP
	if (leaf7_ebx & (1u << 20))
		bits |= 1ull << 21; // SMAP
	return bits;
}

} // namespace

void CpuidTable::update_cr4_features()
{
	// What axvm offers at most: the host's bits under supported_cpuid()'s
	// masks (OSXSAVE only with XSAVE on in the host).
	const u32 host_ecx = cpuid(1, 0).ecx & (kLeaf1Ecx | (supported_xcr0() ? 1u << 26 : 0));
	const u32 host_ebx = cpuid(0, 0).eax >= 7 ? cpuid(7, 0).ebx & kLeaf7Ebx : 0;
	const u64 supported = cr4_bits_of(host_ecx, host_ebx);
	cr4_features_ = supported & cr4_bits_of(lookup(1, 0).ecx, lookup(7, 0).ebx);
}

Status CpuidTable::set(const axvm_cpuid2 &c, usize size)
{
	if (c.nent > AXVM_MAX_CPUID_ENTRIES || size < sizeof(c) + c.nent * sizeof(c.entries[0]))
		return fail(err::E2BIG);
	for (u32 i = 0; i < c.nent; i++)
		entries_[i] = c.entries[i];
	count_ = c.nent;
	update_cr4_features();
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
