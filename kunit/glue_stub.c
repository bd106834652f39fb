// SPDX-License-Identifier: GPL-2.0
/* What the KUnit module's copy of the core calls of the glue that is
 * axvm.ko's alone: no trace events (module/trace.c owns the "axvm" ones),
 * no eventfds (module/eventfd.c: the suites register none). */
#include <axvm/boundary.h>

void axvm_trace_inject(axvm_u32 vcpu_id, axvm_u32 vector, int nmi) {}
int axvm_trace_entry_enabled(void) { return 0; }
void axvm_trace_entry(axvm_u32 vcpu_id, axvm_u64 rip) {}
int axvm_trace_exit_enabled(void) { return 0; }
void axvm_trace_exit(axvm_u32 vcpu_id, axvm_u64 rip, axvm_u64 code, axvm_u64 info1, axvm_u64 info2) {}

void axvm_eventfd_signal(void *eventfd) {}
void axvm_eventfd_put(void *eventfd) {}
void axvm_irqfd_resampled(void *glue, axvm_u32 gsi) {}
