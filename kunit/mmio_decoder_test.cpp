// SPDX-License-Identifier: GPL-2.0
// The MMIO decoder on real encodings (produced by GNU as, objdump-checked),
// in every mode, and every rejection.
#include "check.hpp"

#include <arch/x86/mmio_decoder.hpp>

using namespace axvm;
using namespace axvm::x86;

namespace {

template <usize N> Result<MmioInstruction> decode(const u8 (&b)[N], CpuMode mode) { return decode_mmio(b, N, mode); }

struct Want {
	u8 length;
	bool write;
	Width width;
	u8 reg;
	Width reg_width;
	bool high = false, sext = false, imm = false;
	u64 immediate = 0;
};

template <usize N> bool is(const u8 (&b)[N], CpuMode mode, const Want &w)
{
	Result<MmioInstruction> r = decode(b, mode);
	if (!r.ok())
		return false;
	const MmioInstruction &m = r.value();
	return m.length == w.length && m.is_write == w.write && m.width == w.width && m.high_byte == w.high &&
	       m.sign_extend == w.sext && m.has_immediate == w.imm && (w.imm ? m.immediate == w.immediate : m.reg == w.reg) &&
	       (w.write || m.reg_width == w.reg_width);
}

template <usize N> bool rejected(const u8 (&b)[N], CpuMode mode) { return decode(b, mode).error() == -err::EINVAL; }

} // namespace

extern "C" void axvm_test_mmio_decoder_long_mode(struct kunit *t)
{
	const CpuMode L = CpuMode::Long64;
	const u8 mov_ecx_rax[] = {0x89, 0x08};
	CHECK(t, is(mov_ecx_rax, L, {2, true, Width::Dword, 1, Width::Dword}));
	const u8 mov_r9_sib_disp8[] = {0x4c, 0x89, 0x4c, 0x8b, 0x10};
	CHECK(t, is(mov_r9_sib_disp8, L, {5, true, Width::Qword, 9, Width::Qword}));
	const u8 mov_ah[] = {0x88, 0x22};
	CHECK(t, is(mov_ah, L, {2, true, Width::Byte, 0, Width::Byte, true}));
	const u8 mov_sil[] = {0x40, 0x88, 0x32}; // with REX, 6 is SIL, not DH
	CHECK(t, is(mov_sil, L, {3, true, Width::Byte, 6, Width::Byte}));
	const u8 load_rip_relative[] = {0x44, 0x8b, 0x15, 0x00, 0x00, 0x00, 0x00};
	CHECK(t, is(load_rip_relative, L, {7, false, Width::Dword, 10, Width::Dword}));
	const u8 movq_imm[] = {0x48, 0xc7, 0x87, 0x78, 0x56, 0x34, 0x12, 0xfe, 0xff, 0xff, 0xff};
	CHECK(t, is(movq_imm, L, {11, true, Width::Qword, 0, Width::Qword, false, false, true, ~1ull}));
	const u8 movw_imm[] = {0x66, 0xc7, 0x00, 0x34, 0x12};
	CHECK(t, is(movw_imm, L, {5, true, Width::Word, 0, Width::Word, false, false, true, 0x1234}));
	const u8 movzbl_r11[] = {0x44, 0x0f, 0xb6, 0x18};
	CHECK(t, is(movzbl_r11, L, {4, false, Width::Byte, 11, Width::Dword}));
	const u8 movswq[] = {0x48, 0x0f, 0xbf, 0x45, 0xf8};
	CHECK(t, is(movswq, L, {5, false, Width::Word, 0, Width::Qword, false, true}));
	const u8 movabs_eax[] = {0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
	CHECK(t, is(movabs_eax, L, {9, false, Width::Dword, 0, Width::Dword}));
	const u8 es_store[] = {0x26, 0x88, 0x03};
	CHECK(t, is(es_store, L, {3, true, Width::Byte, 0, Width::Byte}));
	const u8 addr32_load[] = {0x67, 0x8b, 0x08};
	CHECK(t, is(addr32_load, L, {3, false, Width::Dword, 1, Width::Dword}));
	const u8 movb_r8[] = {0x41, 0xc6, 0x00, 0x07};
	CHECK(t, is(movb_r8, L, {4, true, Width::Byte, 0, Width::Byte, false, false, true, 7}));
	const u8 moffs32_in_long[] = {0x67, 0xa2, 0x78, 0x56, 0x34, 0x12};
	CHECK(t, is(moffs32_in_long, L, {6, true, Width::Byte, 0, Width::Byte}));
	// A REX followed by a legacy prefix is ignored: 48 66 89 08 is a 16-bit store.
	const u8 stale_rex[] = {0x48, 0x66, 0x89, 0x08};
	CHECK(t, is(stale_rex, L, {4, true, Width::Word, 1, Width::Word}));
}

extern "C" void axvm_test_mmio_decoder_legacy_modes(struct kunit *t)
{
	const CpuMode R = CpuMode::Real, P16 = CpuMode::Protected16, P32 = CpuMode::Protected32;
	const u8 store_bx_si[] = {0x89, 0x00};
	CHECK(t, is(store_bx_si, R, {2, true, Width::Word, 0, Width::Word}));
	CHECK(t, is(store_bx_si, P16, {2, true, Width::Word, 0, Width::Word}));
	const u8 load_bp_disp16[] = {0x8a, 0x8e, 0x34, 0x12};
	CHECK(t, is(load_bp_disp16, R, {4, false, Width::Byte, 1, Width::Byte}));
	const u8 movl_imm16_mode[] = {0x66, 0xc7, 0x07, 0x44, 0x33, 0x22, 0x11};
	CHECK(t, is(movl_imm16_mode, R, {7, true, Width::Dword, 0, Width::Dword, false, false, true, 0x11223344}));
	const u8 addr32_in_real[] = {0x67, 0x66, 0x89, 0x43, 0x10};
	CHECK(t, is(addr32_in_real, R, {5, true, Width::Dword, 0, Width::Dword}));
	const u8 movsbw[] = {0x0f, 0xbe, 0x15};
	CHECK(t, is(movsbw, R, {3, false, Width::Byte, 2, Width::Word, false, true}));
	const u8 disp16_direct[] = {0x8b, 0x1e, 0x20, 0x00}; // mod 0, rm 6: [disp16]
	CHECK(t, is(disp16_direct, R, {4, false, Width::Word, 3, Width::Word}));
	const u8 moffs16[] = {0xa3, 0x12, 0x00};
	CHECK(t, is(moffs16, R, {3, true, Width::Word, 0, Width::Word}));

	const u8 store_sib_disp32[] = {0x89, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00};
	CHECK(t, is(store_sib_disp32, P32, {7, true, Width::Dword, 2, Width::Dword}));
	const u8 load_ax_ebp[] = {0x66, 0x8b, 0x45, 0x00};
	CHECK(t, is(load_ax_ebp, P32, {4, false, Width::Word, 0, Width::Word}));
	const u8 moffs8_32[] = {0xa0, 0x78, 0x56, 0x34, 0x12};
	CHECK(t, is(moffs8_32, P32, {5, false, Width::Byte, 0, Width::Byte}));
	const u8 addr16_in_32[] = {0x67, 0x66, 0xc7, 0x07, 0x05, 0x00};
	CHECK(t, is(addr16_in_32, P32, {6, true, Width::Word, 0, Width::Word, false, false, true, 5}));
	const u8 sib_base5_mod0[] = {0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00}; // [disp32] through SIB
	CHECK(t, is(sib_base5_mod0, P32, {7, false, Width::Dword, 0, Width::Dword}));
	// In 32-bit mode 0x40-0x4f are INC/DEC, not REX: refused.
	const u8 not_rex[] = {0x48, 0x89, 0x08};
	CHECK(t, rejected(not_rex, P32));
}

extern "C" void axvm_test_mmio_decoder_rejections(struct kunit *t)
{
	const CpuMode L = CpuMode::Long64;
	const u8 lock[] = {0xf0, 0x89, 0x08};
	const u8 rep[] = {0xf3, 0x89, 0x08};
	const u8 repne[] = {0xf2, 0x89, 0x08};
	const u8 register_form[] = {0x89, 0xc8};
	const u8 other_opcode[] = {0x01, 0x08}; // add
	const u8 other_two_byte[] = {0x0f, 0xb0, 0x08}; // cmpxchg
	const u8 c7_reg_not_zero[] = {0xc7, 0x08, 1, 0, 0, 0};
	const u8 truncated_disp[] = {0x89, 0x88, 0x00};
	const u8 truncated_imm[] = {0xc7, 0x00, 0x01, 0x02};
	const u8 truncated_moffs[] = {0xa1, 1, 2, 3};
	const u8 only_prefixes[] = {0x66, 0x67};
	u8 too_long[16];
	for (u8 &b : too_long)
		b = 0x66;
	too_long[14] = 0x89;
	too_long[15] = 0x08;
	CHECK(t, rejected(lock, L));
	CHECK(t, rejected(rep, L));
	CHECK(t, rejected(repne, L));
	CHECK(t, rejected(register_form, L));
	CHECK(t, rejected(other_opcode, L));
	CHECK(t, rejected(other_two_byte, L));
	CHECK(t, rejected(c7_reg_not_zero, L));
	CHECK(t, rejected(truncated_disp, L));
	CHECK(t, rejected(truncated_imm, L));
	CHECK(t, rejected(truncated_moffs, L));
	CHECK(t, rejected(only_prefixes, L));
	CHECK(t, rejected(too_long, L)); // 16 bytes: beyond the architectural 15
	CHECK_EQ(t, decode_mmio(lock, 0, L).error(), -err::EINVAL);
}

extern "C" void axvm_test_mmio_decoder_register_semantics(struct kunit *t)
{
	u64 gprs[16];
	for (u8 i = 0; i < 16; i++)
		gprs[i] = 0x1111111111111111ull * i;
	const u8 mov_ah[] = {0x88, 0x22};
	CHECK_EQ(t, mmio_store_value(decode(mov_ah, CpuMode::Long64).value(), gprs), 0ull); // AH of rax=0
	gprs[0] = 0xabcd;
	CHECK_EQ(t, mmio_store_value(decode(mov_ah, CpuMode::Long64).value(), gprs), 0xabull);
	const u8 movq_imm[] = {0x48, 0xc7, 0x87, 0x78, 0x56, 0x34, 0x12, 0xfe, 0xff, 0xff, 0xff};
	CHECK_EQ(t, mmio_store_value(decode(movq_imm, CpuMode::Long64).value(), gprs), ~1ull);

	// Loads: 32-bit destinations zero-extend, 8/16-bit keep the rest.
	const u8 load_r10d[] = {0x44, 0x8b, 0x15, 0, 0, 0, 0};
	gprs[10] = ~0ull;
	mmio_complete_load(decode(load_r10d, CpuMode::Long64).value(), gprs, 0x12345678);
	CHECK_EQ(t, gprs[10], 0x12345678ull);
	const u8 load_ax[] = {0x66, 0x8b, 0x45, 0x00};
	gprs[0] = 0xffffffffffffffffull;
	mmio_complete_load(decode(load_ax, CpuMode::Protected32).value(), gprs, 0xbeef);
	CHECK_EQ(t, gprs[0], 0xffffffffffffbeefull);
	const u8 load_ch[] = {0x8a, 0x28}; // mov ch, [rax]
	gprs[1] = 0x1234;
	mmio_complete_load(decode(load_ch, CpuMode::Long64).value(), gprs, 0x99);
	CHECK_EQ(t, gprs[1], 0x9934ull);
	const u8 movswq[] = {0x48, 0x0f, 0xbf, 0x45, 0xf8};
	mmio_complete_load(decode(movswq, CpuMode::Long64).value(), gprs, 0x8001);
	CHECK_EQ(t, gprs[0], 0xffffffffffff8001ull);
	const u8 movzbl_r11[] = {0x44, 0x0f, 0xb6, 0x18};
	gprs[11] = ~0ull;
	mmio_complete_load(decode(movzbl_r11, CpuMode::Long64).value(), gprs, 0x1ff);
	CHECK_EQ(t, gprs[11], 0xffull);
}
