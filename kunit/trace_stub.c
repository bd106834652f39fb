// SPDX-License-Identifier: GPL-2.0
/* The KUnit module's copy of the core fires no trace events: the "axvm"
 * events belong to axvm.ko (module/trace.c). */
#include <axvm/boundary.h>

void axvm_trace_inject(axvm_u32 vcpu_id, axvm_u32 vector, int nmi) {}
int axvm_trace_entry_enabled(void) { return 0; }
void axvm_trace_entry(axvm_u32 vcpu_id, axvm_u64 rip) {}
int axvm_trace_exit_enabled(void) { return 0; }
void axvm_trace_exit(axvm_u32 vcpu_id, axvm_u64 rip, axvm_u64 code, axvm_u64 info1, axvm_u64 info2) {}
