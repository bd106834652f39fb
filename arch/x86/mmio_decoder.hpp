// TEMPORARY STUB (replaced by the decoder branch)
#pragma once
#include <axvm/exit_reason.hpp>
#include <axvm/result.hpp>
namespace axvm::x86 {
enum class CpuMode : u8 { Real, Protected16, Protected32, Long64 };
struct MmioInstruction { u8 length; bool is_write; Width width; bool has_immediate; u64 immediate; u8 reg; bool high_byte; Width reg_width; bool sign_extend; };
inline Result<MmioInstruction> decode_mmio(const u8 *, usize, CpuMode) { return fail(err::EINVAL); }
inline u64 mmio_store_value(const MmioInstruction &, const u64 (&)[16]) { return 0; }
inline void mmio_complete_load(const MmioInstruction &, u64 (&)[16], u64) {}
}
