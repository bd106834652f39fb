// SPDX-License-Identifier: GPL-2.0
#include "mmio_decoder.hpp"

namespace axvm::x86 {

namespace {

constexpr usize kMaxInsn = 15; // SDM vol. 2, 2.3.11

Width width_of(u32 n) { return n == 1 ? Width::Byte : n == 2 ? Width::Word : n == 4 ? Width::Dword : Width::Qword; }

struct Cursor {
	const u8 *bytes;
	usize len;
	usize pos = 0;

	bool has(usize n) const { return pos + n <= len && pos + n <= kMaxInsn; }
	bool take(u8 &out)
	{
		if (!has(1))
			return false;
		out = bytes[pos++];
		return true;
	}
	// @n little-endian bytes, sign-extended from n*8 bits.
	bool take_signed(usize n, u64 &out)
	{
		if (!has(n))
			return false;
		u64 v = 0;
		for (usize i = 0; i < n; i++)
			v |= static_cast<u64>(bytes[pos + i]) << (8 * i);
		if (n < 8 && (v >> (8 * n - 1)) & 1)
			v |= ~0ull << (8 * n);
		pos += n;
		out = v;
		return true;
	}
	bool skip(usize n)
	{
		if (!has(n))
			return false;
		pos += n;
		return true;
	}
};

// ModRM (+SIB, +displacement), SDM vol. 2, tables 2-1 to 2-3; the register
// form (mod 3) cannot touch memory and is refused.
bool skip_modrm(Cursor &c, u8 modrm, u32 address_bits)
{
	const u8 mod = modrm >> 6, rm = modrm & 7;
	if (mod == 3)
		return false;
	if (address_bits == 16) {
		if (mod == 0)
			return rm == 6 ? c.skip(2) : true;
		return c.skip(mod == 1 ? 1 : 2);
	}
	u8 base = rm;
	if (rm == 4) {
		u8 sib;
		if (!c.take(sib))
			return false;
		base = sib & 7;
	}
	if (mod == 0)
		return base == 5 ? c.skip(4) : true; // disp32 (RIP-relative when rm is 5 in 64-bit mode)
	return c.skip(mod == 1 ? 1 : 4);
}

} // namespace

Result<MmioInstruction> decode_mmio(const u8 *bytes, usize len, CpuMode mode)
{
	Cursor c{bytes, len};
	const bool long64 = mode == CpuMode::Long64;
	bool opsize = false, addrsize = false;
	u8 rex = 0, op;

	// Legacy prefixes, then at most one REX right before the opcode.
	for (;;) {
		if (!c.take(op))
			return fail(err::EINVAL);
		if (op == 0x66) {
			opsize = true;
		} else if (op == 0x67) {
			addrsize = true;
		} else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e || op == 0x64 || op == 0x65) {
			// segment overrides: the fault address already includes the base
		} else if (op == 0xf0 || op == 0xf2 || op == 0xf3) {
			return fail(err::EINVAL); // LOCK, REP: not a plain MOV
		} else if (long64 && (op & 0xf0) == 0x40) {
			rex = op;
			if (!c.take(op))
				return fail(err::EINVAL);
			if (op == 0x66 || op == 0x67 || op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
			    op == 0x64 || op == 0x65 || op == 0xf0 || op == 0xf2 || op == 0xf3 || (op & 0xf0) == 0x40) {
				// A REX not followed by the opcode is ignored (SDM 2.2.1).
				rex = 0;
				c.pos--;
				continue;
			}
			break;
		} else {
			break;
		}
	}

	const bool rex_w = rex & 8, rex_r = rex & 4;
	u32 operand = mode == CpuMode::Real || mode == CpuMode::Protected16 ? 2 : 4;
	if (opsize)
		operand = operand == 2 ? 4 : 2;
	if (rex_w)
		operand = 8;
	u32 address = mode == CpuMode::Long64 ? 64 : mode == CpuMode::Protected32 ? 32 : 16;
	if (addrsize)
		address = address == 32 ? 16 : 32;

	MmioInstruction m = {};
	bool two_byte = false;
	if (op == 0x0f) {
		two_byte = true;
		if (!c.take(op))
			return fail(err::EINVAL);
	}

	// MOV AL/AX/EAX/RAX <-> moffs: the offset is address-size wide.
	if (!two_byte && op >= 0xa0 && op <= 0xa3) {
		if (!c.skip(address / 8))
			return fail(err::EINVAL);
		const u32 w = op & 1 ? operand : 1;
		m.length = static_cast<u8>(c.pos);
		m.is_write = op >= 0xa2;
		m.width = m.reg_width = width_of(w);
		m.reg = 0;
		return m;
	}

	const bool known = two_byte ? (op == 0xb6 || op == 0xb7 || op == 0xbe || op == 0xbf)
				    : (op == 0x88 || op == 0x89 || op == 0x8a || op == 0x8b || op == 0xc6 || op == 0xc7);
	if (!known)
		return fail(err::EINVAL);
	u8 modrm;
	if (!c.take(modrm) || !skip_modrm(c, modrm, address))
		return fail(err::EINVAL);
	u8 reg = ((modrm >> 3) & 7) | (rex_r ? 8 : 0);

	if (two_byte) { // MOVZX / MOVSX r, r/m8 or r/m16
		m.is_write = false;
		m.width = op & 1 ? Width::Word : Width::Byte;
		m.reg_width = width_of(operand);
		m.sign_extend = op >= 0xbe;
		m.reg = reg;
	} else if (op == 0xc6 || op == 0xc7) { // MOV r/m, imm
		if ((modrm >> 3) & 7)
			return fail(err::EINVAL);
		const u32 w = op == 0xc6 ? 1 : operand;
		u64 imm;
		if (!c.take_signed(w < 4 ? w : 4, imm))
			return fail(err::EINVAL);
		m.is_write = true;
		m.width = m.reg_width = width_of(w);
		m.has_immediate = true;
		m.immediate = imm & width_mask(m.width);
	} else { // 88/89 store, 8A/8B load
		const u32 w = op & 1 ? operand : 1;
		m.is_write = op <= 0x89;
		m.width = m.reg_width = width_of(w);
		// Without REX, byte registers 4-7 are AH, CH, DH, BH.
		if (w == 1 && !rex && reg >= 4 && reg < 8) {
			m.high_byte = true;
			reg -= 4;
		}
		m.reg = reg;
	}
	m.length = static_cast<u8>(c.pos);
	return m;
}

u64 mmio_store_value(const MmioInstruction &m, const u64 (&gprs)[16])
{
	if (m.has_immediate)
		return m.immediate & width_mask(m.width);
	const u64 r = gprs[m.reg & 15];
	return (m.high_byte ? r >> 8 : r) & width_mask(m.width);
}

void mmio_complete_load(const MmioInstruction &m, u64 (&gprs)[16], u64 value)
{
	u64 v = value & width_mask(m.width);
	if (m.sign_extend && m.width != Width::Qword && (v >> (8 * bytes(m.width) - 1)) & 1)
		v |= ~width_mask(m.width);
	u64 &r = gprs[m.reg & 15];
	switch (m.high_byte ? 0 : bytes(m.reg_width)) {
	case 0:
		r = (r & ~0xff00ull) | ((v & 0xff) << 8);
		break;
	case 1:
		r = (r & ~0xffull) | (v & 0xff);
		break;
	case 2:
		r = (r & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		r = v & 0xffffffffull; // 32-bit results zero-extend (SDM vol. 1, 3.4.1.1)
		break;
	default:
		r = v;
		break;
	}
}

} // namespace axvm::x86
