// SPDX-License-Identifier: GPL-2.0
// `make bench`: the same guest payloads through /dev/kvm and /dev/axvm,
// alternating rounds so that drift hits both, reported as per-operation
// medians and the ratio axvm/KVM. Uses only the KVM-compatible ABI (the
// tool's Machine), so it runs wherever either device exists; a device that
// is missing or busy is reported as skipped.
//
//   bench [--rounds N] [--guests DIR] DEVICE...
//                                    prints a table, then JSON between
//                                    BENCH-JSON-BEGIN / BENCH-JSON-END
#include "../../tools/vm.hpp"
#include "../vmm/meminfo.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <pthread.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace axvm::client;

namespace {

double now_us()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

void put32(std::vector<uint8_t> &code, size_t at, uint32_t v) { memcpy(&code[at], &v, 4); }

// Real-mode loops of @n iterations (ESI counts), ending in HLT.
std::vector<uint8_t> cpuid_loop(uint32_t n)
{
	std::vector<uint8_t> c = {0x66, 0xbe, 0, 0, 0, 0,          // mov esi, n
				  0x66, 0x31, 0xc0, 0x0f, 0xa2,    // L: xor eax,eax; cpuid
				  0x66, 0x4e, 0x75, 0xf7, 0xf4};   // dec esi; jnz L; hlt
	put32(c, 2, n);
	return c;
}

std::vector<uint8_t> pio_loop(uint32_t n)
{
	std::vector<uint8_t> c = {0x66, 0xbe, 0, 0, 0, 0, 0xba, 0x80, 0x00, // mov esi, n; mov dx, 0x80
				  0xee, 0x66, 0x4e, 0x75, 0xfb, 0xf4};      // L: out dx,al; dec esi; jnz L; hlt
	put32(c, 2, n);
	return c;
}

std::vector<uint8_t> mmio_loop(uint32_t n)
{
	std::vector<uint8_t> c = {0x66, 0xbe, 0, 0, 0, 0, 0xb8, 0x00, 0xf0, 0x8e, 0xd8, // ds = 0xf000: no RAM
				  0xa2, 0x00, 0x00, 0x66, 0x4e, 0x75, 0xf9, 0xf4};     // L: mov [0],al; dec esi; jnz L
	put32(c, 2, n);
	return c;
}

// KVM exits to userspace only for KVM_HC_MAP_GPA_RANGE (nr 12, with
// KVM_CAP_EXIT_HYPERCALL): both devices get that exact hypercall.
std::vector<uint8_t> hypercall_loop(uint32_t n)
{
	std::vector<uint8_t> c = {0x66, 0xbe, 0, 0, 0, 0,
				  0x66, 0xb8, 12, 0, 0, 0,          // L: mov eax, 12
				  0x66, 0xbb, 0x00, 0x10, 0, 0,     // mov ebx, 0x1000 (gpa)
				  0x66, 0xb9, 1, 0, 0, 0,           // mov ecx, 1 (pages)
				  0x66, 0x31, 0xd2,                 // xor edx, edx
				  0x0f, 0x01, 0xd9,                 // vmmcall
				  0x66, 0x4e, 0x75, 0xea, 0xf4};
	put32(c, 2, n);
	return c;
}

// 32-bit flat: touch one byte in each of @pages pages from 1 GiB up.
std::vector<uint8_t> touch_loop(uint32_t pages)
{
	std::vector<uint8_t> c = {0xbf, 0, 0, 0, 0x40,                 // mov edi, 0x40000000
				  0xb9, 0, 0, 0, 0,                    // mov ecx, pages
				  0x88, 0x07,                          // L: mov [edi], al
				  0x81, 0xc7, 0x00, 0x10, 0x00, 0x00,  // add edi, 4096
				  0xe2, 0xf6, 0xf4};                   // loop L; hlt
	put32(c, 6, pages);
	return c;
}

const char *guest_dir = "guests"; // --guests: bench_timer.bin, bench_ipi.bin

std::vector<uint8_t> load_guest(const char *name)
{
	std::ifstream f(std::string(guest_dir) + "/" + name, std::ios::binary);
	return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The second vCPU of the IPI case: KVM_RUN until the main thread says stop
// (a signal ends the RUN in which it waits with its APIC, in the kernel).
struct SecondVcpu {
	int fd;
	axvm_run *run;
	volatile bool stop;
	static void *body(void *p)
	{
		auto *v = static_cast<SecondVcpu *>(p);
		while (!v->stop)
			if (call(v->fd, AXVM_RUN) == 0 && v->run->exit_reason != AXVM_EXIT_INTR)
				break; // any exit of its own is a failure the main thread sees as a hang
		return nullptr;
	}
};

void on_signal(int) {}

// @vcpus vCPUs of a VM with the in-kernel irqchip run @guest (long mode at
// 0x10000) until vCPU 0's OUT to 0xf4; µs, or <0 with @why. vCPU 1 gets
// vCPU 0's registers with a stack of its own and is made runnable (an AP
// with an in-kernel APIC otherwise waits for INIT and SIPI).
double irqchip_case(const char *dev, const char *guest, int vcpus, std::string &why)
{
	const std::vector<uint8_t> code = load_guest(guest);
	if (code.empty()) {
		why = std::string("no ") + guest_dir + "/" + guest;
		return -1;
	}
	Machine m;
	int err = m.create(dev, 2 << 20, true);
	if (!err) {
		memcpy(m.memory() + 0x10000, code.data(), code.size());
		err = m.setup_cpu(Mode::Long, 0x10000);
	}
	if (err) {
		why = std::string(m.failed_step()) + ": " + strerror(-err);
		return -1;
	}
	SecondVcpu second{-1, nullptr, false};
	pthread_t thread{};
	Fd fd1;
	void *run1 = MAP_FAILED;
	const long run_size = call(m.device_fd(), AXVM_GET_VCPU_MMAP_SIZE);
	if (vcpus == 2) {
		fd1 = Fd(static_cast<int>(call(m.vm_fd(), AXVM_CREATE_VCPU, 1)));
		axvm_sregs sregs{};
		axvm_regs regs{};
		axvm_mp_state runnable{AXVM_MP_STATE_RUNNABLE};
		std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + 256 * sizeof(axvm_cpuid_entry2)) / 8 + 1);
		auto *cpuid = reinterpret_cast<axvm_cpuid2 *>(buf.data());
		cpuid->nent = 256;
		if (!fd1.valid() || call(m.device_fd(), AXVM_GET_SUPPORTED_CPUID, reinterpret_cast<unsigned long>(cpuid)) ||
		    call(fd1.get(), AXVM_SET_CPUID2, reinterpret_cast<unsigned long>(cpuid)) ||
		    call(m.vcpu_fd(), AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&sregs)) ||
		    call(fd1.get(), AXVM_SET_SREGS, reinterpret_cast<unsigned long>(&sregs)) ||
		    call(m.vcpu_fd(), AXVM_GET_REGS, reinterpret_cast<unsigned long>(&regs))) {
			why = std::string("second vCPU: ") + strerror(errno);
			return -1;
		}
		regs.rsp -= 0x4000;
		if (call(fd1.get(), AXVM_SET_REGS, reinterpret_cast<unsigned long>(&regs)) ||
		    call(fd1.get(), AXVM_SET_MP_STATE, reinterpret_cast<unsigned long>(&runnable)) ||
		    (run1 = mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd1.get(), 0)) == MAP_FAILED) {
			why = std::string("second vCPU: ") + strerror(errno);
			return -1;
		}
		second.fd = fd1.get();
		second.run = static_cast<axvm_run *>(run1);
		struct sigaction sa{};
		sa.sa_handler = on_signal; // no SA_RESTART: the RUN returns EINTR
		sigaction(SIGUSR1, &sa, nullptr);
		pthread_create(&thread, nullptr, SecondVcpu::body, &second);
	}
	auto ended = [&](double t) {
		alarm(0);
		if (vcpus == 2) {
			second.stop = true;
			second.run->immediate_exit = 1; // one that had not entered yet
			pthread_kill(thread, SIGUSR1);
			pthread_join(thread, nullptr);
			munmap(run1, run_size);
		}
		return t;
	};
	struct sigaction sa{};
	sa.sa_handler = on_signal;
	sigaction(SIGALRM, &sa, nullptr);
	// A guest that never ends: the RUN returns EINTR. 5,000 IPI round trips
	// took over a minute under TCG on a loaded machine.
	alarm(300);
	const double t0 = now_us();
	for (;;) {
		if (m.run()) {
			why = std::string("KVM_RUN: ") + strerror(errno);
			return ended(-1);
		}
		const axvm_run &r = m.run_page();
		if (r.exit_reason == AXVM_EXIT_IO && r.io.port == 0xf4)
			return ended(now_us() - t0);
		why = "unexpected exit " + std::to_string(r.exit_reason);
		return ended(-1);
	}
}

struct Result {
	std::string name;
	std::string unit;
	std::vector<double> samples; // per operation, one per round
	std::string skipped;         // why, if it could not run
};

// Runs @code in a fresh machine until HLT, serving exits; µs, or <0 with @why.
double run_payload(const char *dev, Mode mode, const std::vector<uint8_t> &code, bool hypercall_exit,
		   std::string &why, std::function<int(Machine &)> before = nullptr)
{
	Machine m;
	int err = m.create(dev, 512 << 10); // RAM ends at 512 KiB: 0xf0000 is MMIO
	if (err) {
		why = std::string(m.failed_step()) + ": " + strerror(-err);
		return -1;
	}
	if (hypercall_exit) { // KVM only; axvm always exits for hypercalls
		axvm_enable_cap cap{};
		cap.cap = 201; // KVM_CAP_EXIT_HYPERCALL
		cap.args[0] = 1u << 12;
		call(m.vm_fd(), AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap));
	}
	memcpy(m.memory() + 0x10000, code.data(), code.size());
	if ((err = m.setup_cpu(mode, 0x10000))) {
		why = std::string(m.failed_step()) + ": " + strerror(-err);
		return -1;
	}
	const double t0 = now_us();
	if (before && (err = before(m))) {
		why = std::string("setup: ") + strerror(-err);
		return -1;
	}
	for (;;) {
		if (m.run()) {
			why = std::string("KVM_RUN: ") + strerror(errno);
			return -1;
		}
		axvm_run &r = m.run_page();
		if (r.exit_reason == AXVM_EXIT_HLT)
			return now_us() - t0;
		if (r.exit_reason == AXVM_EXIT_HYPERCALL)
			r.hypercall.ret = 0;
		else if (r.exit_reason == AXVM_EXIT_MMIO && !r.mmio.is_write)
			memset(r.mmio.data, 0, sizeof(r.mmio.data));
		else if (r.exit_reason != AXVM_EXIT_IO && r.exit_reason != AXVM_EXIT_MMIO) {
			why = "unexpected exit " + std::to_string(r.exit_reason);
			return -1;
		}
	}
}

double memory_case(const char *dev, uint64_t bytes, std::string &why)
{
	void *mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		why = "mmap";
		return -1;
	}
	const double t = run_payload(dev, Mode::Protected, touch_loop(bytes >> 12), false, why, [&](Machine &m) {
		axvm_userspace_memory_region r{};
		r.slot = 1;
		r.guest_phys_addr = 1ull << 30;
		r.memory_size = bytes;
		r.userspace_addr = reinterpret_cast<uintptr_t>(mem);
		return static_cast<int>(call(m.vm_fd(), AXVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r)));
	});
	munmap(mem, bytes);
	return t;
}

double create_case(const char *dev, int count, std::string &why)
{
	Fd d(open(dev, O_RDWR | O_CLOEXEC));
	if (!d.valid()) {
		why = strerror(errno);
		return -1;
	}
	const long size = call(d.get(), AXVM_GET_VCPU_MMAP_SIZE);
	const double t0 = now_us();
	for (int i = 0; i < count; i++) {
		Fd vm(static_cast<int>(call(d.get(), AXVM_CREATE_VM)));
		Fd vcpu(vm.valid() ? static_cast<int>(call(vm.get(), AXVM_CREATE_VCPU, 0)) : -1);
		void *run = vcpu.valid() ? mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.get(), 0) : MAP_FAILED;
		if (run == MAP_FAILED) {
			why = std::string("create: ") + strerror(errno);
			return -1;
		}
		munmap(run, size);
	}
	return (now_us() - t0) / count;
}

// The memory cgroup (v2) this process moved itself into, or "": KVM and
// axvm both charge what a VM allocates to its creator's cgroup, and unlike
// MemAvailable (which memory freed late elsewhere moves, by MiBs) nothing
// else charges it.
std::string bench_cgroup;

void enter_memory_cgroup()
{
	const std::string dir = "/sys/fs/cgroup/axvm-bench";
	if (FILE *f = fopen("/sys/fs/cgroup/cgroup.subtree_control", "w")) {
		fputs("+memory", f);
		fclose(f);
	}
	if (mkdir(dir.c_str(), 0755) && errno != EEXIST)
		return;
	FILE *f = fopen((dir + "/cgroup.procs").c_str(), "w");
	if (!f)
		return;
	const bool moved = fprintf(f, "%d\n", getpid()) > 0;
	if (fclose(f) == 0 && moved && access((dir + "/memory.current").c_str(), R_OK) == 0)
		bench_cgroup = dir;
}

// KiB charged to the bench's cgroup, else MemAvailable as a negative
// number (so that "after - before" is what was used either way).
long kernel_memory_kb()
{
	if (bench_cgroup.empty()) {
		const long kb = mem_available_kb();
		return kb < 0 ? kb : -kb;
	}
	FILE *f = fopen((bench_cgroup + "/memory.current").c_str(), "r");
	long long bytes = -1;
	if (f) {
		if (fscanf(f, "%lld", &bytes) != 1)
			bytes = -1;
		fclose(f);
	}
	return bytes < 0 ? -1 : static_cast<long>(bytes / 1024);
}

// Kernel memory of @vms VMs with @vcpus vCPUs each, in KiB per VM (all of
// it is kernel memory: no guest RAM).
double memory_footprint(const char *dev, int vms, int vcpus, std::string &why)
{
	Fd d(open(dev, O_RDWR | O_CLOEXEC));
	if (!d.valid()) {
		why = strerror(errno);
		return -1;
	}
	std::vector<Fd> fds;
	const long before = kernel_memory_kb();
	for (int i = 0; i < vms; i++) {
		Fd vm(static_cast<int>(call(d.get(), AXVM_CREATE_VM)));
		if (!vm.valid()) {
			why = std::string("CREATE_VM: ") + strerror(errno);
			return -1;
		}
		for (int j = 0; j < vcpus; j++) {
			Fd vcpu(static_cast<int>(call(vm.get(), AXVM_CREATE_VCPU, j)));
			if (!vcpu.valid()) {
				why = std::string("CREATE_VCPU: ") + strerror(errno);
				return -1;
			}
			fds.push_back(std::move(vcpu));
		}
		fds.push_back(std::move(vm));
	}
	const long after = kernel_memory_kb();
	if (before == -1 || after == -1) {
		why = "neither memory.current nor MemAvailable to read";
		return -1;
	}
	if (after < before) {
		why = "MemAvailable grew while the VMs were created (memory freed elsewhere meanwhile)";
		return -1;
	}
	return static_cast<double>(after - before) / vms;
}

// Waits (10 s at most) until MemAvailable holds still for half a second:
// what earlier VMs freed late (RCU callbacks, workqueues) is back by then.
void settle_memory()
{
	long last = kernel_memory_kb();
	for (int i = 0; i < 20; i++) {
		usleep(500000);
		const long now = kernel_memory_kb();
		if (labs(now - last) < 128)
			return;
		last = now;
	}
}

// The median of three footprints, each once memory has settled: one sample
// alone, taken after the timed cases, was sometimes negative.
double memory_footprint_median(const char *dev, int vms, int vcpus, std::string &why)
{
	std::vector<double> v;
	for (int i = 0; i < 3; i++) {
		settle_memory();
		const double kb = memory_footprint(dev, vms, vcpus, why);
		if (kb >= 0)
			v.push_back(kb);
	}
	if (v.size() < 2)
		return -1; // @why says what the last failure was
	why.clear();
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

double median(std::vector<double> v)
{
	if (v.empty())
		return -1;
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
	int rounds = 5;
	std::vector<std::pair<std::string, std::string>> devices; // name, path
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--guests") && i + 1 < argc)
			guest_dir = argv[++i];
		else
			devices.push_back({strstr(argv[i], "kvm") ? "kvm" : "axvm", argv[i]});
	}
	if (devices.empty() || rounds < 1) {
		fprintf(stderr, "usage: bench [--rounds N] [--guests DIR] DEVICE...\n");
		return 2;
	}

	constexpr uint32_t kExits = 2000, kCpuids = 4000;
	struct Case {
		const char *name;
		const char *unit;
		std::function<double(const char *, std::string &)> run;
	};
	const std::vector<Case> cases = {
		{"cpuid_in_kernel", "us/exit", [](const char *d, std::string &w) {
			 return run_payload(d, Mode::Real, cpuid_loop(kCpuids), false, w) / kCpuids; }},
		{"pio_to_userspace", "us/exit", [](const char *d, std::string &w) {
			 return run_payload(d, Mode::Real, pio_loop(kExits), false, w) / kExits; }},
		{"mmio_to_userspace", "us/exit", [](const char *d, std::string &w) {
			 return run_payload(d, Mode::Real, mmio_loop(kExits), false, w) / kExits; }},
		{"hypercall_to_userspace", "us/exit", [](const char *d, std::string &w) {
			 return run_payload(d, Mode::Real, hypercall_loop(kExits), true, w) / kExits; }},
		{"memory_64M_register_and_touch", "us", [](const char *d, std::string &w) {
			 return memory_case(d, 64ull << 20, w); }},
		{"memory_512M_register_and_touch", "us", [](const char *d, std::string &w) {
			 return memory_case(d, 512ull << 20, w); }},
		{"vm_and_vcpu_create_destroy", "us/VM", [](const char *d, std::string &w) {
			 return create_case(d, 20, w); }},
		// The in-kernel irqchip (tools/guests/bench_*.S): per timer
		// interrupt, and per IPI round trip between two vCPUs.
		{"lapic_timer_interrupt", "us/irq", [](const char *d, std::string &w) {
			 return irqchip_case(d, "bench_timer.bin", 1, w) / 10000; }},
		{"ipi_round_trip", "us/trip", [](const char *d, std::string &w) {
			 return irqchip_case(d, "bench_ipi.bin", 2, w) / 5000; }},
	};

	// Kernel memory per VM (1 vCPU) and per extra vCPU, first: the timed
	// cases leave hundreds of MiB being freed behind them.
	enter_memory_cgroup();
	std::vector<double> per_vm(devices.size()), per_vcpu(devices.size());
	std::vector<std::string> mem_why(devices.size());
	for (size_t d = 0; d < devices.size(); d++) {
		// Enough VMs that some MiB of per-CPU page lists drained meanwhile
		// stay noise: 64 VMs were not.
		const double one = memory_footprint_median(devices[d].second.c_str(), 256, 1, mem_why[d]);
		const double many = one < 0 ? -1 : memory_footprint_median(devices[d].second.c_str(), 16, 33, mem_why[d]);
		per_vm[d] = one;
		per_vcpu[d] = many < 0 ? -1 : (many - one) / 32;
	}

	// results[case][device]
	std::vector<std::vector<Result>> results(cases.size(), std::vector<Result>(devices.size()));
	for (int round = 0; round < rounds; round++) {
		for (size_t c = 0; c < cases.size(); c++) {
			for (size_t k = 0; k < devices.size(); k++) {
				// Alternate which device goes first.
				const size_t d = (round % 2) ? devices.size() - 1 - k : k;
				Result &r = results[c][d];
				r.name = cases[c].name;
				r.unit = cases[c].unit;
				if (!r.skipped.empty())
					continue;
				std::string why;
				const double v = cases[c].run(devices[d].second.c_str(), why);
				if (v < 0)
					r.skipped = why;
				else
					r.samples.push_back(v);
			}
		}
		fprintf(stderr, "round %d/%d done\n", round + 1, rounds);
	}

	auto find = [&](const char *name) -> int {
		for (size_t d = 0; d < devices.size(); d++)
			if (devices[d].first == name)
				return static_cast<int>(d);
		return -1;
	};
	const int kvm = find("kvm"), ax = find("axvm");
	printf("%-32s %10s %12s %12s %8s\n", "case", "unit", "kvm", "axvm", "ratio");
	std::string json = "{\n  \"rounds\": " + std::to_string(rounds) + ",\n  \"cases\": [\n";
	for (size_t c = 0; c < cases.size(); c++) {
		const double mk = kvm >= 0 ? median(results[c][kvm].samples) : -1;
		const double ma = ax >= 0 ? median(results[c][ax].samples) : -1;
		char kbuf[32], abuf[32], rbuf[32];
		snprintf(kbuf, sizeof(kbuf), mk >= 0 ? "%.2f" : "skipped", mk);
		snprintf(abuf, sizeof(abuf), ma >= 0 ? "%.2f" : "skipped", ma);
		snprintf(rbuf, sizeof(rbuf), mk > 0 && ma >= 0 ? "%.2f" : "-", ma / mk);
		printf("%-32s %10s %12s %12s %8s\n", cases[c].name, cases[c].unit, kbuf, abuf, rbuf);
		json += "    {\"case\": \"" + std::string(cases[c].name) + "\", \"unit\": \"" + cases[c].unit +
			"\", \"kvm\": " + (mk >= 0 ? std::to_string(mk) : "null") + ", \"axvm\": " +
			(ma >= 0 ? std::to_string(ma) : "null") + ", \"ratio\": " +
			(mk > 0 && ma >= 0 ? std::to_string(ma / mk) : "null") + "}" + (c + 1 < cases.size() ? "," : "") + "\n";
	}
	json += "  ],\n  \"kernel_memory_kib\": {";
	for (size_t d = 0; d < devices.size(); d++) {
		printf("%-32s %10s %12s %12s\n", d == 0 ? "kernel memory per VM / vCPU" : "", devices[d].first.c_str(),
		       per_vm[d] >= 0 ? std::to_string(static_cast<long>(per_vm[d])).append(" KiB").c_str() : "skipped",
		       per_vcpu[d] >= 0 ? std::to_string(static_cast<long>(per_vcpu[d])).append(" KiB").c_str() : "skipped");
		json += std::string(d ? ", " : "") + "\"" + devices[d].first + "\": {\"per_vm\": " +
			(per_vm[d] >= 0 ? std::to_string(per_vm[d]) : "null") + ", \"per_vcpu\": " +
			(per_vcpu[d] >= 0 ? std::to_string(per_vcpu[d]) : "null") + "}";
	}
	json += "}\n}\n";
	for (size_t c = 0; c < cases.size(); c++)
		for (size_t d = 0; d < devices.size(); d++)
			if (!results[c][d].skipped.empty())
				printf("skipped: %s on %s: %s\n", cases[c].name, devices[d].second.c_str(),
				       results[c][d].skipped.c_str());
	for (size_t d = 0; d < devices.size(); d++)
		if (!mem_why[d].empty())
			printf("skipped: memory footprint on %s: %s\n", devices[d].second.c_str(), mem_why[d].c_str());
	printf("(kernel memory: %s)\n", bench_cgroup.empty() ? "MemAvailable before and after" :
	       "the bench's memory cgroup, memory.current before and after");
	printf("BENCH-JSON-BEGIN\n%sBENCH-JSON-END\n", json.c_str());
	return 0;
}
