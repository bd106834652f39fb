// SPDX-License-Identifier: GPL-2.0
// The device, VM and vCPU ioctls on their own: versions, extensions, fds,
// the run page, closing in every order, a thousand VMs, unknown ioctls, bad
// pointers and memory slots.
#include "abi.hpp"
#include "../meminfo.hpp"

#include <linux/kvm.h>

#include <sys/stat.h>

namespace abi {

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
	// The in-kernel irqchip, split or whole, and its pieces.
	for (long cap : {AXVM_CAP_IRQCHIP, AXVM_CAP_PIT2, AXVM_CAP_PIT_STATE2, AXVM_CAP_SPLIT_IRQCHIP,
			 AXVM_CAP_IRQ_INJECT_STATUS, AXVM_CAP_SIGNAL_MSI, AXVM_CAP_TSC_DEADLINE_TIMER,
			 AXVM_CAP_SET_BOOT_CPU_ID, AXVM_CAP_REINJECT_CONTROL})
		EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, cap) == 1);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_X2APIC_API) == 3);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, KVM_CAP_S390_IRQCHIP) == 0);
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

// KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID), as KVM's x86 takes it: at most what
// KVM_CHECK_EXTENSION reports, once (the same value again is fine), and vCPU
// ids below it from then on.
bool max_vcpu_id_cap()
{
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm >= 0);
	const long max = xioctl(vm, AXVM_CHECK_EXTENSION, AXVM_CAP_MAX_VCPU_ID);
	EXPECT(max > 2);
	axvm_enable_cap cap{};
	cap.cap = AXVM_CAP_MAX_VCPU_ID;
	cap.args[0] = max + 1;
	EXPECT(xioctl(vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == -EINVAL);
	cap.args[0] = 2;
	EXPECT(xioctl(vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == 0);
	EXPECT(xioctl(vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == 0);
	cap.args[0] = 3;
	EXPECT(xioctl(vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == -EINVAL);
	Fd v1(xioctl(vm, AXVM_CREATE_VCPU, 1));
	EXPECT(v1 >= 0);
	EXPECT(xioctl(vm, AXVM_CREATE_VCPU, 2) == -EINVAL);
	return true;
}

// KVM_SET/GET_NR_MMU_PAGES as KVM's x86 has them: fewer than 64 pages is
// -EINVAL; GET answers what was set, or before that KVM's default (20 per
// 1000 pages of the slots, at least 64). A vCPU of a VM without memory then
// runs into KVM_EXIT_INTERNAL_ERROR (KVM's set_memory_region_test).
bool nr_mmu_pages()
{
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(vm >= 0);
	EXPECT(xioctl(vm, AXVM_CHECK_EXTENSION, AXVM_CAP_MMU_SHADOW_CACHE_CONTROL) == 1);
	EXPECT(xioctl(vm, AXVM_GET_NR_MMU_PAGES) == 64);
	const size_t size = 16 << 20;
	void *mem = map_anon(size);
	EXPECT(mem != MAP_FAILED);
	EXPECT(set_region(vm, region(0, 0, size, mem)) == 0);
	EXPECT(xioctl(vm, AXVM_GET_NR_MMU_PAGES) == 4096 * 20 / 1000); // 81
	EXPECT(xioctl(vm, AXVM_SET_NR_MMU_PAGES, 63) == -EINVAL);
	EXPECT(xioctl(vm, AXVM_SET_NR_MMU_PAGES, 1000) == 0);
	EXPECT(xioctl(vm, AXVM_GET_NR_MMU_PAGES) == 1000);
	munmap(mem, size);

	Fd bare(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(xioctl(bare, AXVM_SET_NR_MMU_PAGES, 64) == 0);
	Fd vcpu(xioctl(bare, AXVM_CREATE_VCPU, 0));
	EXPECT(vcpu >= 0);
	const long run_size = xioctl(dev, AXVM_GET_VCPU_MMAP_SIZE);
	void *run = mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	EXPECT(run != MAP_FAILED);
	EXPECT(xioctl(vcpu, AXVM_RUN) == 0);
	const uint32_t reason = static_cast<axvm_run *>(run)->exit_reason;
	munmap(run, run_size);
	EXPECT(reason == AXVM_EXIT_INTERNAL_ERROR);
	return true;
}

bool run_page()
{
	Fd dev(open_dev());
	const long size = xioctl(dev, AXVM_GET_VCPU_MMAP_SIZE);
	EXPECT(size == 2 * sysconf(_SC_PAGESIZE)); // the run page and the I/O data page, as KVM's
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
	// The I/O page alone; nothing beyond the two pages.
	const long page = sysconf(_SC_PAGESIZE);
	void *io = mmap(nullptr, page, PROT_READ, MAP_SHARED, vcpu, page);
	EXPECT(io != MAP_FAILED);
	munmap(io, page);
	EXPECT(mmap(nullptr, size + page, PROT_READ, MAP_SHARED, vcpu, 0) == MAP_FAILED && errno == EINVAL);
	EXPECT(mmap(nullptr, page, PROT_READ, MAP_SHARED, vcpu, size) == MAP_FAILED && errno == EINVAL);
	EXPECT(mmap(nullptr, size, PROT_READ, MAP_SHARED, vcpu, page) == MAP_FAILED && errno == EINVAL);
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

int abi_scaled(int n)
{
	const char *asked = getenv("AXVM_ABI_CYCLES");
	const long cycles = asked ? atol(asked) : 1000;
	const long permille = cycles < 100 ? 100 : cycles > 1000 ? 1000 : cycles;
	const long scaled = n * permille / 1000;
	return scaled < 1 ? 1 : static_cast<int>(scaled);
}

// A thousand VMs with memory and vCPUs, closed in both orders: no fd and no
// memory left behind (each VM holds several pages: VMCBs, FPU areas, nested
// page tables, pinned guest memory, so a leak of any shows up in MiBs).
// AXVM_ABI_CYCLES asks for fewer where every instruction is emulated
// (Bochs); the allowance scales with it, 4 KiB a VM.
bool thousand_cycles()
{
	const long size = sysconf(_SC_PAGESIZE);
	const int cycles = abi_scaled(1000);
	const int fds_before = open_fds();
	void *mem = map_anon(64 * 1024);
	EXPECT(mem);
	Fd dev(open_dev());
	long avail_before = 0;
	for (int i = -20; i < cycles; i++) {
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
	EXPECT(avail_before > 0 && avail_before - avail_after < 4 * cycles);
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
	EXPECT(set_region(vm, region(0, 0x40000000, mb2, mem, AXVM_MEM_LOG_DIRTY_PAGES)) == 0); // re-flag
	// ... but never to or from read-only, as KVM (a VMM deletes and re-adds).
	EXPECT(set_region(vm, region(0, 0x40000000, mb2, mem, AXVM_MEM_READONLY)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x1000, 0x1001, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x1800, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x80000000, 0x1000, mem + 1)) == -EINVAL);
	EXPECT(set_region(vm, region(2, 0x80000000, 0x1000, mem, 1u << 7)) == -EINVAL);
	EXPECT(set_region(vm, region(slots, 0x80000000, 0x1000, mem)) == -EINVAL);
	// Address space 1 (SMM's) has slots of its own, which may overlap
	// address space 0's; there is no third.
	EXPECT(set_region(vm, region(2u << 16, 0x80000000, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(1u << 16, 0x40000000, 0x1000, mem)) == 0);
	EXPECT(set_region(vm, region(1u << 16 | 1, 0x40000000, 0x1000, mem)) == -EEXIST);
	EXPECT(set_region(vm, region(1u << 16, 0, 0, nullptr)) == 0);
	EXPECT(set_region(vm, region(2, 1ULL << 60, 0x1000, mem)) == -EINVAL);
	EXPECT(set_region(vm, region(0, 0, 0, nullptr)) == 0);       // delete
	EXPECT(set_region(vm, region(0, 0, 0, nullptr)) == -EINVAL); // already gone
	EXPECT(set_region(vm, region(3, 0x1000, 0x1000, mem)) == 0); // gpa 0x1000 is free again
	// The same host memory may back two slots, as in KVM.
	EXPECT(set_region(vm, region(4, 0x2000, 0x1000, mem)) == 0);
	munmap(mem, 2 * mb2); // still pinned by the VM; freed when it goes
	return true;
}

} // namespace abi
