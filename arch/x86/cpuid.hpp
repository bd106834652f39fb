// SPDX-License-Identifier: GPL-2.0
// CPUID as a guest sees it: a table set by userspace (KVM_SET_CPUID2) and
// answered in the kernel, and the subset of the host's CPUID that axvm can
// virtualize (KVM_GET_SUPPORTED_CPUID).
#pragma once

#include <axvm/result.hpp>
#include <uapi/axvm.h>

#include "x86.hpp"

namespace axvm::x86 {

// Leaf 7 EBX's TSC_ADJUST: IA32_TSC_ADJUST, which axvm emulates whatever
// the host has (as KVM).
constexpr u32 kCpuidTscAdjust = 1u << 1;
// Leaf 1 ECX's PDCM: IA32_PERF_CAPABILITIES for the guest (never offered,
// but a VMM may set it).
constexpr u32 kCpuidPdcm = 1u << 15;
// Leaf 1 ECX's SSE3 and MONITOR (MONITOR/MWAIT).
constexpr u32 kCpuidSse3 = 1u << 0, kCpuidMonitor = 1u << 3;
// KVM's PV features, bits of CPUID 0x40000001 EAX (KVM_FEATURE_*).
constexpr u32 kFeatureStealTime = 5, kFeaturePvUnhalt = 7, kFeaturePvSendIpi = 11, kFeaturePvSchedYield = 13;

// Fills @out with what a guest may be shown: the host's values, with every
// feature axvm does not virtualize cleared. Returns the number of entries
// there are, of which only the first @max are written.
// @rdtscp: the backend gives a guest RDTSCP (SVM).
u32 supported_cpuid(axvm_cpuid_entry2 *out, u32 max, bool rdtscp);

// What XCR0 may hold for a guest: x87, SSE and AVX, where the host has them
// (0: the host has XSAVE off). fpu.cpp.
u64 supported_xcr0();
// The size of the standard XSAVE area for @xcr0.
u32 xsave_size(u64 xcr0);

class CpuidTable {
public:
	// Starts as supported_cpuid(), so that clients that never call
	// SET_CPUID2 still see a sane CPU.
	void reset(bool rdtscp);
	// KVM_SET_CPUID2: replaces the table; -E2BIG beyond the capacity.
	Status set(const axvm_cpuid2 &cpuid, usize size);
	// KVM_GET_CPUID2: -E2BIG (and cpuid.nent = count) if it does not fit.
	Status get(axvm_cpuid2 &cpuid, usize size) const;
	u32 count() const { return count_; }
	const axvm_cpuid_entry2 *entry(u32 i) const { return i < count_ ? &entries_[i] : nullptr; }
	// The entry for @function/@index, zeros if there is none.
	CpuidResult lookup(u32 function, u32 index) const;
	// The CR4 bits that come with a CPUID feature (FSGSBASE, PCIDE,
	// OSXSAVE, SMEP, SMAP) which this table offers and axvm supports: as
	// KVM's reserved CR4 bits (its kvm_cpu_caps and, once set, the guest's
	// CPUID), so a bit KVM_GET_SUPPORTED_CPUID does not offer is refused.
	u64 cr4_feature_bits() const { return cr4_features_; }

private:
	void update_cr4_features();

	axvm_cpuid_entry2 entries_[AXVM_MAX_CPUID_ENTRIES];
	u32 count_ = 0;
	u64 cr4_features_ = 0;
};

} // namespace axvm::x86
