/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvm's tracepoints, in the "axvm" system: axvm_entry and axvm_exit around
 * each VMRUN (fired from the SVM entry, as kvm:kvm_entry/kvm_exit are), and
 * the exits userspace handles (port I/O, MMIO, hypercalls) and the
 * interrupts injected, fired from the core through module/trace.c.
 * perf trace -e 'axvm:*', trace-cmd record -e axvm, or tracefs.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM axvm

#if !defined(AXVM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define AXVM_TRACE_H

/* axvm_exit's code on VMX: this plus the basic exit reason. */
#define AXVM_VMX_EXIT AXVM_TRACE_VMX_EXIT

#include <linux/tracepoint.h>

/* SVM exit codes (APM appendix C) by name, as kvm_exit prints them. */
#define AXVM_SVM_EXIT_NAMES \
	{ 0x014, "write_cr4" }, { 0x060, "intr" }, { 0x061, "nmi" }, \
	{ 0x064, "vintr" }, { 0x06f, "rdpmc" }, { 0x072, "cpuid" }, \
	{ 0x074, "iret" }, { 0x076, "invd" }, { 0x078, "hlt" }, \
	{ 0x07b, "io" }, { 0x07c, "msr" }, { 0x07f, "shutdown" }, \
	{ 0x080, "vmrun" }, { 0x081, "vmmcall" }, { 0x087, "rdtscp" }, \
	{ 0x089, "wbinvd" }, { 0x400, "npf" }, { -1ull, "invalid" }
/* VMX exit reasons (SDM vol. 3C, appendix C), traced as AXVM_VMX_EXIT + reason. */
#define AXVM_VMX_EXIT_NAMES \
	{ AXVM_VMX_EXIT + 0, "exception_nmi" }, { AXVM_VMX_EXIT + 1, "intr" }, \
	{ AXVM_VMX_EXIT + 2, "triple_fault" }, { AXVM_VMX_EXIT + 7, "vintr" }, \
	{ AXVM_VMX_EXIT + 8, "nmi_window" }, { AXVM_VMX_EXIT + 10, "cpuid" }, \
	{ AXVM_VMX_EXIT + 12, "hlt" }, { AXVM_VMX_EXIT + 18, "vmcall" }, \
	{ AXVM_VMX_EXIT + 28, "cr" }, { AXVM_VMX_EXIT + 29, "dr" }, \
	{ AXVM_VMX_EXIT + 30, "io" }, { AXVM_VMX_EXIT + 31, "rdmsr" }, \
	{ AXVM_VMX_EXIT + 32, "wrmsr" }, { AXVM_VMX_EXIT + 48, "ept_violation" }, \
	{ AXVM_VMX_EXIT + 52, "preemption_timer" }

TRACE_EVENT(axvm_entry,
	TP_PROTO(u32 vcpu_id, u64 rip),
	TP_ARGS(vcpu_id, rip),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u64, rip)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->rip = rip;
	),
	TP_printk("vcpu %u rip 0x%llx", __entry->vcpu_id, __entry->rip)
);

TRACE_EVENT(axvm_exit,
	TP_PROTO(u32 vcpu_id, u64 rip, u64 code, u64 info1, u64 info2),
	TP_ARGS(vcpu_id, rip, code, info1, info2),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u64, rip)
		__field(u64, code)
		__field(u64, info1)
		__field(u64, info2)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->rip = rip;
		__entry->code = code;
		__entry->info1 = info1;
		__entry->info2 = info2;
	),
	TP_printk("vcpu %u reason %s (0x%llx) rip 0x%llx info1 0x%llx info2 0x%llx", __entry->vcpu_id,
		  __print_symbolic(__entry->code, AXVM_SVM_EXIT_NAMES, AXVM_VMX_EXIT_NAMES), __entry->code, __entry->rip,
		  __entry->info1, __entry->info2)
);

TRACE_EVENT(axvm_pio,
	TP_PROTO(u32 vcpu_id, int in, u16 port, u32 size, u32 count, u32 data),
	TP_ARGS(vcpu_id, in, port, size, count, data),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(int, in)
		__field(u16, port)
		__field(u32, size)
		__field(u32, count)
		__field(u32, data)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->in = in;
		__entry->port = port;
		__entry->size = size;
		__entry->count = count;
		__entry->data = data;
	),
	TP_printk("vcpu %u pio_%s at 0x%x size %u count %u data 0x%x", __entry->vcpu_id,
		  __entry->in ? "read" : "write", __entry->port, __entry->size, __entry->count,
		  __entry->data)
);

TRACE_EVENT(axvm_mmio,
	TP_PROTO(u32 vcpu_id, int write, u64 gpa, u32 len, u64 data),
	TP_ARGS(vcpu_id, write, gpa, len, data),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(int, write)
		__field(u64, gpa)
		__field(u32, len)
		__field(u64, data)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->write = write;
		__entry->gpa = gpa;
		__entry->len = len;
		__entry->data = data;
	),
	TP_printk("vcpu %u mmio_%s gpa 0x%llx len %u data 0x%llx", __entry->vcpu_id,
		  __entry->write ? "write" : "read", __entry->gpa, __entry->len, __entry->data)
);

TRACE_EVENT(axvm_hypercall,
	TP_PROTO(u32 vcpu_id, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3),
	TP_ARGS(vcpu_id, nr, a0, a1, a2, a3),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u64, nr)
		__field(u64, a0)
		__field(u64, a1)
		__field(u64, a2)
		__field(u64, a3)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->nr = nr;
		__entry->a0 = a0;
		__entry->a1 = a1;
		__entry->a2 = a2;
		__entry->a3 = a3;
	),
	TP_printk("vcpu %u nr 0x%llx a0 0x%llx a1 0x%llx a2 0x%llx a3 0x%llx", __entry->vcpu_id,
		  __entry->nr, __entry->a0, __entry->a1, __entry->a2, __entry->a3)
);

TRACE_EVENT(axvm_inj_irq,
	TP_PROTO(u32 vcpu_id, u32 vector, int nmi),
	TP_ARGS(vcpu_id, vector, nmi),
	TP_STRUCT__entry(
		__field(u32, vcpu_id)
		__field(u32, vector)
		__field(int, nmi)
	),
	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->vector = vector;
		__entry->nmi = nmi;
	),
	TP_printk("vcpu %u %s vector %u", __entry->vcpu_id, __entry->nmi ? "nmi" : "irq", __entry->vector)
);

#endif /* AXVM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
