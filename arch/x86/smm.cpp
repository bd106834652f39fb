// SPDX-License-Identifier: GPL-2.0
// KVM's SMM state-save maps (smm.hpp). Offsets are from SMBASE + 0xfe00,
// i.e. the manuals' 0x7exx-0x7fff minus 0x7e00.
#include "smm.hpp"

namespace axvm::x86::smm {
namespace {

template <class T> void put(u8 (&map)[kSaveSize], u32 off, T v)
{
	for (u32 i = 0; i < sizeof(T); i++)
		map[off + i] = static_cast<u8>(static_cast<u64>(v) >> (8 * i));
}

template <class T> T get(const u8 (&map)[kSaveSize], u32 off)
{
	u64 v = 0;
	for (u32 i = 0; i < sizeof(T); i++)
		v |= static_cast<u64>(map[off + i]) << (8 * i);
	return static_cast<T>(v);
}

// A segment's attributes as the maps keep them (descriptor bits 8-23).
u32 flags_of(const axvm_segment &s)
{
	return u32(s.g) << 23 | u32(s.db) << 22 | u32(s.l) << 21 | u32(s.avl) << 20 | u32(s.present) << 15 |
	       u32(s.dpl & 3) << 13 | u32(s.s) << 12 | u32(s.type & 15) << 8;
}

void set_flags(axvm_segment &s, u32 flags)
{
	s.g = flags >> 23 & 1, s.db = flags >> 22 & 1, s.l = flags >> 21 & 1, s.avl = flags >> 20 & 1;
	s.present = flags >> 15 & 1, s.dpl = flags >> 13 & 3, s.s = flags >> 12 & 1, s.type = flags >> 8 & 15;
	s.unusable = !s.present;
	s.padding = 0;
}

// The segment registers in KVM's numbering (ES, CS, SS, DS, FS, GS).
axvm_segment *segments(axvm_sregs &s, u32 n)
{
	axvm_segment *const seg[6] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs};
	return seg[n];
}

const axvm_segment &segment(const axvm_sregs &s, u32 n) { return *segments(const_cast<axvm_sregs &>(s), n); }

// ---- 64-bit (AMD64) layout: kvm_smram_state_64 ----
// Segment n (ES..GS) at n * 16, then GDTR 0x60, LDTR 0x70, IDTR 0x80,
// TR 0x90: selector (u16), attributes >> 8 (u16), limit (u32), base (u64).
constexpr u32 k64Gdtr = 0x60, k64Ldtr = 0x70, k64Idtr = 0x80, k64Tr = 0x90, k64IntShadow = 0xcb;
constexpr u32 k64Efer = 0xd0, k64Revision = 0xfc, k64Smbase = 0x100, k64Cr4 = 0x148, k64Cr3 = 0x150;
constexpr u32 k64Cr0 = 0x158, k64Dr7 = 0x160, k64Dr6 = 0x168, k64Rflags = 0x170, k64Rip = 0x178;
constexpr u32 k64Gprs = 0x180; // R15 first, RAX last (0x1f8)

void put_seg64(u8 (&map)[kSaveSize], u32 off, const axvm_segment &s)
{
	put<u16>(map, off, s.selector);
	put<u16>(map, off + 2, static_cast<u16>(flags_of(s) >> 8));
	put<u32>(map, off + 4, s.limit);
	put<u64>(map, off + 8, s.base);
}

void get_seg64(const u8 (&map)[kSaveSize], u32 off, axvm_segment &s)
{
	s.selector = get<u16>(map, off);
	set_flags(s, u32(get<u16>(map, off + 2)) << 8);
	s.limit = get<u32>(map, off + 4);
	s.base = get<u64>(map, off + 8);
}

void save64(const CpuState &c, u8 (&map)[kSaveSize])
{
	const axvm_sregs &s = c.sregs;
	for (u32 i = 0; i < 16; i++)
		put<u64>(map, k64Gprs + 0x78 - i * 8, c.gpr[i]);
	put<u64>(map, k64Rip, c.rip);
	put<u32>(map, k64Rflags, static_cast<u32>(c.rflags));
	put<u64>(map, k64Dr6, c.dr6);
	put<u64>(map, k64Dr7, c.dr7);
	put<u64>(map, k64Cr0, s.cr0);
	put<u64>(map, k64Cr3, s.cr3);
	put<u64>(map, k64Cr4, s.cr4);
	put<u32>(map, k64Smbase, c.smbase);
	put<u32>(map, k64Revision, kRevision64);
	put<u64>(map, k64Efer, s.efer);
	put<u8>(map, k64IntShadow, c.int_shadow);
	put_seg64(map, k64Tr, s.tr);
	put_seg64(map, k64Ldtr, s.ldt);
	put<u32>(map, k64Idtr + 4, s.idt.limit);
	put<u64>(map, k64Idtr + 8, s.idt.base);
	put<u32>(map, k64Gdtr + 4, s.gdt.limit);
	put<u64>(map, k64Gdtr + 8, s.gdt.base);
	for (u32 n = 0; n < 6; n++)
		put_seg64(map, n * 16, segment(s, n));
}

void load64(const u8 (&map)[kSaveSize], CpuState &c)
{
	axvm_sregs &s = c.sregs;
	for (u32 i = 0; i < 16; i++)
		c.gpr[i] = get<u64>(map, k64Gprs + 0x78 - i * 8);
	c.rip = get<u64>(map, k64Rip);
	c.rflags = get<u32>(map, k64Rflags);
	c.dr6 = get<u64>(map, k64Dr6);
	c.dr7 = get<u64>(map, k64Dr7);
	s.cr0 = get<u64>(map, k64Cr0);
	s.cr3 = get<u64>(map, k64Cr3);
	s.cr4 = get<u64>(map, k64Cr4);
	c.smbase = get<u32>(map, k64Smbase);
	s.efer = get<u64>(map, k64Efer);
	c.int_shadow = get<u8>(map, k64IntShadow);
	get_seg64(map, k64Tr, s.tr);
	get_seg64(map, k64Ldtr, s.ldt);
	s.idt.limit = static_cast<u16>(get<u32>(map, k64Idtr + 4));
	s.idt.base = get<u64>(map, k64Idtr + 8);
	s.gdt.limit = static_cast<u16>(get<u32>(map, k64Gdtr + 4));
	s.gdt.base = get<u64>(map, k64Gdtr + 8);
	for (u32 n = 0; n < 6; n++)
		get_seg64(map, n * 16, *segments(s, n));
}

// ---- 32-bit (P6) layout: kvm_smram_state_32 ----
// Selectors at 0x1a8 + n * 4 (ES..GS, then LDTR 0x1c0, TR 0x1c4);
// descriptors as flags, limit, base (u32 each): ES, CS, SS at 0x184 +
// n * 12, DS, FS, GS at 0x12c + (n - 3) * 12, IDTR 0x150, TR 0x15c,
// GDTR 0x16c, LDTR 0x178.
constexpr u32 k32Smbase = 0xf8, k32Revision = 0xfc, k32Cr4 = 0x114, k32IntShadow = 0x11a;
constexpr u32 k32Idtr = 0x150, k32Tr = 0x15c, k32Gdtr = 0x16c, k32Ldtr = 0x178;
constexpr u32 k32Selectors = 0x1a8, k32LdtrSel = 0x1c0, k32TrSel = 0x1c4, k32Dr7 = 0x1c8, k32Dr6 = 0x1cc;
constexpr u32 k32Gprs = 0x1d0, k32Eip = 0x1f0, k32Eflags = 0x1f4, k32Cr3 = 0x1f8, k32Cr0 = 0x1fc;

u32 desc32(u32 n) { return n < 3 ? 0x184 + n * 12 : 0x12c + (n - 3) * 12; }

void put_seg32(u8 (&map)[kSaveSize], u32 desc, u32 sel, const axvm_segment &s)
{
	put<u32>(map, sel, s.selector);
	put<u32>(map, desc, flags_of(s));
	put<u32>(map, desc + 4, s.limit);
	put<u32>(map, desc + 8, static_cast<u32>(s.base));
}

void get_seg32(const u8 (&map)[kSaveSize], u32 desc, u32 sel, axvm_segment &s)
{
	s.selector = static_cast<u16>(get<u32>(map, sel));
	set_flags(s, get<u32>(map, desc));
	s.limit = get<u32>(map, desc + 4);
	s.base = get<u32>(map, desc + 8);
}

void save32(const CpuState &c, u8 (&map)[kSaveSize])
{
	const axvm_sregs &s = c.sregs;
	put<u32>(map, k32Cr0, static_cast<u32>(s.cr0));
	put<u32>(map, k32Cr3, static_cast<u32>(s.cr3));
	put<u32>(map, k32Eflags, static_cast<u32>(c.rflags));
	put<u32>(map, k32Eip, static_cast<u32>(c.rip));
	for (u32 i = 0; i < 8; i++)
		put<u32>(map, k32Gprs + i * 4, static_cast<u32>(c.gpr[i]));
	put<u32>(map, k32Dr6, static_cast<u32>(c.dr6));
	put<u32>(map, k32Dr7, static_cast<u32>(c.dr7));
	put_seg32(map, k32Tr, k32TrSel, s.tr);
	put_seg32(map, k32Ldtr, k32LdtrSel, s.ldt);
	put<u32>(map, k32Gdtr + 8, static_cast<u32>(s.gdt.base));
	put<u32>(map, k32Gdtr + 4, s.gdt.limit);
	put<u32>(map, k32Idtr + 8, static_cast<u32>(s.idt.base));
	put<u32>(map, k32Idtr + 4, s.idt.limit);
	for (u32 n = 0; n < 6; n++)
		put_seg32(map, desc32(n), k32Selectors + n * 4, segment(s, n));
	put<u32>(map, k32Cr4, static_cast<u32>(s.cr4));
	put<u32>(map, k32Revision, kRevision32);
	put<u32>(map, k32Smbase, c.smbase);
	put<u8>(map, k32IntShadow, c.int_shadow);
}

void load32(const u8 (&map)[kSaveSize], CpuState &c)
{
	axvm_sregs &s = c.sregs;
	s.cr0 = get<u32>(map, k32Cr0);
	s.cr3 = get<u32>(map, k32Cr3);
	c.rflags = get<u32>(map, k32Eflags);
	c.rip = get<u32>(map, k32Eip);
	for (u32 i = 0; i < 8; i++)
		c.gpr[i] = get<u32>(map, k32Gprs + i * 4);
	c.dr6 = get<u32>(map, k32Dr6);
	c.dr7 = get<u32>(map, k32Dr7);
	get_seg32(map, k32Tr, k32TrSel, s.tr);
	get_seg32(map, k32Ldtr, k32LdtrSel, s.ldt);
	s.gdt.base = get<u32>(map, k32Gdtr + 8);
	s.gdt.limit = static_cast<u16>(get<u32>(map, k32Gdtr + 4));
	s.idt.base = get<u32>(map, k32Idtr + 8);
	s.idt.limit = static_cast<u16>(get<u32>(map, k32Idtr + 4));
	for (u32 n = 0; n < 6; n++)
		get_seg32(map, desc32(n), k32Selectors + n * 4, *segments(s, n));
	s.cr4 = get<u32>(map, k32Cr4);
	c.smbase = get<u32>(map, k32Smbase);
	c.int_shadow = get<u8>(map, k32IntShadow);
}

} // namespace

void save(const CpuState &c, bool long_mode, u8 (&map)[kSaveSize])
{
	for (u8 &b : map)
		b = 0;
	if (long_mode)
		save64(c, map);
	else
		save32(c, map);
}

void load(const u8 (&map)[kSaveSize], bool long_mode, CpuState &c)
{
	if (long_mode) {
		load64(map, c);
		// EFER.LMA follows from LME and CR0.PG, as when RSM sets CR0.
		c.sregs.efer &= ~0x400ull;
		if ((c.sregs.efer & 0x100) && (c.sregs.cr0 & (1ull << 31)))
			c.sregs.efer |= 0x400;
	} else {
		load32(map, c);
	}
	c.rflags |= 2; // bit 1 reads as 1
}

void entry_sregs(axvm_sregs &s, u32 smbase, bool long_mode)
{
	// CR0.PE, EM, TS and PG clear, CR4 0, IDT limit 0 (undocumented; KVM
	// does it); CS at SMBASE, the data segments flat, all 4 GiB limits.
	s.cr0 &= ~(1ull << 0 | 1ull << 2 | 1ull << 3 | 1ull << 31);
	s.cr4 = 0;
	s.idt.base = 0;
	s.idt.limit = 0;
	axvm_segment flat = {};
	flat.limit = 0xffffffff;
	flat.type = 3;
	flat.s = 1;
	flat.g = 1;
	flat.present = 1;
	for (u32 n = 0; n < 6; n++)
		*segments(s, n) = flat;
	s.cs.selector = static_cast<u16>(smbase >> 4);
	s.cs.base = smbase;
	// EFER.LMA goes with CR0.PG (KVM clears all of EFER for long-mode guests).
	s.efer = long_mode ? 0 : s.efer & ~0x400ull;
}

} // namespace axvm::x86::smm
