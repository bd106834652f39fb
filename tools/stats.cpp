// SPDX-License-Identifier: GPL-2.0
#include "stats.hpp"

#include <uapi/axvm.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <unistd.h>

namespace axvm::client {

int read_stats_fd(int fd, Counters &out)
{
	axvm_stats_header h;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		return -errno;
	if (!h.name_size || h.name_size > 4096 || h.num_desc > 4096)
		return -EINVAL;
	const size_t desc_size = sizeof(axvm_stats_desc) + h.name_size;
	std::vector<char> descs(h.num_desc * desc_size);
	if (pread(fd, descs.data(), descs.size(), h.desc_offset) != static_cast<ssize_t>(descs.size()))
		return -errno;
	out.clear();
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const auto *d = reinterpret_cast<const axvm_stats_desc *>(descs.data() + i * desc_size);
		uint64_t value = 0; // the first value of each statistic
		if (pread(fd, &value, sizeof(value), h.data_offset + d->offset) != sizeof(value))
			return -errno;
		out.emplace_back(std::string(d->name, strnlen(d->name, h.name_size)), value);
	}
	return 0;
}

namespace {

// The files of one debugfs directory, each holding one decimal number.
Counters read_counters(const std::string &dir)
{
	Counters out;
	DIR *d = opendir(dir.c_str());
	if (!d)
		return out;
	while (dirent *e = readdir(d)) {
		if (e->d_name[0] == '.' || e->d_type == DT_DIR)
			continue;
		FILE *f = fopen((dir + "/" + e->d_name).c_str(), "r");
		unsigned long long v = 0;
		if (f && fscanf(f, "%llu", &v) == 1)
			out.emplace_back(e->d_name, v);
		if (f)
			fclose(f);
	}
	closedir(d);
	std::sort(out.begin(), out.end());
	return out;
}

} // namespace

int read_debugfs(const std::string &root, std::vector<VmSample> &out)
{
	out.clear();
	DIR *d = opendir(root.c_str());
	if (!d)
		return -errno;
	while (dirent *e = readdir(d)) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		VmSample vm{e->d_name, strtol(e->d_name, nullptr, 10), {}, {}};
		const std::string dir = root + "/" + e->d_name;
		vm.counters = read_counters(dir);
		if (DIR *vd = opendir(dir.c_str())) {
			while (dirent *v = readdir(vd))
				if (v->d_type == DT_DIR && !strncmp(v->d_name, "vcpu", 4))
					vm.vcpus.push_back({static_cast<unsigned>(atoi(v->d_name + 4)),
							    read_counters(dir + "/" + v->d_name)});
			closedir(vd);
		}
		std::sort(vm.vcpus.begin(), vm.vcpus.end(),
			  [](const VcpuSample &a, const VcpuSample &b) { return a.id < b.id; });
		out.push_back(std::move(vm));
	}
	closedir(d);
	std::sort(out.begin(), out.end(), [](const VmSample &a, const VmSample &b) { return a.name < b.name; });
	return 0;
}

} // namespace axvm::client
