// SPDX-License-Identifier: GPL-2.0
// Userspace ABI tests for /dev/axvm, run as root inside the test VM.
// Uses include/uapi/axvm.h only; <linux/kvm.h> is included just to prove at
// compile time that every number and layout matches KVM's.
//
//   abi_test            run every test, print "ok - NAME" / "not ok - NAME: why"
//   abi_test --hold N   create a VM, print "holding", keep it N seconds
#include <uapi/axvm.h>

#include <linux/kvm.h>

#include <cerrno>
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
#include <sys/stat.h>
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

bool thousand_cycles()
{
	const long size = sysconf(_SC_PAGESIZE);
	const int fds_before = open_fds();
	void *mem = map_anon(64 * 1024);
	EXPECT(mem);
	Fd dev(open_dev());
	for (int i = 0; i < 1000; i++) {
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
	munmap(mem, 64 * 1024);
	EXPECT(open_fds() == fds_before + 1);
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

bool run_without_backend()
{
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	Fd vcpu(xioctl(vm, AXVM_CREATE_VCPU, 0));
	EXPECT(vcpu >= 0);
	// Until a backend drives this CPU, RUN refuses clearly and never fakes an exit.
	EXPECT(xioctl(vcpu, AXVM_RUN) == -ENODEV);
	EXPECT(xioctl(vcpu, AXVM_RUN) == -ENODEV);
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

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--hold"))
		return hold_vm(atoi(argv[2]));

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
		{"run_without_backend", run_without_backend},
		{"unprivileged_denied", unprivileged_denied},
	};
	for (const auto &t : tests) {
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
