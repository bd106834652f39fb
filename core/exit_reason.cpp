// SPDX-License-Identifier: GPL-2.0
#include <axvm/exit_reason.hpp>

namespace axvm {

ExitReason ExitReason::hypercall(u64 nr, const u64 (&args)[6])
{
	ExitReason e(ExitKind::Hypercall);
	e.u_.hypercall.nr = nr;
	for (usize i = 0; i < array_size(args); i++)
		e.u_.hypercall.args[i] = args[i];
	return e;
}

ExitReason ExitReason::mmio_read(u64 addr, Width width, u8 reg, Width reg_width, bool sign_extend)
{
	ExitReason e(ExitKind::MmioRead);
	e.u_.mmio_read = {addr, width, reg, reg_width, sign_extend};
	return e;
}

ExitReason ExitReason::mmio_write(u64 addr, Width width, u64 data)
{
	ExitReason e(ExitKind::MmioWrite);
	e.u_.mmio_write = {addr, width, data & width_mask(width)};
	return e;
}

ExitReason ExitReason::io_read(u16 port, Width width, u16 count)
{
	ExitReason e(ExitKind::IoRead);
	e.u_.io_read = {port, width, count ? count : static_cast<u16>(1)};
	return e;
}

ExitReason ExitReason::io_write(u16 port, Width width, u64 data)
{
	ExitReason e(ExitKind::IoWrite);
	e.u_.io_write = {port, width, data & width_mask(width)};
	return e;
}

ExitReason ExitReason::ioapic_eoi(u8 vector)
{
	ExitReason e(ExitKind::IoapicEoi);
	e.u_.ioapic_eoi = {vector};
	return e;
}

ExitReason ExitReason::sys_reg_read(u64 addr, u8 reg, u32 reason)
{
	ExitReason e(ExitKind::SysRegRead);
	e.u_.sys_reg_read = {addr, reg, reason};
	return e;
}

ExitReason ExitReason::sys_reg_write(u64 addr, u64 value, u32 reason)
{
	ExitReason e(ExitKind::SysRegWrite);
	e.u_.sys_reg_write = {addr, value, reason};
	return e;
}

ExitReason ExitReason::external_interrupt(u64 vector)
{
	ExitReason e(ExitKind::ExternalInterrupt);
	e.u_.external_interrupt = {vector};
	return e;
}

ExitReason ExitReason::cpu_up(u64 target_cpu, u64 entry_point, u64 arg)
{
	ExitReason e(ExitKind::CpuUp);
	e.u_.cpu_up = {target_cpu, entry_point, arg};
	return e;
}

ExitReason ExitReason::cpu_down(u64 state)
{
	ExitReason e(ExitKind::CpuDown);
	e.u_.cpu_down = {state};
	return e;
}

ExitReason ExitReason::system_down(SystemDownKind kind, u64 flags)
{
	ExitReason e(ExitKind::SystemDown);
	e.u_.system_down = {kind, flags};
	return e;
}

ExitReason ExitReason::nested_page_fault(u64 addr, u32 access, u64 syndrome)
{
	ExitReason e(ExitKind::NestedPageFault);
	e.u_.nested_page_fault = {addr, access, syndrome};
	return e;
}

ExitReason ExitReason::send_ipi(u64 target_cpu, u64 target_cpu_aux, bool to_all, bool to_self,
				u64 vector)
{
	ExitReason e(ExitKind::SendIpi);
	e.u_.send_ipi = {target_cpu, target_cpu_aux, to_all, to_self, vector};
	return e;
}

ExitReason ExitReason::fail_entry(u64 hardware_reason)
{
	ExitReason e(ExitKind::FailEntry);
	e.u_.fail_entry = {hardware_reason};
	return e;
}

ExitReason ExitReason::internal_error(u32 suberror, u32 ndata, const u64 *data)
{
	ExitReason e(ExitKind::InternalError);
	InternalErrorExit &i = e.u_.internal_error;
	i.suberror = suberror;
	i.ndata = ndata < InternalErrorExit::kMaxData ? ndata : InternalErrorExit::kMaxData;
	for (u32 n = 0; n < i.ndata; n++)
		i.data[n] = data[n];
	return e;
}

} // namespace axvm
