// SPDX-License-Identifier: GPL-2.0
// Hardening (issue 16): single-stepping, unhandled exits, huge slots,
// ownership, RLIMIT_MEMLOCK, pinned memory, code and page tables outside RAM,
// the memory cgroup, unprivileged open.
#include "abi.hpp"

#include <cpuid.h>
#include <csignal>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace abi {

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
		EXPECT(m.run_to(AXVM_EXIT_HLT));
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
	EXPECT(m.run_to(AXVM_EXIT_INTERNAL_ERROR));
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, (unsigned long)&regs) == 0);
	regs.rip = 0x1900;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, (unsigned long)&regs) == 0);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
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
	EXPECT(m.run_to(AXVM_EXIT_HLT)); // the owner still can
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

// A read-only slot over memory the VMM fills after registering it (QEMU
// registers its ROMs, then copies the BIOS in at reset): the guest reads
// what the VMM wrote, not the zero page the untouched memory was. A
// mapping the VMM itself cannot write still makes a read-only slot.
bool readonly_slot_sees_later_writes()
{
	Machine m;
	// mov ax,0x1000; mov ds,ax; mov al,[0]; out 0xe9,al; mov al,[0xfff]; out 0xe9,al; hlt
	EXPECT(m.start({0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0x00, 0x00, 0xe6, 0xe9, 0xa0, 0xff, 0x0f, 0xe6, 0xe9,
			0xf4}));
	uint8_t *rom = static_cast<uint8_t *>(map_anon(0x1000)); // never touched: reads are the zero page
	EXPECT(rom);
	EXPECT(set_region(m.vm, region(1, 0x10000, 0x1000, rom, AXVM_MEM_READONLY)) == 0);
	rom[0] = 'R', rom[0xfff] = 'O';
	EXPECT(m.expect_out(0xe9, 1) == 'R');
	EXPECT(m.expect_out(0xe9, 1) == 'O');
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	void *ro = mmap(nullptr, 0x1000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(ro != MAP_FAILED);
	EXPECT(set_region(m.vm, region(2, 0x20000, 0x1000, ro, AXVM_MEM_READONLY)) == 0);
	EXPECT(set_region(m.vm, region(2, 0x20000, 0, ro)) == 0);
	EXPECT(set_region(m.vm, region(1, 0x10000, 0, rom)) == 0);
	munmap(ro, 0x1000);
	munmap(rom, 0x1000);
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
		EXPECT(m.run_to(AXVM_EXIT_INTERNAL_ERROR) && m.run->internal.suberror == AXVM_INTERNAL_ERROR_EMULATION);
		EXPECT(m.run->internal.data[0] == Machine::kMem &&
		       (m.run->internal.data[1] & AXVM_MEMORY_FAULT_EXEC));
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
	EXPECT(m.run_to(AXVM_EXIT_INTERNAL_ERROR) && m.run->internal.suberror == AXVM_INTERNAL_ERROR_EMULATION);
	EXPECT(m.run->internal.data[0] == 0x80000000);
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

} // namespace abi
