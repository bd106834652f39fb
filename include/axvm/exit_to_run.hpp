// SPDX-License-Identifier: GPL-2.0
// ExitReason <-> the KVM run page (core/exit_to_run.cpp): pure functions,
// tested in kunit/exit_reason_test.cpp.
#pragma once

#include "exit_reason.hpp"

struct axvm_run;

namespace axvm {

// Writes @exit into @run; false for exits that never reach userspace
// (ExitReason::handled_in_kernel()).
bool exit_to_run(const ExitReason &exit, axvm_run &run);

// Reads the value userspace left in @run for the read exit @exit.
u64 read_return_value(const ExitReason &exit, const axvm_run &run);
// The most bytes of port I/O data one exit carries (a batched string IN:
// KVM's read-ahead cache is as large).
constexpr u32 kMaxIoBatch = 1024;
// The data userspace left for the port IN @exit (a batch of
// IoReadExit::count elements), in the run area's I/O page: @len bytes.
const u8 *io_in_data(const axvm_run &run, const ExitReason &exit, u32 *len);

// Whether userspace failed the access (KVM_EXIT_X86_RDMSR/WRMSR msr.error).
bool read_failed(const ExitReason &exit, const axvm_run &run);

// What the glue traces of @exit (AXVM_RECORD_NONE: nothing).
axvm_exit_record exit_record(const ExitReason &exit);

} // namespace axvm
