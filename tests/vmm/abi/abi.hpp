// SPDX-License-Identifier: GPL-2.0
// What the ABI tests share: a minimal test runner (EXPECT, xioctl, fds,
// memory slots) and Machine, a real-mode machine with 64 KiB at guest
// address 0, set up with tests/lib. The tests are grouped by file; main.cpp
// lists them.
#pragma once

#include <uapi/axvm.h>

#include "vmm.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace abi {

// ---- A minimal test runner ----

extern const char *kDev; // the device under test (coexist.cpp also runs on /dev/kvm)
extern std::string g_why; // why the test that just returned false failed

// @n scaled down where every instruction is emulated: AXVM_ABI_CYCLES (Bochs
// asks for 200) is how many of the 1,000 VM cycles to run, and loops and
// tick counts sized for a real CPU shrink by the same fraction (at least a
// tenth, at least 1).
int abi_scaled(int n);

#define EXPECT(cond)                                                                     \
	do {                                                                             \
		if (!(cond)) {                                                           \
			g_why = std::string(#cond) + " (line " + std::to_string(__LINE__) + \
				", errno " + std::to_string(errno) + ")";                \
			return false;                                                    \
		}                                                                        \
	} while (0)

// ioctl() as KVM callers see it: the result, or -errno.
inline long xioctl(int fd, unsigned long cmd, unsigned long arg = 0)
{
	long r = ioctl(fd, cmd, arg);
	return r < 0 ? -errno : r;
}

inline int open_dev() { return vmm_open(kDev); }

inline int open_fds()
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct Fd {
	int fd;
	explicit Fd(int f = -1) : fd(f) {}
	~Fd()
	{
		if (fd >= 0)
			close(fd);
	}
	Fd(const Fd &) = delete;
	operator int() const { return fd; }
};

inline axvm_userspace_memory_region region(uint32_t slot, uint64_t gpa, uint64_t size, void *mem, uint32_t flags = 0)
{
	axvm_userspace_memory_region r{};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = reinterpret_cast<uintptr_t>(mem);
	return r;
}

inline long set_region(int vm, const axvm_userspace_memory_region &r)
{
	return xioctl(vm, AXVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r));
}

inline void *map_anon(size_t size) { return vmm_anon(size, 0); }

// ---- Guests: a real-mode machine with 64 KiB at guest address 0 ----

// vCPU @fd starts in real mode at CS = 0, IP = @rip.
inline bool real_mode_at(int fd, uint64_t rip) { return vmm_real_mode(fd, rip, 0) == 0; }

// vCPU @id of VM @vm (of device @dev) in real mode at CS = 0, IP = @rip:
// its fd, its run page and the page's size.
inline bool real_mode_vcpu(int dev, int vm, unsigned long id, uint64_t rip, Fd &fd, axvm_run *&run,
			   size_t &run_size)
{
	vmm_vcpu v;
	const bool made = !vmm_vcpu_create(&v, dev, vm, id);
	fd.fd = v.fd;
	run = reinterpret_cast<axvm_run *>(v.run);
	run_size = v.run_size;
	return made && real_mode_at(fd, rip);
}

struct Machine {
	Fd dev{open_dev()};
	Fd vm{-1}, vcpu{-1};
	void *mem = MAP_FAILED;
	axvm_run *run = nullptr;
	size_t run_size = 0;
	static constexpr size_t kMem = 0x10000;

	// @code goes to 0x1000 (VMM_CODE) and runs there in real mode (CS = 0).
	bool start(const std::vector<uint8_t> &code)
	{
		vmm_vm v;
		const bool made = !vmm_vm_create(&v, dev, kMem, code.data(), code.size());
		vm.fd = v.fd;
		if (v.mem)
			mem = v.mem;
		return made && real_mode_vcpu(dev, vm, 0, VMM_CODE, vcpu, run, run_size);
	}
	~Machine()
	{
		if (run)
			munmap(run, run_size);
		if (mem != MAP_FAILED)
			munmap(mem, kMem);
	}
	kvm_run *kvm() { return reinterpret_cast<kvm_run *>(run); } // the same page, in tests/lib's terms
	uint8_t *io_data() { return vmm_io_data(kvm()); }
	uint32_t io_value()
	{
		uint32_t v = 0;
		memcpy(&v, io_data(), run->io.size);
		return v;
	}
	// RUN, expecting an OUT of @size bytes to @port; returns the data or -1.
	long expect_out(uint16_t port, uint8_t size) { return vmm_expect_out(vcpu, kvm(), port, size); }
	// RUN, expecting exit @reason.
	bool run_to(uint32_t reason) { return vmm_run_expect(vcpu, kvm(), reason); }
};

// Another vCPU of a Machine (add_vcpu); the mapping holds the vCPU (and so
// the VM) until it goes.
struct Vcpu {
	Fd fd;
	axvm_run *run = nullptr;
	size_t run_size = 0;
	~Vcpu()
	{
		if (run)
			munmap(run, run_size);
	}
};

// A second (third, ...) vCPU of @m starting at @rip in real mode.
inline bool add_vcpu(Machine &m, int id, uint64_t rip, Vcpu &v)
{
	return real_mode_vcpu(m.dev, m.vm, id, rip, v.fd, v.run, v.run_size);
}

// A second VM over @m's memory with its interrupt controllers in the kernel
// (KVM_CREATE_IRQCHIP, or with @split_pins the split irqchip: local APICs
// only), set before its one real-mode vCPU at VMM_CODE; @m's own VM has a
// vCPU already, too late for that.
struct IrqchipVm {
	Fd vm;
	Vcpu cpu;
	bool start(Machine &m, uint32_t split_pins = 0)
	{
		vm.fd = xioctl(m.dev, AXVM_CREATE_VM);
		if (vm < 0)
			return false;
		axvm_enable_cap cap{};
		cap.cap = AXVM_CAP_SPLIT_IRQCHIP;
		cap.args[0] = split_pins;
		const long made = split_pins ? xioctl(vm, AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap))
					     : xioctl(vm, AXVM_CREATE_IRQCHIP);
		return made == 0 && set_region(vm, region(0, 0, Machine::kMem, m.mem)) == 0 &&
		       real_mode_vcpu(m.dev, vm, 0, VMM_CODE, cpu.fd, cpu.run, cpu.run_size);
	}
};

inline void on_alarm(int) {}

// 32-bit flat segments: code at selector 8, data at 16 (a GDT in memory is
// the caller's, if the guest reloads them).
inline void flat_protected_segments(axvm_sregs &s) { vmm_flat_sregs(reinterpret_cast<kvm_sregs *>(&s), 0); }

// @code at 0x1000 of a Machine in flat 32-bit protected mode (GDT at 0x500,
// IDT at 0x2000), with a #UD handler that prints 'U' on port 0xe9 and steps
// over 3 bytes (isolation.cpp).
bool start_protected_ud(Machine &m, const std::vector<uint8_t> &code);

// A CPUID table as GET_SUPPORTED_CPUID and GET/SET_CPUID2 take it, with
// room for every entry axvm has.
struct CpuidTable {
	std::vector<uint64_t> buf =
		std::vector<uint64_t>((sizeof(axvm_cpuid2) + AXVM_MAX_CPUID_ENTRIES * sizeof(axvm_cpuid_entry2)) / 8);
	axvm_cpuid2 &c() { return *reinterpret_cast<axvm_cpuid2 *>(buf.data()); }
	// A GET ioctl (@cmd) on @fd, for as many entries as fit.
	long get(int fd, unsigned long cmd)
	{
		c().nent = AXVM_MAX_CPUID_ENTRIES;
		return xioctl(fd, cmd, reinterpret_cast<unsigned long>(buf.data()));
	}
	// The entry for @function/@index, or null.
	axvm_cpuid_entry2 *find(uint32_t function, uint32_t index = 0)
	{
		for (uint32_t i = 0; i < c().nent; i++)
			if (c().entries[i].function == function && c().entries[i].index == index)
				return &c().entries[i];
		return nullptr;
	}
};

// ---- The tests, by file (main.cpp lists them in the order they run) ----

// ioctls.cpp
bool device_node();
bool api_version();
bool check_extension();
bool create_vm();
bool create_vcpu();
bool max_vcpu_id_cap();
bool nr_mmu_pages();
bool run_page();
bool close_in_every_order();
bool thousand_cycles();
bool unknown_ioctls();
bool bad_pointers();
bool memory_regions();

// guests.cpp
bool guest_port_io_and_hlt();
bool guest_string_in();
bool guest_string_in_batches();
bool guest_string_out_segments();
bool guest_hypercall();
bool guest_cpuid_from_table();
bool cpuid_runtime_and_after_run();
bool guest_mmio();
bool sregs_checked_like_kvm();
bool sregs_cr4_and_apic_base_like_kvm();
bool guest_outside_memory();
bool vcpus_in_threads_migrating();
bool concurrent_run_is_busy();
bool spinning_guest_stopped_by_signal();
bool immediate_exit_keeps_last_exit();
bool triple_fault_is_shutdown();

// interrupts.cpp
bool timer_queued_to_halted_guest();
bool timer_queued_to_spinning_guest();
bool timer_by_signal_to_spinning_guest();
bool interrupted_delivery_is_reinjected();
bool queue_interrupt_checks();
bool send_ipi_exit();
bool vcpu_events();
bool vapic_and_tpr_reporting_off();
bool pic_vector_below_32();
bool split_window_needs_extint();

// isolation.cpp
bool guest_isolation();
bool guest_isolation_protected();
bool quirks_caps();
bool quirks_monitor_mwait();
bool quirks_fix_hypercall();
bool pv_feature_cpuid_enforced();
bool steal_time_msr();
bool steal_time_record();

// hardening.cpp
bool single_step_reports_bs();
bool unhandled_exit_is_internal_error();
bool huge_slots_refused();
bool vm_owned_by_creator();
bool memlock_limit();
bool pinned_memory_outlives_munmap();
bool readonly_slot_sees_later_writes();
bool code_crossing_into_mmio();
bool page_tables_beyond_ram();
bool memcg_bounds_vmm();
bool unprivileged_denied();

// vmm_state.cpp
bool vmm_capabilities();
bool msr_list_and_round_trip();
bool feature_msrs();
bool msrs_like_kvm();
bool tsc_offset_attribute();
bool tsc_adjust();
bool guest_msrs_and_user_space_exits();
bool fpu_xsave_and_xcrs();
bool guest_xsetbv();
bool debugregs_mp_state_tsc_khz();
bool run_cr8_and_apic_base();
bool signal_mask_during_run();
bool dirty_log();

// sync_regs.cpp
bool sync_regs_like_kvm();
bool sync_regs_rewritten_during_run();

// eventfds.cpp
bool ioeventfds();
bool irqfds();

// coexist.cpp (abi_test --coexist)
bool kvm_vm_blocks_axvm();
bool axvm_vm_blocks_kvm_then_both_work();

} // namespace abi
