// SPDX-License-Identifier: GPL-2.0
// axvm: the command-line tool for /dev/axvm.
//
//   axvm info    what the loaded module offers
//   axvm run     run a flat guest image (tools/run.cpp)
//   axvm stat    watch every VM's exits (tools/stat.cpp)
//   axvm exec    run a KVM program on axvm (tools/exec.cpp)
#include "client.hpp"
#include "exec.hpp"
#include "run.hpp"
#include "stats.hpp"

#include <cstdio>
#include <cstring>

using axvm::client::Device;

namespace {

int usage(FILE *to)
{
	fprintf(to, "usage: axvm info\n"
		    "       axvm run IMAGE [--mem SIZE] [--load ADDR] [--entry ADDR]\n"
		    "                [--mode real|protected|protected-paging|long|el1] [--device PATH] [--trace]\n"
		    "                [--timer HZ] [--stats]\n"
		    "       axvm stat [--once] [--json] [--interval SECONDS] [--count N] [--debugfs DIR]\n"
		    "       axvm exec [--] COMMAND [ARGS...]\n"
		    "  info   show the API version and capabilities of /dev/axvm\n"
		    "  run    load IMAGE (a flat binary) at ADDR (default 0x10000) in SIZE of guest\n"
		    "         memory (default 2M), start it at the entry (default: the load address)\n"
		    "         in MODE (default real; el1 on arm64); serial (0x3f8), port 0xe9 and\n"
		    "         arm64's UART (0x09000000) output go to stdout, a summary of exits\n"
		    "         to stderr (each exit with --trace);\n"
		    "         --timer HZ raises interrupt 0x20 HZ times a second; --stats prints the\n"
		    "         vCPU's statistics from the kernel at the end\n"
		    "  stat   every axvm VM's exits per second, per vCPU and reason (debugfs,\n"
		    "         root); --once the totals, --json as JSON\n"
		    "  exec   run COMMAND (a KVM program: QEMU, a selftest) with /dev/kvm bound to\n"
		    "         /dev/axvm in a private mount namespace (root); its exit status\n");
	return to == stderr ? 2 : 0;
}

int device_error(int err)
{
	switch (-err) {
	case ENOENT:
		fprintf(stderr, "axvm: /dev/axvm does not exist: is the module loaded? (sudo insmod axvm.ko)\n");
		break;
	case EACCES:
		fprintf(stderr, "axvm: no permission to open /dev/axvm (root, or a group given access by udev)\n");
		break;
	default:
		fprintf(stderr, "axvm: cannot open /dev/axvm: %s\n", strerror(-err));
	}
	return 1;
}

int info()
{
	Device dev;
	if (dev.error())
		return device_error(dev.error());
	const long version = dev.api_version();
	if (version < 0) {
		fprintf(stderr, "axvm: GET_API_VERSION failed: %s\n", strerror(-version));
		return 1;
	}
	printf("API version:       %ld\n", version);
	printf("vCPU mmap size:    %ld\n", dev.vcpu_mmap_size());
	printf("max vCPUs per VM:  %ld\n", dev.check_extension(AXVM_CAP_MAX_VCPUS));
	printf("memory slots:      %ld\n", dev.check_extension(AXVM_CAP_NR_MEMSLOTS));
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "info") && argc == 2)
		return info();
	if (!strcmp(argv[1], "run"))
		return axvm::client::run_command(argc - 2, argv + 2);
	if (!strcmp(argv[1], "stat"))
		return axvm::client::stat_command(argc - 2, argv + 2);
	if (!strcmp(argv[1], "exec"))
		return axvm::client::exec_command(argc - 2, argv + 2);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage(stdout);
	fprintf(stderr, "axvm: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
