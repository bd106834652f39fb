/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The names of the statistics, in the order of their counters: the binary
 * statistics (stats.c) and debugfs (debugfs.c) show the same numbers under
 * the same names. Header-only: neither file depends on the other.
 */
#ifndef AXVM_STAT_NAMES_H
#define AXVM_STAT_NAMES_H

#include <linux/build_bug.h>
#include <linux/kernel.h>

#include <axvm/boundary.h>

/* struct axvm_vcpu_stats, in order: KVM's names, then one per exit kind. */
static const char *const axvm_vcpu_stat_names[] = {
	"exits", "io_exits", "mmio_exits", "halt_exits", "signal_exits", "irq_window_exits",
	"request_irq_exits", "hypercalls", "irq_injections", "nmi_injections",
	"exit_hypercall", "exit_mmio_read", "exit_mmio_write", "exit_io_read", "exit_io_write",
	"exit_sys_reg_read", "exit_sys_reg_write", "exit_external_interrupt", "exit_halt",
	"exit_cpu_up", "exit_cpu_down", "exit_system_down", "exit_nested_page_fault",
	"exit_send_ipi", "exit_fail_entry", "exit_internal_error", "exit_ioapic_eoi", "exit_nothing",
};
static_assert(ARRAY_SIZE(axvm_vcpu_stat_names) * sizeof(u64) == sizeof(struct axvm_vcpu_stats));

static const char *const axvm_vm_stat_names[] = { "remote_tlb_flush" };

#endif /* AXVM_STAT_NAMES_H */
