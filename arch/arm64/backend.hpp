// SPDX-License-Identifier: GPL-2.0
// What the arm64 vCPUs share: the stage-2 configuration chosen at load and
// the per-CPU record of who last ran there (TLB maintenance).
#pragma once

#include <axvm/types.hpp>

namespace axvm::arm64 {

// VTCR_EL2 for every VM: 4 KiB granule, walk from level 0, the IPA size of
// ipa_bits().
u64 vtcr();

// What the CPUs have that changes how a guest is isolated.
struct HostFeatures {
	bool ras; // FEAT_RAS: error records (HCR_EL2.TERR) and external aborts (TEA)
	bool fgt; // FEAT_FGT: HFGRTR_EL2/HFGWTR_EL2 govern TCR2, PIR, POR, GCS, ...
	bool hcx; // FEAT_HCX: HCRX_EL2
	bool aarch32_el1; // EL1 (and so EL0) can run AArch32: AArch32 guests
	bool aarch32_el0; // EL0 can run AArch32: an AArch64 guest's AArch32 tasks
};
const HostFeatures &host_features();
// The guest-physical address bits a VM gets: min(48, the CPU's PARange).
u32 ipa_bits();

// A fresh vCPU serial number (never 0).
u64 next_vcpu_serial();

// Before an entry on the CPU we are on, DAIF masked, guest HCR_EL2 and
// VTTBR_EL2 loaded: whether this CPU's TLB may hold entries under axvm's
// VMID that are not this vCPU's at this stage-2 generation (another axvm
// vCPU ran here since, or the stage 2 changed). Records the new owner.
bool tlb_needs_flush(u64 vcpu_serial, u64 stage2_generation);

} // namespace axvm::arm64
