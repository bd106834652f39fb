// SPDX-License-Identifier: GPL-2.0
/*
 * axvm_kunit.ko: KUnit suites for the core. The cases are C++ (kunit/NAME.cpp);
 * this file registers them and gives them KUnit's reporting.
 */
#include <kunit/test.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>

void axvm_kunit_check(struct kunit *test, bool ok, const char *expr, const char *file, int line);
void axvm_kunit_skip(struct kunit *test, const char *why);
int axvm_kunit_move_to_cpu(int cpu);

void axvm_kunit_check(struct kunit *test, bool ok, const char *expr, const char *file, int line)
{
	/* Short: a case's log holds only a few hundred bytes on 6.1. */
	if (!ok)
		KUNIT_FAIL(test, "%s:%d: %s", kbasename(file), line, expr);
}

void axvm_kunit_skip(struct kunit *test, const char *why)
{
	kunit_mark_skipped(test, "%s", why);
}

int axvm_kunit_move_to_cpu(int cpu)
{
	return set_cpus_allowed_ptr(current, cpu < 0 ? cpu_possible_mask : cpumask_of(cpu));
}

#define AXVM_CASES(X)                                                                          \
	X(vcpu_every_edge) X(vcpu_full_cycle) X(vcpu_failing_operation) X(vcpu_without_backend) \
	X(vcpu_claim) X(current_vcpu_every_cpu) X(current_vcpu_cleared_on_errors)              \
	X(exit_reason_construction) X(exit_reason_to_run_page) X(exit_reason_return_values)    \
	X(memory_map_rejections) X(memory_map_slot_geometry) X(run_loop_exits)                 \
	X(run_loop_immediate_exit) X(run_loop_failure) X(run_loop_migration)                   \
	X(page_table_map_unmap) X(page_table_prune) X(arm64_esr_decoder) X(arm64_psci) X(arm64_aarch32) X(arm64_vectors_and_stage2)

#ifdef CONFIG_X86
#define AXVM_ARCH_CASES(X)                                                                     \
	X(x86_guest_in_kernel) X(x86_vm_switch_and_vpids) X(mmio_decoder_long_mode) X(mmio_decoder_legacy_modes)            \
	X(mmio_decoder_rejections) X(mmio_decoder_register_semantics)                          \
	X(guest_walk_unpaged_and_32bit) X(guest_walk_pae_and_long)                              \
	X(interrupts_queueing) X(interrupts_delivery_decisions) X(interrupts_blocked_edges)     \
	X(interrupts_blocked_in_run_loop)                                                       \
	X(pic_linux_init_and_eoi) X(pic_rotation) X(pic_elcr_level)                             \
	X(pic_cascade_poll_spurious) X(pic_state)                                               \
	X(ioapic_registers) X(ioapic_level_eoi) X(ioapic_edge_mask_coalesce)                    \
	X(ioapic_eoi_storm) X(ioapic_state)                                                     \
	X(routing_default) X(routing_custom) X(routing_rejections) X(msi_decode)                \
	X(pit_counting) X(pit_latch_and_read_back) X(pit_ticks_and_reinjection)                 \
	X(pit_period_clamp_and_gating) X(pit_state)                                             \
	X(lapic_reset_and_bringup) X(lapic_priorities_and_eoi) X(lapic_mmio) X(lapic_x2apic_msrs) \
	X(lapic_icr_messages) X(lapic_destinations) X(lapic_routing) X(lapic_init_sipi)        \
	X(lapic_timer_oneshot_periodic) X(lapic_timer_tsc_deadline) X(lapic_apic_base) X(lapic_state) \
	X(smm_map_64) X(smm_map_32) X(smm_entry_state)
#else
#define AXVM_ARCH_CASES(X) X(arm64_guest_in_kernel)
#endif

#define AXVM_DECLARE(name) void axvm_test_##name(struct kunit *test);
AXVM_CASES(AXVM_DECLARE)
AXVM_ARCH_CASES(AXVM_DECLARE)

static struct kunit_case axvm_vcpu_cases[] = {
	KUNIT_CASE(axvm_test_vcpu_every_edge),
	KUNIT_CASE(axvm_test_vcpu_full_cycle),
	KUNIT_CASE(axvm_test_vcpu_failing_operation),
	KUNIT_CASE(axvm_test_vcpu_without_backend),
	KUNIT_CASE(axvm_test_vcpu_claim),
	{}
};

static struct kunit_case axvm_current_vcpu_cases[] = {
	KUNIT_CASE(axvm_test_current_vcpu_every_cpu),
	KUNIT_CASE(axvm_test_current_vcpu_cleared_on_errors),
	{}
};

static struct kunit_case axvm_exit_reason_cases[] = {
	KUNIT_CASE(axvm_test_exit_reason_construction),
	KUNIT_CASE(axvm_test_exit_reason_to_run_page),
	KUNIT_CASE(axvm_test_exit_reason_return_values),
	{}
};

static struct kunit_case axvm_memory_map_cases[] = {
	KUNIT_CASE(axvm_test_memory_map_rejections),
	KUNIT_CASE(axvm_test_memory_map_slot_geometry),
	{}
};

static struct kunit_case axvm_run_loop_cases[] = {
	KUNIT_CASE(axvm_test_run_loop_exits),
	KUNIT_CASE(axvm_test_run_loop_immediate_exit),
	KUNIT_CASE(axvm_test_run_loop_failure),
	KUNIT_CASE(axvm_test_run_loop_migration),
	{}
};

static struct kunit_case axvm_page_table_cases[] = {
	KUNIT_CASE(axvm_test_page_table_map_unmap),
	KUNIT_CASE(axvm_test_page_table_prune),
	{}
};

static struct kunit_case axvm_arm64_cases[] = {
	KUNIT_CASE(axvm_test_arm64_esr_decoder),
	KUNIT_CASE(axvm_test_arm64_psci),
	KUNIT_CASE(axvm_test_arm64_aarch32),
	KUNIT_CASE(axvm_test_arm64_vectors_and_stage2),
	{}
};

static struct kunit_suite axvm_vcpu_suite = { .name = "axvm_vcpu", .test_cases = axvm_vcpu_cases };
static struct kunit_suite axvm_current_vcpu_suite = { .name = "axvm_current_vcpu",
						      .test_cases = axvm_current_vcpu_cases };
static struct kunit_suite axvm_exit_reason_suite = { .name = "axvm_exit_reason",
						     .test_cases = axvm_exit_reason_cases };
static struct kunit_suite axvm_memory_map_suite = { .name = "axvm_memory_map",
						    .test_cases = axvm_memory_map_cases };
static struct kunit_suite axvm_run_loop_suite = { .name = "axvm_run_loop", .test_cases = axvm_run_loop_cases };
static struct kunit_suite axvm_page_table_suite = { .name = "axvm_page_table",
						    .test_cases = axvm_page_table_cases };
static struct kunit_suite axvm_arm64_suite = { .name = "axvm_arm64", .test_cases = axvm_arm64_cases };

#ifdef CONFIG_X86
static struct kunit_case axvm_x86_guest_cases[] = {
	KUNIT_CASE(axvm_test_x86_guest_in_kernel),
	KUNIT_CASE(axvm_test_x86_vm_switch_and_vpids),
	{}
};

static struct kunit_case axvm_mmio_decoder_cases[] = {
	KUNIT_CASE(axvm_test_mmio_decoder_long_mode),
	KUNIT_CASE(axvm_test_mmio_decoder_legacy_modes),
	KUNIT_CASE(axvm_test_mmio_decoder_rejections),
	KUNIT_CASE(axvm_test_mmio_decoder_register_semantics),
	{}
};

static struct kunit_case axvm_guest_walk_cases[] = {
	KUNIT_CASE(axvm_test_guest_walk_unpaged_and_32bit),
	KUNIT_CASE(axvm_test_guest_walk_pae_and_long),
	{}
};

static struct kunit_case axvm_interrupts_cases[] = {
	KUNIT_CASE(axvm_test_interrupts_queueing),
	KUNIT_CASE(axvm_test_interrupts_delivery_decisions),
	KUNIT_CASE(axvm_test_interrupts_blocked_edges),
	KUNIT_CASE(axvm_test_interrupts_blocked_in_run_loop),
	{}
};

static struct kunit_case axvm_pic_cases[] = {
	KUNIT_CASE(axvm_test_pic_linux_init_and_eoi),
	KUNIT_CASE(axvm_test_pic_rotation),
	KUNIT_CASE(axvm_test_pic_elcr_level),
	KUNIT_CASE(axvm_test_pic_cascade_poll_spurious),
	KUNIT_CASE(axvm_test_pic_state),
	{}
};

static struct kunit_case axvm_ioapic_cases[] = {
	KUNIT_CASE(axvm_test_ioapic_registers),
	KUNIT_CASE(axvm_test_ioapic_level_eoi),
	KUNIT_CASE(axvm_test_ioapic_edge_mask_coalesce),
	KUNIT_CASE(axvm_test_ioapic_eoi_storm),
	KUNIT_CASE(axvm_test_ioapic_state),
	{}
};

static struct kunit_case axvm_routing_cases[] = {
	KUNIT_CASE(axvm_test_routing_default),
	KUNIT_CASE(axvm_test_routing_custom),
	KUNIT_CASE(axvm_test_routing_rejections),
	KUNIT_CASE(axvm_test_msi_decode),
	{}
};

static struct kunit_case axvm_pit_cases[] = {
	KUNIT_CASE(axvm_test_pit_counting),
	KUNIT_CASE(axvm_test_pit_latch_and_read_back),
	KUNIT_CASE(axvm_test_pit_ticks_and_reinjection),
	KUNIT_CASE(axvm_test_pit_period_clamp_and_gating),
	KUNIT_CASE(axvm_test_pit_state),
	{}
};

static struct kunit_suite axvm_pic_suite = { .name = "axvm_x86_pic", .test_cases = axvm_pic_cases };
static struct kunit_suite axvm_ioapic_suite = { .name = "axvm_x86_ioapic", .test_cases = axvm_ioapic_cases };
static struct kunit_suite axvm_routing_suite = { .name = "axvm_x86_routing", .test_cases = axvm_routing_cases };
static struct kunit_suite axvm_pit_suite = { .name = "axvm_x86_pit", .test_cases = axvm_pit_cases };

static struct kunit_case axvm_lapic_cases[] = {
	KUNIT_CASE(axvm_test_lapic_reset_and_bringup),
	KUNIT_CASE(axvm_test_lapic_priorities_and_eoi),
	KUNIT_CASE(axvm_test_lapic_mmio),
	KUNIT_CASE(axvm_test_lapic_x2apic_msrs),
	KUNIT_CASE(axvm_test_lapic_icr_messages),
	KUNIT_CASE(axvm_test_lapic_destinations),
	KUNIT_CASE(axvm_test_lapic_routing),
	KUNIT_CASE(axvm_test_lapic_init_sipi),
	KUNIT_CASE(axvm_test_lapic_timer_oneshot_periodic),
	KUNIT_CASE(axvm_test_lapic_timer_tsc_deadline),
	KUNIT_CASE(axvm_test_lapic_apic_base),
	KUNIT_CASE(axvm_test_lapic_state),
	{}
};

static struct kunit_case axvm_smm_cases[] = {
	KUNIT_CASE(axvm_test_smm_map_64),
	KUNIT_CASE(axvm_test_smm_map_32),
	KUNIT_CASE(axvm_test_smm_entry_state),
	{}
};

static struct kunit_suite axvm_mmio_decoder_suite = { .name = "axvm_x86_mmio_decoder",
						      .test_cases = axvm_mmio_decoder_cases };
static struct kunit_suite axvm_guest_walk_suite = { .name = "axvm_x86_guest_walk",
						    .test_cases = axvm_guest_walk_cases };
static struct kunit_suite axvm_interrupts_suite = { .name = "axvm_interrupts",
						    .test_cases = axvm_interrupts_cases };
static struct kunit_suite axvm_x86_guest_suite = { .name = "axvm_x86_guest",
						   .test_cases = axvm_x86_guest_cases };
static struct kunit_suite axvm_lapic_suite = { .name = "axvm_x86_lapic", .test_cases = axvm_lapic_cases };
static struct kunit_suite axvm_smm_suite = { .name = "axvm_x86_smm", .test_cases = axvm_smm_cases };
#define AXVM_ARCH_SUITES &axvm_mmio_decoder_suite, &axvm_guest_walk_suite, &axvm_interrupts_suite, \
	&axvm_x86_guest_suite, &axvm_pic_suite, &axvm_ioapic_suite, &axvm_routing_suite, &axvm_pit_suite, \
	&axvm_lapic_suite, &axvm_smm_suite
#else
static struct kunit_case axvm_arm64_guest_cases[] = {
	KUNIT_CASE(axvm_test_arm64_guest_in_kernel),
	{}
};

static struct kunit_suite axvm_arm64_guest_suite = { .name = "axvm_arm64_guest",
						     .test_cases = axvm_arm64_guest_cases };
#define AXVM_ARCH_SUITES &axvm_arm64_guest_suite
#endif

kunit_test_suites(&axvm_vcpu_suite, &axvm_current_vcpu_suite, &axvm_exit_reason_suite,
		  &axvm_memory_map_suite, &axvm_run_loop_suite, &axvm_page_table_suite, &axvm_arm64_suite,
		  AXVM_ARCH_SUITES);

MODULE_DESCRIPTION("KUnit suites for axvm's core");
MODULE_LICENSE("GPL");
