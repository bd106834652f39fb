// SPDX-License-Identifier: GPL-2.0
// Why a vCPU left the guest: one tagged union with the same meaning on every
// architecture. The arch backends build these; the core turns the ones that
// userspace must see into the KVM run page (exit_to_run.cpp).
#pragma once

#include "types.hpp"

namespace axvm {

// (The statistics keep one counter per kind: AXVM_EXIT_KINDS in boundary.h.)
enum class ExitKind : u8 {
	Hypercall,
	MmioRead,
	MmioWrite,
	IoRead,
	IoWrite,
	SysRegRead,
	SysRegWrite,
	ExternalInterrupt,
	Halt,
	CpuUp,
	CpuDown,
	SystemDown,
	NestedPageFault,
	SendIpi,
	FailEntry,
	InternalError,
	IoapicEoi,
	Nothing,
};

// Access sizes in bytes; anything else is unrepresentable.
enum class Width : u8 { Byte = 1, Word = 2, Dword = 4, Qword = 8 };

constexpr u32 bytes(Width w) { return static_cast<u32>(w); }

constexpr u64 width_mask(Width w)
{
	return w == Width::Qword ? ~0ull : (1ull << (8 * bytes(w))) - 1;
}

struct HypercallExit {
	u64 nr;
	u64 args[6];
};
struct MmioReadExit {
	u64 addr;
	Width width;      // bytes read from the device
	u8 reg;           // destination register number
	Width reg_width;  // bytes of the register written
	bool sign_extend; // sign- rather than zero-extend width -> reg_width
};
struct MmioWriteExit {
	u64 addr;
	Width width;
	u64 data;
};
struct IoReadExit {
	u16 port;
	Width width;
	u16 count; // elements of a string IN batched into one exit (KVM's run->io.count)
};
struct IoWriteExit {
	u16 port;
	Width width;
	u64 data;
};
struct SysRegReadExit {
	u64 addr; // MSR number on x86, ISS-encoded system register on arm64
	u8 reg;
	u32 reason; // x86: why it exits (KVM_MSR_EXIT_REASON_*)
};
struct SysRegWriteExit {
	u64 addr;
	u64 value;
	u32 reason;
};
struct ExternalInterruptExit {
	u64 vector;
};
struct CpuUpExit {
	u64 target_cpu;
	u64 entry_point;
	u64 arg;
};
struct CpuDownExit {
	u64 state;
};
enum class SystemDownKind : u8 {
	PowerOff,    // the guest asked to be switched off (PSCI SYSTEM_OFF, ACPI)
	Reset,       // ... or reset
	TripleFault, // x86 shutdown: the CPU gave up (KVM_EXIT_SHUTDOWN)
	Suspend,     // arm64 PSCI SYSTEM_SUSPEND: the VMM suspends the VM (KVM_SYSTEM_EVENT_SUSPEND)
	Wakeup,      // arm64: a vCPU in KVM_MP_STATE_SUSPENDED has an interrupt (KVM_SYSTEM_EVENT_WAKEUP)
};
struct SystemDownExit {
	SystemDownKind kind;
	u64 flags; // PowerOff/Reset: KVM's system_event.data[0] (PSCI SYSTEM_RESET2)
};
// Access bits of a nested page fault.
enum : u32 { kAccessRead = 1, kAccessWrite = 2, kAccessExec = 4 };
struct NestedPageFaultExit {
	u64 addr;
	u32 access;
	u64 syndrome; // arm64: the abort's ESR ISS (KVM_EXIT_ARM_NISV); x86: 0
};
struct SendIpiExit {
	u64 target_cpu;
	u64 target_cpu_aux;
	bool send_to_all;
	bool send_to_self;
	u64 vector;
};
// x86 split irqchip: a local APIC retired a vector of userspace's IOAPIC.
struct IoapicEoiExit {
	u8 vector;
};
struct FailEntryExit {
	u64 hardware_entry_failure_reason;
};
// KVM_EXIT_INTERNAL_ERROR: what the kernel could not handle, with KVM's
// suberror codes (KVM_INTERNAL_ERROR_*) and up to kMaxData words.
enum : u32 { kInternalErrorEmulation = 1, kInternalErrorDeliveryEv = 3, kInternalErrorUnexpectedExit = 4 };
struct InternalErrorExit {
	enum : u32 { kMaxData = 4 };
	u32 suberror;
	u32 ndata;
	u64 data[kMaxData];
};

class ExitReason {
public:
	static ExitReason hypercall(u64 nr, const u64 (&args)[6]);
	static ExitReason mmio_read(u64 addr, Width width, u8 reg, Width reg_width, bool sign_extend);
	static ExitReason mmio_write(u64 addr, Width width, u64 data);
	static ExitReason io_read(u16 port, Width width, u16 count = 1);
	static ExitReason io_write(u16 port, Width width, u64 data);
	static ExitReason sys_reg_read(u64 addr, u8 reg, u32 reason = 0);
	static ExitReason sys_reg_write(u64 addr, u64 value, u32 reason = 0);
	static ExitReason external_interrupt(u64 vector);
	static ExitReason halt() { return ExitReason(ExitKind::Halt); }
	static ExitReason cpu_up(u64 target_cpu, u64 entry_point, u64 arg);
	static ExitReason cpu_down(u64 state);
	static ExitReason system_down(SystemDownKind kind, u64 flags = 0);
	static ExitReason nested_page_fault(u64 addr, u32 access, u64 syndrome = 0);
	static ExitReason send_ipi(u64 target_cpu, u64 target_cpu_aux, bool to_all, bool to_self,
				   u64 vector);
	static ExitReason fail_entry(u64 hardware_reason);
	static ExitReason ioapic_eoi(u8 vector);
	// At most InternalErrorExit::kMaxData words of @data are kept.
	static ExitReason internal_error(u32 suberror, u32 ndata, const u64 *data);
	static ExitReason nothing() { return ExitReason(ExitKind::Nothing); }

	ExitKind kind() const { return kind_; }

	// Each accessor returns the payload when the exit is of that kind, else null.
	const HypercallExit *as_hypercall() const { return get(ExitKind::Hypercall, &u_.hypercall); }
	const MmioReadExit *as_mmio_read() const { return get(ExitKind::MmioRead, &u_.mmio_read); }
	const MmioWriteExit *as_mmio_write() const { return get(ExitKind::MmioWrite, &u_.mmio_write); }
	const IoReadExit *as_io_read() const { return get(ExitKind::IoRead, &u_.io_read); }
	const IoWriteExit *as_io_write() const { return get(ExitKind::IoWrite, &u_.io_write); }
	const SysRegReadExit *as_sys_reg_read() const { return get(ExitKind::SysRegRead, &u_.sys_reg_read); }
	const SysRegWriteExit *as_sys_reg_write() const { return get(ExitKind::SysRegWrite, &u_.sys_reg_write); }
	const ExternalInterruptExit *as_external_interrupt() const
	{
		return get(ExitKind::ExternalInterrupt, &u_.external_interrupt);
	}
	const CpuUpExit *as_cpu_up() const { return get(ExitKind::CpuUp, &u_.cpu_up); }
	const CpuDownExit *as_cpu_down() const { return get(ExitKind::CpuDown, &u_.cpu_down); }
	const SystemDownExit *as_system_down() const { return get(ExitKind::SystemDown, &u_.system_down); }
	const NestedPageFaultExit *as_nested_page_fault() const
	{
		return get(ExitKind::NestedPageFault, &u_.nested_page_fault);
	}
	const SendIpiExit *as_send_ipi() const { return get(ExitKind::SendIpi, &u_.send_ipi); }
	const FailEntryExit *as_fail_entry() const { return get(ExitKind::FailEntry, &u_.fail_entry); }
	const IoapicEoiExit *as_ioapic_eoi() const { return get(ExitKind::IoapicEoi, &u_.ioapic_eoi); }
	const InternalErrorExit *as_internal_error() const
	{
		return get(ExitKind::InternalError, &u_.internal_error);
	}

	// Exits the kernel finishes by itself: the RUN loop re-enters the guest.
	bool handled_in_kernel() const
	{
		return kind_ == ExitKind::ExternalInterrupt || kind_ == ExitKind::Nothing;
	}

	// Reads complete on the next RUN with a value from the run page.
	bool needs_return_value() const
	{
		return kind_ == ExitKind::MmioRead || kind_ == ExitKind::IoRead ||
		       kind_ == ExitKind::SysRegRead || kind_ == ExitKind::Hypercall;
	}
	// ... and so does a port write: as KVM does, the instruction completes
	// (RIP moves on) only when userspace has handled it.
	bool completes_on_next_run() const
	{
		return needs_return_value() || kind_ == ExitKind::IoWrite || kind_ == ExitKind::SysRegWrite;
	}

private:
	explicit ExitReason(ExitKind kind) : kind_(kind), u_{} {}

	template <class T> const T *get(ExitKind want, const T *payload) const
	{
		return kind_ == want ? payload : nullptr;
	}

	ExitKind kind_;
	union Payload {
		HypercallExit hypercall;
		MmioReadExit mmio_read;
		MmioWriteExit mmio_write;
		IoReadExit io_read;
		IoWriteExit io_write;
		SysRegReadExit sys_reg_read;
		SysRegWriteExit sys_reg_write;
		ExternalInterruptExit external_interrupt;
		CpuUpExit cpu_up;
		CpuDownExit cpu_down;
		SystemDownExit system_down;
		NestedPageFaultExit nested_page_fault;
		SendIpiExit send_ipi;
		FailEntryExit fail_entry;
		InternalErrorExit internal_error;
		IoapicEoiExit ioapic_eoi;
	} u_;
};

} // namespace axvm
