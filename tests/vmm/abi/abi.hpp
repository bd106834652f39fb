// SPDX-License-Identifier: GPL-2.0
// What the ABI tests share: a minimal test runner (EXPECT, xioctl, fds,
// memory slots) and Machine, a real-mode machine with 64 KiB at guest
// address 0. The tests are grouped by file; main.cpp lists them.
#pragma once

#include <uapi/axvm.h>

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

inline int open_dev() { return open(kDev, O_RDWR | O_CLOEXEC); }

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

inline void *map_anon(size_t size)
{
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? nullptr : p;
}

// ---- Guests: a real-mode machine with 64 KiB at guest address 0 ----

// vCPU @fd starts in real mode at CS = 0, IP = @rip.
inline bool real_mode_at(int fd, uint64_t rip)
{
	axvm_sregs sregs;
	if (xioctl(fd, AXVM_GET_SREGS, (unsigned long)&sregs))
		return false;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	axvm_regs regs{};
	regs.rip = rip;
	regs.rflags = 2;
	return !xioctl(fd, AXVM_SET_SREGS, (unsigned long)&sregs) && !xioctl(fd, AXVM_SET_REGS, (unsigned long)&regs);
}

struct Machine {
	Fd dev{open_dev()};
	Fd vm{-1}, vcpu{-1};
	void *mem = MAP_FAILED;
	axvm_run *run = nullptr;
	static constexpr size_t kMem = 0x10000;

	// @code goes to 0x1000 and runs there in real mode (CS = 0).
	bool start(const std::vector<uint8_t> &code)
	{
		vm.fd = xioctl(dev, AXVM_CREATE_VM);
		mem = mmap(nullptr, kMem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (vm < 0 || mem == MAP_FAILED)
			return false;
		memcpy(static_cast<uint8_t *>(mem) + 0x1000, code.data(), code.size());
		if (set_region(vm, region(0, 0, kMem, mem)))
			return false;
		vcpu.fd = xioctl(vm, AXVM_CREATE_VCPU, 0);
		void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
		if (vcpu < 0 || p == MAP_FAILED)
			return false;
		run = static_cast<axvm_run *>(p);
		return real_mode_at(vcpu, 0x1000);
	}
	~Machine()
	{
		if (run)
			munmap(run, 4096);
		if (mem != MAP_FAILED)
			munmap(mem, kMem);
	}
	uint8_t *io_data() { return reinterpret_cast<uint8_t *>(run) + run->io.data_offset; }
	uint32_t io_value()
	{
		uint32_t v = 0;
		memcpy(&v, io_data(), run->io.size);
		return v;
	}
	// RUN, expecting an OUT of @size bytes to @port; returns the data or -1.
	long expect_out(uint16_t port, uint8_t size)
	{
		if (xioctl(vcpu, AXVM_RUN) || run->exit_reason != AXVM_EXIT_IO ||
		    run->io.direction != AXVM_EXIT_IO_OUT || run->io.port != port || run->io.size != size ||
		    run->io.count != 1)
			return -1;
		return io_value();
	}
};

inline void on_alarm(int) {}

// 32-bit flat segments: code at selector 8, data at 16 (a GDT in memory is
// the caller's, if the guest reloads them).
inline void flat_protected_segments(axvm_sregs &s)
{
	axvm_segment flat = {};
	flat.limit = 0xffffffff, flat.present = 1, flat.s = 1, flat.g = 1, flat.db = 1;
	s.cs = flat, s.cs.type = 0xb, s.cs.selector = 8;
	s.ds = s.es = s.fs = s.gs = s.ss = flat;
	s.ds.type = s.es.type = s.fs.type = s.gs.type = s.ss.type = 3;
	s.ds.selector = s.es.selector = s.fs.selector = s.gs.selector = s.ss.selector = 16;
}

// ---- The tests, by file (main.cpp lists them in the order they run) ----

// ioctls.cpp
bool device_node();
bool api_version();
bool check_extension();
bool create_vm();
bool create_vcpu();
bool run_page();
bool close_in_every_order();
bool thousand_cycles();
bool unknown_ioctls();
bool bad_pointers();
bool memory_regions();

// guests.cpp
bool guest_port_io_and_hlt();
bool guest_string_in();
bool guest_string_out_segments();
bool guest_hypercall();
bool guest_cpuid_from_table();
bool guest_mmio();
bool sregs_checked_like_kvm();
bool guest_outside_memory();
bool vcpus_in_threads_migrating();
bool concurrent_run_is_busy();
bool spinning_guest_stopped_by_signal();
bool triple_fault_is_shutdown();

// interrupts.cpp
bool timer_queued_to_halted_guest();
bool timer_queued_to_spinning_guest();
bool timer_by_signal_to_spinning_guest();
bool interrupted_delivery_is_reinjected();
bool queue_interrupt_checks();
bool send_ipi_exit();
bool vcpu_events();

// isolation.cpp
bool guest_isolation();
bool guest_isolation_protected();

// hardening.cpp
bool single_step_reports_bs();
bool unhandled_exit_is_internal_error();
bool huge_slots_refused();
bool vm_owned_by_creator();
bool memlock_limit();
bool pinned_memory_outlives_munmap();
bool code_crossing_into_mmio();
bool page_tables_beyond_ram();
bool memcg_bounds_vmm();
bool unprivileged_denied();

// coexist.cpp (abi_test --coexist)
bool kvm_vm_blocks_axvm();
bool axvm_vm_blocks_kvm_then_both_work();

} // namespace abi
