// SPDX-License-Identifier: GPL-2.0
// A bounded, seeded ioctl fuzzer for /dev/axvm (or /dev/kvm).
//
//   fuzz DEVICE [--seconds S] [--cases N] [--seed N] [--threads T] [--race S]
//
// Each case is one child process with its own seed (the base seed plus the
// case number): T threads share one table of device, VM and vCPU fds and
// make random and structure-aware calls on them (memory slots over random
// guest images, register states near the valid ones, RUN under a short
// timer, interrupts, events, CPUID, stats fds, the MSR, emulated-CPUID and
// register lists, vCPU attributes, registers in the run page (x86), closes
// and unmaps, unknown ioctls; on x86 the in-kernel irqchip's calls (the irqchip, split or not,
// the PIT, routes, lines, MSIs, its state, the local APIC's, irqfds and
// ioeventfds on eventfds that the closes take down in use) and guests that
// drive the LAPIC timer, IPIs, EOIs and the IOAPIC; on arm64 ONE_REG,
// VCPU_INIT and IRQ_LINE in place of the x86 register, interrupt and CPUID
// calls, and guests of arm64 instructions).
// Each thread's call sequence follows from the seed alone, so `--seed N
// --cases 1` replays case N exactly (with --threads 1, including the order
// of calls between threads). A case fails when an ioctl answers with an
// errno outside the documented set (for the irqchip's calls, the set KVM
// gives for that call), RUN reports an unknown exit, the child
// crashes or hangs, or the device no longer runs a plain guest afterwards;
// the seed is printed. Kernel reports are the harness's to catch: each
// case's seed is printed before it starts.
//
// First, for --race S seconds (default 2), the run-page race: a guest whose
// every exit goes to userspace (port I/O, MMIO, hypercalls) runs in one
// thread while another rewrites the vCPU's run page with random bytes, with
// every "axvm" tracepoint on where the kernel has tracing: the kernel must
// take what it does and what it traces from its own record of an exit,
// never from the page userspace can change under it.
#include <uapi/axvm.h>

#include "vmm.h"

#include <linux/kvm.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

const char *g_device;
bool g_vapic; // the device offers KVM_CAP_VAPIC

// splitmix64: small, and the same sequence on every machine.
struct Rng {
	uint64_t s;
	uint64_t next()
	{
		uint64_t z = (s += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	uint64_t below(uint64_t n) { return n ? next() % n : 0; }
	bool chance(unsigned percent) { return below(100) < percent; }
};

// Instruction snippets a random guest image is built from, besides random
// bytes: everything that exits, traps, faults or changes state.
#ifdef __aarch64__
const uint32_t kArmSnippets[] = {
	0xd503207f, // wfi
	0xd503205f, // wfe
	0xd4000002, // hvc #0
	0xd4000003, // smc #0
	0xf9400020, // ldr x0, [x1]
	0xf9000020, // str x0, [x1]
	0x39400020, // ldrb w0, [x1]
	0x79000020, // strh w0, [x1]
	0xa9400820, // ldp x0, x2, [x1] (no syndrome)
	0xd53b9c00, // mrs x0, pmcr_el0
	0xd51b9c00, // msr pmcr_el0, x0
	0xd5300240, // mrs x0, mdscr_el1
	0xd5101080, // msr oslar_el1, x0
	0xd69f03e0, // eret
	0xd4000001, // svc #0
	0xd4200000, // brk #0
	0xd518c001, // msr vbar_el1, x1
	0xd5181040, // msr cpacr_el1, x0
	0x04bf5020, // rdvl x0, #1 (SVE)
	0xd50b7e21, // dc civac, x1
	0xd5087641, // dc isw, x1
	0xd5087801, // at s1e1r, x1
	0xd508831f, // tlbi vmalle1is
	0xd508751f, // ic iallu
	0xd5034fff, // msr daifclr, #0xf
	0xd5184000, // msr spsr_el1, x0
	0xd5184021, // msr elr_el1, x1
	0xd5181000, // msr sctlr_el1, x0
	0xd5182001, // msr ttbr0_el1, x1
	0xd53be040, // mrs x0, cntvct_el0
	0xd51be320, // msr cntv_ctl_el0, x0
	0xd51be341, // msr cntv_cval_el0, x1
	0xd51be220, // msr cntp_ctl_el0, x0
	0xd538cc00, // mrs x0, icc_iar1_el1
	0xdac10020, // pacia x0, x1
	0xd5382100, // mrs x0, apiakeylo_el1
	0xd2a12001, // mov x1, #0x9000000
	0xd2a80001, // mov x1, #0x40000000
	0xf2dfffe1, // movk x1, #0xffff, lsl #32
	0xd2b08000, // mov x0, #0x84000000 (PSCI)
	0xf2800100, // movk x0, #0x8
	0x91000400, // add x0, x0, #1
	0x14000000, // b .
	0x17fffffe, // b . - 8
};
#else
const std::string kSnippets[] = {
	"\xe6\xe9",                 // out 0xe9,al
	"\xe4\x60",                 // in al,0x60
	"\xf3\x6e",                 // rep outsb
	"\xf3\x6c",                 // rep insb
	"\xf4",                     // hlt
	"\xfa",                     // cli
	"\xfb",                     // sti
	"\x0f\x0b",                 // ud2
	"\xcc",                     // int3
	"\xcd\x21",                 // int 0x21
	"\x0f\xa2",                 // cpuid
	"\x0f\x32",                 // rdmsr
	"\x0f\x30",                 // wrmsr
	"\x0f\x01\xd9",             // vmmcall
	"\x0f\x01\xc1",             // vmcall (the other vendor's: rewritten, or #UD)
	"\x0f\x01\xc8",             // monitor
	"\x0f\x01\xc9",             // mwait
	"\x0f\x01\xd8",             // vmrun
	"\x0f\x22\xc0",             // mov cr0,eax
	"\x0f\x22\xd8",             // mov cr3,eax
	"\x0f\x22\xe0",             // mov cr4,eax
	"\x0f\x23\xf8",             // mov dr7,eax
	"\x0f\x01\x1e\x00\x00",     // lidt [0]
	"\x0f\x01\x16\x00\x00",     // lgdt [0]
	"\xa3\x00\xf0",             // mov [0xf000],ax
	"\x89\x07",                 // mov [bx],ax
	"\x8b\x07",                 // mov ax,[bx]
	"\x66\xa3\xfc\xff",         // mov [0xfffc],eax
	"\xea\x00\x00\x00\xf0",     // jmp far 0xf000:0
	"\xeb\xfe",                 // jmp $
	"\x0f\x09",                 // wbinvd
	"\x0f\x01\xf9",             // rdtscp
	"\x0f\x33",                 // rdpmc
	"\x0f\x01\xd1",             // xsetbv
};
#endif

// The errnos axvm documents for its ioctls (and KVM uses); anything else,
// in particular the kernel-internal 512-530, is a bug.
bool allowed_errno(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case ENOMEM: case EEXIST: case ENOENT: case EBADF:
	case ENOTTY: case EINTR: case E2BIG: case EIO: case EBUSY: case ENXIO:
#ifdef __aarch64__
	case ENOEXEC: // a vCPU used before KVM_ARM_VCPU_INIT
#endif
	case EAGAIN: case EPERM: case ENOSPC: case ENODEV: case EACCES: case EOVERFLOW:
	case ERANGE: case EOPNOTSUPP:
		return true;
	default:
		return false;
	}
}

constexpr int kSlots = 16; // fd table entries shared by a case's threads
constexpr size_t kMemMax = 1 << 20;

struct Case {
	std::atomic<int> fds[kSlots];
	std::atomic<int> failures{0};
	uint8_t *mem[4];      // guest images, mapped for the case's life
	char failure[160];
};

void fail(Case &c, const char *fmt, unsigned long a, long b)
{
	if (c.failures.fetch_add(1) == 0)
		snprintf(c.failure, sizeof(c.failure), fmt, a, b);
}

long checked(Case &c, int fd, unsigned long req, unsigned long arg)
{
	const long r = ioctl(fd, req, arg);
	if (r < 0 && !allowed_errno(errno))
		fail(c, "ioctl 0x%lx failed with errno %ld", req, errno);
	return r;
}

#ifdef __aarch64__
void random_image(Rng &rng, uint8_t *mem, size_t size)
{
	size_t at = 0x1000;
	const size_t end = 0x1000 + 4 * rng.below(512);
	for (; at < end && at + 4 < size; at += 4) {
		const uint32_t insn = rng.chance(30) ? static_cast<uint32_t>(rng.next())
						     : kArmSnippets[rng.below(sizeof(kArmSnippets) / 4)];
		memcpy(mem + at, &insn, 4);
	}
	for (int i = 0; i < 8; i++) // random vectors and data in the first page
		mem[rng.below(0x1000)] = static_cast<uint8_t>(rng.next());
}
#else
void random_image(Rng &rng, uint8_t *mem, size_t size)
{
	size_t at = 0x1000;
	const size_t end = 0x1000 + rng.below(2048);
	while (at < end && at + 8 < size) {
		if (rng.chance(30)) {
			mem[at++] = static_cast<uint8_t>(rng.next());
		} else {
			const std::string &s = kSnippets[rng.below(sizeof(kSnippets) / sizeof(kSnippets[0]))];
			memcpy(mem + at, s.data(), s.size());
			at += s.size();
		}
	}
	for (int i = 0; i < 8; i++) // random IVT entries and data
		mem[rng.below(0x400)] = static_cast<uint8_t>(rng.next());
}
#endif

// A register state near a valid one: a few fields replaced by random values.
template <typename T> void perturb(Rng &rng, T &t)
{
	auto *b = reinterpret_cast<uint8_t *>(&t);
	const int n = static_cast<int>(rng.below(4));
	for (int i = 0; i < n; i++) {
		const size_t at = rng.below(sizeof(T) - 8);
		const uint64_t v = rng.chance(50) ? rng.next() : rng.below(256);
		memcpy(b + at, &v, rng.chance(50) ? 8 : 1);
	}
}

// The timer that ends a RUN of a guest that never exits: one per thread,
// signalling that thread (a process-wide SIGALRM could hit another one).
void arm_timer(long us)
{
	static thread_local timer_t timer;
	static thread_local bool created;
	if (!created) {
		sigevent ev = {};
		ev.sigev_notify = SIGEV_THREAD_ID;
		ev.sigev_signo = SIGALRM;
		ev._sigev_un._tid = gettid(); // sigev_notify_thread_id: glibc 2.36 lacks the name
		created = timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0;
	}
	itimerspec t = {};
	t.it_value.tv_nsec = us * 1000;
	if (created)
		timer_settime(timer, 0, &t, nullptr);
}

#ifndef __aarch64__
// ---- The in-kernel irqchip (x86) ----
// Errnos as bits, for the calls that check against KVM's set for each one
// (128 of them: EOPNOTSUPP is 95).
using Errnos = unsigned __int128;
constexpr Errnos bit(int e) { return static_cast<Errnos>(1) << e; }
// Any KVM ioctl: a closed fd (EBADF), an fd that is not KVM's (ENOTTY), the
// device or a vCPU given a VM ioctl (EINVAL), a bad pointer, no memory.
constexpr Errnos kAnyCall = bit(EBADF) | bit(ENOTTY) | bit(EINVAL) | bit(EFAULT) | bit(ENOMEM);
// A vCPU ioctl: axvm refuses it with EBUSY while another thread is inside
// RUN on that vCPU (KVM waits for the RUN to end instead).
constexpr Errnos kVcpuCall = kAnyCall | bit(EBUSY);

long checked_in(Case &c, int fd, unsigned long req, unsigned long arg, Errnos errnos)
{
	const long r = ioctl(fd, req, arg);
	if (r < 0 && (errno >= 128 || !(errnos >> errno & 1)))
		fail(c, "ioctl 0x%lx failed with errno %ld, not one KVM gives for it", req, errno);
	return r;
}

template <typename T> unsigned long ptr(T *p) { return reinterpret_cast<unsigned long>(p); }

// An APIC ID: mostly one of the vCPUs a case creates (0-3), sometimes
// absent, the broadcast or anything.
uint32_t apic_id(Rng &rng)
{
	static const uint32_t ids[] = {0, 1, 2, 3, 4, 7, 0x80, 0xfe, 0xff};
	return rng.chance(90) ? ids[rng.below(sizeof(ids) / 4)] : static_cast<uint32_t>(rng.next());
}

// An MSI: APIC ID in the address, a vector and delivery mode in the data.
void random_msi(Rng &rng, uint32_t &address_lo, uint32_t &address_hi, uint32_t &data)
{
	address_lo = 0xfee00000 | (apic_id(rng) & 0xff) << 12 | static_cast<uint32_t>(rng.below(4)) << 2;
	address_hi = rng.chance(90) ? 0 : static_cast<uint32_t>(rng.next());
	data = static_cast<uint32_t>(rng.chance(90) ? (rng.below(256) | rng.below(8) << 8 | rng.below(4) << 14)
						: rng.next());
	if (rng.chance(5))
		address_lo = static_cast<uint32_t>(rng.next());
}

// A GSI: the IOAPIC's and PIC's, just past them, or anything.
uint32_t random_gsi(Rng &rng)
{
	return static_cast<uint32_t>(rng.chance(90) ? rng.below(48) : rng.next());
}

// An eventfd from the table, a fresh one, or any number.
int some_fd(Case &c, Rng &rng)
{
	return rng.chance(90) ? c.fds[rng.below(kSlots)].load() : static_cast<int>(rng.below(64));
}

// VM set-up: the irqchip (full or split), the PIT, routes, MMU pages.
void irqchip_setup_call(Case &c, Rng &rng, int fd)
{
	switch (rng.below(6)) {
	case 0:
		checked_in(c, fd, KVM_CREATE_IRQCHIP, 0, kAnyCall | bit(EEXIST));
		break;
	case 1: {
		kvm_enable_cap cap = {};
		cap.cap = KVM_CAP_SPLIT_IRQCHIP;
		cap.args[0] = rng.chance(80) ? 24 : rng.next();
		// (A vCPU fd takes KVM_ENABLE_CAP too: EBUSY during a RUN.)
		checked_in(c, fd, KVM_ENABLE_CAP, ptr(&cap), kVcpuCall | bit(EEXIST));
		break;
	}
	case 2: {
		kvm_pit_config pc = {};
		pc.flags = static_cast<uint32_t>(rng.chance(80) ? rng.below(2) : rng.next());
		checked_in(c, fd, KVM_CREATE_PIT2, ptr(&pc), kAnyCall | bit(EEXIST));
		kvm_reinject_control rc = {};
		rc.pit_reinject = static_cast<uint8_t>(rng.below(3));
		checked_in(c, fd, KVM_REINJECT_CONTROL, ptr(&rc), kAnyCall | bit(ENXIO));
		break;
	}
	case 3:
	case 4: { // routes: random counts (some huge), types, chips, pins, flags
		alignas(16) static thread_local uint8_t buf[sizeof(kvm_irq_routing) + 64 * sizeof(kvm_irq_routing_entry)];
		auto *r = reinterpret_cast<kvm_irq_routing *>(buf);
		memset(buf, 0, sizeof(buf));
		const uint32_t room = 64;
		r->nr = static_cast<uint32_t>(rng.chance(85) ? rng.below(room + 1) : rng.chance(50) ? 4097 : rng.next());
		r->flags = rng.chance(95) ? 0 : static_cast<uint32_t>(rng.next());
		for (uint32_t i = 0; i < room; i++) {
			kvm_irq_routing_entry &e = r->entries[i];
			e.gsi = rng.chance(10) ? static_cast<uint32_t>(rng.next()) : i < 24 ? i : random_gsi(rng);
			e.type = static_cast<uint32_t>(rng.chance(90) ? 1 + rng.below(2) : rng.below(8));
			e.flags = rng.chance(90) ? 0 : static_cast<uint32_t>(rng.below(4));
			if (e.type == KVM_IRQ_ROUTING_IRQCHIP) {
				e.u.irqchip.irqchip = static_cast<uint32_t>(rng.chance(90) ? rng.below(3) : rng.next());
				e.u.irqchip.pin = static_cast<uint32_t>(rng.chance(90) ? rng.below(24) : rng.next());
			} else {
				random_msi(rng, e.u.msi.address_lo, e.u.msi.address_hi, e.u.msi.data);
			}
		}
		// More entries than the buffer holds read beyond it: EFAULT
		// or a rejected count, never more.
		checked_in(c, fd, KVM_SET_GSI_ROUTING, ptr(buf), kAnyCall);
		break;
	}
	default: {
		const long pages = checked_in(c, fd, KVM_GET_NR_MMU_PAGES, 0, kAnyCall);
		checked_in(c, fd, KVM_SET_NR_MMU_PAGES, rng.chance(80) ? rng.below(256) : pages < 0 ? rng.next() : pages,
			   kAnyCall);
		break;
	}
	}
}

// Lines, messages and the irqchip's and PIT's state, read and written back
// changed.
void irqchip_state_call(Case &c, Rng &rng, int fd)
{
	alignas(16) static thread_local uint8_t buf[4096];
	switch (rng.below(4)) {
	case 0: {
		kvm_irq_level l = {};
		l.irq = random_gsi(rng);
		l.level = static_cast<uint32_t>(rng.chance(90) ? rng.below(2) : rng.next());
		checked_in(c, fd, rng.chance(50) ? KVM_IRQ_LINE : KVM_IRQ_LINE_STATUS, ptr(&l), kAnyCall | bit(ENXIO));
		break;
	}
	case 1: {
		kvm_msi m = {};
		random_msi(rng, m.address_lo, m.address_hi, m.data);
		m.flags = static_cast<uint32_t>(rng.chance(90) ? 0 : rng.below(4));
		m.devid = static_cast<uint32_t>(rng.next());
		// KVM returns the count of APICs reached, and -1 (EPERM)
		// when the message reaches none of them.
		checked_in(c, fd, KVM_SIGNAL_MSI, ptr(&m), kAnyCall | bit(EPERM));
		break;
	}
	case 2: {
		auto *chip = reinterpret_cast<kvm_irqchip *>(buf);
		memset(buf, 0, sizeof(kvm_irqchip));
		chip->chip_id = static_cast<uint32_t>(rng.chance(90) ? rng.below(3) : rng.next());
		checked_in(c, fd, KVM_GET_IRQCHIP, ptr(chip), kAnyCall | bit(ENXIO));
		if (rng.chance(30))
			chip->chip_id = static_cast<uint32_t>(rng.below(4));
		perturb(rng, chip->chip);
		if (rng.chance(20)) // every redirection entry's bits at random
			for (auto &e : chip->chip.ioapic.redirtbl)
				e.bits = rng.next();
		checked_in(c, fd, KVM_SET_IRQCHIP, ptr(chip), kAnyCall | bit(ENXIO));
		break;
	}
	default: {
		kvm_pit_state2 ps = {};
		checked_in(c, fd, KVM_GET_PIT2, ptr(&ps), kAnyCall | bit(ENXIO));
		perturb(rng, ps);
		if (rng.chance(30)) // a short period on some channel
			ps.channels[rng.below(3)].count = static_cast<uint32_t>(rng.below(4)),
			ps.channels[rng.below(3)].mode = static_cast<uint8_t>(rng.below(8));
		checked_in(c, fd, KVM_SET_PIT2, ptr(&ps), kAnyCall | bit(ENXIO));
		break;
	}
	}
}

// Eventfds: new ones into the table (the close call takes them down, in
// use or not), irqfds and ioeventfds on them, and signals.
void eventfd_call(Case &c, Rng &rng, int fd)
{
	switch (rng.below(5)) {
	case 0: {
		const int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e >= 0)
			c.fds[rng.below(kSlots)].store(e);
		break;
	}
	case 1:
	case 2: {
		kvm_irqfd f = {};
		f.fd = static_cast<uint32_t>(some_fd(c, rng));
		f.gsi = random_gsi(rng);
		f.flags = static_cast<uint32_t>(rng.chance(90) ? rng.below(4) : rng.next());
		f.resamplefd = static_cast<uint32_t>(some_fd(c, rng));
		// EBUSY: the eventfd drives an irqfd already.
		checked_in(c, fd, KVM_IRQFD, ptr(&f), kAnyCall | bit(EBUSY));
		break;
	}
	case 3: {
		kvm_ioeventfd io = {};
		static const uint64_t ports[] = {0xe9, 0x60, 0x700, 0x3f8};
		const bool pio = rng.chance(50);
		io.addr = rng.chance(90) ? (pio ? ports[rng.below(4)] : 0xfee00000 + 0x10 * rng.below(0x40))
					 : rng.next();
		if (!pio && rng.chance(50))
			io.addr = 0x20000 + rng.below(16); // the fuzz images' MMIO data
		static const uint32_t lens[] = {0, 1, 2, 4, 8, 3, 16};
		io.len = lens[rng.below(7)];
		io.fd = some_fd(c, rng);
		io.flags = static_cast<uint32_t>((pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (rng.chance(50) ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
						 (rng.chance(30) ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0));
		if (rng.chance(5))
			io.flags = static_cast<uint32_t>(rng.next());
		io.datamatch = rng.below(4);
		// EEXIST: the same match registered; ENOENT: a deassign that
		// matches none; ENOSPC: the bus is full.
		checked_in(c, fd, KVM_IOEVENTFD, ptr(&io), kAnyCall | bit(EEXIST) | bit(ENOENT) | bit(ENOSPC));
		break;
	}
	default: { // a signal, which an irqfd turns into an interrupt (any other fd: whatever its write says)
		const uint64_t one = 1;
		const ssize_t r = write(fd, &one, 8);
		(void)r;
		break;
	}
	}
}

// The local APIC from userspace, and the vCPU's state around it.
void lapic_call(Case &c, Rng &rng, int fd)
{
	switch (rng.below(4)) {
	case 0: { // a register page near the current one, or random
		kvm_lapic_state s = {};
		checked_in(c, fd, KVM_GET_LAPIC, ptr(&s), kVcpuCall);
		if (rng.chance(10)) {
			for (char &b : s.regs)
				b = static_cast<char>(rng.next());
		} else {
			static const uint16_t regs[] = {0x20, 0x80, 0xb0, 0xd0, 0xe0, 0xf0, 0x300, 0x310,
							0x320, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0};
			for (int i = 0, n = static_cast<int>(rng.below(4)); i < n; i++) {
				const uint32_t v = static_cast<uint32_t>(rng.chance(50) ? rng.next() : rng.below(0x400));
				memcpy(s.regs + regs[rng.below(sizeof(regs) / 2)], &v, 4);
			}
			if (rng.chance(20)) // a bit in ISR, TMR or IRR
				s.regs[0x100 + 0x10 * rng.below(24)] ^= static_cast<char>(1 << rng.below(8));
		}
		checked_in(c, fd, KVM_SET_LAPIC, ptr(&s), kVcpuCall);
		break;
	}
	case 1: { // the TPR patching calls (KVM_CAP_VAPIC)
		// Where the device does not offer the capability, switching
		// either on is refused with EOPNOTSUPP (switching off, which
		// QEMU does at every reset, is taken).
		const Errnos off_only = g_vapic ? 0 : bit(EOPNOTSUPP);
		kvm_tpr_access_ctl t = {};
		t.enabled = static_cast<uint32_t>(rng.below(2));
		t.flags = static_cast<uint32_t>(rng.chance(90) ? 0 : rng.next());
		checked_in(c, fd, KVM_TPR_ACCESS_REPORTING, ptr(&t), kVcpuCall | (t.enabled ? off_only : 0));
		kvm_vapic_addr v = {rng.chance(50) ? 0 : rng.chance(80) ? rng.below(256) << 12 : rng.next()};
		checked_in(c, fd, KVM_SET_VAPIC_ADDR, ptr(&v), kVcpuCall | (v.vapic_addr ? off_only : 0));
		break;
	}
	case 2: {
		kvm_vcpu_events e = {};
		checked_in(c, fd, KVM_GET_VCPU_EVENTS, ptr(&e), kVcpuCall);
		perturb(rng, e);
		if (rng.chance(30)) // a pending SIPI or INIT, or the SMM state
			e.flags |= static_cast<uint32_t>(KVM_VCPUEVENT_VALID_SIPI_VECTOR << rng.below(4));
		checked_in(c, fd, KVM_SET_VCPU_EVENTS, ptr(&e), kVcpuCall);
		break;
	}
	default: {
		kvm_mp_state mp = {};
		checked_in(c, fd, KVM_GET_MP_STATE, ptr(&mp), kVcpuCall);
		mp.mp_state = static_cast<uint32_t>(rng.chance(90) ? rng.below(10) : rng.next());
		checked_in(c, fd, KVM_SET_MP_STATE, ptr(&mp), kVcpuCall);
		break;
	}
	}
}

// LAPIC and IOAPIC registers a guest writes, with values near the meaningful.
uint32_t apic_write(Rng &rng, uint32_t &value)
{
	static const uint16_t regs[] = {0x80, 0xb0, 0xb0, 0xd0, 0xe0, 0xf0, 0x300, 0x300, 0x300, 0x310,
					0x320, 0x320, 0x350, 0x360, 0x370, 0x380, 0x380, 0x3e0, 0x3f0};
	const uint16_t reg = regs[rng.below(sizeof(regs) / 2)];
	switch (reg) {
	case 0x300: // ICR: vector, delivery mode, logical, level, shorthand
		value = static_cast<uint32_t>(rng.below(256) | rng.below(8) << 8 | rng.below(2) << 11 |
					      rng.below(4) << 14 | rng.below(4) << 18);
		break;
	case 0x310:
		value = apic_id(rng) << 24;
		break;
	case 0x320: // LVTT: one-shot, periodic, TSC deadline; masked or not
		value = static_cast<uint32_t>((0x20 + rng.below(224)) | rng.below(4) << 17 | rng.below(2) << 16);
		break;
	case 0x380: // the initial count: tiny ones too
		value = static_cast<uint32_t>(rng.chance(50) ? rng.below(4) : rng.next());
		break;
	case 0x3e0:
		value = static_cast<uint32_t>(rng.below(16));
		break;
	default:
		value = static_cast<uint32_t>(rng.chance(50) ? 0x100 | rng.below(256) : rng.next());
	}
	return 0xfee00000u + reg;
}

// A flat 32-bit guest for a vCPU: the APIC on, then random LAPIC writes
// (timer, IPIs, EOIs), IOAPIC entries, x2APIC MSR writes, port and MMIO
// writes an ioeventfd may match, STI and HLT, in a loop or not; every
// interrupt vector ends in an EOI. Placed in one of the case's images at
// 0x1000 (with its tables), whichever slot it is in.
void irqchip_guest_call(Case &c, Rng &rng, int fd)
{
	uint8_t *mem = c.mem[rng.below(4)];
	vmm_asm a = {mem, 0x1000};
	vmm_asm_store(&a, 0xfee000f0, 0x1ff);
	const uint32_t loop = a.at;
	for (int i = 0, n = 1 + static_cast<int>(rng.below(12)); i < n; i++) {
		uint32_t value;
		switch (rng.below(8)) {
		case 0:
		case 1:
		case 2: {
			const uint32_t reg = apic_write(rng, value);
			vmm_asm_store(&a, reg, value);
			break;
		}
		case 3: { // an IOAPIC redirection entry
			const uint32_t pin = static_cast<uint32_t>(rng.below(24));
			vmm_asm_store(&a, 0xfec00000, 0x11 + 2 * pin);
			vmm_asm_store(&a, 0xfec00010, apic_id(rng) << 24);
			vmm_asm_store(&a, 0xfec00000, 0x10 + 2 * pin);
			vmm_asm_store(&a, 0xfec00010, static_cast<uint32_t>((0x20 + rng.below(224)) | rng.below(2) << 15 |
									    rng.below(2) << 16 | rng.below(8) << 8));
			break;
		}
		case 4: { // the same registers as x2APIC MSRs (a #GP unless x2APIC is on)
			const uint32_t reg = apic_write(rng, value);
			vmm_asm_wrmsr(&a, 0x800 + ((reg & 0xff0) >> 4), value);
			break;
		}
		case 5:
			vmm_asm_out(&a, rng.chance(50) ? 0x700 : 0xe9);
			break;
		case 6:
			vmm_asm_store(&a, rng.chance(50) ? 0x20000u : 0xfee00000u + 0x10 * static_cast<uint32_t>(rng.below(0x40)),
				      static_cast<uint32_t>(rng.below(4)));
			break;
		default: {
			static const uint8_t sti_hlt[] = {0xfb, 0xf4};
			vmm_asm_bytes(&a, sti_hlt, rng.chance(50) ? 2 : 1);
		}
		}
	}
	if (rng.chance(70))
		vmm_asm_jmp(&a, loop);
	else
		vmm_asm_bytes(&a, "\xf4", 1);
	vmm_asm h = {mem, 0xe00};
	const uint32_t handler = vmm_asm_handler(&h, 0xf00);
	// Tables below 0x1000: the GDT at 0x500 and the IDT at 0x600 (0x800 bytes).
	if (vmm_protected_mode(fd, mem, 0x500, 0x600, handler, 0x1000, 0x8000) && errno != EBADF && errno != ENOTTY &&
	    errno != EINVAL && errno != EBUSY)
		fail(c, "a flat protected-mode vCPU failed with errno %lu (%ld)", errno, 0);
}
#endif

// What a device or vCPU lists (arm64: its registers; x86: the MSRs, the
// feature MSRs, the emulated CPUID), the TSS address, vCPU attributes
// (x86: the TSC offset; arm64: steal time), and on x86 registers in the run
// page: valid and dirty sets and their contents from a VMM that lies, for
// the RUN of another thread to take.
void list_and_attr_call(Case &c, Rng &rng, int fd, uint8_t *buf, size_t size)
{
	memset(buf, 0, size);
	switch (rng.below(3)) {
	case 0: {
#ifdef __aarch64__
		auto *l = reinterpret_cast<kvm_reg_list *>(buf);
		l->n = rng.chance(80) ? rng.below((size - sizeof(*l)) / 8) : rng.next() >> 40; // short: E2BIG
		checked(c, fd, KVM_GET_REG_LIST, reinterpret_cast<unsigned long>(buf));
#else
		auto *l = reinterpret_cast<kvm_msr_list *>(buf);
		l->nmsrs = static_cast<uint32_t>(rng.chance(80) ? rng.below(300) : rng.next());
		checked(c, fd, rng.chance(50) ? KVM_GET_MSR_INDEX_LIST : KVM_GET_MSR_FEATURE_INDEX_LIST,
			reinterpret_cast<unsigned long>(buf));
		memset(buf, 0, size);
		auto *cpuid = reinterpret_cast<kvm_cpuid2 *>(buf);
		cpuid->nent = static_cast<uint32_t>(rng.chance(80) ? rng.below((size - sizeof(*cpuid)) / sizeof(cpuid->entries[0]))
								   : rng.next());
		checked(c, fd, KVM_GET_EMULATED_CPUID, reinterpret_cast<unsigned long>(buf));
		checked(c, fd, KVM_SET_TSS_ADDR, rng.chance(80) ? 0xfffbd000 : rng.next());
#endif
		break;
	}
	case 1: {
		uint64_t value = rng.chance(50) ? rng.next() : rng.below(1 << 14) * 64;
		kvm_device_attr a = {};
		a.flags = static_cast<uint32_t>(rng.chance(90) ? 0 : rng.next());
		a.group = static_cast<uint32_t>(rng.chance(80) ? rng.below(4) : rng.next());
		a.attr = rng.chance(80) ? rng.below(2) : rng.next();
		a.addr = rng.chance(90) ? reinterpret_cast<uintptr_t>(&value) : rng.next();
		static const unsigned long cmds[] = {KVM_HAS_DEVICE_ATTR, KVM_GET_DEVICE_ATTR, KVM_SET_DEVICE_ATTR};
		checked(c, fd, cmds[rng.below(3)], reinterpret_cast<unsigned long>(&a));
		break;
	}
	default: {
#ifndef __aarch64__
		void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			break;
		auto *run = static_cast<kvm_run *>(p);
		run->kvm_valid_regs = rng.chance(80) ? rng.below(8) : rng.next();
		run->kvm_dirty_regs = rng.chance(80) ? rng.below(8) : rng.next();
		auto *regs = reinterpret_cast<uint8_t *>(&run->s.regs);
		for (int i = 0; i < 8; i++)
			regs[rng.below(sizeof(run->s.regs))] = static_cast<uint8_t>(rng.next());
		munmap(p, 4096);
#endif
		break;
	}
	}
}

void one_call(Case &c, Rng &rng)
{
	const int slot = static_cast<int>(rng.below(kSlots));
	const int fd = c.fds[slot].load();
	alignas(16) static thread_local uint8_t buf[4096];
#ifdef __aarch64__
	switch (rng.below(23)) {
#else
	static void (*const irqchip_calls[])(Case &, Rng &, int) = {irqchip_setup_call, irqchip_state_call,
								    eventfd_call, lapic_call, irqchip_guest_call};
	const unsigned call = static_cast<unsigned>(rng.below(23 + sizeof(irqchip_calls) / sizeof(irqchip_calls[0])));
	if (call >= 23) {
		irqchip_calls[call - 23](c, rng, fd);
		return;
	}
	switch (call) {
#endif
	case 0: { // a device fd
		const int d = open(g_device, O_RDWR | O_CLOEXEC);
		if (d >= 0)
			c.fds[slot].store(d); // the old one stays open: closes are a call of their own
		break;
	}
	case 1: { // a VM from some fd
		const long v = checked(c, fd, KVM_CREATE_VM, rng.chance(90) ? 0 : rng.below(4));
		if (v >= 0)
			c.fds[rng.below(kSlots)].store(static_cast<int>(v));
#ifndef __aarch64__
		// Often an irqchip (and a PIT) at once: it must come before the
		// vCPUs, which the calls in random order rarely manage.
		if (v >= 0 && rng.chance(50)) {
			kvm_enable_cap split = {};
			split.cap = KVM_CAP_SPLIT_IRQCHIP, split.args[0] = 24;
			// (EEXIST: another thread may have closed the VM and
			// reused its number for one that has them already.)
			if (rng.chance(70))
				checked_in(c, static_cast<int>(v), KVM_CREATE_IRQCHIP, 0, kAnyCall | bit(EEXIST));
			else
				checked_in(c, static_cast<int>(v), KVM_ENABLE_CAP, ptr(&split), kVcpuCall | bit(EEXIST));
			kvm_pit_config pc = {};
			if (rng.chance(50))
				checked_in(c, static_cast<int>(v), KVM_CREATE_PIT2, ptr(&pc), kAnyCall | bit(EEXIST));
		}
#endif
		break;
	}
	case 2: { // a vCPU
		const long v = checked(c, fd, KVM_CREATE_VCPU, rng.chance(80) ? rng.below(4) : rng.next());
		if (v >= 0)
			c.fds[rng.below(kSlots)].store(static_cast<int>(v));
		break;
	}
	case 3: { // a memory slot: usually sane, sometimes anything
		kvm_userspace_memory_region r = {};
		// (x86: a quarter in SMM's address space 1)
		r.slot = static_cast<uint32_t>(rng.chance(80) ? rng.below(4) | (rng.chance(25) ? 1u << 16 : 0) : rng.next());
		r.guest_phys_addr = rng.chance(80) ? rng.below(4) << 20 : rng.next();
		r.memory_size = rng.chance(80) ? (rng.below(kMemMax >> 12) + (rng.chance(10) ? 0 : 1)) << 12
					       : rng.next();
		r.userspace_addr = rng.chance(85) ? reinterpret_cast<uintptr_t>(c.mem[rng.below(4)]) : rng.next();
		r.flags = rng.chance(90) ? 0 : static_cast<uint32_t>(rng.next());
		checked(c, fd, KVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r));
		break;
	}
	case 4:
	case 5:
	case 6: { // RUN, ended by a timer if the guest never exits
		arm_timer(2000 + static_cast<long>(rng.below(20000)));
		const long r = checked(c, fd, KVM_RUN, 0);
		arm_timer(0);
		if (r == 0) {
			void *run = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
			if (run != MAP_FAILED) {
				const uint32_t reason = static_cast<kvm_run *>(run)->exit_reason;
				if (reason > 64)
					fail(c, "RUN gave unknown exit reason %lu (%ld)", reason, 0);
				munmap(run, 4096);
			}
		}
		break;
	}
#ifdef __aarch64__
	case 7:
	case 8: { // a core register: read, then written near its value or at random
		uint64_t id;
		const uint64_t word = rng.below(216);
		if (rng.chance(10))
			id = rng.next();
		else if (word >= 84 && word < 212)
			id = KVM_REG_ARM64 | KVM_REG_SIZE_U128 | KVM_REG_ARM_CORE | (word & ~3ull);
		else
			id = KVM_REG_ARM64 | (word >= 212 ? KVM_REG_SIZE_U32 : KVM_REG_SIZE_U64) | KVM_REG_ARM_CORE |
			     (rng.chance(90) ? word & ~1ull : word);
		alignas(16) uint64_t value[2] = {0, 0};
		kvm_one_reg reg = {id, reinterpret_cast<uintptr_t>(value)};
		checked(c, fd, KVM_GET_ONE_REG, reinterpret_cast<unsigned long>(&reg));
		if (rng.chance(30))
			value[0] = rng.next(), value[1] = rng.next();
		else
			value[0] ^= 1ull << rng.below(64);
		if (rng.chance(30)) // pc to the image, or a pstate in some mode
			reg.id = rng.chance(50) ? KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | 64
						: KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | 66,
			value[0] = reg.id & 2 ? (rng.below(32) | (rng.below(16) << 6)) : 0x1000;
		if (rng.chance(5))
			reg.addr = rng.next();
		checked(c, fd, KVM_SET_ONE_REG, reinterpret_cast<unsigned long>(&reg));
		break;
	}
	case 9:
	case 10:
	case 11: { // vCPU init: the preferred target, usually, and some features
		kvm_vcpu_init init = {};
		checked(c, fd, KVM_ARM_PREFERRED_TARGET, reinterpret_cast<unsigned long>(&init));
		if (rng.chance(20))
			init.target = static_cast<uint32_t>(rng.below(8));
		if (rng.chance(20))
			init.features[rng.below(7)] = static_cast<uint32_t>(rng.chance(50) ? rng.next() : rng.below(8));
		if (rng.chance(25)) // an AArch32 EL1: the guests' A64 words run as A32 code
			init.features[0] |= 1u << KVM_ARM_VCPU_EL1_32BIT;
		checked(c, fd, KVM_ARM_VCPU_INIT, reinterpret_cast<unsigned long>(&init));
		if (rng.chance(50)) { // an IRQ/FIQ line of some vCPU, raised or lowered (VM fds)
			kvm_irq_level l = {};
			l.irq = static_cast<uint32_t>(rng.chance(80) ? (rng.below(4) << KVM_ARM_IRQ_VCPU_SHIFT | rng.below(3))
								 : rng.next());
			l.level = static_cast<uint32_t>(rng.below(3));
			checked(c, fd, KVM_IRQ_LINE, reinterpret_cast<unsigned long>(&l));
		}
		if (rng.chance(50)) {
			uint64_t pc = 0x1000;
			kvm_one_reg reg = {KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | 64,
					   reinterpret_cast<uintptr_t>(&pc)};
			checked(c, fd, KVM_SET_ONE_REG, reinterpret_cast<unsigned long>(&reg));
		}
		break;
	}
#else
	case 7: { // registers near the current ones
		kvm_regs r = {};
		checked(c, fd, KVM_GET_REGS, reinterpret_cast<unsigned long>(&r));
		perturb(rng, r);
		if (rng.chance(50))
			r.rip = 0x1000, r.rflags = 2 | (rng.chance(50) ? 0x200 : 0);
		checked(c, fd, KVM_SET_REGS, reinterpret_cast<unsigned long>(&r));
		break;
	}
	case 8: {
		kvm_sregs s = {};
		checked(c, fd, KVM_GET_SREGS, reinterpret_cast<unsigned long>(&s));
		perturb(rng, s);
		if (rng.chance(30)) { // long mode or protected mode bits
			s.cr0 |= 1 | (rng.chance(50) ? 0x80000000u : 0);
			s.cr4 |= rng.chance(50) ? 0x20 : 0;
			s.efer |= rng.chance(50) ? 0x500 : 0;
		}
		checked(c, fd, KVM_SET_SREGS, reinterpret_cast<unsigned long>(&s));
		break;
	}
	case 9: { // KVM_INTERRUPT, KVM_NMI, KVM_SMI, AXVM_QUEUE_INTERRUPT
		kvm_interrupt irq = {static_cast<uint32_t>(rng.chance(90) ? rng.below(256) : rng.next())};
		checked(c, fd, KVM_INTERRUPT, reinterpret_cast<unsigned long>(&irq));
		if (rng.chance(30))
			checked(c, fd, KVM_NMI, 0);
		if (rng.chance(20))
			checked(c, fd, KVM_SMI, 0);
		axvm_queue_interrupt q = {};
		perturb(rng, q);
		checked(c, fd, AXVM_QUEUE_INTERRUPT, reinterpret_cast<unsigned long>(&q));
		break;
	}
	case 10: { // vCPU events, read and written back changed
		kvm_vcpu_events e = {};
		checked(c, fd, KVM_GET_VCPU_EVENTS, reinterpret_cast<unsigned long>(&e));
		perturb(rng, e);
		checked(c, fd, KVM_SET_VCPU_EVENTS, reinterpret_cast<unsigned long>(&e));
		break;
	}
	case 17:
	case 18: { // what a full VMM saves and restores: MSRs, FPU and XSAVE, XCRs, debug registers
		uint64_t words[64];
		for (uint64_t &w : words)
			w = rng.next();
		auto *msrs = reinterpret_cast<kvm_msrs *>(buf);
		memset(buf, 0, sizeof(buf));
		msrs->nmsrs = static_cast<uint32_t>(rng.chance(90) ? rng.below(8) : rng.next());
		static const uint32_t known[] = {0x10, 0x1b, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x17b, 0x1a0,
						 0x200, 0x201, 0x250, 0x277, 0x2ff, 0x400, 0x401, 0xc0000080,
						 0xc0000081, 0xc0000082, 0xc0000102, 0xc0000103, 0xc0010015,
						 0xc0010117, 0x11, 0x12, 0xce, 0x8b, 0x4b564d01, 0x4b564d03};
		for (uint32_t i = 0; i < 8; i++) {
			msrs->entries[i].index = rng.chance(80) ? known[rng.below(sizeof(known) / 4)]
								: static_cast<uint32_t>(rng.next());
			msrs->entries[i].data = rng.chance(50) ? words[i] : rng.below(16);
		}
		checked(c, fd, rng.chance(50) ? KVM_GET_MSRS : KVM_SET_MSRS, reinterpret_cast<unsigned long>(buf));
		switch (rng.below(8)) {
		case 0: // XSAVE read, bits flipped, written back
			checked(c, fd, KVM_GET_XSAVE, reinterpret_cast<unsigned long>(buf));
			buf[rng.below(1024)] ^= static_cast<uint8_t>(1u << rng.below(8));
			checked(c, fd, KVM_SET_XSAVE, reinterpret_cast<unsigned long>(buf));
			break;
		case 1:
			checked(c, fd, KVM_GET_FPU, reinterpret_cast<unsigned long>(buf));
			buf[rng.below(sizeof(kvm_fpu))] ^= static_cast<uint8_t>(rng.next());
			checked(c, fd, KVM_SET_FPU, reinterpret_cast<unsigned long>(buf));
			break;
		case 2: {
			kvm_xcrs x = {};
			x.nr_xcrs = static_cast<uint32_t>(rng.chance(80) ? 1 : rng.next());
			x.xcrs[0].xcr = static_cast<uint32_t>(rng.chance(80) ? 0 : rng.next());
			x.xcrs[0].value = rng.chance(50) ? rng.below(8) : words[0];
			checked(c, fd, rng.chance(30) ? KVM_GET_XCRS : KVM_SET_XCRS, reinterpret_cast<unsigned long>(&x));
			break;
		}
		case 3: {
			kvm_debugregs d = {};
			checked(c, fd, KVM_GET_DEBUGREGS, reinterpret_cast<unsigned long>(&d));
			perturb(rng, d);
			checked(c, fd, KVM_SET_DEBUGREGS, reinterpret_cast<unsigned long>(&d));
			break;
		}
		case 4: {
			kvm_mp_state mp = {static_cast<uint32_t>(rng.below(10))};
			checked(c, fd, rng.chance(50) ? KVM_GET_MP_STATE : KVM_SET_MP_STATE, reinterpret_cast<unsigned long>(&mp));
			break;
		}
		case 5: // the TSC rate, MCE set-up
			checked(c, fd, rng.chance(50) ? KVM_GET_TSC_KHZ : KVM_SET_TSC_KHZ, rng.chance(50) ? rng.below(5000000) : rng.next());
			checked(c, fd, KVM_X86_SETUP_MCE, reinterpret_cast<unsigned long>(rng.chance(80) ? &words[1] : nullptr));
			break;
		case 6: { // a signal mask, sometimes of the wrong size
			auto *m = reinterpret_cast<kvm_signal_mask *>(buf);
			m->len = static_cast<uint32_t>(rng.chance(80) ? 8 : rng.below(200));
			memcpy(m->sigset, &words[2], 8);
			checked(c, fd, KVM_SET_SIGNAL_MASK, rng.chance(90) ? reinterpret_cast<unsigned long>(buf) : 0);
			break;
		}
		default: { // the dirty log, an MSR filter, the identity map, user-space MSR exits
			kvm_dirty_log log = {};
			log.slot = static_cast<uint32_t>(rng.chance(80) ? rng.below(4) : rng.next());
			log.dirty_bitmap = rng.chance(80) ? reinterpret_cast<void *>(c.mem[0]) : reinterpret_cast<void *>(rng.next());
			checked(c, fd, KVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log));
			kvm_msr_filter f = {};
			f.flags = static_cast<uint32_t>(rng.below(3));
			for (int i = 0; i < 3; i++) {
				f.ranges[i].flags = static_cast<uint32_t>(rng.below(4));
				f.ranges[i].nmsrs = static_cast<uint32_t>(rng.chance(80) ? rng.below(64) : rng.next());
				f.ranges[i].base = static_cast<uint32_t>(rng.chance(50) ? known[rng.below(8)] : rng.next());
				f.ranges[i].bitmap = reinterpret_cast<uint8_t *>(rng.chance(90) ? reinterpret_cast<uintptr_t>(words) : rng.next());
			}
			checked(c, fd, KVM_X86_SET_MSR_FILTER, reinterpret_cast<unsigned long>(&f));
			checked(c, fd, KVM_SET_IDENTITY_MAP_ADDR, reinterpret_cast<unsigned long>(&words[3]));
			kvm_enable_cap cap = {};
			cap.cap = rng.chance(50) ? KVM_CAP_X86_USER_SPACE_MSR : KVM_CAP_MSR_PLATFORM_INFO;
			cap.args[0] = rng.below(8);
			checked(c, fd, KVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap));
			break;
		}
		}
		break;
	}
	case 11: { // CPUID: supported, then set with random changes and counts
		auto *cpuid = reinterpret_cast<kvm_cpuid2 *>(buf);
		memset(buf, 0, sizeof(buf));
		cpuid->nent = static_cast<uint32_t>(rng.chance(80) ? 80 : rng.next());
		checked(c, fd, KVM_GET_SUPPORTED_CPUID, reinterpret_cast<unsigned long>(buf));
		cpuid->nent = static_cast<uint32_t>(rng.chance(80) ? cpuid->nent % 81 : rng.next());
		for (int i = 0; i < 4; i++)
			buf[8 + rng.below(sizeof(buf) - 8)] = static_cast<uint8_t>(rng.next());
		checked(c, fd, KVM_SET_CPUID2, reinterpret_cast<unsigned long>(buf));
		break;
	}
#endif
	case 12: { // capabilities
		kvm_enable_cap cap = {};
#ifdef __aarch64__
		cap.cap = rng.chance(50) ? AXVM_CAP_ARM_NISV_TO_USER : static_cast<uint32_t>(rng.next());
#else
		cap.cap = rng.chance(50) ? AXVM_CAP_HALT_IN_KERNEL : static_cast<uint32_t>(rng.next());
#endif
		cap.args[0] = rng.below(3);
		checked(c, fd, KVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap));
		checked(c, fd, KVM_CHECK_EXTENSION, rng.below(300));
#ifndef __aarch64__
		// The quirks (VM) and the PV CPUID enforcement (vCPU), on any fd,
		// any bits and flags: KVM 6.1 gives EINVAL (ENOTTY on /dev/kvm).
		static const uint32_t pv_caps[] = {KVM_CAP_DISABLE_QUIRKS, KVM_CAP_DISABLE_QUIRKS2,
						   KVM_CAP_ENFORCE_PV_FEATURE_CPUID};
		cap.cap = pv_caps[rng.below(3)];
		cap.flags = rng.chance(90) ? 0 : static_cast<uint32_t>(rng.next());
		cap.args[0] = rng.chance(70) ? rng.below(128) : rng.next();
		checked_in(c, fd, KVM_ENABLE_CAP, ptr(&cap), kVcpuCall);
		cap.flags = 0;
#endif
		break;
	}
	case 13: // a close (the fd number may be reused by the next open)
		if (rng.chance(30))
			close(c.fds[slot].exchange(-1));
		break;
	case 14: { // any ioctl number of KVM's and axvm's types, random argument
		const unsigned type = rng.chance(50) ? KVMIO : AXVM_OWN_IO;
		const unsigned dir = static_cast<unsigned>(rng.below(4));
		const unsigned long req = _IOC(dir, type, rng.below(256), rng.below(512));
		memset(buf, static_cast<int>(rng.next()), sizeof(buf));
		checked(c, fd, req, rng.chance(80) ? reinterpret_cast<unsigned long>(buf) : rng.next());
		break;
	}
	case 15: { // mmap of the run page with odd offsets and sizes
		const size_t len = rng.chance(70) ? 4096 : rng.below(5) * 4096;
		void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			       static_cast<off_t>(rng.chance(80) ? 0 : rng.below(4) * 4096));
		if (p != MAP_FAILED) {
			static_cast<volatile uint8_t *>(p)[rng.below(len)] ^= 1;
			munmap(p, len);
		}
		break;
	}
	case 16: { // a stats fd of some fd, read at random offsets and sizes
		const long sfd = checked(c, fd, KVM_GET_STATS_FD, 0);
		if (sfd >= 0) {
			for (int i = 0; i < 3; i++)
				if (pread(static_cast<int>(sfd), buf, rng.below(sizeof(buf)), static_cast<off_t>(rng.below(8192))) < 0)
					fail(c, "reading a stats fd failed with errno %lu (%ld)", errno, 0);
			close(static_cast<int>(sfd));
		}
		break;
	}
	case 19:
		list_and_attr_call(c, rng, fd, buf, sizeof(buf));
		break;
	default: { // a new guest image in some memory
		uint8_t *m = c.mem[rng.below(4)];
		random_image(rng, m, kMemMax);
		break;
	}
	}
}

struct Worker {
	Case *c;
	uint64_t seed;
	unsigned calls;
};

void *worker_main(void *arg)
{
	auto *w = static_cast<Worker *>(arg);
	Rng rng{w->seed};
	for (unsigned i = 0; i < w->calls && !w->c->failures.load(); i++)
		one_call(*w->c, rng);
	return nullptr;
}

// The one-instruction guest at 0x1000 that halts, and a vCPU set to start there.
#ifdef __aarch64__
void put_halt(uint8_t *at)
{
	const uint32_t wfi = 0xd503207f;
	memcpy(at, &wfi, 4);
}

bool start_at_0x1000(int vm, int vcpu)
{
	kvm_vcpu_init init = {};
	uint64_t pc = 0x1000;
	kvm_one_reg reg = {KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | 64, reinterpret_cast<uintptr_t>(&pc)};
	return ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) == 0 && ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) == 0 &&
	       ioctl(vcpu, KVM_SET_ONE_REG, &reg) == 0;
}
#else
void put_halt(uint8_t *at) { *at = 0xf4; }

bool start_at_0x1000(int, int vcpu)
{
	kvm_sregs s = {};
	kvm_regs regs = {};
	regs.rip = 0x1000, regs.rflags = 2;
	if (ioctl(vcpu, KVM_GET_SREGS, &s))
		return false;
	s.cs.base = 0, s.cs.selector = 0;
	return ioctl(vcpu, KVM_SET_SREGS, &s) == 0 && ioctl(vcpu, KVM_SET_REGS, &regs) == 0;
}
#endif

// The race's guest at 0x1000: every exit userspace sees, forever.
#ifdef __aarch64__
void put_exits_loop(uint8_t *at)
{
	// movz x1, #0x900, lsl #16; loop: str w0, [x1]; ldr w0, [x1, #4];
	// hvc #0; mov x0, #1; b loop   (0x09000000 is outside every slot)
	const uint32_t code[] = {0xd2a12001, 0xb9000020, 0xb9400420, 0xd4000002, 0xd2800020, 0x17fffffc};
	memcpy(at, code, sizeof(code));
}
#else
void put_exits_loop(uint8_t *at)
{
	// mov ax,0x2000; mov ds,ax (0x20000: outside the slot); loop: out 0xe9,al;
	// in al,0x60; mov [0],al; mov al,[1]; vmmcall; jmp loop
	const uint8_t code[] = {0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xe6, 0xe9, 0xe4, 0x60, 0xa2, 0x00, 0x00,
				0xa0, 0x01, 0x00, 0x0f, 0x01, 0xd9, 0xeb, 0xf1};
	memcpy(at, code, sizeof(code));
}
#endif

// Turns every "axvm" event on (or back off); false without tracing.
bool axvm_events(bool on)
{
	mkdir("/sys/kernel/tracing", 0755);
	mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr); // may be there already
	const int fd = open("/sys/kernel/tracing/events/axvm/enable", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	const bool ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok;
}

int run_page_race(unsigned seconds)
{
	const bool traced = axvm_events(true);
	const int dev = open(g_device, O_RDWR | O_CLOEXEC);
	const int vm = ioctl(dev, KVM_CREATE_VM, 0);
	void *mem = mmap(nullptr, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	put_exits_loop(static_cast<uint8_t *>(mem) + 0x1000);
	kvm_userspace_memory_region r = {0, 0, 0, 0x10000, reinterpret_cast<uintptr_t>(mem)};
	const int vcpu = vm >= 0 && ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) == 0 ? ioctl(vm, KVM_CREATE_VCPU, 0) : -1;
	void *run = vcpu >= 0 ? mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0) : MAP_FAILED;
	if (run == MAP_FAILED || !start_at_0x1000(vm, vcpu)) {
		printf("fuzz: run-page race: could not set up a guest (errno %d)\n", errno);
		return 1;
	}
	struct Race {
		volatile uint8_t *page;
		std::atomic<bool> stop{false};
	} race;
	race.page = static_cast<volatile uint8_t *>(run);
	pthread_t scribbler;
	pthread_create(&scribbler, nullptr, [](void *arg) -> void * {
		Race *r = static_cast<Race *>(arg);
		Rng rng{1};
		while (!r->stop.load(std::memory_order_relaxed)) {
			// Mostly the exit's own fields (the first 128 bytes), with
			// the I/O data offset and sizes at their most hostile.
			const size_t at = rng.chance(80) ? rng.below(128) : rng.below(4096 - 8);
			const uint64_t v = rng.chance(30) ? ~0ull : rng.next();
			for (int i = 0; i < 8; i++)
				r->page[at + i] = static_cast<uint8_t>(v >> (8 * i));
		}
		return nullptr;
	}, &race);
	unsigned long exits = 0, failures = 0;
	const time_t end = time(nullptr) + seconds;
	while (time(nullptr) < end) {
		const long ret = ioctl(vcpu, KVM_RUN, 0);
		if (ret == 0)
			exits++;
		else if (!allowed_errno(errno))
			failures++;
	}
	race.stop = true;
	pthread_join(scribbler, nullptr);
	if (traced)
		axvm_events(false);
	close(vcpu), close(vm), close(dev);
	munmap(mem, 0x10000);
	printf("fuzz: run-page race for %u s, tracepoints %s: %lu exits, %lu unexpected errors\n", seconds,
	       traced ? "on" : "unavailable", exits, failures);
	return failures ? 1 : 0;
}

// After a case, a plain guest must still run: a halt -> KVM_EXIT_HLT.
bool device_still_works()
{
	const int dev = open(g_device, O_RDWR | O_CLOEXEC);
	const int vm = ioctl(dev, KVM_CREATE_VM, 0);
	void *mem = mmap(nullptr, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	put_halt(static_cast<uint8_t *>(mem) + 0x1000);
	kvm_userspace_memory_region r = {0, 0, 0, 0x10000, reinterpret_cast<uintptr_t>(mem)};
	bool ok = dev >= 0 && vm >= 0 && ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) == 0;
	const int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	void *run = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, vcpu, 0);
	ok = ok && vcpu >= 0 && run != MAP_FAILED && start_at_0x1000(vm, vcpu) && ioctl(vcpu, KVM_RUN, 0) == 0 &&
	     static_cast<kvm_run *>(run)->exit_reason == KVM_EXIT_HLT;
	if (run != MAP_FAILED)
		munmap(run, 4096);
	close(vcpu), close(vm), close(dev);
	munmap(mem, 0x10000);
	return ok;
}

// One case, in a child process: exit status 0 when every invariant held.
int run_case(uint64_t seed, unsigned threads)
{
	struct sigaction sa = {};
	sa.sa_handler = [](int) {};
	sigaction(SIGALRM, &sa, nullptr); // interrupts RUN, no SA_RESTART
	static Case c;
	for (auto &fd : c.fds)
		fd.store(-1);
	Rng rng{seed};
	for (auto &m : c.mem) {
		m = static_cast<uint8_t *>(
			mmap(nullptr, kMemMax, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		random_image(rng, m, kMemMax);
	}
	c.fds[0].store(open(g_device, O_RDWR | O_CLOEXEC));
	pthread_t tids[8];
	Worker workers[8];
	for (unsigned t = 0; t < threads; t++) {
		workers[t] = {&c, rng.next(), 200};
		pthread_create(&tids[t], nullptr, worker_main, &workers[t]);
	}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(tids[t], nullptr);
	for (auto &fd : c.fds)
		close(fd.exchange(-1));
	if (!c.failures && !device_still_works())
		fail(c, "a plain guest no longer runs after the case (%lu %ld)", 0, 0);
	if (c.failures) {
		printf("fuzz: seed %llu failed: %s\n", static_cast<unsigned long long>(seed), c.failure);
		return 1;
	}
	return 0;
}

// Where a hung case's threads wait: each one's kernel stack (root only;
// the replay may not hang again).
void print_stacks(pid_t pid)
{
	const std::string dir = "/proc/" + std::to_string(pid) + "/task";
	DIR *d = opendir(dir.c_str());
	if (!d)
		return;
	while (const dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		char text[4096];
		const int fd = open((dir + "/" + e->d_name + "/stack").c_str(), O_RDONLY | O_CLOEXEC);
		const ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
		if (fd >= 0)
			close(fd);
		printf("fuzz: thread %s:\n%.*s", e->d_name, n > 0 ? static_cast<int>(n) : 0, text);
	}
	closedir(d);
}

int usage()
{
	fprintf(stderr, "usage: fuzz DEVICE [--seconds S] [--cases N] [--seed N] [--threads T]\n");
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	g_device = argv[1];
	unsigned long seconds = 0, cases = 0;
	unsigned long long seed = static_cast<unsigned long long>(time(nullptr));
	unsigned threads = 3;
	unsigned long race = 2;
	for (int i = 2; i + 1 < argc; i += 2) {
		const std::string a = argv[i];
		char *end;
		const unsigned long long v = strtoull(argv[i + 1], &end, 0);
		if (*end)
			return usage();
		if (a == "--seconds")
			seconds = v;
		else if (a == "--cases")
			cases = v;
		else if (a == "--seed")
			seed = v;
		else if (a == "--threads" && v >= 1 && v <= 8)
			threads = static_cast<unsigned>(v);
		else if (a == "--race")
			race = v;
		else
			return usage();
	}
	if (argc % 2)
		return usage();
	if (!seconds && !cases)
		cases = 1;
	setvbuf(stdout, nullptr, _IOLBF, 0);
	const int dev = open(g_device, O_RDWR | O_CLOEXEC);
	g_vapic = ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_VAPIC) > 0;
	close(dev);
	printf("fuzz: %s, base seed %llu, %u threads\n", g_device, seed, threads);
	unsigned long done = 0, failed = 0;
	if (race) {
		const pid_t pid = fork();
		if (pid == 0)
			_exit(run_page_race(static_cast<unsigned>(race)));
		int status = 0;
		waitpid(pid, &status, 0);
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	const time_t start = time(nullptr);
	for (unsigned long n = 0; (!cases || n < cases) && (!seconds || time(nullptr) - start < (time_t)seconds); n++) {
		const uint64_t case_seed = seed + n;
		printf("fuzz: case seed %llu\n", static_cast<unsigned long long>(case_seed));
		const pid_t pid = fork();
		if (pid == 0)
			_exit(run_case(case_seed, threads));
		// A case must finish within 30 s, and SIGKILL must end it.
		int status = 0;
		pid_t got = 0;
		for (int i = 0; i < 300 && (got = waitpid(pid, &status, WNOHANG)) == 0; i++)
			usleep(100 * 1000);
		if (got == 0) {
			printf("fuzz: seed %llu hung; killing it\n", static_cast<unsigned long long>(case_seed));
			print_stacks(pid);
			kill(pid, SIGKILL);
			for (int i = 0; i < 100 && (got = waitpid(pid, &status, WNOHANG)) == 0; i++)
				usleep(100 * 1000);
			if (got == 0)
				printf("fuzz: seed %llu does not die from SIGKILL\n",
				       static_cast<unsigned long long>(case_seed));
			failed++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (WIFSIGNALED(status))
				printf("fuzz: seed %llu: the fuzzer died from signal %d\n",
				       static_cast<unsigned long long>(case_seed), WTERMSIG(status));
			failed++;
		}
		done++;
	}
	printf("fuzz: %lu cases, %lu failed (replay one: fuzz %s --seed N --cases 1 --threads %u)\n", done, failed,
	       g_device, threads);
	return failed ? 1 : 0;
}
