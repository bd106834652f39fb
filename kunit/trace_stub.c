// SPDX-License-Identifier: GPL-2.0
/* The KUnit module's copy of the core fires no trace events: the "axvm"
 * events belong to axvm.ko (module/trace.c). */
#include <axvm/boundary.h>

void axvm_trace_inject(axvm_u32 vcpu_id, axvm_u32 vector, int nmi) {}
