// SPDX-License-Identifier: GPL-2.0
// Architectural x86 constants and the privileged instructions the backends
// use directly (Intel SDM vol. 3A ch. 2 and 4; AMD APM vol. 2 ch. 3).
#pragma once

#include <axvm/types.hpp>

namespace axvm::x86 {

// Register numbers in instruction-encoding order.
enum Gpr : u8 { kRax, kRcx, kRdx, kRbx, kRsp, kRbp, kRsi, kRdi, kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15 };

constexpr u64 kCr0Pe = 1ull << 0, kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5, kCr0Wp = 1ull << 16;
constexpr u64 kCr0Am = 1ull << 18, kCr0Nw = 1ull << 29, kCr0Cd = 1ull << 30, kCr0Pg = 1ull << 31;
constexpr u64 kCr0Mp = 1ull << 1, kCr0Em = 1ull << 2, kCr0Ts = 1ull << 3;
constexpr u64 kCr4Pse = 1ull << 4, kCr4Pae = 1ull << 5, kCr4La57 = 1ull << 12, kCr4Osxsave = 1ull << 18;
constexpr u64 kEferSce = 1ull << 0, kEferLme = 1ull << 8, kEferLma = 1ull << 10;
constexpr u64 kEferNxe = 1ull << 11, kEferSvme = 1ull << 12;
constexpr u64 kRflagsTf = 1ull << 8, kRflagsIf = 1ull << 9, kRflagsDf = 1ull << 10;
constexpr u64 kRflagsAc = 1ull << 18, kRflagsVm = 1ull << 17;
constexpr u64 kRflagsFixed = 1ull << 1; // bit 1 always reads 1

constexpr u32 kMsrEfer = 0xc0000080;
constexpr u32 kMsrPat = 0x277;
constexpr u32 kMsrVmCr = 0xc0010114;
constexpr u32 kMsrVmHsavePa = 0xc0010117;
constexpr u64 kVmCrSvmDis = 1ull << 4;
constexpr u64 kPatPowerOn = 0x0007040600070406ull;

constexpr u8 kVectorDb = 1, kVectorNmi = 2, kVectorUd = 6, kVectorGp = 13, kVectorAc = 17, kVectorMc = 18;

// DR6 (SDM vol. 3B, 17.2.3): the bits a debug exception reports, and the
// value with none of them (the "active low" bits read as 1).
constexpr u64 kDr6Trap = 0xf, kDr6Bd = 1ull << 13, kDr6Bs = 1ull << 14, kDr6Bt = 1ull << 15;
constexpr u64 kDr6Fixed = 0xffff0ff0, kDr7Fixed = 0x400;

inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (static_cast<u64>(hi) << 32) | lo;
}

inline void wrmsr(u32 msr, u64 value)
{
	asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32))
		     : "memory");
}

inline u64 rdtsc()
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (static_cast<u64>(hi) << 32) | lo;
}

struct CpuidResult {
	u32 eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(u32 leaf, u32 subleaf = 0)
{
	CpuidResult r;
	asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

} // namespace axvm::x86
