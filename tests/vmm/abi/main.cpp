// SPDX-License-Identifier: GPL-2.0
// Userspace ABI tests for /dev/axvm, run as root inside the test VM.
// The tests use include/uapi/axvm.h; identity.cpp proves at compile time
// that every number and layout matches <linux/kvm.h>'s, so they set their
// machines up with tests/lib, which knows only KVM's names.
//
//   abi_test            run every test, print "ok - NAME" / "not ok - NAME: why"
//   abi_test --only NAME...
//                       run just those tests
//   abi_test --hold N   create a VM, print "holding", keep it N seconds
//   abi_test --spin     two vCPUs spinning until SIGTERM (for CPU hotplug)
//   abi_test --coexist kvm-first|axvm-first
//                       share SVM with kvm_amd (loaded by the caller)
//   abi_test --create-vm-errno
//                       print what AXVM_CREATE_VM returns (0 or -errno)
#include "abi.hpp"

#include <algorithm>
#include <csignal>
#include <functional>
#include <pthread.h>

namespace abi {

const char *kDev = "/dev/axvm";
std::string g_why;

namespace {

int g_passed, g_failed;

int coexist(const char *step)
{
	bool ok = !strcmp(step, "kvm-first") ? kvm_vm_blocks_axvm() : axvm_vm_blocks_kvm_then_both_work();
	return vmm_check(ok, "coexist.", step, "%s", g_why.c_str());
}

int hold_vm(int seconds)
{
	int dev = open_dev();
	int vm = xioctl(dev, AXVM_CREATE_VM);
	if (vm < 0) {
		printf("cannot create VM: %d\n", vm);
		return 1;
	}
	close(dev);
	printf("holding\n");
	fflush(stdout);
	sleep(seconds);
	return 0;
}

// Two vCPUs of one VM spinning in their threads (each guest counts in AL
// and writes it to port 0xe9, so every exit is checked) until SIGTERM; for
// CPU hotplug under running vCPUs. Prints "spinning", then the totals.
volatile sig_atomic_t g_stop;

int spin_vcpus()
{
	signal(SIGTERM, [](int) { g_stop = 1; });
	Machine m;
	// loop: out 0xe9,al; inc al; jmp loop
	const std::vector<uint8_t> loop = {0xe6, 0xe9, 0xfe, 0xc0, 0xeb, 0xfa};
	if (!m.start(loop))
		return 1;
	Vcpu second;
	if (!add_vcpu(m, 1, VMM_CODE, second))
		return 1;
	// IF set (nothing is ever injected): Bochs, the VMX proving ground,
	// makes external interrupts exit only while the guest has IF set.
	for (int fd : {static_cast<int>(m.vcpu), static_cast<int>(second.fd)}) {
		axvm_regs regs;
		if (xioctl(fd, AXVM_GET_REGS, (unsigned long)&regs))
			return 1;
		regs.rflags |= 0x200;
		if (xioctl(fd, AXVM_SET_REGS, (unsigned long)&regs))
			return 1;
	}
	struct Spinner {
		int fd;
		axvm_run *run;
		long exits = 0, errors = 0;
		pthread_t thread;
	} spinners[2] = {{m.vcpu, m.run, 0, 0, {}}, {second.fd, second.run, 0, 0, {}}};
	for (Spinner &sp : spinners)
		pthread_create(&sp.thread, nullptr, [](void *arg) -> void * {
			auto *sp = static_cast<Spinner *>(arg);
			uint8_t want = 0;
			while (!g_stop) {
				const long r = xioctl(sp->fd, AXVM_RUN);
				if (r == -EINTR)
					continue;
				const uint8_t got = reinterpret_cast<uint8_t *>(sp->run)[sp->run->io.data_offset];
				if (r || sp->run->exit_reason != AXVM_EXIT_IO || got != want)
					sp->errors++;
				want = got + 1;
				sp->exits++;
			}
			return nullptr;
		}, &sp);
	printf("spinning\n");
	fflush(stdout);
	for (Spinner &sp : spinners) {
		pthread_join(sp.thread, nullptr);
		printf("vCPU: %ld exits, %ld errors\n", sp.exits, sp.errors);
	}
	return spinners[0].errors || spinners[1].errors || !spinners[0].exits || !spinners[1].exits;
}

} // namespace
} // namespace abi

using namespace abi;

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--hold"))
		return hold_vm(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "--spin"))
		return spin_vcpus();
	if (argc == 3 && !strcmp(argv[1], "--coexist"))
		return coexist(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--create-vm-errno")) {
		Fd dev(open_dev());
		long r = xioctl(dev, AXVM_CREATE_VM);
		printf("%ld\n", r < 0 ? r : 0);
		return 0;
	}

	const std::vector<std::pair<const char *, std::function<bool()>>> tests = {
		{"device_node", device_node},
		{"api_version", api_version},
		{"check_extension", check_extension},
		{"create_vm", create_vm},
		{"create_vcpu", create_vcpu},
		{"max_vcpu_id_cap", max_vcpu_id_cap},
		{"nr_mmu_pages", nr_mmu_pages},
		{"run_page", run_page},
		{"close_in_every_order", close_in_every_order},
		{"thousand_cycles", thousand_cycles},
		{"unknown_ioctls", unknown_ioctls},
		{"bad_pointers", bad_pointers},
		{"memory_regions", memory_regions},
		{"guest_port_io_and_hlt", guest_port_io_and_hlt},
		{"guest_string_in", guest_string_in},
		{"guest_string_in_batches", guest_string_in_batches},
		{"guest_string_out_segments", guest_string_out_segments},
		{"guest_hypercall", guest_hypercall},
		{"guest_cpuid_from_table", guest_cpuid_from_table},
		{"cpuid_runtime_and_after_run", cpuid_runtime_and_after_run},
		{"guest_mmio", guest_mmio},
		{"sregs_checked_like_kvm", sregs_checked_like_kvm},
		{"sregs_cr4_and_apic_base_like_kvm", sregs_cr4_and_apic_base_like_kvm},
		{"guest_outside_memory", guest_outside_memory},
		{"spinning_guest_stopped_by_signal", spinning_guest_stopped_by_signal},
		{"immediate_exit_keeps_last_exit", immediate_exit_keeps_last_exit},
		{"triple_fault_is_shutdown", triple_fault_is_shutdown},
		{"vcpus_in_threads_migrating", vcpus_in_threads_migrating},
		{"timer_queued_to_halted_guest", timer_queued_to_halted_guest},
		{"timer_queued_to_spinning_guest", timer_queued_to_spinning_guest},
		{"timer_by_signal_to_spinning_guest", timer_by_signal_to_spinning_guest},
		{"interrupted_delivery_is_reinjected", interrupted_delivery_is_reinjected},
		{"queue_interrupt_checks", queue_interrupt_checks},
		{"send_ipi_exit", send_ipi_exit},
		{"vcpu_events", vcpu_events},
		{"vapic_and_tpr_reporting_off", vapic_and_tpr_reporting_off},
		{"pic_vector_below_32", pic_vector_below_32},
		{"split_window_needs_extint", split_window_needs_extint},
		{"concurrent_run_is_busy", concurrent_run_is_busy},
		{"unprivileged_denied", unprivileged_denied},
		{"guest_isolation", guest_isolation},
		{"guest_isolation_protected", guest_isolation_protected},
		{"quirks_caps", quirks_caps},
		{"quirks_monitor_mwait", quirks_monitor_mwait},
		{"quirks_fix_hypercall", quirks_fix_hypercall},
		{"pv_feature_cpuid_enforced", pv_feature_cpuid_enforced},
		{"steal_time_msr", steal_time_msr},
		{"steal_time_record", steal_time_record},
		{"vm_owned_by_creator", vm_owned_by_creator},
		{"memlock_limit", memlock_limit},
		{"pinned_memory_outlives_munmap", pinned_memory_outlives_munmap},
		{"readonly_slot_sees_later_writes", readonly_slot_sees_later_writes},
		{"code_crossing_into_mmio", code_crossing_into_mmio},
		{"page_tables_beyond_ram", page_tables_beyond_ram},
		{"memcg_bounds_vmm", memcg_bounds_vmm},
		{"single_step_reports_bs", single_step_reports_bs},
		{"unhandled_exit_is_internal_error", unhandled_exit_is_internal_error},
		{"huge_slots_refused", huge_slots_refused},
		{"vmm_capabilities", vmm_capabilities},
		{"msr_list_and_round_trip", msr_list_and_round_trip},
		{"feature_msrs", feature_msrs},
		{"msrs_like_kvm", msrs_like_kvm},
		{"tsc_adjust", tsc_adjust},
		{"tsc_offset_attribute", tsc_offset_attribute},
		{"guest_msrs_and_user_space_exits", guest_msrs_and_user_space_exits},
		{"fpu_xsave_and_xcrs", fpu_xsave_and_xcrs},
		{"guest_xsetbv", guest_xsetbv},
		{"debugregs_mp_state_tsc_khz", debugregs_mp_state_tsc_khz},
		{"run_cr8_and_apic_base", run_cr8_and_apic_base},
		{"signal_mask_during_run", signal_mask_during_run},
		{"dirty_log", dirty_log},
		{"sync_regs_like_kvm", sync_regs_like_kvm},
		{"sync_regs_rewritten_during_run", sync_regs_rewritten_during_run},
		{"ioeventfds", ioeventfds},
		{"irqfds", irqfds},
	};
	// abi_test --only NAME...: just those (by their names above).
	const bool only = argc >= 3 && !strcmp(argv[1], "--only");
	for (const auto &t : tests) {
		if (only && std::none_of(argv + 2, argv + argc, [&](const char *n) { return !strcmp(n, t.first); }))
			continue;
		g_why.clear();
		const bool ok = t.second();
		g_passed += ok;
		g_failed += vmm_check(ok, "abi.", t.first, "%s", g_why.c_str());
	}
	printf("abi_test: %d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
