// SPDX-License-Identifier: GPL-2.0
// System Management Mode, as KVM's x86 code gives it to guests on SVM and
// VMX alike: an SMI (KVM_SMI, an SMI IPI) saves the vCPU into the SMRAM
// state-save map and starts the handler at SMBASE + 0x8000; RSM restores
// it. While in SMM the vCPU sees guest memory through address space 1,
// which userspace fills with its own slots (QEMU's SMRAM).
#include "smm.hpp"
#include "x86_vcpu.hpp"
#include "emulate.hpp"

namespace axvm::x86 {

// KVM's guest_cpuid_has(LM): a vCPU whose VMM never set its CPUID has none
// there (axvm's default table is only what such a guest is shown).
bool X86Vcpu::smm_long_mode() const { return cpuid_set_ && (cpuid_.lookup(0x80000001, 0).edx & (1u << 29)); }

void X86Vcpu::set_smm(bool active)
{
	if (smm_.active == active)
		return;
	smm_.active = active;
	if (!active)
		smm_.inside_nmi = false;
	// Another stage 2 under the same TLB tag: flushed before the next entry.
	seen_generation_ = ~0ull;
	address_space_changed();
}

void X86Vcpu::enter_smm()
{
	const bool lm = smm_long_mode();
	smm::CpuState c = {};
	for (u8 i = 0; i < 16; i++)
		c.gpr[i] = gpr(i);
	c.rip = rip();
	c.rflags = rflags();
	c.dr6 = dr6_;
	c.dr7 = dr7_;
	get_sregs(c.sregs);
	c.smbase = static_cast<u32>(smm_.smbase);
	c.int_shadow = interrupt_shadow();
	u8 map[smm::kSaveSize];
	smm::save(c, lm, map);

	set_smm(true);
	// Written through SMRAM's map. Where it has no RAM there the save is
	// lost and the handler runs all the same, as under KVM 6.1.
	(void)guest_memory().write(smm_.smbase + smm::kSaveOffset, map, sizeof(map));
	if (nmi_masked())
		smm_.inside_nmi = true;
	else
		set_nmi_masked(true);
	set_rip_rflags(smm::kEntryRip, kRflagsFixed);
	set_interrupt_shadow(0);
	axvm_sregs s = c.sregs;
	smm::entry_sregs(s, static_cast<u32>(smm_.smbase), lm);
	(void)set_sregs(s); // valid: paging and long mode off, CR4 0
	dr7_ = kDr7Fixed;
}

ExitReason X86Vcpu::emulate_rsm()
{
	if (!smm_.active)
		return inject_exception(kVectorUd);
	u8 map[smm::kSaveSize];
	if (!guest_memory().read(smm_.smbase + smm::kSaveOffset, map, sizeof(map)).ok())
		return ExitReason::internal_error(kInternalErrorEmulation, 0, nullptr); // KVM's unhandleable
	if (!smm_.inside_nmi)
		set_nmi_masked(false);
	set_smm(false);

	// What the map does not hold stays (R8-R15 and EFER in the 32-bit
	// map; CR2, CR8, the APIC base in both).
	smm::CpuState c = {};
	for (u8 i = 0; i < 16; i++)
		c.gpr[i] = gpr(i);
	get_sregs(c.sregs);
	smm::load(map, smm_long_mode(), c);
	// What KVM's RSM refuses (a control register or debug register it
	// cannot set) shuts the vCPU down: a triple fault.
	const bool valid = sregs_valid(c.sregs, cr4_extra(), false) && (c.dr6 >> 32) == 0 && (c.dr7 >> 32) == 0 &&
			   (!(c.sregs.cr4 & kCr4Pcide) || (c.sregs.efer & kEferLma));
	if (!valid || !set_sregs(c.sregs).ok()) {
		shut_down_ = true;
		return ExitReason::system_down(SystemDownKind::TripleFault);
	}
	for (u8 i = 0; i < 16; i++)
		set_gpr(i, c.gpr[i]);
	set_rip_rflags(c.rip, c.rflags);
	set_interrupt_shadow(c.int_shadow & 3);
	dr6_ = c.dr6;
	dr7_ = c.dr7;
	smm_.smbase = c.smbase;
	return ExitReason::nothing();
}

ExitReason X86Vcpu::invalid_opcode(const u8 (&foreign)[3], const u8 (&native)[3])
{
	u8 bytes[3] = {};
	usize n = 0;
	(void)fetch(bytes, 3, &n);
	if (n >= 2 && bytes[0] == 0x0f && bytes[1] == 0xaa)
		return emulate_rsm();
	if (n == 3 && bytes[0] == foreign[0] && bytes[1] == foreign[1] && bytes[2] == foreign[2])
		return foreign_hypercall(native);
	return inject_exception(kVectorUd);
}

} // namespace axvm::x86
