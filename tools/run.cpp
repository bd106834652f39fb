// SPDX-License-Identifier: GPL-2.0
// `axvm run IMAGE ...`: load a flat binary, run it, serve its devices.
//
// Devices: the serial port's transmit register (0x3f8; the line status
// register 0x3fd always reads "ready") and the debug port 0xe9 print to
// stdout; every other port reads all-ones. All memory outside RAM is one
// scratch register: a read returns the last value written anywhere.
// Hypercalls (VMMCALL; nr in RAX, arguments in RBX, RCX, RDX, RSI, RDI)
// return nr + 1. HLT ends the run. With --timer HZ a thread queues
// interrupt vector 0x20 HZ times a second (AXVM_QUEUE_INTERRUPT) and a
// HLT with interrupts enabled waits in the kernel for the next tick
// (AXVM_CAP_HALT_IN_KERNEL): only a HLT with interrupts off ends the run.
//
// arm64 (--mode el1, the default there): a byte written to 0x09000000
// prints; the rest of MMIO is the same scratch register; HVC (nr in x0,
// arguments in x1-x6) returns nr + 1 in x0; WFI/WFE ends the run, as do
// PSCI SYSTEM_OFF and SYSTEM_RESET.
#include "run.hpp"
#include "stats.hpp"

#include "vm.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <pthread.h>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace axvm::client {

namespace {

struct Options {
	const char *image = nullptr;
	const char *device = "/dev/axvm";
	uint64_t mem = 2 << 20;
	uint64_t load = 0x10000;
	uint64_t entry = ~0ull; // default: the load address
	Mode mode = kDefaultMode;
	bool trace = false;
	bool stats = false;
	unsigned timer_hz = 0;
};

constexpr uint32_t kTimerVector = 0x20;
// arm64 guests print through a UART-style transmit register: a byte
// written here goes to stdout (where x86 guests use port 0x3f8).
constexpr uint64_t kArmUart = 0x09000000;

struct TimerThread {
	int vcpu_fd;
	unsigned hz;
	bool stop = false;
	pthread_t thread{};

	static void *body(void *arg)
	{
		TimerThread &t = *static_cast<TimerThread *>(arg);
		timespec next;
		clock_gettime(CLOCK_MONOTONIC, &next);
		const long period = 1000000000L / t.hz;
		while (!__atomic_load_n(&t.stop, __ATOMIC_SEQ_CST)) {
			next.tv_nsec += period;
			while (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
			axvm_queue_interrupt q{kTimerVector, 0};
			call(t.vcpu_fd, AXVM_QUEUE_INTERRUPT, reinterpret_cast<unsigned long>(&q));
		}
		return nullptr;
	}
};

int user_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "axvm run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

// "2M", "512K", "0x10000", "65536"
bool parse_size(const char *s, uint64_t &out)
{
	char *end = nullptr;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return false;
	uint64_t unit = 1;
	if (*end == 'K' || *end == 'k')
		unit = 1 << 10, end++;
	else if (*end == 'M' || *end == 'm')
		unit = 1 << 20, end++;
	else if (*end == 'G' || *end == 'g')
		unit = 1ull << 30, end++;
	if (*end || v > UINT64_MAX / unit)
		return false;
	out = v * unit;
	return true;
}

int parse(int argc, char **argv, Options &o)
{
	for (int i = 0; i < argc; i++) {
		const std::string a = argv[i];
		const bool has_value = i + 1 < argc;
		if (a == "--trace") {
			o.trace = true;
		} else if (a == "--stats") {
			o.stats = true;
		} else if ((a == "--mem" || a == "--load" || a == "--entry" || a == "--mode" || a == "--device" ||
			    a == "--timer") &&
			   !has_value) {
			return user_error("%s needs a value", argv[i]);
		} else if (a == "--mem") {
			if (!parse_size(argv[++i], o.mem) || o.mem < 0x20000 || o.mem % 4096 || o.mem > (3ull << 30))
				return user_error("bad --mem '%s': a multiple of 4K from 128K to 3G", argv[i]);
		} else if (a == "--load") {
			if (!parse_size(argv[++i], o.load))
				return user_error("bad --load address '%s'", argv[i]);
		} else if (a == "--entry") {
			if (!parse_size(argv[++i], o.entry))
				return user_error("bad --entry address '%s'", argv[i]);
		} else if (a == "--mode") {
			if (!parse_mode(argv[++i], o.mode))
				return user_error("bad --mode '%s': real, protected, protected-paging, long or el1", argv[i]);
		} else if (a == "--device") {
			o.device = argv[++i];
		} else if (a == "--timer") {
			uint64_t hz;
			if (!parse_size(argv[++i], hz) || hz < 1 || hz > 10000)
				return user_error("bad --timer '%s': 1 to 10000 interrupts a second", argv[i]);
			o.timer_hz = static_cast<unsigned>(hz);
		} else if (a[0] == '-' || o.image) {
			return user_error("unexpected argument '%s'", argv[i]);
		} else {
			o.image = argv[i];
		}
	}
	if (!o.image)
		return user_error("%s", "no IMAGE given");
	if (o.entry == ~0ull)
		o.entry = o.load;
	return 0;
}

bool load_image(const Options &o, Machine &m, std::string &why)
{
	FILE *f = fopen(o.image, "rb");
	if (!f) {
		why = std::string("cannot read image ") + o.image + ": " + strerror(errno);
		return false;
	}
	std::vector<uint8_t> bytes;
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && bytes.size() <= m.memory_size())
		bytes.insert(bytes.end(), buf, buf + n);
	const bool read_error = ferror(f);
	fclose(f);
	const uint64_t usable = m.memory_size() - (o.mode == Mode::Real ? 0 : kTablesSize);
	if (read_error)
		why = std::string("cannot read image ") + o.image;
	else if (bytes.empty())
		why = std::string("image ") + o.image + " is empty";
	else if (o.load >= usable || bytes.size() > usable - o.load)
		why = std::string("image ") + o.image + " does not fit in guest memory at the load address";
	else if (o.entry >= usable || (o.mode == Mode::Real && o.entry >= 0x100000))
		why = "the entry point is outside guest memory (real mode: below 1 MiB)";
	if (!why.empty())
		return false;
	memcpy(m.memory() + o.load, bytes.data(), bytes.size());
	return true;
}

int device_error(const char *device, int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "axvm run: %s does not exist: is the module loaded? (sudo insmod axvm.ko)\n", device);
	else if (err == -EACCES)
		fprintf(stderr, "axvm run: no permission to open %s (run as root)\n", device);
	else
		fprintf(stderr, "axvm run: cannot open %s: %s\n", device, strerror(-err));
	return 1;
}

uint64_t le(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
	return v;
}

} // namespace

int run_command(int argc, char **argv)
{
	Options o;
	if (int err = parse(argc, argv, o))
		return err;
	Machine m;
	int err = m.create(o.device, o.mem);
	if (err) {
		if (!strcmp(m.failed_step(), "open"))
			return device_error(o.device, err);
		fprintf(stderr, "axvm run: %s failed: %s\n", m.failed_step(), strerror(-err));
		return 1;
	}
	std::string why;
	if (!load_image(o, m, why)) {
		fprintf(stderr, "axvm run: %s\n", why.c_str());
		return 1;
	}
	err = m.setup_cpu(o.mode, o.entry);
	if (err) {
		fprintf(stderr, "axvm run: %s failed for %s mode: %s\n", m.failed_step(), mode_name(o.mode),
			strerror(-err));
		return 1;
	}

	TimerThread timer{m.vcpu_fd(), o.timer_hz};
	if (o.timer_hz) {
		axvm_enable_cap cap{};
		cap.cap = AXVM_CAP_HALT_IN_KERNEL;
		cap.args[0] = 1;
		if (call(m.vm_fd(), AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap)) ||
		    pthread_create(&timer.thread, nullptr, TimerThread::body, &timer)) {
			fprintf(stderr, "axvm run: --timer needs axvm's AXVM_QUEUE_INTERRUPT and halt in kernel\n");
			return 1;
		}
	}

	std::map<std::string, unsigned long> exits;
	uint64_t scratch = 0;
	axvm_run &run = m.run_page();
	int status = -1;
	while (status < 0) {
		if (m.run()) {
			fprintf(stderr, "axvm run: KVM_RUN failed: %s\n", strerror(errno));
			status = 1;
			break;
		}
		switch (run.exit_reason) {
		case AXVM_EXIT_IO: {
			exits["io"]++;
			uint8_t *data = reinterpret_cast<uint8_t *>(&run) + run.io.data_offset;
			for (uint32_t i = 0; i < run.io.count; i++, data += run.io.size) {
				const bool out = run.io.direction == AXVM_EXIT_IO_OUT;
				if (out && (run.io.port == 0x3f8 || run.io.port == 0xe9))
					fputc(data[0], stdout);
				if (!out)
					memset(data, run.io.port == 0x3fd ? 0x60 : 0xff, run.io.size);
				if (o.trace)
					fprintf(stderr, "exit io %s port 0x%x size %u data 0x%" PRIx64 "\n", out ? "out" : "in",
						run.io.port, run.io.size, le(data, run.io.size));
			}
			break;
		}
		case AXVM_EXIT_MMIO: {
			exits["mmio"]++;
			if (run.mmio.is_write && run.mmio.phys_addr == kArmUart && run.mmio.len == 1)
				fputc(run.mmio.data[0], stdout);
			else if (run.mmio.is_write)
				scratch = le(run.mmio.data, run.mmio.len);
			else
				memcpy(run.mmio.data, &scratch, sizeof(run.mmio.data));
			if (o.trace)
				fprintf(stderr, "exit mmio %s addr 0x%" PRIx64 " len %u data 0x%" PRIx64 "\n",
					run.mmio.is_write ? "write" : "read", static_cast<uint64_t>(run.mmio.phys_addr),
					run.mmio.len, le(run.mmio.data, run.mmio.len));
			break;
		}
		case AXVM_EXIT_HYPERCALL:
			exits["hypercall"]++;
			run.hypercall.ret = run.hypercall.nr + 1;
			if (o.trace)
				fprintf(stderr, "exit hypercall nr 0x%" PRIx64 " arg0 0x%" PRIx64 "\n",
					static_cast<uint64_t>(run.hypercall.nr), static_cast<uint64_t>(run.hypercall.args[0]));
			break;
		case AXVM_EXIT_HLT:
			exits["hlt"]++;
			if (o.trace)
				fprintf(stderr, "exit hlt\n");
			status = 0;
			break;
		case AXVM_EXIT_SHUTDOWN:
			exits["shutdown"]++;
			fprintf(stderr, "axvm run: the guest shut down (triple fault)\n");
			status = 1;
			break;
		case AXVM_EXIT_FAIL_ENTRY:
			exits["fail_entry"]++;
			fprintf(stderr, "axvm run: the CPU refused to enter the guest (reason 0x%" PRIx64 ")\n",
				static_cast<uint64_t>(run.fail_entry.hardware_entry_failure_reason));
			status = 1;
			break;
		case AXVM_EXIT_SYSTEM_EVENT:
			exits["system_event"]++;
			if (o.trace)
				fprintf(stderr, "exit system_event type %u\n", run.system_event.type);
			if (run.system_event.type != AXVM_SYSTEM_EVENT_SHUTDOWN)
				fprintf(stderr, "axvm run: the guest asked for a reset\n");
			status = 0;
			break;
		case AXVM_EXIT_ARM_NISV:
			exits["arm_nisv"]++;
			fprintf(stderr,
				"axvm run: guest access at 0x%" PRIx64 " hits no memory and cannot be emulated (ISS 0x%" PRIx64
				")\n",
				static_cast<uint64_t>(run.arm_nisv.fault_ipa), static_cast<uint64_t>(run.arm_nisv.esr_iss));
			status = 1;
			break;
		case AXVM_EXIT_INTERNAL_ERROR:
			exits["internal_error"]++;
			if (run.internal.suberror == AXVM_INTERNAL_ERROR_EMULATION && run.internal.ndata >= 2)
				fprintf(stderr, "axvm run: guest access at 0x%" PRIx64 " hits no memory and no device\n",
					static_cast<uint64_t>(run.internal.data[0]));
			else
				fprintf(stderr, "axvm run: internal error %u\n", run.internal.suberror);
			status = 1;
			break;
		default:
			exits["other"]++;
			fprintf(stderr, "axvm run: unhandled exit reason %u\n", run.exit_reason);
			status = 1;
			break;
		}
	}
	if (o.timer_hz) {
		__atomic_store_n(&timer.stop, true, __ATOMIC_SEQ_CST);
		pthread_join(timer.thread, nullptr);
	}
	fflush(stdout);
	std::string summary;
	for (const auto &e : exits)
		summary += " " + e.first + "=" + std::to_string(e.second);
	fprintf(stderr, "exits:%s\n", summary.c_str());
	if (o.stats) {
		// The kernel's own counts (KVM_GET_STATS_FD), not this tool's.
		Counters counters;
		const long fd = call(m.vcpu_fd(), AXVM_GET_STATS_FD);
		const int err = fd < 0 ? static_cast<int>(fd) : read_stats_fd(static_cast<int>(fd), counters);
		if (fd >= 0)
			close(static_cast<int>(fd));
		if (err) {
			fprintf(stderr, "axvm run: cannot read the vCPU statistics: %s\n", strerror(-err));
			return 1;
		}
		std::string line;
		for (const auto &c : counters)
			if (c.second)
				line += " " + c.first + "=" + std::to_string(c.second);
		fprintf(stderr, "stats:%s\n", line.c_str());
	}
	return status;
}

} // namespace axvm::client
