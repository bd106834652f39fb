// SPDX-License-Identifier: GPL-2.0
// Userspace ABI tests for /dev/axvm, run as root inside the test VM.
// Uses include/uapi/axvm.h only; <linux/kvm.h> is included just to prove at
// compile time that every number and layout matches KVM's.
//
//   abi_test            run every test, print "ok - NAME" / "not ok - NAME: why"
//   abi_test --hold N   create a VM, print "holding", keep it N seconds
//   abi_test --coexist kvm-first|axvm-first
//                       share SVM with kvm_amd (loaded by the caller)
#include <uapi/axvm.h>

#include "meminfo.hpp"

#include <linux/kvm.h>

#include <algorithm>
#include <cerrno>
#include <cpuid.h>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <csignal>
#include <ctime>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

// ---- ABI identity with KVM, checked by the compiler ----
static_assert(AXVM_API_VERSION == KVM_API_VERSION);
static_assert(AXVM_GET_API_VERSION == KVM_GET_API_VERSION);
static_assert(AXVM_CREATE_VM == KVM_CREATE_VM);
static_assert(AXVM_CHECK_EXTENSION == KVM_CHECK_EXTENSION);
static_assert(AXVM_GET_VCPU_MMAP_SIZE == KVM_GET_VCPU_MMAP_SIZE);
static_assert(AXVM_CREATE_VCPU == KVM_CREATE_VCPU);
static_assert(AXVM_SET_USER_MEMORY_REGION == KVM_SET_USER_MEMORY_REGION);
static_assert(AXVM_RUN == KVM_RUN);
static_assert(AXVM_GET_REGS == KVM_GET_REGS && AXVM_SET_REGS == KVM_SET_REGS);
static_assert(AXVM_GET_SREGS == KVM_GET_SREGS && AXVM_SET_SREGS == KVM_SET_SREGS);
// <linux/kvm.h> declares kvm_cpuid2's flexible array with __DECLARE_FLEX_ARRAY,
// whose empty struct makes sizeof(kvm_cpuid2) 12 in C++ but 8 in C (and in
// the kernel); the ioctl numbers encode that size, so compare with C's.
static_assert(AXVM_GET_SUPPORTED_CPUID == _IOWR(KVMIO, 0x05, char[8]));
static_assert(AXVM_SET_CPUID2 == _IOW(KVMIO, 0x90, char[8]) && AXVM_GET_CPUID2 == _IOWR(KVMIO, 0x91, char[8]));
static_assert(AXVM_SET_TSS_ADDR == KVM_SET_TSS_ADDR);
static_assert(AXVM_CAP_SET_TSS_ADDR == KVM_CAP_SET_TSS_ADDR && AXVM_CAP_EXT_CPUID == KVM_CAP_EXT_CPUID);
static_assert(AXVM_CAP_IMMEDIATE_EXIT == KVM_CAP_IMMEDIATE_EXIT);
static_assert(AXVM_SYSTEM_EVENT_RESET == KVM_SYSTEM_EVENT_RESET);
static_assert(AXVM_CPUID_FLAG_SIGNIFCANT_INDEX == KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
static_assert(sizeof(axvm_regs) == sizeof(kvm_regs) && sizeof(axvm_sregs) == sizeof(kvm_sregs));
static_assert(sizeof(axvm_segment) == sizeof(kvm_segment) && sizeof(axvm_dtable) == sizeof(kvm_dtable));
static_assert(offsetof(axvm_sregs, cr0) == offsetof(kvm_sregs, cr0));
static_assert(offsetof(axvm_sregs, interrupt_bitmap) == offsetof(kvm_sregs, interrupt_bitmap));
static_assert(offsetof(axvm_segment, unusable) == offsetof(kvm_segment, unusable));
static_assert(sizeof(axvm_cpuid_entry2) == sizeof(kvm_cpuid_entry2) && sizeof(axvm_cpuid2) == 8);
static_assert(offsetof(axvm_cpuid_entry2, edx) == offsetof(kvm_cpuid_entry2, edx));
static_assert(offsetof(axvm_regs, rip) == offsetof(kvm_regs, rip));
static_assert(AXVM_CAP_USER_MEMORY == KVM_CAP_USER_MEMORY && AXVM_CAP_NR_VCPUS == KVM_CAP_NR_VCPUS);
static_assert(AXVM_CAP_NR_MEMSLOTS == KVM_CAP_NR_MEMSLOTS && AXVM_CAP_MAX_VCPUS == KVM_CAP_MAX_VCPUS);
static_assert(AXVM_CAP_MAX_VCPU_ID == KVM_CAP_MAX_VCPU_ID);
static_assert(AXVM_MEM_READONLY == KVM_MEM_READONLY);
static_assert(AXVM_EXIT_IO == KVM_EXIT_IO && AXVM_EXIT_HYPERCALL == KVM_EXIT_HYPERCALL);
static_assert(AXVM_EXIT_HLT == KVM_EXIT_HLT && AXVM_EXIT_MMIO == KVM_EXIT_MMIO);
static_assert(AXVM_EXIT_IRQ_WINDOW_OPEN == KVM_EXIT_IRQ_WINDOW_OPEN && AXVM_EXIT_SHUTDOWN == KVM_EXIT_SHUTDOWN);
static_assert(AXVM_EXIT_FAIL_ENTRY == KVM_EXIT_FAIL_ENTRY && AXVM_EXIT_INTR == KVM_EXIT_INTR);
static_assert(AXVM_EXIT_INTERNAL_ERROR == KVM_EXIT_INTERNAL_ERROR);
static_assert(AXVM_EXIT_SYSTEM_EVENT == KVM_EXIT_SYSTEM_EVENT);
static_assert(AXVM_EXIT_X86_RDMSR == KVM_EXIT_X86_RDMSR && AXVM_EXIT_X86_WRMSR == KVM_EXIT_X86_WRMSR);
static_assert(AXVM_EXIT_IO_IN == KVM_EXIT_IO_IN && AXVM_EXIT_IO_OUT == KVM_EXIT_IO_OUT);
static_assert(AXVM_SYSTEM_EVENT_SHUTDOWN == KVM_SYSTEM_EVENT_SHUTDOWN);

#define SAME_FIELD(a, b, f) \
	static_assert(offsetof(a, f) == offsetof(b, f) && sizeof(a::f) == sizeof(b::f), #f)
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, slot);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, flags);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, guest_phys_addr);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, memory_size);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, userspace_addr);
static_assert(sizeof(axvm_userspace_memory_region) == sizeof(kvm_userspace_memory_region));
SAME_FIELD(axvm_run, kvm_run, request_interrupt_window);
SAME_FIELD(axvm_run, kvm_run, immediate_exit);
SAME_FIELD(axvm_run, kvm_run, exit_reason);
SAME_FIELD(axvm_run, kvm_run, ready_for_interrupt_injection);
SAME_FIELD(axvm_run, kvm_run, if_flag);
SAME_FIELD(axvm_run, kvm_run, flags);
SAME_FIELD(axvm_run, kvm_run, cr8);
SAME_FIELD(axvm_run, kvm_run, apic_base);
SAME_FIELD(axvm_run, kvm_run, io);
SAME_FIELD(axvm_run, kvm_run, mmio);
SAME_FIELD(axvm_run, kvm_run, hypercall);
SAME_FIELD(axvm_run, kvm_run, fail_entry);
SAME_FIELD(axvm_run, kvm_run, internal);
SAME_FIELD(axvm_run, kvm_run, system_event.type);
SAME_FIELD(axvm_run, kvm_run, msr);
SAME_FIELD(axvm_run, kvm_run, kvm_valid_regs);
SAME_FIELD(axvm_run, kvm_run, kvm_dirty_regs);
SAME_FIELD(axvm_run, kvm_run, s);
static_assert(sizeof(axvm_run) == sizeof(kvm_run));

// ---- A minimal test runner ----
namespace {

const char *kDev = "/dev/axvm";
int g_passed, g_failed;
std::string g_why;

#define EXPECT(cond)                                                                     \
	do {                                                                             \
		if (!(cond)) {                                                           \
			g_why = std::string(#cond) + " (line " + std::to_string(__LINE__) + \
				", errno " + std::to_string(errno) + ")";                \
			return false;                                                    \
		}                                                                        \
	} while (0)

// ioctl() as KVM callers see it: the result, or -errno.
long xioctl(int fd, unsigned long cmd, unsigned long arg = 0)
{
	long r = ioctl(fd, cmd, arg);
	return r < 0 ? -errno : r;
}

int open_dev() { return open(kDev, O_RDWR | O_CLOEXEC); }

int open_fds()
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

axvm_userspace_memory_region region(uint32_t slot, uint64_t gpa, uint64_t size, void *mem, uint32_t flags = 0)
{
	axvm_userspace_memory_region r{};
	r.slot = slot;
	r.flags = flags;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = reinterpret_cast<uintptr_t>(mem);
	return r;
}

long set_region(int vm, const axvm_userspace_memory_region &r)
{
	return xioctl(vm, AXVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r));
}

void *map_anon(size_t size)
{
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? nullptr : p;
}

// ---- Tests ----

bool device_node()
{
	struct stat st;
	EXPECT(stat(kDev, &st) == 0);
	EXPECT(S_ISCHR(st.st_mode));
	EXPECT((st.st_mode & 0777) == 0600);
	EXPECT(st.st_uid == 0);
	return true;
}

bool api_version()
{
	Fd dev(open_dev());
	EXPECT(dev >= 0);
	EXPECT(xioctl(dev, AXVM_GET_API_VERSION) == 12);
	EXPECT(xioctl(dev, AXVM_GET_API_VERSION, 1) == -EINVAL);
	return true;
}

bool check_extension()
{
	Fd dev(open_dev());
	EXPECT(dev >= 0);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_USER_MEMORY) == 1);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_NR_VCPUS) > 0);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_MAX_VCPUS) >= xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_NR_VCPUS));
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_NR_MEMSLOTS) > 0);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) == 0); // not offered: no in-kernel irqchip
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, 100000) == 0);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, -1UL) == 0);
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm >= 0);
	EXPECT(xioctl(vm, AXVM_CHECK_EXTENSION, AXVM_CAP_USER_MEMORY) == 1);
	EXPECT(xioctl(vm, AXVM_CHECK_EXTENSION, 100000) == 0);
	return true;
}

bool create_vm()
{
	Fd dev(open_dev());
	EXPECT(dev >= 0);
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm >= 0);
	EXPECT(fcntl(vm, F_GETFD) & FD_CLOEXEC);
	EXPECT(xioctl(dev, AXVM_CREATE_VM, 1) == -EINVAL);
	EXPECT(xioctl(dev, AXVM_CREATE_VM, ~0UL) == -EINVAL);
	Fd vm2(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm2 >= 0 && vm2 != vm);
	return true;
}

bool create_vcpu()
{
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm >= 0);
	const long max = xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_MAX_VCPU_ID);
	EXPECT(max > 1);
	Fd v0(xioctl(vm, AXVM_CREATE_VCPU, 0));
	EXPECT(v0 >= 0);
	EXPECT(fcntl(v0, F_GETFD) & FD_CLOEXEC);
	EXPECT(xioctl(vm, AXVM_CREATE_VCPU, 0) == -EEXIST);
	Fd vlast(xioctl(vm, AXVM_CREATE_VCPU, max - 1));
	EXPECT(vlast >= 0);
	EXPECT(xioctl(vm, AXVM_CREATE_VCPU, max) == -EINVAL);
	EXPECT(xioctl(vm, AXVM_CREATE_VCPU, 1UL << 32) == -EINVAL); // not truncated to id 0
	EXPECT(xioctl(vm, AXVM_CREATE_VCPU, ~0UL) == -EINVAL);
	// A failed creation leaves the id free.
	Fd v1(xioctl(vm, AXVM_CREATE_VCPU, 1));
	EXPECT(v1 >= 0);
	return true;
}

bool run_page()
{
	Fd dev(open_dev());
	const long size = xioctl(dev, AXVM_GET_VCPU_MMAP_SIZE);
	EXPECT(size == sysconf(_SC_PAGESIZE));
	EXPECT(size >= (long)sizeof(axvm_run));
	EXPECT(xioctl(dev, AXVM_GET_VCPU_MMAP_SIZE, 1) == -EINVAL);
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	Fd vcpu(xioctl(vm, AXVM_CREATE_VCPU, 0));
	EXPECT(vcpu >= 0);

	auto *run = static_cast<axvm_run *>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
	EXPECT(run != MAP_FAILED);
	const unsigned char *bytes = reinterpret_cast<unsigned char *>(run);
	for (long i = 0; i < size; i++)
		EXPECT(bytes[i] == 0);
	// Two mappings are the same page.
	auto *again = static_cast<axvm_run *>(mmap(nullptr, size, PROT_READ, MAP_SHARED, vcpu, 0));
	EXPECT(again != MAP_FAILED);
	run->immediate_exit = 1;
	EXPECT(again->immediate_exit == 1);
	munmap(again, size);
	// Nothing beyond the one page, at no other offset.
	EXPECT(mmap(nullptr, 2 * size, PROT_READ, MAP_SHARED, vcpu, 0) == MAP_FAILED && errno == EINVAL);
	EXPECT(mmap(nullptr, size, PROT_READ, MAP_SHARED, vcpu, size) == MAP_FAILED && errno == EINVAL);
	// The VM fd and the device have no mmap.
	EXPECT(mmap(nullptr, size, PROT_READ, MAP_SHARED, vm, 0) == MAP_FAILED);
	EXPECT(munmap(run, size) == 0);
	return true;
}

bool close_in_every_order()
{
	const long size = sysconf(_SC_PAGESIZE);
	const int fds_before = open_fds();
	for (int order = 0; order < 6; order++) {
		int dev = open_dev();
		int vm = xioctl(dev, AXVM_CREATE_VM);
		int vcpu = xioctl(vm, AXVM_CREATE_VCPU, 0);
		EXPECT(dev >= 0 && vm >= 0 && vcpu >= 0);
		void *run = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
		EXPECT(run != MAP_FAILED);
		int fds[3] = {dev, vm, vcpu};
		static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
		for (int i = 0; i < 3; i++)
			EXPECT(close(fds[perms[order][i]]) == 0);
		// The mapping outlives every fd and still works.
		static_cast<axvm_run *>(run)->request_interrupt_window = 1;
		EXPECT(munmap(run, size) == 0);
	}
	EXPECT(open_fds() == fds_before);
	return true;
}

// A thousand VMs with memory and vCPUs, closed in both orders: no fd and no
// memory left behind (each VM holds several pages: VMCBs, FPU areas, nested
// page tables, pinned guest memory, so a leak of any shows up in MiBs).
bool thousand_cycles()
{
	const long size = sysconf(_SC_PAGESIZE);
	const int fds_before = open_fds();
	void *mem = map_anon(64 * 1024);
	EXPECT(mem);
	Fd dev(open_dev());
	long avail_before = 0;
	for (int i = -20; i < 1000; i++) {
		if (i == 0)
			avail_before = mem_available_kb(); // after warming the slab caches
		int vm = xioctl(dev, AXVM_CREATE_VM);
		EXPECT(vm >= 0);
		EXPECT(set_region(vm, region(0, 0, 64 * 1024, mem)) == 0);
		int v0 = xioctl(vm, AXVM_CREATE_VCPU, 0);
		int v1 = xioctl(vm, AXVM_CREATE_VCPU, 1);
		EXPECT(v0 >= 0 && v1 >= 0);
		void *run = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, v1, 0);
		EXPECT(run != MAP_FAILED);
		if (i % 2) {
			close(vm);
			close(v0);
		} else {
			close(v0);
			close(vm);
		}
		munmap(run, size);
		close(v1);
	}
	const long avail_after = mem_available_kb();
	munmap(mem, 64 * 1024);
	EXPECT(open_fds() == fds_before + 1);
	EXPECT(avail_before > 0 && avail_before - avail_after < 4096);
	return true;
}

bool unknown_ioctls()
{
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	Fd vcpu(xioctl(vm, AXVM_CREATE_VCPU, 0));
	EXPECT(vcpu >= 0);
	EXPECT(xioctl(dev, _IO(AXVMIO, 0x7f)) == -ENOTTY);
	EXPECT(xioctl(dev, _IO('x', 1)) == -ENOTTY);
	EXPECT(xioctl(dev, AXVM_RUN) == -ENOTTY); // a vCPU ioctl on the device
	EXPECT(xioctl(vm, AXVM_CREATE_VM) == -ENOTTY);
	EXPECT(xioctl(vm, AXVM_RUN) == -ENOTTY);
	EXPECT(xioctl(vcpu, AXVM_CREATE_VCPU, 1) == -ENOTTY);
	EXPECT(xioctl(vcpu, 0xdeadbeef) == -ENOTTY);
	EXPECT(xioctl(vcpu, AXVM_RUN, 1) == -EINVAL);
	return true;
}

bool bad_pointers()
{
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm >= 0);
	EXPECT(xioctl(vm, AXVM_SET_USER_MEMORY_REGION, 0) == -EFAULT);
	EXPECT(xioctl(vm, AXVM_SET_USER_MEMORY_REGION, 1) == -EFAULT);
	EXPECT(xioctl(vm, AXVM_SET_USER_MEMORY_REGION, 0xffff800000000000UL) == -EFAULT); // kernel address
	// A struct straddling the end of a mapping (the page after it unmapped).
	char *page = static_cast<char *>(map_anon(2 * 4096));
	EXPECT(page);
	EXPECT(munmap(page + 4096, 4096) == 0);
	EXPECT(xioctl(vm, AXVM_SET_USER_MEMORY_REGION, (unsigned long)(page + 4096 - 8)) == -EFAULT);
	munmap(page, 4096);
	// Guest memory that is not mapped in the process, or is kernel memory.
	EXPECT(set_region(vm, region(0, 0, 0x10000, page)) == -EFAULT);
	EXPECT(set_region(vm, region(0, 0, 0x10000, reinterpret_cast<void *>(0xffff888000000000UL))) == -EFAULT);
	return true;
}

bool memory_regions()
{
	const size_t mb2 = 2 << 20;
	char *mem = static_cast<char *>(map_anon(2 * mb2));
	EXPECT(mem);
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	const long slots = xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_NR_MEMSLOTS);
	EXPECT(slots >= 2);

	EXPECT(set_region(vm, region(0, 0, mb2, mem)) == 0);
	EXPECT(set_region(vm, region(0, 0, mb2, mem)) == 0); // identical: no change
	EXPECT(set_region(vm, region(1, 0x1000, 0x1000, mem + mb2)) == -EEXIST);
	EXPECT(set_region(vm, region(1, mb2 - 0x1000, 0x2000, mem + mb2)) == -EEXIST);
	EXPECT(set_region(vm, region(1, mb2, mb2, mem + mb2)) == 0); // adjacent is fine
	EXPECT(set_region(vm, region(0, 0, mb2 / 2, mem)) == -EINVAL);   // no resizing
	EXPECT(set_region(vm, region(0, 0, mb2, mem + 4096)) == -EINVAL); // no new backing
	EXPECT(set_region(vm, region(0, 0x40000000, mb2, mem)) == 0);     // a move
	EXPECT(set_region(vm, region(0, 0x40000000, mb2, mem, AXVM_MEM_READONLY)) == 0); // re-flag
	EXPECT(set_region(vm, region(2, 0x1000, 0x1001, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x1800, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x80000000, 0x1000, mem + 1)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x80000000, 0x1000, mem, 1u << 7)) == -EINVAL);
	EXPECT(set_region(vm, region(slots, 0x80000000, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(1u << 16, 0x80000000, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 1ULL << 60, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(0, 0, 0, nullptr)) == 0);       // delete
	EXPECT(set_region(vm, region(0, 0, 0, nullptr)) == -EINVAL); // already gone
	EXPECT(set_region(vm, region(3, 0x1000, 0x1000, mem)) == 0); // gpa 0x1000 is free again
	// The same host memory may back two slots, as in KVM.
	EXPECT(set_region(vm, region(4, 0x2000, 0x1000, mem)) == 0);
	munmap(mem, 2 * mb2); // still pinned by the VM; freed when it goes
	return true;
}

// ---- Guests: a real-mode machine with 64 KiB at guest address 0 ----

// vCPU @fd starts in real mode at CS = 0, IP = @rip.
bool real_mode_at(int fd, uint64_t rip)
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

bool guest_port_io_and_hlt()
{
	Machine m;
	// mov dx,0x3f8; mov al,'H'; out dx,al; in al,0x60; out 0xe9,al;
	// mov ax,0x1234; out 0xe9,ax; mov eax,0xdeadbeef (66 prefix); out dx,eax; hlt
	EXPECT(m.start({0xba, 0xf8, 0x03, 0xb0, 'H', 0xee, 0xe4, 0x60, 0xe6, 0xe9, 0xb8, 0x34, 0x12,
			0xe7, 0xe9, 0x66, 0xb8, 0xef, 0xbe, 0xad, 0xde, 0x66, 0xef, 0xf4}));
	EXPECT(m.expect_out(0x3f8, 1) == 'H');
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO);
	EXPECT(m.run->io.direction == AXVM_EXIT_IO_IN && m.run->io.port == 0x60 && m.run->io.size == 1);
	*m.io_data() = 0x5a; // the IN completes with this on the next RUN
	EXPECT(m.expect_out(0xe9, 1) == 0x5a);
	EXPECT(m.expect_out(0xe9, 2) == 0x1234);
	EXPECT(m.expect_out(0x3f8, 4) == 0xdeadbeef);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	EXPECT(regs.rip == 0x1000 + 24 && regs.rax == 0xdeadbeef && regs.rdx == 0x3f8);
	return true;
}

// REP INSB: one IN exit per element, each stored at ES:DI on the next RUN.
bool guest_string_in()
{
	Machine m;
	// mov di,0x2000; mov cx,3; mov dx,0x60; cld; rep insb; mov si,0x2000;
	// mov cx,3; mov dx,0xe9; rep outsb; hlt
	EXPECT(m.start({0xbf, 0x00, 0x20, 0xb9, 0x03, 0x00, 0xba, 0x60, 0x00, 0xfc, 0xf3, 0x6c, 0xbe, 0x00,
			0x20, 0xb9, 0x03, 0x00, 0xba, 0xe9, 0x00, 0xf3, 0x6e, 0xf4}));
	for (uint8_t c : {'a', 'b', 'c'}) {
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO);
		EXPECT(m.run->io.direction == AXVM_EXIT_IO_IN && m.run->io.port == 0x60 && m.run->io.count == 1);
		*m.io_data() = c;
	}
	for (uint8_t c : {'a', 'b', 'c'})
		EXPECT(m.expect_out(0xe9, 1) == c);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	EXPECT(memcmp(static_cast<uint8_t *>(m.mem) + 0x2000, "abc", 3) == 0);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0 && regs.rcx == 0 && regs.rsi == 0x2003);
	return true;
}

// OUTS reads DS:SI, or the segment a prefix names, never ES.
bool guest_string_out_segments()
{
	Machine m;
	EXPECT(m.start({
		0xb8, 0x00, 0x02, 0x8e, 0xd8, // mov ax,0x200; mov ds,ax (DS base 0x2000)
		0xb8, 0x00, 0x03, 0x8e, 0xe0, // mov ax,0x300; mov fs,ax (FS base 0x3000)
		0x31, 0xf6,                   // xor si,si
		0xba, 0xe9, 0x00,             // mov dx,0xe9
		0x6e,                         // outsb: DS:0
		0x31, 0xf6,                   // xor si,si
		0x64, 0x6e,                   // fs outsb: FS:0
		0xf4,
	}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	mem[0x2000] = 'd';
	mem[0x3000] = 'f';
	EXPECT(m.expect_out(0xe9, 1) == 'd');
	EXPECT(m.expect_out(0xe9, 1) == 'f');
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

bool guest_hypercall()
{
	Machine m;
	// mov ax,7; mov bx,11; vmmcall; out 0xe9,ax; hlt
	EXPECT(m.start({0xb8, 7, 0, 0xbb, 11, 0, 0x0f, 0x01, 0xd9, 0xe7, 0xe9, 0xf4}));
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HYPERCALL);
	EXPECT(m.run->hypercall.nr == 7 && m.run->hypercall.args[0] == 11);
	m.run->hypercall.ret = 0x4242;
	EXPECT(m.expect_out(0xe9, 2) == 0x4242);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

bool guest_cpuid_from_table()
{
	Machine m;
	// xor eax,eax (66 31 c0); cpuid; out 0xe9,eax (66 e7 e9); mov eax,ebx; out; hlt
	EXPECT(m.start({0x66, 0x31, 0xc0, 0x0f, 0xa2, 0x66, 0xe7, 0xe9, 0x66, 0x89, 0xd8, 0x66, 0xe7, 0xe9, 0xf4}));
	// What the device offers: -E2BIG with the count when the array is short.
	std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + AXVM_MAX_CPUID_ENTRIES * sizeof(axvm_cpuid_entry2)) / 8);
	axvm_cpuid2 &c = *reinterpret_cast<axvm_cpuid2 *>(buf.data());
	c.nent = 1;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == -E2BIG && c.nent > 1);
	c.nent = AXVM_MAX_CPUID_ENTRIES;
	EXPECT(xioctl(m.dev, AXVM_GET_SUPPORTED_CPUID, (unsigned long)&c) == 0 && c.nent >= 2);
	bool leaf1 = false;
	for (uint32_t i = 0; i < c.nent; i++)
		if (c.entries[i].function == 1)
			leaf1 = !(c.entries[i].ecx & (1u << 5)) && !(c.entries[i].ecx & (1u << 26)) &&
				(c.entries[i].ecx & (1u << 31));
	EXPECT(leaf1); // no VMX, no XSAVE, the hypervisor bit
	// The guest sees exactly the table userspace set.
	c.nent = 1;
	c.entries[0] = axvm_cpuid_entry2{};
	c.entries[0].function = 0;
	c.entries[0].eax = 0xabcd0001;
	c.entries[0].ebx = 0x12345678;
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == 0);
	c.nent = AXVM_MAX_CPUID_ENTRIES + 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)&c) == -E2BIG);
	EXPECT(m.expect_out(0xe9, 4) == 0xabcd0001);
	EXPECT(m.expect_out(0xe9, 4) == 0x12345678);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

// Reads and writes outside every slot exit as KVM_EXIT_MMIO, decoded from
// the instruction; a read completes into the right register on the next RUN.
bool guest_mmio()
{
	Machine m;
	EXPECT(m.start({
		0xb8, 0x00, 0x20,                   // mov ax, 0x2000
		0x8e, 0xd8,                         // mov ds, ax: data at 0x20000, beyond RAM
		0xc6, 0x06, 0x10, 0x00, 0xab,       // mov byte [0x10], 0xab
		0xa3, 0x12, 0x00,                   // mov [0x12], ax
		0x8b, 0x1e, 0x20, 0x00,             // mov bx, [0x20]
		0x66, 0x0f, 0xbe, 0x0e, 0x30, 0x00, // movsx ecx, byte [0x30]
		0x89, 0xd8,                         // mov ax, bx
		0xe7, 0xe9,                         // out 0xe9, ax
		0x66, 0x89, 0xc8,                   // mov eax, ecx
		0x66, 0xe7, 0xe9,                   // out 0xe9, eax
		0xf4,                               // hlt
	}));
	auto mmio = [&](uint64_t addr, uint32_t len, bool write) {
		return xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_MMIO &&
		       m.run->mmio.phys_addr == addr && m.run->mmio.len == len && m.run->mmio.is_write == write;
	};
	EXPECT(mmio(0x20010, 1, true) && m.run->mmio.data[0] == 0xab);
	EXPECT(mmio(0x20012, 2, true) && m.run->mmio.data[0] == 0x00 && m.run->mmio.data[1] == 0x20);
	EXPECT(mmio(0x20020, 2, false));
	m.run->mmio.data[0] = 0xef;
	m.run->mmio.data[1] = 0xbe;
	EXPECT(mmio(0x20030, 1, false));
	m.run->mmio.data[0] = 0x80;
	EXPECT(m.expect_out(0xe9, 2) == 0xbeef);
	EXPECT(m.expect_out(0xe9, 4) == 0xffffff80);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

bool sregs_checked_like_kvm()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	EXPECT(s.cs.base == 0 && s.cr0 == 0x60000010 && s.efer == 0); // reset state, SVME hidden
	axvm_sregs bad = s;
	bad.cr0 = 0x80000000; // PG without PE
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	bad = s;
	bad.efer = 1u << 12; // SVME: no nesting
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	bad = s;
	bad.efer = 0x500; // LME|LMA with paging off
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	bad = s;
	bad.interrupt_bitmap[0] = 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&bad) == -EINVAL);
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, 0) == -EFAULT);
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, 1) == -EFAULT);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

bool guest_outside_memory()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	s.cs.selector = 0x2000;
	s.cs.base = 0x20000; // beyond the 64 KiB slot: nothing to fetch
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	axvm_regs regs{};
	regs.rflags = 2;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_MEMORY_FAULT);
	EXPECT(m.run->memory_fault.gpa == 0x20000 && (m.run->memory_fault.flags & AXVM_MEMORY_FAULT_EXEC));
	return true;
}

void on_alarm(int) {}

struct Vcpu {
	Fd fd;
	axvm_run *run = nullptr;
	// The mapping holds the vCPU (and so the VM) until it goes.
	~Vcpu()
	{
		if (run)
			munmap(run, 4096);
	}
};

// A second (third, ...) vCPU of @m starting at @rip in real mode.
bool add_vcpu(Machine &m, int id, uint64_t rip, Vcpu &v)
{
	v.fd.fd = xioctl(m.vm, AXVM_CREATE_VCPU, id);
	void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd, 0);
	if (v.fd < 0 || p == MAP_FAILED)
		return false;
	v.run = static_cast<axvm_run *>(p);
	return real_mode_at(v.fd, rip);
}

bool pin_to_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

// Counts in EAX and reports each value through port 0xe9 (or @port):
// mov dx, port; again: inc eax (66 40); out dx, eax (66 ef); jmp again (eb fa)
std::vector<uint8_t> counter(uint16_t port)
{
	return {0xba, static_cast<uint8_t>(port), static_cast<uint8_t>(port >> 8), 0x66, 0x40, 0x66, 0xef, 0xeb, 0xfa};
}

// Several vCPUs of one VM run at once from their own threads, each thread
// hopping between CPUs before every RUN: the vCPU is unbound from the old
// CPU and bound on the new one, and its state survives (the counter never
// skips or repeats).
bool vcpus_in_threads_migrating()
{
	const int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
	Machine m;
	std::vector<uint8_t> code = counter(0x600);
	code.resize(0x100);
	std::vector<uint8_t> second = counter(0x601);
	code.insert(code.end(), second.begin(), second.end());
	EXPECT(m.start(code));
	Vcpu v1;
	EXPECT(add_vcpu(m, 1, 0x1100, v1));
	struct Job {
		int fd;
		axvm_run *run;
		uint16_t port;
		int ncpu;
		bool ok = true;
	} jobs[2] = {{m.vcpu, m.run, 0x600, ncpu}, {v1.fd, v1.run, 0x601, ncpu}};
	auto body = [](void *arg) -> void * {
		Job &j = *static_cast<Job *>(arg);
		for (uint32_t i = 1; i <= 300 && j.ok; i++) {
			pin_to_cpu(static_cast<int>(i % j.ncpu));
			uint32_t v = 0;
			j.ok = xioctl(j.fd, AXVM_RUN) == 0 && j.run->exit_reason == AXVM_EXIT_IO && j.run->io.port == j.port;
			memcpy(&v, reinterpret_cast<uint8_t *>(j.run) + j.run->io.data_offset, 4);
			j.ok = j.ok && v == i;
		}
		return nullptr;
	};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		EXPECT(pthread_create(&threads[i], nullptr, body, &jobs[i]) == 0);
	for (pthread_t t : threads)
		pthread_join(t, nullptr);
	EXPECT(jobs[0].ok && jobs[1].ok);
	return true;
}

// A second thread's RUN on a vCPU that is inside RUN is refused.
bool concurrent_run_is_busy()
{
	Machine m;
	EXPECT(m.start({0xeb, 0xfe})); // jmp $
	struct sigaction sa{};
	sa.sa_handler = on_alarm;
	EXPECT(sigaction(SIGUSR1, &sa, nullptr) == 0);
	struct Job {
		int fd;
		long result = 0;
	} job{m.vcpu};
	pthread_t runner;
	EXPECT(pthread_create(&runner, nullptr, [](void *arg) -> void * {
		Job &j = *static_cast<Job *>(arg);
		j.result = xioctl(j.fd, AXVM_RUN);
		return nullptr;
	}, &job) == 0);
	usleep(300000); // the runner is in the guest by now
	const long second = xioctl(m.vcpu, AXVM_RUN);
	axvm_regs regs;
	const long regs_busy = xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs);
	pthread_kill(runner, SIGUSR1);
	pthread_join(runner, nullptr);
	EXPECT(second == -EBUSY && regs_busy == -EBUSY);
	EXPECT(job.result == -EINTR);
	return true;
}

bool spinning_guest_stopped_by_signal()
{
	Machine m;
	EXPECT(m.start({0xeb, 0xfe})); // jmp $
	struct sigaction sa{};
	sa.sa_handler = on_alarm; // no SA_RESTART: RUN returns -EINTR
	EXPECT(sigaction(SIGALRM, &sa, nullptr) == 0);
	alarm(1);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == -EINTR && m.run->exit_reason == AXVM_EXIT_INTR);
	m.run->immediate_exit = 1;
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == -EINTR && m.run->exit_reason == AXVM_EXIT_INTR);
	return true;
}

bool triple_fault_is_shutdown()
{
	Machine m;
	// lidt [0x1100] (a zero-limit IDT), int3: #BP -> #GP -> #DF -> shutdown
	EXPECT(m.start({0x0f, 0x01, 0x1e, 0x00, 0x11, 0xcc}));
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_SHUTDOWN);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_SHUTDOWN);
	// New registers bring it back, like a reset: 0x1006 holds a HLT.
	static_cast<uint8_t *>(m.mem)[0x1006] = 0xf4;
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0 && s.cs.base == 0xffff0000);
	s.cs.base = 0;
	s.cs.selector = 0;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	axvm_regs regs{};
	regs.rip = 0x1006;
	regs.rflags = 2;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

// ---- Interrupts, axvm's own flow ----

constexpr uint16_t kCounter = 0x600; // the guests' handler counts here

// IVT entry @vector -> 0:@handler; the handler at 0x1300 counts and returns.
void install_counting_handler(Machine &m, int vector)
{
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint16_t off = 0x1300;
	memcpy(mem + 4 * vector, &off, 2);
	const uint8_t handler[] = {0xff, 0x06, kCounter & 0xff, kCounter >> 8, 0xcf}; // inc word [0x600]; iret
	memcpy(mem + off, handler, sizeof(handler));
}

uint16_t counter(Machine &m)
{
	return __atomic_load_n(reinterpret_cast<uint16_t *>(static_cast<uint8_t *>(m.mem) + kCounter), __ATOMIC_SEQ_CST);
}

// Waits (up to 5 s) for the guest to have counted @n interrupts.
bool counted(Machine &m, uint16_t n)
{
	for (int i = 0; i < 5000 && counter(m) < n; i++)
		usleep(1000);
	return counter(m) == n;
}

void sleep_until(timespec &t, long add_ns)
{
	t.tv_nsec += add_ns;
	while (t.tv_nsec >= 1000000000) {
		t.tv_nsec -= 1000000000;
		t.tv_sec++;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
}

constexpr uint16_t kTicks = 200;
constexpr uint32_t kTimerVector = 0x21;

// A 1 kHz timer thread. Each tick waits until the guest has taken the
// previous one (so a slow emulated guest coalesces nothing), then delivers
// the next: with AXVM_QUEUE_INTERRUPT, or by signalling the vCPU thread
// (KVM's flow) when @signal_to is set. Finally it stops the vCPU thread.
struct Timer {
	Machine *m;
	pthread_t vcpu_thread;
	bool use_signal;
	int requested = 0;
	bool ok = true, stop = false;
	int failed_tick = 0, seen = 0;

	static void *body(void *arg)
	{
		Timer &t = *static_cast<Timer *>(arg);
		timespec next;
		clock_gettime(CLOCK_MONOTONIC, &next);
		for (uint16_t i = 1; i <= kTicks && t.ok; i++) {
			sleep_until(next, 1000000);
			t.ok = counted(*t.m, i - 1);
			if (!t.ok) {
				t.failed_tick = i;
				t.seen = counter(*t.m);
			}
			if (t.use_signal) {
				__atomic_store_n(&t.requested, i, __ATOMIC_SEQ_CST);
				pthread_kill(t.vcpu_thread, SIGUSR1);
			} else {
				axvm_queue_interrupt q{kTimerVector, 0};
				t.ok = t.ok && xioctl(t.m->vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == 0;
			}
		}
		t.ok = t.ok && counted(*t.m, kTicks);
		usleep(50000);
		t.ok = t.ok && counter(*t.m) == kTicks; // and none delivered twice
		__atomic_store_n(&t.stop, true, __ATOMIC_SEQ_CST);
		pthread_kill(t.vcpu_thread, SIGUSR1);
		return nullptr;
	}
};

// Runs @code with a 1 kHz timer; RUN is interrupted only by signals.
bool timer_test(const std::vector<uint8_t> &code, bool halt_in_kernel, bool use_signal)
{
	Machine m;
	EXPECT(m.start(code));
	install_counting_handler(m, kTimerVector);
	if (halt_in_kernel) {
		axvm_enable_cap cap{};
		cap.cap = AXVM_CAP_HALT_IN_KERNEL;
		cap.args[0] = 1;
		EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == 0);
	}
	struct sigaction sa{};
	sa.sa_handler = on_alarm;
	EXPECT(sigaction(SIGUSR1, &sa, nullptr) == 0);
	Timer timer{&m, pthread_self(), use_signal};
	pthread_t tid;
	EXPECT(pthread_create(&tid, nullptr, Timer::body, &timer) == 0);
	int injected = 0;
	bool ok = true;
	while (ok && !__atomic_load_n(&timer.stop, __ATOMIC_SEQ_CST)) {
		if (use_signal && injected < __atomic_load_n(&timer.requested, __ATOMIC_SEQ_CST)) {
			if (m.run->ready_for_interrupt_injection) {
				axvm_interrupt irq{kTimerVector};
				ok = xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == 0;
				injected++;
				m.run->request_interrupt_window = 0;
			} else {
				m.run->request_interrupt_window = 1;
			}
		}
		const long r = xioctl(m.vcpu, AXVM_RUN);
		if (r == -EINTR)
			continue;
		// The KVM flow's one expected exit: the window it asked for.
		ok = r == 0 && m.run->exit_reason == AXVM_EXIT_IRQ_WINDOW_OPEN && use_signal;
	}
	pthread_join(tid, nullptr);
	EXPECT(ok);
	if (!timer.ok) {
		g_why = "tick " + std::to_string(timer.failed_tick) + ": the guest had counted " +
			std::to_string(timer.seen);
		return false;
	}
	return true;
}

const std::vector<uint8_t> kHaltLoop = {0xfb, 0xf4, 0xeb, 0xfd}; // sti; L: hlt; jmp L
const std::vector<uint8_t> kSpinLoop = {0xfb, 0xeb, 0xfe};       // sti; jmp $

bool timer_queued_to_halted_guest() { return timer_test(kHaltLoop, true, false); }
bool timer_queued_to_spinning_guest() { return timer_test(kSpinLoop, false, false); }
bool timer_by_signal_to_spinning_guest() { return timer_test(kSpinLoop, false, true); }

// An interrupt whose delivery an exit interrupted is delivered again, once:
// the guest's stack is in memory userspace adds only after the fault.
bool interrupted_delivery_is_reinjected()
{
	Machine m;
	EXPECT(m.start({
		0xb8, 0x00, 0x20, 0x8e, 0xd0, // mov ax,0x2000; mov ss,ax: the stack at 0x20000, not RAM yet
		0xbc, 0x00, 0x10,             // mov sp,0x1000
		0xfb, 0x90,                   // sti; nop
		0xf4,                         // hlt
	}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint16_t handler = 0x1100;
	memcpy(mem + 4 * 0x20, &handler, 2);
	const uint8_t code[] = {0xb0, 'I', 0xe6, 0xe9, 0xcf}; // mov al,'I'; out 0xe9,al; iret
	memcpy(mem + handler, code, sizeof(code));
	axvm_interrupt irq{0x20};
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_MEMORY_FAULT);
	EXPECT(m.run->memory_fault.gpa >> 12 == 0x20); // pushing FLAGS at 0x20ffe
	axvm_vcpu_events e;
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, (unsigned long)&e) == 0 && e.interrupt.injected &&
	       e.interrupt.nr == 0x20);
	void *stack = map_anon(0x10000);
	EXPECT(stack && set_region(m.vm, region(1, 0x20000, 0x10000, stack)) == 0);
	EXPECT(m.expect_out(0xe9, 1) == 'I');
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT); // 'I' only once
	munmap(stack, 0x10000);
	return true;
}

bool queue_interrupt_checks()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_queue_interrupt q{0x10, 0}; // an exception vector
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == -EINVAL);
	q = {0x100, 0};
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == -EINVAL);
	q = {0x30, 2};
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == -EINVAL);
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, 0) == -EFAULT);
	axvm_enable_cap cap{};
	cap.cap = 12345;
	EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == -EINVAL);
	cap.cap = AXVM_CAP_HALT_IN_KERNEL;
	cap.flags = 1;
	EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == -EINVAL);
	axvm_interrupt irq{256};
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == -EINVAL);
	irq.irq = 0x20;
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == -EEXIST);
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_HALT_IN_KERNEL) == 1);
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_VCPU_EVENTS) == 1);
	return true;
}

// x2APIC ICR writes reach userspace as SendIpi with the ICR's fields.
bool send_ipi_exit()
{
	Machine m;
	EXPECT(m.start({
		0x66, 0xb9, 0x30, 0x08, 0x00, 0x00, // mov ecx, 0x830
		0x66, 0xb8, 0x41, 0x00, 0x00, 0x00, // mov eax, 0x41: fixed, vector 0x41
		0x66, 0xba, 0x03, 0x00, 0x00, 0x00, // mov edx, 3: to CPU 3
		0x0f, 0x30,                         // wrmsr
		0x66, 0xb8, 0x42, 0x00, 0x0c, 0x00, // mov eax, 0xc0042: all but self, vector 0x42
		0x66, 0x31, 0xd2,                   // xor edx, edx
		0x0f, 0x30,                         // wrmsr
		0xf4,
	}));
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_SEND_IPI);
	EXPECT(m.run->send_ipi.target_cpu == 3 && m.run->send_ipi.target_cpu_aux == 0 && !m.run->send_ipi.to_all &&
	       !m.run->send_ipi.to_self && m.run->send_ipi.vector == 0x41);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_SEND_IPI);
	EXPECT(m.run->send_ipi.target_cpu == 0 && m.run->send_ipi.to_all && !m.run->send_ipi.to_self &&
	       m.run->send_ipi.vector == 0x42);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

// KVM_GET/SET_VCPU_EVENTS: a pending NMI set by userspace is delivered.
bool vcpu_events()
{
	Machine m;
	EXPECT(m.start({0xf4, 0xf4}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint16_t nmi_handler = 0x1200;
	memcpy(mem + 4 * 2, &nmi_handler, 2);
	const uint8_t handler[] = {0xb0, 'N', 0xe6, 0xe9, 0xcf}; // mov al,'N'; out 0xe9,al; iret
	memcpy(mem + nmi_handler, handler, sizeof(handler));
	axvm_vcpu_events e;
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, (unsigned long)&e) == 0);
	EXPECT(!e.nmi.pending && !e.nmi.masked && !e.interrupt.injected && (e.flags & AXVM_VCPUEVENT_VALID_SHADOW));
	e.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&e) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, (unsigned long)&e) == 0 && e.nmi.pending);
	EXPECT(m.expect_out(0xe9, 1) == 'N');
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	axvm_vcpu_events bad{};
	bad.flags = 0x80; // KVM_VCPUEVENT_VALID_* axvm does not support
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&bad) == -EINVAL);
	bad = axvm_vcpu_events{};
	bad.exception.injected = 1;
	bad.exception.nr = 40;
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&bad) == -EINVAL);
	return true;
}

// ---- Isolation ----

// A guest sees no host MSR, no host counter and no virtualization
// instruction: unknown MSRs and RDPMC raise #GP, SVM instructions, RDTSCP
// and XSETBV #UD; the MSRs VMLOAD switches read as the guest's own (0).
// 32-bit flat segments: code at selector 8, data at 16 (a GDT in memory is
// the caller's, if the guest reloads them).
void flat_protected_segments(axvm_sregs &s)
{
	axvm_segment flat = {};
	flat.limit = 0xffffffff, flat.present = 1, flat.s = 1, flat.g = 1, flat.db = 1;
	s.cs = flat, s.cs.type = 0xb, s.cs.selector = 8;
	s.ds = s.es = s.fs = s.gs = s.ss = flat;
	s.ds.type = s.es.type = s.fs.type = s.gs.type = s.ss.type = 3;
	s.ds.selector = s.es.selector = s.fs.selector = s.gs.selector = s.ss.selector = 16;
}

bool guest_isolation()
{
	cpu_set_t all, one;
	EXPECT(sched_getaffinity(0, sizeof(all), &all) == 0);
	struct Restore {
		cpu_set_t &set;
		~Restore() { sched_setaffinity(0, sizeof(set), &set); }
	} restore{all};
	CPU_ZERO(&one);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0, &one);
	EXPECT(sched_setaffinity(0, sizeof(one), &one) == 0);
	Machine m;
	std::vector<uint8_t> code;
	auto rdmsr_out = [&](uint32_t msr) { // mov ecx,msr; rdmsr; out 0xe9,eax; mov eax,edx; out 0xe9,eax
		const uint8_t c[] = {0x66, 0xb9, uint8_t(msr), uint8_t(msr >> 8), uint8_t(msr >> 16), uint8_t(msr >> 24),
				     0x0f, 0x32, 0x66, 0xe7, 0xe9, 0x66, 0x89, 0xd0, 0x66, 0xe7, 0xe9};
		code.insert(code.end(), c, c + sizeof(c));
	};
	// Each instruction expected to fault is recorded with its address; the
	// handlers print their letter and the low byte of the faulting IP.
	std::string expected = std::string(6, '0');
	auto faults = [&](char kind, std::initializer_list<uint8_t> b) {
		expected += kind;
		expected += static_cast<char>(0x1000 + code.size());
		code.insert(code.end(), b);
	};
	rdmsr_out(0xc0000102); // KERNEL_GS_BASE
	rdmsr_out(0xc0000082); // LSTAR
	rdmsr_out(0x175);      // SYSENTER_ESP
	// The 66 B9 imm32 that loads ECX is 6 bytes; the fault is 6 bytes in.
	auto msr_fault = [&](uint32_t msr, uint8_t op) {
		const uint8_t c[] = {0x66, 0xb9, uint8_t(msr), uint8_t(msr >> 8), uint8_t(msr >> 16), uint8_t(msr >> 24)};
		code.insert(code.end(), c, c + sizeof(c));
		faults('G', {0x0f, op, 0x90}); // both handlers skip 3 bytes
	};
	msr_fault(0x1234, 0x32);     // rdmsr of an MSR no CPU has
	msr_fault(0xc0000103, 0x32); // rdmsr TSC_AUX (RDTSCP is not offered)
	msr_fault(0x186, 0x30);      // wrmsr PERFEVTSEL0 (no PMU is offered)
	code.insert(code.end(), {0x66, 0x31, 0xc9});
	faults('G', {0x0f, 0x33, 0x90}); // rdpmc 0
	// CR4.OSXSAVE would give the guest the host's XCR0 and AVX state: #GP.
	// CR4.PGE is the guest's to set, and reads back.
	code.insert(code.end(), {0x66, 0xb8, 0x00, 0x00, 0x04, 0x00}); // mov eax,0x40000
	faults('G', {0x0f, 0x22, 0xe0});                               // mov cr4,eax
	code.insert(code.end(), {0x66, 0xb8, 0x80, 0x00, 0x00, 0x00,   // mov eax,0x80
				 0x0f, 0x22, 0xe0, 0x66, 0x31, 0xc0,   // mov cr4,eax; xor eax,eax
				 0x0f, 0x20, 0xe0, 0xe6, 0xe9});       // mov eax,cr4; out 0xe9,al
	expected += '\x80';
	// VMRUN VMLOAD VMSAVE STGI CLGI SKINIT INVLPGA: #UD. (XSETBV, MONITOR
	// and MWAIT are intercepted too, but QEMU decides some of their faults
	// in real mode before the intercept, differently from hardware.)
	for (uint8_t op : {0xd8, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf})
		faults('U', {0x0f, 0x01, op});
	// RDTSCP is intercepted (#UD, not offered), but QEMU ignores that
	// intercept: there it runs, and must show the guest's TSC_AUX (0), not
	// the host's (the CPU number; this test runs on CPU 1). Either way the
	// guest then prints ECX: unchanged (~0, '?') after #UD, or 0.
	const std::string rdtscp_ud = expected + 'U' + static_cast<char>(0x1000 + code.size() + 6) + '?';
	const std::string rdtscp_ran = expected + '0';
	code.insert(code.end(), {0x66, 0xb9, 0xff, 0xff, 0xff, 0xff}); // mov ecx,~0
	code.insert(code.end(), {0x0f, 0x01, 0xf9});                   // rdtscp
	code.insert(code.end(), {0x66, 0x89, 0xc8, 0x66, 0xe7, 0xe9}); // mov eax,ecx; out 0xe9,eax
	code.insert(code.end(), {0x0f, 0x09, 0x0f, 0x08, 0xf4}); // wbinvd; invd (harmless no-ops here); hlt
	EXPECT(m.start(code));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	// #GP (13) and #UD (6): print the letter and IP's low byte, skip 3 bytes.
	// mov al,L; out 0xe9,al; push bp; mov bp,sp; mov ax,[bp+2]; out 0xe9,al;
	// add word [bp+2],3; pop bp; iret
	uint8_t handler[] = {0xb0, 'G', 0xe6, 0xe9, 0x55, 0x89, 0xe5, 0x8b, 0x46, 0x02,
			     0xe6, 0xe9, 0x83, 0x46, 0x02, 0x03, 0x5d, 0xcf};
	const uint16_t gp_at = 0x1800, ud_at = 0x1900;
	memcpy(mem + gp_at, handler, sizeof(handler));
	handler[1] = 'U';
	memcpy(mem + ud_at, handler, sizeof(handler));
	memcpy(mem + 4 * 13, &gp_at, 2);
	memcpy(mem + 4 * 6, &ud_at, 2);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	std::string seen;
	for (int i = 0; i < 60; i++) {
		const long r = xioctl(m.vcpu, AXVM_RUN);
		if (r || m.run->exit_reason != AXVM_EXIT_IO)
			break;
		const uint32_t v = m.io_value();
		seen += m.run->io.size == 4 ? (v ? '?' : '0') : static_cast<char>(v);
	}
	// The guest's own (zero) values, never the host's; then each fault.
	expected = seen == rdtscp_ran ? rdtscp_ran : rdtscp_ud;
	if (seen != expected || m.run->exit_reason != AXVM_EXIT_HLT) {
		auto show = [](const std::string &s) {
			std::string o;
			char b[8];
			for (unsigned char c : s) {
				snprintf(b, sizeof(b), c >= 'A' && c <= 'Z' ? " %c" : "%02x", c);
				o += b;
			}
			return o;
		};
		g_why = "guest saw '" + show(seen) + "', expected '" + show(expected) + "', last exit " +
			std::to_string(m.run->exit_reason);
		return false;
	}
	return true;
}

// The same in 32-bit protected mode, where QEMU decides these the way a CPU
// does: MONITOR, MWAIT, XSETBV (CR4.OSXSAVE is never set) and the VMX family
// (VMCALL, VMLAUNCH, VMRESUME, VMXOFF) all raise #UD in the guest.
bool guest_isolation_protected()
{
	Machine m;
	std::vector<uint8_t> code;
	for (uint8_t op : {0xc8, 0xc9, 0xd1, 0xc1, 0xc2, 0xc3, 0xc4})
		code.insert(code.end(), {0x0f, 0x01, op});
	code.insert(code.end(), {0xb0, 'D', 0xe6, 0xe9, 0xf4}); // mov al,'D'; out 0xe9,al; hlt
	EXPECT(m.start(code));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	// GDT at 0x500 (flat code 0x8, data 0x10), IDT at 0x2000 with #UD at
	// 0x1800: mov al,'U'; out 0xe9,al; add dword [esp],3; iretd
	const uint64_t gdt[3] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull};
	memcpy(mem + 0x500, gdt, sizeof(gdt));
	const uint8_t ud[] = {0xb0, 'U', 0xe6, 0xe9, 0x83, 0x04, 0x24, 0x03, 0xcf};
	memcpy(mem + 0x1800, ud, sizeof(ud));
	const uint32_t gate[2] = {0x00081800, 0x00008e00}; // offset 0x1800, selector 8, present interrupt gate
	memcpy(mem + 0x2000 + 8 * 6, gate, sizeof(gate));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	flat_protected_segments(s);
	s.gdt.base = 0x500, s.gdt.limit = sizeof(gdt) - 1;
	s.idt.base = 0x2000, s.idt.limit = 0x7ff;
	s.cr0 = 0x11, s.cr4 = 0;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	// VMCALL (0F 01 C1) is Intel's hypercall: on VMX it exits as one ('H'),
	// as KVM takes it; on SVM it is #UD like the rest.
	unsigned int eax, ebx, ecx, edx;
	const bool vmx = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 5));
	std::string seen;
	for (int i = 0; i < 20; i++) {
		if (xioctl(m.vcpu, AXVM_RUN))
			break;
		if (m.run->exit_reason == AXVM_EXIT_HYPERCALL)
			seen += 'H';
		else if (m.run->exit_reason == AXVM_EXIT_IO)
			seen += static_cast<char>(m.io_value());
		else
			break;
	}
	if (seen != (vmx ? "UUUHUUUD" : "UUUUUUUD") || m.run->exit_reason != AXVM_EXIT_HLT) {
		g_why = "guest saw '" + seen + "', last exit " + std::to_string(m.run->exit_reason);
		return false;
	}
	return true;
}

// ---- Hardening (issue 16) ----

// TF set by POPF: the guest's #DB handler finds DR6.BS, whether the CPU
// single-stepped the instruction (NOP: the intercepted #DB is reflected)
// or axvm emulated it (OUT: the trap comes when the OUT completes), as KVM.
bool single_step_reports_bs()
{
	for (uint8_t op : {0x90, 0xe6}) {
		Machine m;
		// pushf; pop ax; or ax,0x100; push ax; popf; OP; hlt
		std::vector<uint8_t> code = {0x9c, 0x58, 0x0d, 0x00, 0x01, 0x50, 0x9d};
		if (op == 0x90)
			code.push_back(0x90);
		else
			code.insert(code.end(), {0xe6, 0x80}); // out 0x80,al
		code.push_back(0xf4);
		EXPECT(m.start(code));
		uint8_t *mem = static_cast<uint8_t *>(m.mem);
		// #DB at 0x1100: mov eax,dr6; out 0xe9,eax; pop bx (the return IP); mov ax,bx; out 0xe9,ax; hlt
		const uint8_t handler[] = {0x0f, 0x21, 0xf0, 0x66, 0xe7, 0xe9, 0x5b, 0x89, 0xd8, 0xe7, 0xe9, 0xf4};
		memcpy(mem + 0x1100, handler, sizeof(handler));
		const uint16_t off = 0x1100;
		memcpy(mem + 4 * 1, &off, 2);
		if (op == 0xe6)
			EXPECT(m.expect_out(0x80, 1) >= 0);
		const long dr6 = m.expect_out(0xe9, 4);
		if (dr6 != 0xffff4ff0) {
			g_why = "DR6 in the #DB handler was " + std::to_string(dr6) + ", not 0xffff4ff0";
			return false;
		}
		EXPECT(m.expect_out(0xe9, 2) == (op == 0x90 ? 0x1008 : 0x1009)); // the trap is after the instruction
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	}
	return true;
}

// An exit axvm does not handle is KVM's KVM_EXIT_INTERNAL_ERROR (suberror
// 4, the exit reason, the CPU), and the vCPU goes on with new registers:
// a task switch (a far jump to a TSS) on VMX, which always exits there.
// SVM performs it in the guest (no intercept), and the guest goes on in
// the new task.
bool unhandled_exit_is_internal_error()
{
	Machine m;
	// jmp far 0x20:0 (a 32-bit TSS); the new task starts at 0x1800: hlt
	EXPECT(m.start({0xea, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	// GDT: null, code 0x8, data 0x10, TSS A 0x18 (busy: the current task),
	// TSS B 0x20 (available), 104 bytes each at 0x3000 and 0x3100.
	const uint64_t gdt[5] = {0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull, 0x00008b0030000067ull,
				 0x0000890031000067ull};
	memcpy(mem + 0x500, gdt, sizeof(gdt));
	uint32_t tss_b[26] = {}; // SDM vol. 3A, figure 7-2
	tss_b[8] = 0x1800; // EIP
	tss_b[9] = 2;      // EFLAGS
	tss_b[14] = 0x7000; // ESP
	tss_b[19] = 0x8;   // CS
	tss_b[18] = tss_b[20] = tss_b[21] = tss_b[22] = tss_b[23] = 0x10; // ES, SS, DS, FS, GS
	tss_b[25] = 104u << 16; // no I/O bitmap
	memcpy(mem + 0x3100, tss_b, sizeof(tss_b));
	mem[0x1800] = 0xf4;
	mem[0x1900] = 0xf4;
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	flat_protected_segments(s);
	s.gdt.base = 0x500, s.gdt.limit = sizeof(gdt) - 1;
	s.tr = {};
	s.tr.base = 0x3000, s.tr.limit = 0x67, s.tr.selector = 0x18, s.tr.type = 0xb, s.tr.present = 1;
	s.cr0 = 0x11;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	unsigned int eax, ebx, ecx, edx;
	const bool vmx = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 5));
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0);
	axvm_regs regs;
	if (!vmx) {
		EXPECT(m.run->exit_reason == AXVM_EXIT_HLT);
		EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0 && regs.rip == 0x1801);
		return true;
	}
	EXPECT(m.run->exit_reason == AXVM_EXIT_INTERNAL_ERROR);
	EXPECT(m.run->internal.suberror == 4 && m.run->internal.ndata == 2 && m.run->internal.data[0] == 9);
	// Again, the same: the vCPU is not broken, it just cannot do that.
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_INTERNAL_ERROR);
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	regs.rip = 0x1900;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	return true;
}

// Slots a VMM sizes at will: beyond KVM's 2^31 - 1 pages, -EINVAL; 1 TiB
// with nothing behind it, -ENOMEM, for root (the page array is refused
// without the allocator's warning, which would panic a panic_on_warn host)
// and for a user under RLIMIT_MEMLOCK (refused before anything is
// allocated). The boot's kernel-report check sees any warning.
bool huge_slots_refused()
{
	Fd dev(open_dev());
	Fd vm(static_cast<int>(xioctl(dev, AXVM_CREATE_VM)));
	EXPECT(vm >= 0);
	void *somewhere = reinterpret_cast<void *>(0x100000000000ull);
	EXPECT(set_region(vm, region(0, 0, 1ull << 43, somewhere)) == -EINVAL);
	EXPECT(set_region(vm, region(0, 0, 1ull << 40, somewhere)) == -ENOMEM);
	pid_t pid = fork();
	EXPECT(pid >= 0);
	if (pid == 0) {
		int d = open_dev();
		if (d < 0 || setgid(65534) || setuid(65534))
			_exit(2);
		int v = static_cast<int>(xioctl(d, AXVM_CREATE_VM));
		_exit(v >= 0 && set_region(v, region(0, 0, 1ull << 40, somewhere)) == -ENOMEM ? 0 : 1);
	}
	int status = 0;
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return true;
}

// A VM belongs to the process that made it: a forked child gets -EIO.
bool vm_owned_by_creator()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	pid_t pid = fork();
	EXPECT(pid >= 0);
	if (pid == 0) {
		void *mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		const bool ok = xioctl(m.vcpu, AXVM_RUN) == -EIO && xioctl(m.vm, AXVM_CREATE_VCPU, 1) == -EIO &&
				set_region(m.vm, region(1, 0x100000, 4096, mem)) == -EIO;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT); // the owner still can
	return true;
}

// Pinned guest memory counts against RLIMIT_MEMLOCK of a VMM without
// CAP_IPC_LOCK, as VFIO's does.
bool memlock_limit()
{
	pid_t pid = fork();
	EXPECT(pid >= 0);
	if (pid == 0) {
		int dev = open_dev();
		struct rlimit lim = {1 << 20, 1 << 20};
		if (dev < 0 || setgid(65534) || setuid(65534) || setrlimit(RLIMIT_MEMLOCK, &lim))
			_exit(2);
		int vm = static_cast<int>(xioctl(dev, AXVM_CREATE_VM));
		void *mem = mmap(nullptr, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		const bool ok = vm >= 0 && set_region(vm, region(0, 0, 2 << 20, mem)) == -ENOMEM &&
				set_region(vm, region(0, 0, 512 << 10, mem)) == 0 &&
				set_region(vm, region(1, 1 << 20, 1 << 20, static_cast<char *>(mem) + (1 << 20))) == -ENOMEM &&
				set_region(vm, region(0, 0, 0, mem)) == 0 && // deleting returns the budget
				set_region(vm, region(1, 1 << 20, 1 << 20, static_cast<char *>(mem) + (1 << 20))) == 0;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	EXPECT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return true;
}

// Guest memory is pinned: a VMM that unmaps it (or maps something else at
// the same address) changes nothing for the guest, which keeps its pages
// until the slot or the VM goes. No fault, no use after free.
bool pinned_memory_outlives_munmap()
{
	Machine m;
	// loop: mov al,[0x2000]; out 0xe9,al; jmp loop
	EXPECT(m.start({0xa0, 0x00, 0x20, 0xe6, 0xe9, 0xeb, 0xf9}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	mem[0x2000] = 'A';
	EXPECT(m.expect_out(0xe9, 1) == 'A');
	EXPECT(munmap(mem, Machine::kMem) == 0);
	void *again = mmap(mem, Machine::kMem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	EXPECT(again == mem);
	mem[0x2000] = 'B'; // the VMM's new memory, not the guest's
	EXPECT(m.expect_out(0xe9, 1) == 'A');
	EXPECT(mprotect(mem, Machine::kMem, PROT_NONE) == 0);
	EXPECT(m.expect_out(0xe9, 1) == 'A');
	return true;
}

// Code modified by the guest so that an instruction runs from the last
// byte of RAM into unbacked space: a memory-fault exit, every time.
bool code_crossing_into_mmio()
{
	Machine m;
	// mov byte [0xffff],0xe6 (OUT imm8, whose operand would be at 0x10000); jmp 0:0xffff
	EXPECT(m.start({0xc6, 0x06, 0xff, 0xff, 0xe6, 0xea, 0xff, 0xff, 0x00, 0x00}));
	for (int i = 0; i < 2; i++) {
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_MEMORY_FAULT);
		EXPECT(m.run->memory_fault.gpa == Machine::kMem &&
		       (m.run->memory_fault.flags & AXVM_MEMORY_FAULT_EXEC));
	}
	return true;
}

// Paging on with CR3 beyond RAM: the guest's own page walk faults, which
// is a memory-fault exit at CR3, not a host access.
bool page_tables_beyond_ram()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, (unsigned long)&s) == 0);
	flat_protected_segments(s);
	s.cr0 = 0x80000011, s.cr3 = 0x80000000, s.cr4 = 0;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, (unsigned long)&s) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_MEMORY_FAULT);
	EXPECT(m.run->memory_fault.gpa == 0x80000000);
	return true;
}

// Every kernel allocation a VMM causes is charged to its memory cgroup:
// VMs count in memory.current, and memory.max stops a VMM creating them.
bool memcg_bounds_vmm()
{
	const char *root = "/sys/fs/cgroup", *group = "/sys/fs/cgroup/axvm-abi";
	auto write_file = [](const std::string &path, const std::string &text) {
		FILE *f = fopen(path.c_str(), "w");
		const bool ok = f && fputs(text.c_str(), f) >= 0;
		return f && fclose(f) == 0 && ok;
	};
	auto read_long = [](const std::string &path) {
		long v = -1;
		if (FILE *f = fopen(path.c_str(), "r")) {
			if (fscanf(f, "%ld", &v) != 1)
				v = -1;
			fclose(f);
		}
		return v;
	};
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0)
		EXPECT(mount("none", root, "cgroup2", 0, nullptr) == 0);
	EXPECT(write_file(std::string(root) + "/cgroup.subtree_control", "+memory"));
	rmdir(group);
	EXPECT(mkdir(group, 0755) == 0);
	EXPECT(write_file(std::string(group) + "/memory.max", "16M"));
	pid_t pid = fork();
	EXPECT(pid >= 0);
	if (pid == 0) {
		rlimit files = {70000, 70000};
		if (setrlimit(RLIMIT_NOFILE, &files) || !write_file(std::string(group) + "/cgroup.procs", "0"))
			_exit(10);
		int dev = open_dev();
		const long before = read_long(std::string(group) + "/memory.current");
		int vms = 0;
		for (; vms < 30000; vms++) {
			const int vm = ioctl(dev, AXVM_CREATE_VM, 0);
			if (vm < 0)
				_exit(errno == ENOMEM ? 0 : 11);
			if (ioctl(vm, AXVM_CREATE_VCPU, 0) < 0)
				_exit(errno == ENOMEM ? 0 : 12);
			// Each VM with a vCPU holds several pages (VMCB, nested page
			// table root, run page, the structures): the group must see them.
			if (vms == 100 && read_long(std::string(group) + "/memory.current") - before < 100 * 8192)
				_exit(13);
		}
		_exit(14); // 30,000 VMs fit into 16 MiB: nothing was charged
	}
	int status = 0;
	EXPECT(waitpid(pid, &status, 0) == pid);
	rmdir(group);
	// Stopped by ENOMEM, or killed by the group's OOM killer: both bound it.
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
		g_why = "child status " + std::to_string(status);
		return false;
	}
	return true;
}

bool unprivileged_denied()
{
	pid_t pid = fork();
	EXPECT(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		int fd = open(kDev, O_RDWR);
		_exit(fd < 0 && errno == EACCES ? 0 : 1);
	}
	int status = 0;
	EXPECT(waitpid(pid, &status, 0) == pid);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return true;
}

// ---- Sharing SVM with the kernel's KVM (kvm_amd loaded in the same guest) ----

// Runs the one-instruction HLT guest on @dev; true if it halted.
bool halts_on(const char *dev)
{
	const char *saved = kDev;
	kDev = dev;
	Machine m;
	const bool ok = m.start({0xf4}) && xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT;
	kDev = saved;
	return ok;
}

bool kvm_vm_blocks_axvm()
{
	Fd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
	EXPECT(kvm >= 0);
	Fd kvm_vm(xioctl(kvm, KVM_CREATE_VM, 0));
	EXPECT(kvm_vm >= 0);
	Fd dev(open_dev());
	EXPECT(xioctl(dev, AXVM_CREATE_VM) == -EBUSY); // KVM holds SVM now
	return true;
}

bool axvm_vm_blocks_kvm_then_both_work()
{
	{
		Machine m;
		EXPECT(m.start({0xf4}));
		Fd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
		EXPECT(kvm >= 0);
		EXPECT(xioctl(kvm, KVM_CREATE_VM, 0) < 0); // KVM refuses while axvm holds SVM
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	}
	EXPECT(halts_on("/dev/kvm")); // KVM unharmed
	EXPECT(halts_on("/dev/axvm")); // and axvm too
	return true;
}

int coexist(const char *step)
{
	bool ok = !strcmp(step, "kvm-first") ? kvm_vm_blocks_axvm() : axvm_vm_blocks_kvm_then_both_work();
	printf("%s - coexist.%s%s%s\n", ok ? "ok" : "not ok", step, ok ? "" : ": ", ok ? "" : g_why.c_str());
	return ok ? 0 : 1;
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
	Fd second{static_cast<int>(xioctl(m.vm, AXVM_CREATE_VCPU, 1))};
	void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, second, 0);
	if (second < 0 || p == MAP_FAILED || !real_mode_at(second, 0x1000))
		return 1;
	// IF set (nothing is ever injected): Bochs, the VMX proving ground,
	// makes external interrupts exit only while the guest has IF set.
	for (int fd : {static_cast<int>(m.vcpu), static_cast<int>(second)}) {
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
	} spinners[2] = {{m.vcpu, m.run, 0, 0, {}}, {second, static_cast<axvm_run *>(p), 0, 0, {}}};
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
	munmap(p, 4096);
	return spinners[0].errors || spinners[1].errors || !spinners[0].exits || !spinners[1].exits;
}

} // namespace

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
		{"run_page", run_page},
		{"close_in_every_order", close_in_every_order},
		{"thousand_cycles", thousand_cycles},
		{"unknown_ioctls", unknown_ioctls},
		{"bad_pointers", bad_pointers},
		{"memory_regions", memory_regions},
		{"guest_port_io_and_hlt", guest_port_io_and_hlt},
		{"guest_string_in", guest_string_in},
		{"guest_string_out_segments", guest_string_out_segments},
		{"guest_hypercall", guest_hypercall},
		{"guest_cpuid_from_table", guest_cpuid_from_table},
		{"guest_mmio", guest_mmio},
		{"sregs_checked_like_kvm", sregs_checked_like_kvm},
		{"guest_outside_memory", guest_outside_memory},
		{"spinning_guest_stopped_by_signal", spinning_guest_stopped_by_signal},
		{"triple_fault_is_shutdown", triple_fault_is_shutdown},
		{"vcpus_in_threads_migrating", vcpus_in_threads_migrating},
		{"timer_queued_to_halted_guest", timer_queued_to_halted_guest},
		{"timer_queued_to_spinning_guest", timer_queued_to_spinning_guest},
		{"timer_by_signal_to_spinning_guest", timer_by_signal_to_spinning_guest},
		{"interrupted_delivery_is_reinjected", interrupted_delivery_is_reinjected},
		{"queue_interrupt_checks", queue_interrupt_checks},
		{"send_ipi_exit", send_ipi_exit},
		{"vcpu_events", vcpu_events},
		{"concurrent_run_is_busy", concurrent_run_is_busy},
		{"unprivileged_denied", unprivileged_denied},
		{"guest_isolation", guest_isolation},
		{"guest_isolation_protected", guest_isolation_protected},
		{"vm_owned_by_creator", vm_owned_by_creator},
		{"memlock_limit", memlock_limit},
		{"pinned_memory_outlives_munmap", pinned_memory_outlives_munmap},
		{"code_crossing_into_mmio", code_crossing_into_mmio},
		{"page_tables_beyond_ram", page_tables_beyond_ram},
		{"memcg_bounds_vmm", memcg_bounds_vmm},
		{"single_step_reports_bs", single_step_reports_bs},
		{"unhandled_exit_is_internal_error", unhandled_exit_is_internal_error},
		{"huge_slots_refused", huge_slots_refused},
	};
	// abi_test --only NAME...: just those (by their names above).
	const bool only = argc >= 3 && !strcmp(argv[1], "--only");
	for (const auto &t : tests) {
		if (only && std::none_of(argv + 2, argv + argc, [&](const char *n) { return !strcmp(n, t.first); }))
			continue;
		g_why.clear();
		if (t.second()) {
			g_passed++;
			printf("ok - abi.%s\n", t.first);
		} else {
			g_failed++;
			printf("not ok - abi.%s: %s\n", t.first, g_why.c_str());
		}
		fflush(stdout);
	}
	printf("abi_test: %d passed, %d failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}
