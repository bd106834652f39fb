// SPDX-License-Identifier: GPL-2.0
// Isolation: what a guest can see of the host through MSRs, counters and
// virtualization instructions, in real and in protected mode.
#include "abi.hpp"

#include <cpuid.h>
#include <sched.h>

namespace abi {

// A guest sees no host MSR, no host counter and no virtualization
// instruction: unknown MSRs and RDPMC raise #GP, SVM instructions, RDTSCP
// and XSETBV #UD; the MSRs VMLOAD switches read as the guest's own (0).
// Whether a vCPU's CPUID offers RDTSCP (its default table is what the
// device supports).
static bool offers_rdtscp(Machine &m)
{
	std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + AXVM_MAX_CPUID_ENTRIES * sizeof(axvm_cpuid_entry2)) / 8);
	axvm_cpuid2 &c = *reinterpret_cast<axvm_cpuid2 *>(buf.data());
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	if (xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c))
		return false;
	for (uint32_t i = 0; i < c.nent; i++)
		if (c.entries[i].function == 0x80000001)
			return c.entries[i].edx & (1u << 27);
	return false;
}

bool guest_isolation()
{
	cpu_set_t all, one;
	EXPECT(sched_getaffinity(0, sizeof(all), &all) == 0);
	struct Restore {
		cpu_set_t &set;
		~Restore() { sched_setaffinity(0, sizeof(set), &set); }
	} restore{all};
	CPU_ZERO(&one);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0, &one);
	EXPECT(sched_setaffinity(0, sizeof(one), &one) == 0);
	Machine m;
	std::vector<uint8_t> code;
	auto rdmsr_out = [&](uint32_t msr) { // mov ecx,msr; rdmsr; out 0xe9,eax; mov eax,edx; out 0xe9,eax
		const uint8_t c[] = {0x66, 0xb9, uint8_t(msr), uint8_t(msr >> 8), uint8_t(msr >> 16), uint8_t(msr >> 24),
				     0x0f, 0x32, 0x66, 0xe7, 0xe9, 0x66, 0x89, 0xd0, 0x66, 0xe7, 0xe9};
		code.insert(code.end(), c, c + sizeof(c));
	};
	// Each instruction expected to fault is recorded with its address; the
	// handlers print their letter and the low byte of the faulting IP.
	std::string expected = std::string(6, '0');
	auto faults = [&](char kind, std::initializer_list<uint8_t> b) {
		expected += kind;
		expected += static_cast<char>(0x1000 + code.size());
		code.insert(code.end(), b);
	};
	rdmsr_out(0xc0000102); // KERNEL_GS_BASE
	rdmsr_out(0xc0000082); // LSTAR
	rdmsr_out(0x175);      // SYSENTER_ESP
	// The 66 B9 imm32 that loads ECX is 6 bytes; the fault is 6 bytes in.
	auto msr_fault = [&](uint32_t msr, uint8_t op) {
		const uint8_t c[] = {0x66, 0xb9, uint8_t(msr), uint8_t(msr >> 8), uint8_t(msr >> 16), uint8_t(msr >> 24)};
		code.insert(code.end(), c, c + sizeof(c));
		faults('G', {0x0f, op, 0x90}); // both handlers skip 3 bytes
	};
	msr_fault(0x1234, 0x32); // rdmsr of an MSR no CPU has
	msr_fault(0xfe, 0x30);   // wrmsr MTRRcap, which is read-only
	// TSC_AUX: the guest's own (0) where RDTSCP is offered (SVM), never
	// the host's (the CPU number); #GP where it is not.
	if (offers_rdtscp(m)) {
		rdmsr_out(0xc0000103);
		expected += "00";
	} else {
		msr_fault(0xc0000103, 0x32);
	}
	code.insert(code.end(), {0x66, 0x31, 0xc9});
	faults('G', {0x0f, 0x33, 0x90}); // rdpmc 0
	// CR4.PKE would give the guest the host's PKRU: #GP. CR4.PGE is the
	// guest's to set, and reads back.
	code.insert(code.end(), {0x66, 0xb8, 0x00, 0x00, 0x40, 0x00}); // mov eax,0x400000
	faults('G', {0x0f, 0x22, 0xe0});                               // mov cr4,eax
	code.insert(code.end(), {0x66, 0xb8, 0x80, 0x00, 0x00, 0x00,   // mov eax,0x80
				 0x0f, 0x22, 0xe0, 0x66, 0x31, 0xc0,   // mov cr4,eax; xor eax,eax
				 0x0f, 0x20, 0xe0, 0xe6, 0xe9});       // mov eax,cr4; out 0xe9,al
	expected += '\x80';
	// VMRUN VMLOAD VMSAVE STGI CLGI SKINIT INVLPGA: #UD. (XSETBV, MONITOR
	// and MWAIT are intercepted too, but QEMU decides some of their faults
	// in real mode before the intercept, differently from hardware.)
	for (uint8_t op : {0xd8, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf})
		faults('U', {0x0f, 0x01, op});
	// RDTSCP is intercepted (#UD, not offered), but QEMU ignores that
	// intercept: there it runs, and must show the guest's TSC_AUX (0), not
	// the host's (the CPU number; this test runs on CPU 1). Either way the
	// guest then prints ECX: unchanged (~0, '?') after #UD, or 0.
	const std::string rdtscp_ud = expected + 'U' + static_cast<char>(0x1000 + code.size() + 6) + '?';
	const std::string rdtscp_ran = expected + '0';
	code.insert(code.end(), {0x66, 0xb9, 0xff, 0xff, 0xff, 0xff}); // mov ecx,~0
	code.insert(code.end(), {0x0f, 0x01, 0xf9});                   // rdtscp
	code.insert(code.end(), {0x66, 0x89, 0xc8, 0x66, 0xe7, 0xe9}); // mov eax,ecx; out 0xe9,eax
	code.insert(code.end(), {0x0f, 0x09, 0x0f, 0x08, 0xf4}); // wbinvd; invd (harmless no-ops here); hlt
	EXPECT(m.start(code));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	// #GP (13) and #UD (6): print the letter and IP's low byte, skip 3 bytes.
	// mov al,L; out 0xe9,al; push bp; mov bp,sp; mov ax,[bp+2]; out 0xe9,al;
	// add word [bp+2],3; pop bp; iret
	uint8_t handler[] = {0xb0, 'G', 0xe6, 0xe9, 0x55, 0x89, 0xe5, 0x8b, 0x46, 0x02,
			     0xe6, 0xe9, 0x83, 0x46, 0x02, 0x03, 0x5d, 0xcf};
	const uint16_t gp_at = 0x1800, ud_at = 0x1900;
	memcpy(mem + gp_at, handler, sizeof(handler));
	handler[1] = 'U';
	memcpy(mem + ud_at, handler, sizeof(handler));
	memcpy(mem + 4 * 13, &gp_at, 2);
	memcpy(mem + 4 * 6, &ud_at, 2);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	std::string seen;
	for (int i = 0; i < 60; i++) {
		const long r = xioctl(m.vcpu, AXVM_RUN);
		if (r || m.run->exit_reason != AXVM_EXIT_IO)
			break;
		const uint32_t v = m.io_value();
		seen += m.run->io.size == 4 ? (v ? '?' : '0') : static_cast<char>(v);
	}
	// The guest's own (zero) values, never the host's; then each fault.
	expected = seen == rdtscp_ran ? rdtscp_ran : rdtscp_ud;
	if (seen != expected || m.run->exit_reason != AXVM_EXIT_HLT) {
		auto show = [](const std::string &s) {
			std::string o;
			char b[8];
			for (unsigned char c : s) {
				snprintf(b, sizeof(b), c >= 'A' && c <= 'Z' ? " %c" : "%02x", c);
				o += b;
			}
			return o;
		};
		g_why = "guest saw '" + show(seen) + "', expected '" + show(expected) + "', last exit " +
			std::to_string(m.run->exit_reason);
		return false;
	}
	return true;
}

bool start_protected_ud(Machine &m, const std::vector<uint8_t> &code)
{
	EXPECT(m.start(code));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	// GDT at 0x500 (flat code 0x8, data 0x10), IDT at 0x2000 with #UD at
	// 0x1800: mov al,'U'; out 0xe9,al; add dword [esp],3; iretd
	const uint64_t gdt[3] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull};
	memcpy(mem + 0x500, gdt, sizeof(gdt));
	const uint8_t ud[] = {0xb0, 'U', 0xe6, 0xe9, 0x83, 0x04, 0x24, 0x03, 0xcf};
	memcpy(mem + 0x1800, ud, sizeof(ud));
	const uint32_t gate[2] = {0x00081800, 0x00008e00}; // offset 0x1800, selector 8, present interrupt gate
	memcpy(mem + 0x2000 + 8 * 6, gate, sizeof(gate));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	flat_protected_segments(s);
	s.gdt.base = 0x500, s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = 0x2000, s.idt.limit = 0x7ff;
	s.cr0 = 0x11, s.cr4 = 0;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	return true;
}

// The same in 32-bit protected mode, where QEMU decides these the way a CPU
// does: MONITOR and MWAIT are NOPs (KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, on by
// default), XSETBV (CR4.OSXSAVE is never set) and VMLAUNCH, VMRESUME, VMXOFF
// raise #UD in the guest; VMCALL is a hypercall.
bool guest_isolation_protected()
{
	Machine m;
	std::vector<uint8_t> code;
	for (uint8_t op : {0xc8, 0xc9, 0xd1, 0xc1, 0xc2, 0xc3, 0xc4})
		code.insert(code.end(), {0x0f, 0x01, op});
	code.insert(code.end(), {0xb0, 'D', 0xe6, 0xe9, 0xf4}); // mov al,'D'; out 0xe9,al; hlt
	EXPECT(start_protected_ud(m, code));
	// VMCALL (0F 01 C1) is Intel's hypercall: on VMX it exits as one ('H');
	// on SVM KVM_X86_QUIRK_FIX_HYPERCALL_INSN makes it VMMCALL, which exits.
	std::string seen;
	for (int i = 0; i < 20; i++) {
		if (xioctl(m.vcpu, AXVM_RUN))
			break;
		if (m.run->exit_reason == AXVM_EXIT_HYPERCALL)
			seen += 'H';
		else if (m.run->exit_reason == AXVM_EXIT_IO)
			seen += static_cast<char>(m.io_value());
		else
			break;
	}
	if (seen != "UHUUUD" || m.run->exit_reason != AXVM_EXIT_HLT) {
		g_why = "guest saw '" + seen + "', last exit " + std::to_string(m.run->exit_reason);
		return false;
	}
	return true;
}

} // namespace abi
