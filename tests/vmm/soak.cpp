// SPDX-License-Identifier: GPL-2.0
// `make soak`: creates and destroys many VMs, then runs one guest through
// a hundred million exits, and checks that the kernel's unreclaimable slab
// and its available memory come back to where they were before.
//
//   soak DEVICE [--vms N] [--exits N]     (defaults: 10000 VMs, 100000000 exits)
#include <linux/kvm.h>

#include "meminfo.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

const char *g_device;
int g_failed;

void check(bool ok, const char *name, const std::string &why = "")
{
	printf("%s - soak.%s%s%s\n", ok ? "ok" : "not ok", name, ok || why.empty() ? "" : ": ", ok ? "" : why.c_str());
	g_failed += !ok;
}

long meminfo_kb(const char *key)
{
	mem_available_kb(); // folds the per-CPU counters first
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;
	const size_t n = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			kb = strtol(line + n + 1, nullptr, 10);
	if (f)
		fclose(f);
	return kb;
}

double now()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

// One VM with 64 KiB of RAM running @code at 0x1000 in real mode until it
// stops exiting with KVM_EXIT_IO; returns the number of I/O exits, or -1.
long run_guest(const uint8_t *code, size_t len)
{
	long exits = -1;
	const int dev = open(g_device, O_RDWR | O_CLOEXEC);
	const int vm = ioctl(dev, KVM_CREATE_VM, 0);
	auto *mem = static_cast<uint8_t *>(
		mmap(nullptr, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	memcpy(mem + 0x1000, code, len);
	kvm_userspace_memory_region r = {0, 0, 0, 0x10000, reinterpret_cast<uintptr_t>(mem)};
	const int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	auto *run = static_cast<kvm_run *>(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, vcpu, 0));
	kvm_sregs s = {};
	kvm_regs regs = {};
	regs.rip = 0x1000, regs.rflags = 2;
	if (dev >= 0 && vm >= 0 && vcpu >= 0 && run != MAP_FAILED && !ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) &&
	    !ioctl(vcpu, KVM_GET_SREGS, &s)) {
		s.cs.base = 0, s.cs.selector = 0;
		if (!ioctl(vcpu, KVM_SET_SREGS, &s) && !ioctl(vcpu, KVM_SET_REGS, &regs)) {
			exits = 0;
			while (!ioctl(vcpu, KVM_RUN, 0) && run->exit_reason == KVM_EXIT_IO)
				if (++exits % 10000000 == 0) // a sign of life on long runs
					printf("soak: %ld exits\n", exits);
			if (run->exit_reason != KVM_EXIT_HLT)
				exits = -1;
		}
	}
	if (run != MAP_FAILED)
		munmap(run, 4096);
	close(vcpu), close(vm), close(dev);
	munmap(mem, 0x10000);
	return exits;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2 || argc % 2) {
		fprintf(stderr, "usage: soak DEVICE [--vms N] [--exits N]\n");
		return 2;
	}
	g_device = argv[1];
	unsigned long vms = 10000, exits = 100000000;
	for (int i = 2; i + 1 < argc; i += 2) {
		const unsigned long v = strtoul(argv[i + 1], nullptr, 0);
		if (!strcmp(argv[i], "--vms"))
			vms = v;
		else if (!strcmp(argv[i], "--exits") && v < (1ul << 32))
			exits = v;
		else {
			fprintf(stderr, "soak: bad option %s\n", argv[i]);
			return 2;
		}
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);
	static const uint8_t hlt[] = {0xf4};
	for (int i = 0; i < 20; i++) // warm the slab caches and the module's first-use paths
		run_guest(hlt, sizeof(hlt));
	const long slab0 = meminfo_kb("SUnreclaim"), avail0 = mem_available_kb();
	printf("soak: baseline SUnreclaim %ld kB, MemAvailable %ld kB\n", slab0, avail0);

	double t = now();
	unsigned long ok = 0;
	for (unsigned long i = 0; i < vms; i++)
		ok += run_guest(hlt, sizeof(hlt)) == 0;
	printf("soak: %lu VMs created, run and destroyed in %.1f s\n", ok, now() - t);
	check(ok == vms, "vms_created_and_destroyed", std::to_string(vms - ok) + " failed");

	// mov ecx,N; 1: out 0xe9,al; dec ecx; jnz 1b; hlt
	const uint8_t loop[] = {0x66, 0xb9, uint8_t(exits), uint8_t(exits >> 8), uint8_t(exits >> 16), uint8_t(exits >> 24),
				0xe6, 0xe9, 0x66, 0x49, 0x75, 0xfa, 0xf4};
	t = now();
	const long got = exits ? run_guest(loop, sizeof(loop)) : 0;
	const double secs = now() - t;
	printf("soak: %ld exits in %.1f s (%.0f per second)\n", got, secs, got / (secs > 0 ? secs : 1));
	check(got == static_cast<long>(exits), "exits", "got " + std::to_string(got));

	sleep(2); // RCU-freed objects
	const long slab1 = meminfo_kb("SUnreclaim"), avail1 = mem_available_kb();
	printf("soak: after: SUnreclaim %ld kB (%+ld), MemAvailable %ld kB (%+ld)\n", slab1, slab1 - slab0, avail1,
	       avail1 - avail0);
	// A leak of one object per VM or per thousand exits would be far above
	// these bounds (10,000 VMs x a VMCB page = 40 MiB).
	check(slab1 - slab0 < 512, "slab_at_baseline", std::to_string(slab1 - slab0) + " kB more");
	check(avail0 - avail1 < 2048, "pages_at_baseline", std::to_string(avail0 - avail1) + " kB fewer");
	return g_failed ? 1 : 0;
}
