// SPDX-License-Identifier: GPL-2.0
// Decodes the instruction behind an MMIO nested page fault. The hardware
// gives the guest-physical address; the decoder supplies the rest: how many
// bytes the instruction has (there is no next-RIP under emulation), which
// way the data goes, how wide the access is and which register or immediate
// it involves. Only the MOV family is accepted; anything else is -EINVAL and
// never a guess. Intel SDM vol. 2, ch. 2 (instruction format) and the MOV,
// MOVZX and MOVSX pages.
#pragma once

#include <axvm/exit_reason.hpp>
#include <axvm/result.hpp>

namespace axvm::x86 {

// Default operand/address sizes come from the mode: Real and Protected16
// 16-bit, Protected32 32-bit, Long64 64-bit addresses with 32-bit operands.
// Compatibility mode is Protected16/32 by CS.D.
enum class CpuMode : u8 { Real, Protected16, Protected32, Long64 };

struct MmioInstruction {
	u8 length;          // bytes to add to RIP
	bool is_write;      // guest stores to the device
	Width width;        // bytes accessed in memory
	bool has_immediate; // writes: the data is `immediate`, not a register
	u64 immediate;      // already sign-extended to `width` bytes
	u8 reg;             // GPR (rax=0 .. r15=15): the source of a write, the destination of a read
	bool high_byte;     // reg is AH/CH/DH/BH: bits 15:8 of GPR `reg`
	Width reg_width;    // reads: bytes of the destination register written
	bool sign_extend;   // reads: MOVSX
};

Result<MmioInstruction> decode_mmio(const u8 *bytes, usize len, CpuMode mode);

// The bytes a decoded write stores.
u64 mmio_store_value(const MmioInstruction &insn, const u64 (&gprs)[16]);

// Writes the loaded @value into the destination register with the CPU's
// rules: a 32-bit destination zero-extends to 64 bits, 8- and 16-bit ones
// keep the register's other bits.
void mmio_complete_load(const MmioInstruction &insn, u64 (&gprs)[16], u64 value);

} // namespace axvm::x86
