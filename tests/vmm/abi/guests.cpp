// SPDX-License-Identifier: GPL-2.0
// Real-mode guests (Machine): port and string I/O, hypercalls, CPUID, MMIO,
// special registers, memory faults, vCPUs in threads hopping between CPUs,
// RUN while busy, signals and a triple fault.
#include "abi.hpp"

#include <csignal>
#include <pthread.h>
#include <sched.h>
#include <sys/time.h>

namespace abi {
namespace {

bool pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

// Counts in EAX and reports each value through port 0xe9 (or @port):
// mov dx, port; again: inc eax (66 40); out dx, eax (66 ef); jmp again (eb fa)
std::vector<uint8_t> counter(uint16_t port)
{
	return {0xba, static_cast<uint8_t>(port), static_cast<uint8_t>(port >> 8), 0x66, 0x40, 0x66, 0xef, 0xeb, 0xfa};
}

} // namespace

bool guest_port_io_and_hlt()
{
	Machine m;
	// mov dx,0x3f8; mov al,'H'; out dx,al; in al,0x60; out 0xe9,al;
	// mov ax,0x1234; out 0xe9,ax; mov eax,0xdeadbeef (66 prefix); out dx,eax; hlt
	EXPECT(m.start({0xba, 0xf8, 0x03, 0xb0, 'H', 0xee, 0xe4, 0x60, 0xe6, 0xe9, 0xb8, 0x34, 0x12,
			0xe7, 0xe9, 0x66, 0xb8, 0xef, 0xbe, 0xad, 0xde, 0x66, 0xef, 0xf4}));
	EXPECT(m.expect_out(0x3f8, 1) == 'H');
	EXPECT(m.run_to(AXVM_EXIT_IO));
	EXPECT(m.run->io.direction == AXVM_EXIT_IO_IN && m.run->io.port == 0x60 && m.run->io.size == 1);
	*m.io_data() = 0x5a; // the IN completes with this on the next RUN
	EXPECT(m.expect_out(0xe9, 1) == 0x5a);
	EXPECT(m.expect_out(0xe9, 2) == 0x1234);
	EXPECT(m.expect_out(0x3f8, 4) == 0xdeadbeef);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	EXPECT(regs.rip == 0x1000 + 24 && regs.rax == 0xdeadbeef && regs.rdx == 0x3f8);
	return true;
}

// REP INSB: one IN exit per element, each stored at ES:DI on the next RUN.
bool guest_string_in()
{
	Machine m;
	// mov di,0x2000; mov cx,3; mov dx,0x60; cld; rep insb; mov si,0x2000;
	// mov cx,3; mov dx,0xe9; rep outsb; hlt
	EXPECT(m.start({0xbf, 0x00, 0x20, 0xb9, 0x03, 0x00, 0xba, 0x60, 0x00, 0xfc, 0xf3, 0x6c, 0xbe, 0x00,
			0x20, 0xb9, 0x03, 0x00, 0xba, 0xe9, 0x00, 0xf3, 0x6e, 0xf4}));
	// One exit for the three elements (KVM batches REP INS).
	EXPECT(m.run_to(AXVM_EXIT_IO));
	EXPECT(m.run->io.direction == AXVM_EXIT_IO_IN && m.run->io.port == 0x60 && m.run->io.count == 3);
	EXPECT(m.run->io.size == 1 && m.run->io.data_offset == 4096);
	memcpy(m.io_data(), "abc", 3);
	for (uint8_t c : {'a', 'b', 'c'})
		EXPECT(m.expect_out(0xe9, 1) == c);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	EXPECT(memcmp(static_cast<uint8_t *>(m.mem) + 0x2000, "abc", 3) == 0);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0 && regs.rcx == 0 && regs.rsi == 0x2003);
	return true;
}

// REP INS batches as KVM's read-ahead does: never past the page of ES:DI,
// nor RCX, nor 1024 bytes; what RCX asks for when userspace changed it is
// what is stored (KVM's userspace_io_test).
bool guest_string_in_batches()
{
	{
		Machine m;
		// mov di,0x2ffe; mov cx,6; mov dx,0x60; cld; rep insb; hlt
		EXPECT(m.start({0xbf, 0xfe, 0x2f, 0xb9, 0x06, 0x00, 0xba, 0x60, 0x00, 0xfc, 0xf3, 0x6c, 0xf4}));
		EXPECT(m.run_to(AXVM_EXIT_IO) && m.run->io.count == 2); // up to the page's end
		memcpy(m.io_data(), "ab", 2);
		EXPECT(m.run_to(AXVM_EXIT_IO) && m.run->io.count == 4);
		memcpy(m.io_data(), "cdef", 4);
		EXPECT(m.run_to(AXVM_EXIT_HLT));
		EXPECT(memcmp(static_cast<uint8_t *>(m.mem) + 0x2ffe, "abcdef", 6) == 0);
	}
	{
		Machine m;
		// mov di,0x2000; mov cx,0x300; mov dx,0x60; cld; rep insw; hlt
		EXPECT(m.start({0xbf, 0x00, 0x20, 0xb9, 0x00, 0x03, 0xba, 0x60, 0x00, 0xfc, 0xf3, 0x6d, 0xf4}));
		EXPECT(m.run_to(AXVM_EXIT_IO) && m.run->io.count == 512 && m.run->io.size == 2); // 1024 bytes
		memset(m.io_data(), 0x11, 1024);
		EXPECT(m.run_to(AXVM_EXIT_IO) && m.run->io.count == 0x300 - 512);
		memset(m.io_data(), 0x22, 4096); // the whole I/O page is userspace's
		EXPECT(m.run_to(AXVM_EXIT_HLT));
		const uint8_t *mem = static_cast<uint8_t *>(m.mem);
		EXPECT(mem[0x2000] == 0x11 && mem[0x23ff] == 0x11 && mem[0x2400] == 0x22 && mem[0x25ff] == 0x22);
		EXPECT(mem[0x2600] == 0);
	}
	{
		Machine m;
		// mov di,0x2000; mov cx,3; mov dx,0x60; cld; rep insb; hlt
		EXPECT(m.start({0xbf, 0x00, 0x20, 0xb9, 0x03, 0x00, 0xba, 0x60, 0x00, 0xfc, 0xf3, 0x6c, 0xf4}));
		EXPECT(m.run_to(AXVM_EXIT_IO) && m.run->io.count == 3);
		memcpy(m.io_data(), "xyz", 3);
		axvm_regs regs;
		EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0 && regs.rcx == 3);
		regs.rcx = 1; // userspace shortens the count: one element is taken
		EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
		EXPECT(m.run_to(AXVM_EXIT_HLT));
		const uint8_t *mem = static_cast<uint8_t *>(m.mem);
		EXPECT(mem[0x2000] == 'x' && mem[0x2001] == 0);
		EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0 && regs.rcx == 0 && regs.rdi == 0x2001);
	}
	return true;
}

// OUTS reads DS:SI, or the segment a prefix names, never ES.
bool guest_string_out_segments()
{
	Machine m;
	EXPECT(m.start({
		0xb8, 0x00, 0x02, 0x8e, 0xd8, // mov ax,0x200; mov ds,ax (DS base 0x2000)
		0xb8, 0x00, 0x03, 0x8e, 0xe0, // mov ax,0x300; mov fs,ax (FS base 0x3000)
		0x31, 0xf6,                   // xor si,si
		0xba, 0xe9, 0x00,             // mov dx,0xe9
		0x6e,                         // outsb: DS:0
		0x31, 0xf6,                   // xor si,si
		0x64, 0x6e,                   // fs outsb: FS:0
		0xf4,
	}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	mem[0x2000] = 'd';
	mem[0x3000] = 'f';
	EXPECT(m.expect_out(0xe9, 1) == 'd');
	EXPECT(m.expect_out(0xe9, 1) == 'f');
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

bool guest_hypercall()
{
	Machine m;
	// mov ax,7; mov bx,11; vmmcall; out 0xe9,ax; hlt
	EXPECT(m.start({0xb8, 7, 0, 0xbb, 11, 0, 0x0f, 0x01, 0xd9, 0xe7, 0xe9, 0xf4}));
	EXPECT(m.run_to(AXVM_EXIT_HYPERCALL));
	EXPECT(m.run->hypercall.nr == 7 && m.run->hypercall.args[0] == 11);
	m.run->hypercall.ret = 0x4242;
	EXPECT(m.expect_out(0xe9, 2) == 0x4242);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

bool guest_cpuid_from_table()
{
	Machine m;
	// xor eax,eax (66 31 c0); cpuid; out 0xe9,eax (66 e7 e9); mov eax,ebx; out; hlt
	EXPECT(m.start({0x66, 0x31, 0xc0, 0x0f, 0xa2, 0x66, 0xe7, 0xe9, 0x66, 0x89, 0xd8, 0x66, 0xe7, 0xe9, 0xf4}));
	// What the device offers: -E2BIG with the count when the array is short.
	std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + AXVM_MAX_CPUID_ENTRIES * sizeof(axvm_cpuid_entry2)) / 8);
	axvm_cpuid2 &c = *reinterpret_cast<axvm_cpuid2 *>(buf.data());
	c.nent = 1;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == -E2BIG && c.nent > 1);
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == 0 && c.nent >= 2);
	bool leaf1 = false, xsave = false, leaf_d = false, kvm_leaf = false;
	for (uint32_t i = 0; i < c.nent; i++) {
		if (c.entries[i].function == 1) {
			leaf1 = !(c.entries[i].ecx & (1u << 5)) && (c.entries[i].ecx & (1u << 31)) &&
				!(c.entries[i].ecx & (1u << 27)); // OSXSAVE is the guest's CR4's
			xsave = c.entries[i].ecx & (1u << 26);
		}
		if (c.entries[i].function == 0xd && c.entries[i].index == 0)
			leaf_d = (c.entries[i].eax & 3) == 3; // x87 and SSE in XCR0
		if (c.entries[i].function == 0x40000000) // KVM's signature, as KVM offers it
			kvm_leaf = c.entries[i].eax == 0x40000001 && c.entries[i].ebx == 0x4b4d564b &&
				   c.entries[i].ecx == 0x564b4d56 && c.entries[i].edx == 0x4d;
	}
	EXPECT(kvm_leaf);
	EXPECT(leaf1);           // no VMX, the hypervisor bit
	EXPECT(xsave == leaf_d); // XSAVE comes with its leaf
	// The guest sees exactly the table userspace set.
	c.nent = 1;
	c.entries[0] = axvm_cpuid_entry2{};
	c.entries[0].function = 0;
	c.entries[0].eax = 0xabcd0001;
	c.entries[0].ebx = 0x12345678;
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == 0);
	c.nent = AXVM_MAX_CPUID_ENTRIES + 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == -E2BIG);
	EXPECT(m.expect_out(0xe9, 4) == 0xabcd0001);
	EXPECT(m.expect_out(0xe9, 4) == 0x12345678);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

// Reads and writes outside every slot exit as KVM_EXIT_MMIO, decoded from
// the instruction; a read completes into the right register on the next RUN.
bool guest_mmio()
{
	Machine m;
	EXPECT(m.start({
		0xb8, 0x00, 0x20,                   // mov ax, 0x2000
		0x8e, 0xd8,                         // mov ds, ax: data at 0x20000, beyond RAM
		0xc6, 0x06, 0x10, 0x00, 0xab,       // mov byte [0x10], 0xab
		0xa3, 0x12, 0x00,                   // mov [0x12], ax
		0x8b, 0x1e, 0x20, 0x00,             // mov bx, [0x20]
		0x66, 0x0f, 0xbe, 0x0e, 0x30, 0x00, // movsx ecx, byte [0x30]
		0x89, 0xd8,                         // mov ax, bx
		0xe7, 0xe9,                         // out 0xe9, ax
		0x66, 0x89, 0xc8,                   // mov eax, ecx
		0x66, 0xe7, 0xe9,                   // out 0xe9, eax
		0xf4,                               // hlt
	}));
	auto mmio = [&](uint64_t addr, uint32_t len, bool write) {
		return m.run_to(AXVM_EXIT_MMIO) && m.run->mmio.phys_addr == addr && m.run->mmio.len == len &&
		       m.run->mmio.is_write == write;
	};
	EXPECT(mmio(0x20010, 1, true) && m.run->mmio.data[0] == 0xab);
	EXPECT(mmio(0x20012, 2, true) && m.run->mmio.data[0] == 0x00 && m.run->mmio.data[1] == 0x20);
	EXPECT(mmio(0x20020, 2, false));
	m.run->mmio.data[0] = 0xef;
	m.run->mmio.data[1] = 0xbe;
	EXPECT(mmio(0x20030, 1, false));
	m.run->mmio.data[0] = 0x80;
	EXPECT(m.expect_out(0xe9, 2) == 0xbeef);
	EXPECT(m.expect_out(0xe9, 4) == 0xffffff80);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

// KVM's kvm_update_cpuid_runtime(): KVM_GET_CPUID2 returns what the guest
// sees (the APIC bit follows the APIC base's enable bit, OSXSAVE CR4, leaf
// 0xD's EBX the XSAVE size for the guest's XCR0); once the vCPU has run,
// KVM_SET_CPUID2 takes only the same table again (KVM's cpuid_test).
bool cpuid_runtime_and_after_run()
{
	Machine m;
	// mov eax,1 (66 b8 01 00 00 00); cpuid; out 0xe9,eax of EDX (66 89 d0; 66 e7 e9); hlt
	EXPECT(m.start({0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x66, 0x89, 0xd0, 0x66, 0xe7, 0xe9, 0xf4}));
	std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + AXVM_MAX_CPUID_ENTRIES * sizeof(axvm_cpuid_entry2)) / 8);
	axvm_cpuid2 &c = *reinterpret_cast<axvm_cpuid2 *>(buf.data());
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == 0);
	auto leaf = [&](uint32_t f, uint32_t i) -> axvm_cpuid_entry2 * {
		for (uint32_t n = 0; n < c.nent; n++)
			if (c.entries[n].function == f && (c.entries[n].index == i || !(c.entries[n].flags & 1)))
				return &c.entries[n];
		return nullptr;
	};
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.vcpu, AXVM_GET_CPUID2, (unsigned long)&c) == 0);
	EXPECT(leaf(1, 0) && (leaf(1, 0)->edx & (1u << 9)) && !(leaf(1, 0)->ecx & (1u << 27)));
	if (leaf(0xd, 0) && leaf(0xd, 0)->eax)
		EXPECT(leaf(0xd, 0)->ebx == 576); // XCR0 = x87 at reset: the legacy area and header
	// A disabled APIC (userspace's write): no APIC bit, for the guest too.
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	s.apic_base = 0xfee00000;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.vcpu, AXVM_GET_CPUID2, (unsigned long)&c) == 0);
	EXPECT(leaf(1, 0) && !(leaf(1, 0)->edx & (1u << 9)));
	const long edx = m.expect_out(0xe9, 4);
	EXPECT(edx >= 0 && static_cast<uint32_t>(edx) == leaf(1, 0)->edx);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	// After KVM_RUN: the same table again, nothing else.
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == 0);
	axvm_cpuid_entry2 *l1 = leaf(1, 0);
	l1->ecx ^= 1u << 0; // SSE3
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == -EINVAL);
	l1->ecx ^= 1u << 0;
	c.nent--;
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == -EINVAL);
	return true;
}

bool sregs_checked_like_kvm()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	EXPECT(s.cs.base == 0 && s.cr0 == 0x60000010 && s.efer == 0); // reset state, SVME hidden
	axvm_sregs bad = s;
	bad.cr0 = 0x80000000; // PG without PE
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	bad = s;
	bad.efer = 1u << 12; // SVME: no nesting
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	bad = s;
	bad.efer = 0x500; // LME|LMA with paging off
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	bad = s;
	bad.interrupt_bitmap[0] = 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, 0) == -EFAULT);
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, 1) == -EFAULT);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

// KVM's reserved CR4 bits: a feature's bit is refused where
// KVM_GET_SUPPORTED_CPUID does not offer the feature (UMIP, LA57, PKE never
// here; PCIDE without PCID), or where the vCPU's CPUID dropped it, and a
// refused SET_SREGS changes nothing. The APIC base goes through
// kvm_set_apic_base()'s checks; with the in-kernel local APIC it is the
// APIC's, and so is CR8 (its TPR). (KVM's set_sregs_test.)
bool sregs_cr4_and_apic_base_like_kvm()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + AXVM_MAX_CPUID_ENTRIES * sizeof(axvm_cpuid_entry2)) / 8);
	axvm_cpuid2 &c = *reinterpret_cast<axvm_cpuid2 *>(buf.data());
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == 0);
	uint32_t leaf1_ecx = 0, leaf7_ebx = 0;
	axvm_cpuid_entry2 *leaf7 = nullptr;
	for (uint32_t i = 0; i < c.nent; i++) {
		if (c.entries[i].function == 1)
			leaf1_ecx = c.entries[i].ecx;
		if (c.entries[i].function == 7 && c.entries[i].index == 0)
			leaf7 = &c.entries[i], leaf7_ebx = c.entries[i].ebx;
	}
	axvm_sregs s, now;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	std::vector<uint64_t> refused = {1ull << 11, 1ull << 12, 1ull << 22}; // UMIP, LA57, PKE
	if (!(leaf1_ecx & (1u << 17)))
		refused.push_back(1ull << 17); // PCIDE without PCID
	for (uint64_t bit : refused) {
		axvm_sregs bad = s;
		bad.cr4 |= bit;
		EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
		EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&now) == 0 && now.cr4 == s.cr4);
	}
	if (leaf7 && (leaf7_ebx & 1)) { // FSGSBASE: offered, then taken away by SET_CPUID2
		axvm_sregs with = s;
		with.cr4 |= 1ull << 16;
		EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&with) == 0);
		EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
		leaf7->ebx &= ~1u;
		EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == 0);
		EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&with) == -EINVAL);
	}
	axvm_sregs b = s;
	b.apic_base = 1ull << 10; // x2APIC without the enable bit
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&b) == -EINVAL);
	b.apic_base = 0xfee00000ull | (1ull << 11) | 0x10; // a reserved bit
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&b) == -EINVAL);
	b.apic_base = 1ull << 11;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&b) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&now) == 0 && now.apic_base == (1ull << 11));
	EXPECT(m.run_to(AXVM_EXIT_HLT));

	// The same with the local APIC in the kernel: its base and TPR.
	IrqchipVm chip;
	EXPECT(chip.start(m));
	const int vcpu = chip.cpu.fd;
	EXPECT(xioctl(vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0 && s.apic_base == 0xfee00900);
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == 0);
	EXPECT(xioctl(vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == 0); // x2APIC in CPUID: the mode may be set
	b = s;
	b.apic_base = 0xfee00000ull | (1ull << 10) | (1ull << 8); // x2APIC, not enabled
	EXPECT(xioctl(vcpu, AXVM_SET_SREGS, (unsigned long)&b) == -EINVAL);
	EXPECT(xioctl(vcpu, AXVM_GET_SREGS, (unsigned long)&now) == 0 && now.apic_base == 0xfee00900);
	b.apic_base = 0xfee00000ull | (1ull << 11) | (1ull << 10) | (1ull << 8); // x2APIC
	b.cr8 = 7;
	EXPECT(xioctl(vcpu, AXVM_SET_SREGS, (unsigned long)&b) == 0);
	EXPECT(xioctl(vcpu, AXVM_GET_SREGS, (unsigned long)&now) == 0 && now.apic_base == b.apic_base && now.cr8 == 7);
	axvm_lapic_state lapic;
	EXPECT(xioctl(vcpu, AXVM_GET_LAPIC, (unsigned long)&lapic) == 0);
	EXPECT(static_cast<uint8_t>(lapic.regs[0x80]) == 0x70); // the TPR
	return true;
}

bool guest_outside_memory()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	s.cs.selector = 0x2000;
	s.cs.base = 0x20000; // beyond the 64 KiB slot: nothing to fetch
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	axvm_regs regs{};
	regs.rflags = 2;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	EXPECT(m.run_to(AXVM_EXIT_INTERNAL_ERROR) && m.run->internal.suberror == AXVM_INTERNAL_ERROR_EMULATION);
	EXPECT(m.run->internal.data[0] == 0x20000 && (m.run->internal.data[1] & AXVM_MEMORY_FAULT_EXEC));
	return true;
}

// Several vCPUs of one VM run at once from their own threads, each thread
// hopping between CPUs before every RUN: the vCPU is unbound from the old
// CPU and bound on the new one, and its state survives (the counter never
// skips or repeats).
bool vcpus_in_threads_migrating()
{
	const int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
	Machine m;
	std::vector<uint8_t> code = counter(0x600);
	code.resize(0x100);
	std::vector<uint8_t> second = counter(0x601);
	code.insert(code.end(), second.begin(), second.end());
	EXPECT(m.start(code));
	Vcpu v1;
	EXPECT(add_vcpu(m, 1, 0x1100, v1));
	struct Job {
		int fd;
		axvm_run *run;
		uint16_t port;
		int ncpu;
		bool ok = true;
	} jobs[2] = {{m.vcpu, m.run, 0x600, ncpu}, {v1.fd, v1.run, 0x601, ncpu}};
	auto body = [](void *arg) -> void * {
		Job &j = *static_cast<Job *>(arg);
		for (uint32_t i = 1; i <= 300 && j.ok; i++) {
			pin_to_cpu(static_cast<int>(i % j.ncpu));
			uint32_t v = 0;
			j.ok = xioctl(j.fd, AXVM_RUN) == 0 && j.run->exit_reason == AXVM_EXIT_IO && j.run->io.port == j.port;
			memcpy(&v, reinterpret_cast<uint8_t *>(j.run) + j.run->io.data_offset, 4);
			j.ok = j.ok && v == i;
		}
		return nullptr;
	};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&threads[i], nullptr, body, &jobs[i]) == 0);
	for (pthread_t t : threads)
		pthread_join(t, nullptr);
	EXPECT(jobs[0].ok && jobs[1].ok);
	return true;
}

// A second thread's RUN on a vCPU that is inside RUN is refused.
bool concurrent_run_is_busy()
{
	Machine m;
	EXPECT(m.start({0xeb, 0xfe})); // jmp $
	struct sigaction sa{};
	sa.sa_handler = on_alarm;
	EXPECT(sigaction(SIGUSR1, &sa, nullptr) == 0);
	struct Job {
		int fd;
		long result = 0;
	} job{m.vcpu};
	pthread_t runner;
	EXPECT(pthread_create(&runner, nullptr, [](void *arg) -> void * {
		Job &j = *static_cast<Job *>(arg);
		j.result = xioctl(j.fd, AXVM_RUN);
		return nullptr;
	}, &job) == 0);
	usleep(300000); // the runner is in the guest by now
	const long second = xioctl(m.vcpu, AXVM_RUN);
	axvm_regs regs;
	const long regs_busy = xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs);
	pthread_kill(runner, SIGUSR1);
	pthread_join(runner, nullptr);
	EXPECT(second == -EBUSY && regs_busy == -EBUSY);
	EXPECT(job.result == -EINTR);
	return true;
}

bool spinning_guest_stopped_by_signal()
{
	Machine m;
	EXPECT(m.start({0xeb, 0xfe})); // jmp $
	struct sigaction sa{};
	sa.sa_handler = on_alarm; // no SA_RESTART: RUN returns -EINTR
	EXPECT(sigaction(SIGALRM, &sa, nullptr) == 0);
	// 200 ms, not a second: in Bochs a second of a spinning guest is nearly
	// a minute of the host's.
	itimerval once{};
	once.it_value.tv_usec = 200000;
	EXPECT(setitimer(ITIMER_REAL, &once, nullptr) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == -EINTR && m.run->exit_reason == AXVM_EXIT_INTR);
	m.run->immediate_exit = 1;
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == -EINTR && m.run->exit_reason == AXVM_EXIT_INTR);
	return true;
}

// immediate_exit: -EINTR without entering the guest, after the exit the VMM
// answered has completed (once), and the run page still holds that exit,
// as under KVM: its selftests complete an MMIO exit this way and then read
// the exit again.
bool immediate_exit_keeps_last_exit()
{
	Machine m;
	// in al,0x60; out 0xe9,al; hlt
	EXPECT(m.start({0xe4, 0x60, 0xe6, 0xe9, 0xf4}));
	EXPECT(m.run_to(AXVM_EXIT_IO));
	EXPECT(m.run->io.direction == AXVM_EXIT_IO_IN && m.run->io.port == 0x60);
	*m.io_data() = 0x42;
	m.run->immediate_exit = 1;
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == -EINTR);
	EXPECT(m.run->exit_reason == AXVM_EXIT_IO && m.run->io.port == 0x60);
	*m.io_data() = 0x99; // too late: the IN completed in that RUN
	m.run->immediate_exit = 0;
	EXPECT(m.expect_out(0xe9, 1) == 0x42);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

bool triple_fault_is_shutdown()
{
	Machine m;
	// lidt [0x1100] (a zero-limit IDT), int3: #BP -> #GP -> #DF -> shutdown
	EXPECT(m.start({0x0f, 0x01, 0x1e, 0x00, 0x11, 0xcc}));
	EXPECT(m.run_to(AXVM_EXIT_SHUTDOWN));
	EXPECT(m.run_to(AXVM_EXIT_SHUTDOWN));
	// New registers bring it back, like a reset: 0x1006 holds a HLT.
	static_cast<uint8_t *>(m.mem)[0x1006] = 0xf4;
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0 && s.cs.base == 0xffff0000);
	s.cs.base = 0;
	s.cs.selector = 0;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	axvm_regs regs{};
	regs.rip = 0x1006;
	regs.rflags = 2;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

} // namespace abi
