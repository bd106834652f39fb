// SPDX-License-Identifier: GPL-2.0
// ExitReason <-> the KVM run page. Pure functions: tested in kunit/.
#include <axvm/kernel_vcpu.hpp>

#include <uapi/axvm.h>

namespace axvm {

static_assert(sizeof(axvm_run) <= AXVM_RUN_IO_DATA_OFFSET, "I/O data would overlap the run struct");
static_assert(AXVM_RUN_IO_DATA_OFFSET + kMaxIoBatch <= AXVM_RUN_PAGES * kPageSize);

static u8 *io_data(axvm_run &run) { return reinterpret_cast<u8 *>(&run) + AXVM_RUN_IO_DATA_OFFSET; }

const u8 *io_in_data(const axvm_run &run, const ExitReason &exit, u32 *len)
{
	const IoReadExit *in = exit.as_io_read();
	*len = in ? in->count * bytes(in->width) : 0;
	if (*len > kMaxIoBatch)
		*len = kMaxIoBatch;
	return reinterpret_cast<const u8 *>(&run) + AXVM_RUN_IO_DATA_OFFSET;
}

// Little-endian, as both x86 and arm64 guests see memory.
static void store_le(u8 *dst, u64 value, u32 n)
{
	for (u32 i = 0; i < n; i++)
		dst[i] = static_cast<u8>(value >> (8 * i));
}

static u64 load_le(const u8 *src, u32 n)
{
	u64 value = 0;
	for (u32 i = 0; i < n; i++)
		value |= static_cast<u64>(src[i]) << (8 * i);
	return value;
}

static void set_io(axvm_run &run, u8 direction, u16 port, Width w, u16 count = 1)
{
	run.exit_reason = AXVM_EXIT_IO;
	run.io.direction = direction;
	run.io.size = static_cast<u8>(bytes(w));
	run.io.port = port;
	run.io.count = count;
	run.io.data_offset = AXVM_RUN_IO_DATA_OFFSET;
}

bool exit_to_run(const ExitReason &exit, axvm_run &run)
{
	// KVM leaves stale fields of earlier exits in the union; we clear them
	// so that no value from an earlier exit is ever mistaken for this one's.
	for (char &c : run.padding)
		c = 0;

	switch (exit.kind()) {
	case ExitKind::Hypercall: {
		const HypercallExit &h = *exit.as_hypercall();
		run.exit_reason = AXVM_EXIT_HYPERCALL;
		run.hypercall.nr = h.nr;
		for (usize i = 0; i < array_size(h.args); i++)
			run.hypercall.args[i] = h.args[i];
		return true;
	}
	case ExitKind::MmioRead: {
		const MmioReadExit &m = *exit.as_mmio_read();
		run.exit_reason = AXVM_EXIT_MMIO;
		run.mmio.phys_addr = m.addr;
		run.mmio.len = bytes(m.width);
		run.mmio.is_write = 0;
		return true;
	}
	case ExitKind::MmioWrite: {
		const MmioWriteExit &m = *exit.as_mmio_write();
		run.exit_reason = AXVM_EXIT_MMIO;
		run.mmio.phys_addr = m.addr;
		run.mmio.len = bytes(m.width);
		run.mmio.is_write = 1;
		store_le(run.mmio.data, m.data, bytes(m.width));
		return true;
	}
	case ExitKind::IoRead: {
		const IoReadExit &io = *exit.as_io_read();
		set_io(run, AXVM_EXIT_IO_IN, io.port, io.width, io.count);
		for (u32 i = 0; i < io.count && (i + 1) * bytes(io.width) <= kMaxIoBatch; i++)
			store_le(io_data(run) + i * bytes(io.width), 0, bytes(io.width));
		return true;
	}
	case ExitKind::IoWrite: {
		const IoWriteExit &io = *exit.as_io_write();
		set_io(run, AXVM_EXIT_IO_OUT, io.port, io.width);
		store_le(io_data(run), io.data, bytes(io.width));
		return true;
	}
	case ExitKind::SysRegRead:
		run.exit_reason = AXVM_EXIT_X86_RDMSR;
		run.msr.error = 0;
		run.msr.reason = exit.as_sys_reg_read()->reason;
		run.msr.index = static_cast<u32>(exit.as_sys_reg_read()->addr);
		run.msr.data = 0;
		return true;
	case ExitKind::SysRegWrite:
		run.exit_reason = AXVM_EXIT_X86_WRMSR;
		run.msr.error = 0;
		run.msr.reason = exit.as_sys_reg_write()->reason;
		run.msr.index = static_cast<u32>(exit.as_sys_reg_write()->addr);
		run.msr.data = exit.as_sys_reg_write()->value;
		return true;
	case ExitKind::Halt:
		run.exit_reason = AXVM_EXIT_HLT;
		return true;
	case ExitKind::IoapicEoi:
		run.exit_reason = AXVM_EXIT_IOAPIC_EOI;
		run.eoi.vector = exit.as_ioapic_eoi()->vector;
		return true;
	case ExitKind::CpuUp: {
		const CpuUpExit &c = *exit.as_cpu_up();
		run.exit_reason = AXVM_EXIT_CPU_UP;
		run.cpu_up.target_cpu = c.target_cpu;
		run.cpu_up.entry_point = c.entry_point;
		run.cpu_up.arg = c.arg;
		return true;
	}
	case ExitKind::CpuDown:
		run.exit_reason = AXVM_EXIT_CPU_DOWN;
		run.cpu_down.state = exit.as_cpu_down()->state;
		return true;
	case ExitKind::SystemDown:
		switch (exit.as_system_down()->kind) {
		case SystemDownKind::TripleFault:
			run.exit_reason = AXVM_EXIT_SHUTDOWN;
			break;
		case SystemDownKind::Reset:
		case SystemDownKind::PowerOff:
			// As KVM's PSCI: the flags in data[0] (PSCI_RESET2 or 0).
			run.exit_reason = AXVM_EXIT_SYSTEM_EVENT;
			run.system_event.type = exit.as_system_down()->kind == SystemDownKind::Reset
							? AXVM_SYSTEM_EVENT_RESET
							: AXVM_SYSTEM_EVENT_SHUTDOWN;
			run.system_event.ndata = 1;
			run.system_event.data[0] = exit.as_system_down()->flags;
			break;
		case SystemDownKind::Suspend:
		case SystemDownKind::Wakeup:
			// SUSPEND: the guest's registers hold the call (x0-x2) for the VMM.
			run.exit_reason = AXVM_EXIT_SYSTEM_EVENT;
			run.system_event.type = exit.as_system_down()->kind == SystemDownKind::Suspend
							? AXVM_SYSTEM_EVENT_SUSPEND
							: AXVM_SYSTEM_EVENT_WAKEUP;
			run.system_event.ndata = 0;
			break;
		}
		return true;
	case ExitKind::NestedPageFault: {
		const NestedPageFaultExit &f = *exit.as_nested_page_fault();
#ifdef __aarch64__
		// KVM's arm64 report of an access it cannot emulate.
		run.exit_reason = AXVM_EXIT_ARM_NISV;
		run.arm_nisv.esr_iss = f.syndrome;
		run.arm_nisv.fault_ipa = f.addr;
		return true;
#endif
		run.exit_reason = AXVM_EXIT_INTERNAL_ERROR;
		run.internal.suberror = AXVM_INTERNAL_ERROR_EMULATION;
		run.internal.ndata = 2;
		run.internal.data[0] = f.addr;
		run.internal.data[1] = f.access & (kAccessRead | kAccessWrite | kAccessExec);
		return true;
	}
	case ExitKind::SendIpi: {
		const SendIpiExit &s = *exit.as_send_ipi();
		run.exit_reason = AXVM_EXIT_SEND_IPI;
		run.send_ipi.target_cpu = s.target_cpu;
		run.send_ipi.target_cpu_aux = s.target_cpu_aux;
		run.send_ipi.to_all = s.send_to_all;
		run.send_ipi.to_self = s.send_to_self;
		run.send_ipi.vector = s.vector;
		return true;
	}
	case ExitKind::FailEntry:
		run.exit_reason = AXVM_EXIT_FAIL_ENTRY;
		run.fail_entry.hardware_entry_failure_reason =
			exit.as_fail_entry()->hardware_entry_failure_reason;
		return true;
	case ExitKind::InternalError: {
		const InternalErrorExit &i = *exit.as_internal_error();
		run.exit_reason = AXVM_EXIT_INTERNAL_ERROR;
		run.internal.suberror = i.suberror;
		run.internal.ndata = i.ndata;
		for (u32 n = 0; n < i.ndata; n++)
			run.internal.data[n] = i.data[n];
		return true;
	}
	case ExitKind::ExternalInterrupt:
	case ExitKind::Nothing:
		return false;
	}
	return false;
}

axvm_exit_record exit_record(const ExitReason &exit)
{
	axvm_exit_record r = {};
	if (const IoReadExit *in = exit.as_io_read()) {
		r = {AXVM_RECORD_PIO, bytes(in->width), 0, 0, in->port, 0, {}};
	} else if (const IoWriteExit *out = exit.as_io_write()) {
		r = {AXVM_RECORD_PIO, bytes(out->width), 1, 0, out->port, out->data, {}};
	} else if (const MmioReadExit *load = exit.as_mmio_read()) {
		r = {AXVM_RECORD_MMIO, bytes(load->width), 0, 0, load->addr, 0, {}};
	} else if (const MmioWriteExit *store = exit.as_mmio_write()) {
		r = {AXVM_RECORD_MMIO, bytes(store->width), 1, 0, store->addr, store->data, {}};
	} else if (const HypercallExit *h = exit.as_hypercall()) {
		r = {AXVM_RECORD_HYPERCALL, 0, 0, 0, h->nr, 0, {h->args[0], h->args[1], h->args[2], h->args[3]}};
	}
	return r;
}

bool read_failed(const ExitReason &exit, const axvm_run &run)
{
	const bool msr = exit.kind() == ExitKind::SysRegRead || exit.kind() == ExitKind::SysRegWrite;
	return msr && run.msr.error != 0;
}

u64 read_return_value(const ExitReason &exit, const axvm_run &run)
{
	switch (exit.kind()) {
	case ExitKind::MmioRead: {
		const MmioReadExit &m = *exit.as_mmio_read();
		u64 v = load_le(run.mmio.data, bytes(m.width));
		if (m.sign_extend && bytes(m.width) < 8 && (v >> (8 * bytes(m.width) - 1)) & 1)
			v |= ~width_mask(m.width);
		return v & width_mask(m.reg_width);
	}
	case ExitKind::IoRead:
		return load_le(reinterpret_cast<const u8 *>(&run) + AXVM_RUN_IO_DATA_OFFSET,
			       bytes(exit.as_io_read()->width));
	case ExitKind::SysRegRead:
		return run.msr.data;
	case ExitKind::Hypercall:
		return run.hypercall.ret;
	default:
		return 0;
	}
}

} // namespace axvm
