// SPDX-License-Identifier: GPL-2.0
// KVM's SMM state-save maps (arch/x86/smm.cpp): fields at the offsets KVM
// uses, each register distinct so a swapped or shifted field shows, and
// RSM's load giving back what the SMI saved. (tests/vmm/kvm_smm.c compares
// whole maps with KVM's own.)
#include "check.hpp"

#include <arch/x86/smm.hpp>

using namespace axvm;
using namespace axvm::x86;

namespace {

u64 at(const u8 (&map)[smm::kSaveSize], u32 manual_offset, u32 bytes)
{
	u64 v = 0;
	for (u32 i = 0; i < bytes; i++)
		v |= static_cast<u64>(map[manual_offset - 0x7e00 + i]) << (8 * i);
	return v;
}

axvm_segment segment(u16 sel, u64 base, u32 limit, u8 type, bool code_or_data = true)
{
	axvm_segment s = {};
	s.selector = sel, s.base = base, s.limit = limit, s.type = type;
	s.s = code_or_data, s.present = 1, s.db = 1, s.g = limit > 0xfffff;
	return s;
}

// A protected-mode vCPU, every field its own value.
smm::CpuState sample(bool long_mode)
{
	smm::CpuState c = {};
	// (A 32-bit map has EAX..EDI only: without long mode there are no others.)
	for (u32 i = 0; i < (long_mode ? 16u : 8u); i++)
		c.gpr[i] = long_mode ? u64(i + 1) << 32 | i : 0x1000u + i;
	c.rip = long_mode ? 0xffffffff81000000ull : 0x00401000;
	c.rflags = 0x246;
	c.dr6 = 0xffff0ff1;
	c.dr7 = 0x401;
	axvm_sregs &s = c.sregs;
	s.es = segment(0x10, 0x1000, 0xfffff, 3);
	s.cs = segment(0x08, 0, 0xffffffff, 11);
	s.ss = segment(0x18, 0x2000, 0xffffffff, 3);
	s.ds = segment(0x20, 0x3000, 0xffffffff, 3);
	s.fs = segment(0x28, long_mode ? 0x7f0000001000ull : 0x4000, 0xffffffff, 3);
	s.gs = segment(0x30, long_mode ? 0xffff888000000000ull : 0x5000, 0xffffffff, 3);
	s.tr = segment(0x40, long_mode ? 0xfffffe0000003000ull : 0x6000, 0x67, 11, false);
	s.ldt = segment(0x48, 0x7000, 0xff, 2, false);
	s.gdt.base = 0x8000, s.gdt.limit = 0x7f;
	s.idt.base = 0x9000, s.idt.limit = 0xfff;
	s.cr0 = 0x80050033;
	s.cr3 = 0x123000;
	s.cr4 = long_mode ? 0x6b0 : 0x690;
	s.efer = long_mode ? 0xd01 : 0x800;
	c.smbase = 0xa0000;
	c.int_shadow = 1;
	return c;
}

bool same_segment(const axvm_segment &a, const axvm_segment &b)
{
	return a.selector == b.selector && a.base == b.base && a.limit == b.limit && a.type == b.type &&
	       a.s == b.s && a.dpl == b.dpl && a.present == b.present && a.db == b.db && a.l == b.l && a.g == b.g &&
	       a.avl == b.avl && a.unusable == b.unusable;
}

bool same_state(const smm::CpuState &a, const smm::CpuState &b)
{
	for (u32 i = 0; i < 16; i++)
		if (a.gpr[i] != b.gpr[i])
			return false;
	const axvm_sregs &x = a.sregs, &y = b.sregs;
	return a.rip == b.rip && a.rflags == b.rflags && a.dr6 == b.dr6 && a.dr7 == b.dr7 && a.smbase == b.smbase &&
	       a.int_shadow == b.int_shadow && same_segment(x.es, y.es) && same_segment(x.cs, y.cs) &&
	       same_segment(x.ss, y.ss) && same_segment(x.ds, y.ds) && same_segment(x.fs, y.fs) &&
	       same_segment(x.gs, y.gs) && same_segment(x.tr, y.tr) && same_segment(x.ldt, y.ldt) &&
	       x.gdt.base == y.gdt.base && x.gdt.limit == y.gdt.limit && x.idt.base == y.idt.base &&
	       x.idt.limit == y.idt.limit && x.cr0 == y.cr0 && x.cr3 == y.cr3 && x.cr4 == y.cr4 && x.efer == y.efer;
}

} // namespace

extern "C" void axvm_test_smm_map_64(struct kunit *t)
{
	const smm::CpuState c = sample(true);
	u8 map[smm::kSaveSize];
	smm::save(c, true, map);
	CHECK_EQ(t, at(map, 0x7ff8, 8), c.gpr[0]);  // RAX
	CHECK_EQ(t, at(map, 0x7ff0, 8), c.gpr[1]);  // RCX
	CHECK_EQ(t, at(map, 0x7fd8, 8), c.gpr[4]);  // RSP
	CHECK_EQ(t, at(map, 0x7f80, 8), c.gpr[15]); // R15
	CHECK_EQ(t, at(map, 0x7f78, 8), c.rip);
	CHECK_EQ(t, at(map, 0x7f70, 8), 0x246u); // RFLAGS: 32 bits
	CHECK_EQ(t, at(map, 0x7f68, 8), c.dr6);
	CHECK_EQ(t, at(map, 0x7f60, 8), c.dr7);
	CHECK_EQ(t, at(map, 0x7f58, 8), c.sregs.cr0);
	CHECK_EQ(t, at(map, 0x7f50, 8), c.sregs.cr3);
	CHECK_EQ(t, at(map, 0x7f48, 8), c.sregs.cr4);
	CHECK_EQ(t, at(map, 0x7f00, 4), 0xa0000u);
	CHECK_EQ(t, at(map, 0x7efc, 4), smm::kRevision64);
	CHECK_EQ(t, at(map, 0x7ed0, 8), 0xd01u);
	CHECK_EQ(t, at(map, 0x7ecb, 1), 1u); // KVM's interrupt shadow
	// CS (0x7e10): selector, attributes >> 8, limit, base.
	CHECK_EQ(t, at(map, 0x7e10, 2), 0x08u);
	CHECK_EQ(t, at(map, 0x7e12, 2), 0xc09bu); // G, D, P, S, type 11
	CHECK_EQ(t, at(map, 0x7e14, 4), 0xffffffffu);
	CHECK_EQ(t, at(map, 0x7e50, 2), 0x30u); // GS
	CHECK_EQ(t, at(map, 0x7e58, 8), 0xffff888000000000ull);
	CHECK_EQ(t, at(map, 0x7e64, 4), 0x7fu); // GDTR
	CHECK_EQ(t, at(map, 0x7e68, 8), 0x8000u);
	CHECK_EQ(t, at(map, 0x7e70, 2), 0x48u); // LDTR
	CHECK_EQ(t, at(map, 0x7e84, 4), 0xfffu); // IDTR
	CHECK_EQ(t, at(map, 0x7e88, 8), 0x9000u);
	CHECK_EQ(t, at(map, 0x7e90, 2), 0x40u); // TR
	CHECK_EQ(t, at(map, 0x7e92, 2), 0x408bu);
	CHECK_EQ(t, at(map, 0x7e98, 8), 0xfffffe0000003000ull);

	// RSM: what was saved comes back; EFER.LMA follows LME and CR0.PG.
	smm::CpuState back = {};
	smm::load(map, true, back);
	CHECK(t, same_state(back, c));
	map[0x158 + 3] = 0; // CR0.PG clear in the map
	smm::load(map, true, back);
	CHECK_EQ(t, back.sregs.efer, 0x901u);
	CHECK_EQ(t, back.rflags & 2, 2u);
}

extern "C" void axvm_test_smm_map_32(struct kunit *t)
{
	const smm::CpuState c = sample(false);
	u8 map[smm::kSaveSize];
	smm::save(c, false, map);
	CHECK_EQ(t, at(map, 0x7ffc, 4), c.sregs.cr0);
	CHECK_EQ(t, at(map, 0x7ff8, 4), c.sregs.cr3);
	CHECK_EQ(t, at(map, 0x7ff4, 4), 0x246u);
	CHECK_EQ(t, at(map, 0x7ff0, 4), c.rip);
	CHECK_EQ(t, at(map, 0x7fd0, 4), c.gpr[0]); // EAX
	CHECK_EQ(t, at(map, 0x7fec, 4), c.gpr[7]); // EDI
	CHECK_EQ(t, at(map, 0x7fcc, 4), c.dr6);
	CHECK_EQ(t, at(map, 0x7fc8, 4), c.dr7);
	CHECK_EQ(t, at(map, 0x7fc4, 4), 0x40u); // TR selector
	CHECK_EQ(t, at(map, 0x7fc0, 4), 0x48u); // LDTR selector
	CHECK_EQ(t, at(map, 0x7fac, 4), 0x08u); // CS selector
	CHECK_EQ(t, at(map, 0x7f90, 4), 0xc09b00u); // CS flags, limit, base
	CHECK_EQ(t, at(map, 0x7f94, 4), 0xffffffffu);
	CHECK_EQ(t, at(map, 0x7f98, 4), 0u);
	CHECK_EQ(t, at(map, 0x7f84, 4), 0x409300u); // ES: D/B, byte granular
	CHECK_EQ(t, at(map, 0x7f88, 4), 0xfffffu);
	CHECK_EQ(t, at(map, 0x7f8c, 4), 0x1000u);
	CHECK_EQ(t, at(map, 0x7f2c + 8, 4), 0x3000u); // DS base
	CHECK_EQ(t, at(map, 0x7f44 + 8, 4), 0x5000u); // GS base
	CHECK_EQ(t, at(map, 0x7f64, 4), 0x6000u);     // TR base
	CHECK_EQ(t, at(map, 0x7f74, 4), 0x8000u);     // GDTR base, limit
	CHECK_EQ(t, at(map, 0x7f70, 4), 0x7fu);
	CHECK_EQ(t, at(map, 0x7f58, 4), 0x9000u); // IDTR base, limit
	CHECK_EQ(t, at(map, 0x7f54, 4), 0xfffu);
	CHECK_EQ(t, at(map, 0x7f14, 4), c.sregs.cr4);
	CHECK_EQ(t, at(map, 0x7f1a, 1), 1u);
	CHECK_EQ(t, at(map, 0x7efc, 4), smm::kRevision32);
	CHECK_EQ(t, at(map, 0x7ef8, 4), 0xa0000u);

	// RSM: all but EFER (not in this map: it stays as the vCPU has it).
	smm::CpuState back = {};
	back.sregs.efer = c.sregs.efer;
	smm::load(map, false, back);
	CHECK(t, same_state(back, c));
}

extern "C" void axvm_test_smm_entry_state(struct kunit *t)
{
	axvm_sregs s = sample(true).sregs;
	smm::entry_sregs(s, 0x1234500, true);
	CHECK_EQ(t, s.cs.selector, 0x3450u); // SMBASE >> 4, 16 bits of it
	CHECK_EQ(t, s.cs.base, 0x1234500u);
	CHECK_EQ(t, s.cs.limit, 0xffffffffu);
	CHECK(t, s.cs.type == 3 && s.cs.s && s.cs.present && s.cs.g && !s.cs.db && !s.cs.l);
	CHECK(t, s.ds.base == 0 && s.ss.selector == 0 && s.gs.limit == 0xffffffffu && s.fs.type == 3);
	CHECK_EQ(t, s.cr0, 0x00050032u); // PE, EM, TS, PG clear
	CHECK_EQ(t, s.cr4, 0u);
	CHECK_EQ(t, s.efer, 0u);
	CHECK(t, s.idt.base == 0 && s.idt.limit == 0);
	CHECK(t, s.gdt.base == 0x8000 && s.cr3 == 0x123000 && s.tr.selector == 0x40); // untouched

	axvm_sregs p = sample(false).sregs;
	smm::entry_sregs(p, 0x30000, false);
	CHECK_EQ(t, p.efer, 0x800u); // NX stays where the map has no EFER
	CHECK_EQ(t, p.cs.selector, 0x3000u);
}
