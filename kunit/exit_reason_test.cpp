// SPDX-License-Identifier: GPL-2.0
// ExitReason construction and queries, and its translation to the run page.
#include "check.hpp"

#include <axvm/kernel_vcpu.hpp>
#include <uapi/axvm.h>

using namespace axvm;

namespace {

int nonnull_accessors(const ExitReason &e)
{
	return !!e.as_hypercall() + !!e.as_mmio_read() + !!e.as_mmio_write() + !!e.as_io_read() +
	       !!e.as_io_write() + !!e.as_sys_reg_read() + !!e.as_sys_reg_write() +
	       !!e.as_external_interrupt() + !!e.as_cpu_up() + !!e.as_cpu_down() + !!e.as_system_down() +
	       !!e.as_nested_page_fault() + !!e.as_send_ipi() + !!e.as_fail_entry() + !!e.as_internal_error();
}

axvm_run *new_run() { return static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize)); }

const u8 *io_data(const axvm_run *run) { return reinterpret_cast<const u8 *>(run) + run->io.data_offset; }

} // namespace

extern "C" void axvm_test_exit_reason_construction(struct kunit *t)
{
	const u64 args[6] = {1, 2, 3, 4, 5, 6};
	ExitReason h = ExitReason::hypercall(0x42, args);
	CHECK(t, h.kind() == ExitKind::Hypercall);
	CHECK(t, h.as_hypercall() && h.as_hypercall()->nr == 0x42 && h.as_hypercall()->args[5] == 6);
	CHECK_EQ(t, nonnull_accessors(h), 1);

	ExitReason mr = ExitReason::mmio_read(0xfee00000, Width::Word, 3, Width::Qword, true);
	CHECK(t, mr.as_mmio_read() && mr.as_mmio_read()->addr == 0xfee00000 && mr.as_mmio_read()->reg == 3);
	CHECK(t, mr.as_mmio_read()->width == Width::Word && mr.as_mmio_read()->sign_extend);
	CHECK_EQ(t, nonnull_accessors(mr), 1);

	ExitReason mw = ExitReason::mmio_write(0x1000, Width::Byte, 0x1234);
	CHECK(t, mw.as_mmio_write() && mw.as_mmio_write()->data == 0x34); // masked to the width
	ExitReason iw = ExitReason::io_write(0x3f8, Width::Word, 0xabcdef);
	CHECK(t, iw.as_io_write() && iw.as_io_write()->data == 0xcdef && iw.as_io_write()->port == 0x3f8);
	ExitReason ir = ExitReason::io_read(0x60, Width::Dword);
	CHECK(t, ir.as_io_read() && ir.as_io_read()->port == 0x60 && ir.as_io_read()->width == Width::Dword);
	CHECK(t, ExitReason::sys_reg_read(0xc0000080, 2).as_sys_reg_read()->reg == 2);
	CHECK(t, ExitReason::sys_reg_write(0x830, 7).as_sys_reg_write()->value == 7);
	CHECK(t, ExitReason::external_interrupt(32).as_external_interrupt()->vector == 32);
	CHECK(t, ExitReason::cpu_up(1, 0x8000, 9).as_cpu_up()->entry_point == 0x8000);
	CHECK(t, ExitReason::cpu_down(5).as_cpu_down()->state == 5);
	CHECK(t, ExitReason::nested_page_fault(0x5000, kAccessWrite).as_nested_page_fault()->access == kAccessWrite);
	ExitReason ipi = ExitReason::send_ipi(2, 0, false, true, 0xf0);
	CHECK(t, ipi.as_send_ipi() && ipi.as_send_ipi()->send_to_self && !ipi.as_send_ipi()->send_to_all);
	CHECK(t, ExitReason::fail_entry(0x80000021).as_fail_entry()->hardware_entry_failure_reason == 0x80000021);
	const u64 words[6] = {9, 1, 2, 3, 4, 5};
	ExitReason ie = ExitReason::internal_error(kInternalErrorUnexpectedExit, 6, words);
	CHECK(t, ie.as_internal_error() && ie.as_internal_error()->suberror == kInternalErrorUnexpectedExit);
	CHECK_EQ(t, ie.as_internal_error()->ndata, 4u); // at most kMaxData are kept
	CHECK_EQ(t, ie.as_internal_error()->data[3], 3ull);
	CHECK_EQ(t, nonnull_accessors(ie), 1);

	// Payload-less kinds answer no payload accessor at all.
	CHECK_EQ(t, nonnull_accessors(ExitReason::halt()), 0);
	CHECK_EQ(t, nonnull_accessors(ExitReason::nothing()), 0);
	CHECK(t, ExitReason::halt().kind() == ExitKind::Halt);
	const ExitReason down = ExitReason::system_down(SystemDownKind::Reset);
	CHECK(t, down.kind() == ExitKind::SystemDown && down.as_system_down()->kind == SystemDownKind::Reset);
	CHECK_EQ(t, nonnull_accessors(down), 1);

	// Which exits the kernel finishes alone, and which wait for a value.
	CHECK(t, ExitReason::nothing().handled_in_kernel());
	CHECK(t, ExitReason::external_interrupt(1).handled_in_kernel());
	CHECK(t, !ExitReason::halt().handled_in_kernel());
	CHECK(t, !iw.handled_in_kernel());
	CHECK(t, ir.needs_return_value() && mr.needs_return_value() && h.needs_return_value());
	CHECK(t, !iw.needs_return_value() && !mw.needs_return_value() && !ExitReason::halt().needs_return_value());
}

extern "C" void axvm_test_exit_reason_to_run_page(struct kunit *t)
{
	axvm_run *run = new_run();
	CHECK(t, run);
	if (!run)
		return;

	CHECK(t, exit_to_run(ExitReason::io_write(0xe9, Width::Byte, 'A'), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_IO));
	CHECK_EQ(t, run->io.direction, AXVM_EXIT_IO_OUT);
	CHECK_EQ(t, run->io.size, 1);
	CHECK_EQ(t, run->io.port, 0xe9);
	CHECK_EQ(t, run->io.count, 1u);
	CHECK_EQ(t, io_data(run)[0], 'A');

	CHECK(t, exit_to_run(ExitReason::io_read(0x71, Width::Word), *run));
	CHECK_EQ(t, run->io.direction, AXVM_EXIT_IO_IN);
	CHECK_EQ(t, run->io.size, 2);
	CHECK_EQ(t, run->io.data_offset, static_cast<u64>(AXVM_RUN_IO_DATA_OFFSET));

	// A batched string IN: the count, and the data userspace leaves for it.
	const ExitReason batch = ExitReason::io_read(0x80, Width::Word, 600);
	CHECK(t, exit_to_run(batch, *run));
	CHECK_EQ(t, run->io.count, 600u);
	u32 len = 0;
	CHECK(t, io_in_data(*run, batch, &len) == io_data(run));
	CHECK_EQ(t, len, kMaxIoBatch); // 1200 bytes asked: never more than the batch
	io_in_data(*run, ExitReason::io_read(0x80, Width::Dword, 3), &len);
	CHECK_EQ(t, len, 12u);

	CHECK(t, exit_to_run(ExitReason::mmio_write(0xd0000008, Width::Dword, 0x11223344), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_MMIO));
	CHECK_EQ(t, run->mmio.phys_addr, 0xd0000008ull);
	CHECK_EQ(t, run->mmio.len, 4u);
	CHECK_EQ(t, run->mmio.is_write, 1);
	CHECK(t, run->mmio.data[0] == 0x44 && run->mmio.data[3] == 0x11 && run->mmio.data[4] == 0);

	CHECK(t, exit_to_run(ExitReason::mmio_read(0xd0000000, Width::Byte, 0, Width::Qword, false), *run));
	CHECK_EQ(t, run->mmio.is_write, 0);
	CHECK_EQ(t, run->mmio.len, 1u);
	CHECK_EQ(t, run->mmio.data[0], 0); // the earlier write's bytes are gone

	const u64 args[6] = {10, 20, 30, 40, 50, 60};
	CHECK(t, exit_to_run(ExitReason::hypercall(7, args), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_HYPERCALL));
	CHECK(t, run->hypercall.nr == 7 && run->hypercall.args[0] == 10 && run->hypercall.args[5] == 60);

	CHECK(t, exit_to_run(ExitReason::halt(), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_HLT));
	CHECK(t, exit_to_run(ExitReason::system_down(SystemDownKind::PowerOff), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_SYSTEM_EVENT));
	CHECK_EQ(t, run->system_event.type, static_cast<u32>(AXVM_SYSTEM_EVENT_SHUTDOWN));
	CHECK(t, exit_to_run(ExitReason::system_down(SystemDownKind::Reset), *run));
	CHECK_EQ(t, run->system_event.type, static_cast<u32>(AXVM_SYSTEM_EVENT_RESET));
	CHECK(t, exit_to_run(ExitReason::system_down(SystemDownKind::Reset, AXVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2), *run));
	CHECK(t, run->system_event.ndata == 1 && run->system_event.data[0] == AXVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2);
	CHECK(t, exit_to_run(ExitReason::system_down(SystemDownKind::Suspend), *run));
	CHECK(t, run->system_event.type == AXVM_SYSTEM_EVENT_SUSPEND && run->system_event.ndata == 0);
	CHECK(t, exit_to_run(ExitReason::system_down(SystemDownKind::Wakeup), *run));
	CHECK(t, run->system_event.type == AXVM_SYSTEM_EVENT_WAKEUP && run->system_event.ndata == 0);
	CHECK(t, exit_to_run(ExitReason::system_down(SystemDownKind::TripleFault), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_SHUTDOWN));
	CHECK(t, exit_to_run(ExitReason::fail_entry(0x21), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_FAIL_ENTRY));
	CHECK_EQ(t, run->fail_entry.hardware_entry_failure_reason, 0x21ull);
	CHECK(t, exit_to_run(ExitReason::sys_reg_write(0x830, 0x4000f0), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_X86_WRMSR));
	CHECK(t, run->msr.index == 0x830 && run->msr.data == 0x4000f0);
	CHECK(t, exit_to_run(ExitReason::sys_reg_read(0x10, 0), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_X86_RDMSR));
	CHECK(t, exit_to_run(ExitReason::nested_page_fault(0x7000, kAccessExec, 0x46), *run));
#ifdef __aarch64__
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_ARM_NISV));
	CHECK(t, run->arm_nisv.fault_ipa == 0x7000 && run->arm_nisv.esr_iss == 0x46);
#else
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_INTERNAL_ERROR));
	CHECK(t, run->internal.suberror == AXVM_INTERNAL_ERROR_EMULATION && run->internal.ndata == 2 &&
			 run->internal.data[0] == 0x7000 && run->internal.data[1] == AXVM_MEMORY_FAULT_EXEC);
#endif
	CHECK(t, exit_to_run(ExitReason::send_ipi(3, 1, true, false, 0x30), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_SEND_IPI));
	CHECK(t, run->send_ipi.target_cpu == 3 && run->send_ipi.to_all == 1 && run->send_ipi.vector == 0x30);
	CHECK(t, exit_to_run(ExitReason::cpu_up(1, 0x4000, 2), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_CPU_UP));
	CHECK(t, exit_to_run(ExitReason::cpu_down(0), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_CPU_DOWN));
	const u64 reason[2] = {9, 1};
	CHECK(t, exit_to_run(ExitReason::internal_error(kInternalErrorUnexpectedExit, 2, reason), *run));
	CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_INTERNAL_ERROR));
	CHECK(t, run->internal.suberror == 4 && run->internal.ndata == 2 && run->internal.data[0] == 9 &&
		     run->internal.data[1] == 1);

	// Never shown to userspace.
	CHECK(t, !exit_to_run(ExitReason::external_interrupt(0x20), *run));
	CHECK(t, !exit_to_run(ExitReason::nothing(), *run));
	axvm_kfree(run);
}

extern "C" void axvm_test_exit_reason_return_values(struct kunit *t)
{
	axvm_run *run = new_run();
	CHECK(t, run);
	if (!run)
		return;
	run->mmio.data[0] = 0x80;
	CHECK_EQ(t, read_return_value(ExitReason::mmio_read(0, Width::Byte, 0, Width::Qword, false), *run), 0x80ull);
	CHECK_EQ(t, read_return_value(ExitReason::mmio_read(0, Width::Byte, 0, Width::Qword, true), *run),
		 0xffffffffffffff80ull);
	CHECK_EQ(t, read_return_value(ExitReason::mmio_read(0, Width::Byte, 0, Width::Dword, true), *run),
		 0xffffff80ull);
	run->mmio.data[0] = 0x7f;
	CHECK_EQ(t, read_return_value(ExitReason::mmio_read(0, Width::Byte, 0, Width::Qword, true), *run), 0x7full);
	run->mmio.data[0] = 0x34;
	run->mmio.data[1] = 0x92;
	CHECK_EQ(t, read_return_value(ExitReason::mmio_read(0, Width::Word, 0, Width::Qword, true), *run),
		 0xffffffffffff9234ull);

	CHECK(t, exit_to_run(ExitReason::io_read(0x60, Width::Word), *run));
	u8 *data = reinterpret_cast<u8 *>(run) + run->io.data_offset;
	data[0] = 0xcd;
	data[1] = 0xab;
	data[2] = 0xff; // beyond the access width: ignored
	CHECK_EQ(t, read_return_value(ExitReason::io_read(0x60, Width::Word), *run), 0xabcdull);

	run->hypercall.ret = 0x1234;
	const u64 args[6] = {};
	CHECK_EQ(t, read_return_value(ExitReason::hypercall(1, args), *run), 0x1234ull);
	run->msr.data = 0xfeed;
	CHECK_EQ(t, read_return_value(ExitReason::sys_reg_read(0x10, 0), *run), 0xfeedull);
	axvm_kfree(run);
}
