// SPDX-License-Identifier: GPL-2.0
// Reading axvm's statistics: the binary stats fd of a VM or vCPU (KVM's
// layout), and the debugfs tree every VM of every process shows up in.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace axvm::client {

using Counters = std::vector<std::pair<std::string, uint64_t>>;

// Every counter behind a stats fd (AXVM_GET_STATS_FD), in descriptor order.
// 0 or -errno.
int read_stats_fd(int fd, Counters &out);

struct VcpuSample {
	unsigned id;
	Counters counters;
};
struct VmSample {
	std::string name; // "<pid>-<vm fd>", as in debugfs
	long pid;
	Counters counters;
	std::vector<VcpuSample> vcpus;
};

// Every VM under @root (/sys/kernel/debug/axvm); -errno if it cannot be read.
int read_debugfs(const std::string &root, std::vector<VmSample> &out);

// `axvm stat`: tools/stat.cpp.
int stat_command(int argc, char **argv);

} // namespace axvm::client
