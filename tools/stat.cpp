// SPDX-License-Identifier: GPL-2.0
// `axvm stat`: every axvm VM on the host, from debugfs (root only, as
// kvm_stat). Live: exits per second per vCPU, by reason, refreshed every
// --interval seconds (--count frames, default until ^C). --once prints the
// totals once; --json prints them as one JSON object per frame.
#include "stats.hpp"

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unistd.h>

namespace axvm::client {

namespace {

struct StatOptions {
	std::string root = "/sys/kernel/debug/axvm";
	bool once = false, json = false;
	unsigned interval = 1;
	long count = -1; // frames; -1: until interrupted
};

int stat_usage()
{
	fprintf(stderr, "usage: axvm stat [--once] [--json] [--interval SECONDS] [--count N] [--debugfs DIR]\n");
	return 2;
}

void print_json(const std::vector<VmSample> &vms)
{
	auto counters = [](const Counters &c) {
		for (const auto &kv : c)
			printf(",\"%s\":%" PRIu64, kv.first.c_str(), kv.second);
	};
	printf("{\"vms\":[");
	for (size_t i = 0; i < vms.size(); i++) {
		printf("%s{\"name\":\"%s\",\"pid\":%ld", i ? "," : "", vms[i].name.c_str(), vms[i].pid);
		counters(vms[i].counters);
		printf(",\"vcpus\":[");
		for (size_t j = 0; j < vms[i].vcpus.size(); j++) {
			printf("%s{\"id\":%u", j ? "," : "", vms[i].vcpus[j].id);
			counters(vms[i].vcpus[j].counters);
			printf("}");
		}
		printf("]}");
	}
	printf("]}\n");
	fflush(stdout);
}

uint64_t get(const Counters &c, const std::string &name)
{
	for (const auto &kv : c)
		if (kv.first == name)
			return kv.second;
	return 0;
}

// One frame: totals (no previous sample) or rates per second since @prev.
void print_table(const std::vector<VmSample> &vms, const std::vector<VmSample> *prev, unsigned interval)
{
	std::map<std::string, const VmSample *> before;
	if (prev)
		for (const VmSample &vm : *prev)
			before[vm.name] = &vm;
	printf("%zu VM%s%s\n", vms.size(), vms.size() == 1 ? "" : "s",
	       prev ? ", exits per second by reason" : ", exits since creation by reason");
	for (const VmSample &vm : vms) {
		printf("VM %s (pid %ld)\n", vm.name.c_str(), vm.pid);
		const VmSample *old = before.count(vm.name) ? before[vm.name] : nullptr;
		for (const VcpuSample &v : vm.vcpus) {
			const Counters *was = nullptr;
			if (old)
				for (const VcpuSample &o : old->vcpus)
					if (o.id == v.id)
						was = &o.counters;
			auto value = [&](const std::string &name) -> uint64_t {
				const uint64_t now = get(v.counters, name);
				if (!prev)
					return now;
				const uint64_t then = was ? get(*was, name) : 0;
				return now >= then ? (now - then) / interval : 0;
			};
			printf("  vcpu%-3u %10" PRIu64 " exits", v.id, value("exits"));
			for (const auto &kv : v.counters) {
				if (kv.first.compare(0, 5, "exit_") || kv.first == "exit_nothing")
					continue;
				const uint64_t n = value(kv.first);
				if (n)
					printf("  %s %" PRIu64, kv.first.c_str() + 5, n);
			}
			printf("\n");
		}
	}
	fflush(stdout);
}

volatile sig_atomic_t g_interrupted;

} // namespace

int stat_command(int argc, char **argv)
{
	StatOptions o;
	for (int i = 0; i < argc; i++) {
		const std::string a = argv[i];
		if (a == "--once")
			o.once = true;
		else if (a == "--json")
			o.json = true;
		else if ((a == "--interval" || a == "--count" || a == "--debugfs") && i + 1 == argc)
			return stat_usage();
		else if (a == "--interval") {
			o.interval = static_cast<unsigned>(strtoul(argv[++i], nullptr, 10));
			if (!o.interval || o.interval > 3600) {
				fprintf(stderr, "axvm stat: bad --interval '%s': 1 to 3600 seconds\n", argv[i]);
				return 2;
			}
		} else if (a == "--count") {
			o.count = strtol(argv[++i], nullptr, 10);
			if (o.count < 1) {
				fprintf(stderr, "axvm stat: bad --count '%s'\n", argv[i]);
				return 2;
			}
		} else if (a == "--debugfs")
			o.root = argv[++i];
		else
			return stat_usage();
	}
	std::vector<VmSample> now, prev;
	int err = read_debugfs(o.root, now);
	if (err) {
		fprintf(stderr, "axvm stat: cannot read %s: %s (root, debugfs mounted, module loaded?)\n",
			o.root.c_str(), strerror(-err));
		return 1;
	}
	if (o.once || o.json) {
		o.json ? print_json(now) : print_table(now, nullptr, 1);
		if (o.once)
			return 0;
	}
	signal(SIGINT, [](int) { g_interrupted = 1; });
	const bool tty = isatty(STDOUT_FILENO);
	for (long frame = 0; (o.count < 0 || frame < o.count) && !g_interrupted; frame++) {
		prev = now;
		sleep(o.interval);
		if (read_debugfs(o.root, now))
			return 1;
		if (o.json) {
			print_json(now);
			continue;
		}
		if (tty)
			printf("\033[H\033[2J");
		print_table(now, &prev, o.interval);
	}
	return 0;
}

} // namespace axvm::client
