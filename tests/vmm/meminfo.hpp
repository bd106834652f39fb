// SPDX-License-Identifier: GPL-2.0
// MemAvailable from /proc/meminfo in KiB (-1 if unreadable), after folding
// the per-CPU counters, which otherwise lag by up to a few MiB.
#pragma once

#include <cstdio>

inline long mem_available_kb()
{
	if (FILE *r = fopen("/proc/sys/vm/stat_refresh", "w")) {
		fputs("1", r);
		fclose(r);
	}
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}
