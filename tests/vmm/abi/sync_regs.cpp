// SPDX-License-Identifier: GPL-2.0
// KVM_CAP_SYNC_REGS: register sets in the run page (kvm_valid_regs stored
// on the way out of RUN, kvm_dirty_regs taken on the way in), with KVM's
// semantics (arch/x86/kvm/x86.c sync_regs/store_regs), and the run page
// rewritten by another thread while RUN takes it.
#include "abi.hpp"

#include <atomic>
#include <csignal>
#include <ctime>
#include <pthread.h>
#include <sched.h>
#include <sys/time.h>

namespace abi {

namespace {

constexpr uint64_t kAll = AXVM_SYNC_X86_VALID_FIELDS;

// loop: out 0x10,al; inc bx; jmp loop
const std::vector<uint8_t> kCountingLoop = {0xe6, 0x10, 0x43, 0xeb, 0xfb};

uint64_t rbx_of(int vcpu)
{
	axvm_regs r{};
	return xioctl(vcpu, AXVM_GET_REGS, reinterpret_cast<unsigned long>(&r)) == 0 ? r.rbx : ~0ull;
}

long run_once(Machine &m) { return xioctl(m.vcpu, AXVM_RUN); }

} // namespace

bool sync_regs_like_kvm()
{
	Machine m;
	EXPECT(m.start(kCountingLoop));
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_SYNC_REGS) == (long)kAll);
	axvm_run *run = m.run;

	// An unknown set in either word: -EINVAL before anything is taken or
	// stored, the guest not entered.
	const std::pair<uint64_t, uint64_t> bad[] = {
		{1ull << 31, 0}, {kAll | 1ull << 3, 0}, {0, 1ull << 31}, {0, kAll | 1ull << 63}};
	for (const auto &b : bad) {
		run->s.regs.regs.rbx = 0x5a5a;
		run->kvm_valid_regs = b.first;
		run->kvm_dirty_regs = b.second;
		EXPECT(run_once(m) == -EINVAL);
		EXPECT(run->s.regs.regs.rbx == 0x5a5a && run->kvm_dirty_regs == b.second);
		EXPECT(rbx_of(m.vcpu) == 0);
	}

	// Every valid set stored: what the ioctls read.
	run->kvm_valid_regs = kAll;
	run->kvm_dirty_regs = 0;
	EXPECT(m.expect_out(0x10, 1) >= 0);
	axvm_regs regs{};
	axvm_sregs sregs{};
	axvm_vcpu_events events{};
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&sregs)) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, reinterpret_cast<unsigned long>(&events)) == 0);
	EXPECT(!memcmp(&regs, &run->s.regs.regs, sizeof(regs)));
	EXPECT(!memcmp(&sregs, &run->s.regs.sregs, sizeof(sregs)));
	EXPECT(!memcmp(&events, &run->s.regs.events, sizeof(events)));

	// Dirty sets go in (each bit cleared as taken), then the guest runs
	// and the valid ones come back out.
	run->s.regs.regs.rbx = 0x1000;
	run->s.regs.sregs.apic_base = 1ull << 11;
	run->kvm_dirty_regs = AXVM_SYNC_X86_REGS | AXVM_SYNC_X86_SREGS | AXVM_SYNC_X86_EVENTS;
	EXPECT(m.expect_out(0x10, 1) >= 0);
	EXPECT(run->kvm_dirty_regs == 0);
	EXPECT(run->s.regs.regs.rbx == 0x1001 && rbx_of(m.vcpu) == 0x1001);
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&sregs)) == 0);
	EXPECT(sregs.apic_base == 1ull << 11 && run->s.regs.sregs.apic_base == 1ull << 11);

	// Not dirty: the run page's values are not taken, and are overwritten.
	run->s.regs.regs.rbx = 0xdead;
	EXPECT(m.expect_out(0x10, 1) >= 0);
	EXPECT(run->s.regs.regs.rbx == 0x1002);

	// Not valid: nothing stored; dirty still taken.
	run->kvm_valid_regs = 0;
	run->s.regs.regs.rbx = 0xaaaa;
	EXPECT(m.expect_out(0x10, 1) >= 0);
	EXPECT(run->s.regs.regs.rbx == 0xaaaa && rbx_of(m.vcpu) == 0x1003);
	run->kvm_dirty_regs = AXVM_SYNC_X86_REGS;
	run->s.regs.regs.rbx = 0xbbbb;
	EXPECT(m.expect_out(0x10, 1) >= 0);
	EXPECT(run->s.regs.regs.rbx == 0xbbbb && rbx_of(m.vcpu) == 0xbbbc && run->kvm_dirty_regs == 0);

	// A set its ioctl would refuse: -EINVAL; the sets before it are taken,
	// it and the ones after stay in kvm_dirty_regs; the valid ones are
	// still stored.
	run->kvm_valid_regs = kAll;
	EXPECT(m.expect_out(0x10, 1) >= 0);
	run->s.regs.regs.rbx = 0x2000;
	run->s.regs.sregs.cr0 |= 1ull << 32;
	run->kvm_dirty_regs = kAll;
	EXPECT(run_once(m) == -EINVAL);
	EXPECT(run->kvm_dirty_regs == (AXVM_SYNC_X86_SREGS | AXVM_SYNC_X86_EVENTS));
	EXPECT(rbx_of(m.vcpu) == 0x2000 && run->s.regs.regs.rbx == 0x2000);
	EXPECT(!(run->s.regs.sregs.cr0 >> 32)); // stored over the refused value
	run->s.regs.events.flags = 1u << 31;    // unknown event flags
	run->kvm_dirty_regs = kAll;
	EXPECT(run_once(m) == -EINVAL);
	EXPECT(run->kvm_dirty_regs == AXVM_SYNC_X86_EVENTS);

	// immediate_exit: the dirty sets taken and the valid ones stored, the
	// guest not entered.
	run->s.regs.regs.rbx = 0x3000;
	run->kvm_dirty_regs = AXVM_SYNC_X86_REGS;
	run->immediate_exit = 1;
	EXPECT(run_once(m) == -EINTR);
	run->immediate_exit = 0;
	EXPECT(run->kvm_dirty_regs == 0 && rbx_of(m.vcpu) == 0x3000 && run->s.regs.regs.rbx == 0x3000);
	EXPECT(m.expect_out(0x10, 1) >= 0);
	EXPECT(run->s.regs.regs.rbx == 0x3001);
	return true;
}

// Another thread rewrites both words and the register sets while RUN takes
// them: each RUN takes one consistent copy (or refuses it), nothing else;
// afterwards the vCPU is set up again through the ioctls and runs.
bool sync_regs_rewritten_during_run()
{
	Machine m;
	EXPECT(m.start(kCountingLoop));
	axvm_sregs saved;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&saved)) == 0);
	struct Scribbler {
		axvm_run *run;
		std::atomic<bool> stop{false};
		std::atomic<bool> started{false};
	} sc{m.run};
	pthread_t tid;
	EXPECT(pthread_create(&tid, nullptr, [](void *arg) -> void * {
		auto *s = static_cast<Scribbler *>(arg);
		volatile uint8_t *regs = reinterpret_cast<volatile uint8_t *>(&s->run->s.regs);
		volatile __u64 *valid = &s->run->kvm_valid_regs, *dirty = &s->run->kvm_dirty_regs;
		uint64_t x = 0x9e3779b97f4a7c15ull;
		while (!s->stop.load(std::memory_order_relaxed)) {
			s->started.store(true, std::memory_order_relaxed);
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			// Mostly sets that exist, so that most RUNs take them.
			*valid = x % 16 ? x & kAll : x;
			*dirty = (x >> 8) % 16 ? (x >> 8) & kAll : x >> 8;
			const size_t at = (x >> 16) % (sizeof(axvm_sync_regs) - 8);
			for (int i = 0; i < 8; i++)
				regs[at + i] = static_cast<uint8_t>(x >> (8 * i));
		}
		return nullptr;
	}, &sc) == 0);
	// Scribbled registers can leave the guest looping without exits: a
	// timer's signal ends such a RUN (-EINTR).
	struct sigaction sa {};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, nullptr);
	itimerval tick{{0, 5000}, {0, 5000}};
	setitimer(ITIMER_REAL, &tick, nullptr);
	long runs = 0, refused = 0, other = 0;
	// The scribbler running first, and the RUNs going on (up to 2 s) until
	// both outcomes were seen: 3000 fast RUNs could otherwise all finish
	// before the other thread was scheduled (seen once on a 6.12 boot).
	while (!sc.started.load(std::memory_order_relaxed))
		sched_yield();
	const time_t end = time(nullptr) + 2;
	for (int i = 0; (i < 3000 || !runs || !refused) && time(nullptr) < end; i++) {
		const long r = run_once(m);
		runs += r == 0;
		refused += r == -EINVAL;
		other += r != 0 && r != -EINVAL && r != -EINTR;
	}
	tick = itimerval{};
	setitimer(ITIMER_REAL, &tick, nullptr);
	sc.stop = true;
	pthread_join(tid, nullptr);
	g_why = std::to_string(runs) + " exits, " + std::to_string(refused) + " refused, " + std::to_string(other) +
		" other errors";
	EXPECT(other == 0 && runs > 0 && refused > 0);
	m.run->kvm_valid_regs = 0;
	m.run->kvm_dirty_regs = 0;
	// Every segment and control register back as it was (scribbled ones
	// that SVM runs with, VMX's guest-state checks refuse: -EINVAL).
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, reinterpret_cast<unsigned long>(&saved)) == 0);
	EXPECT(vmm_set_regs_at(m.vcpu, VMM_CODE, 0) == 0);
	// No event, and out of SMM with no SMI pending: scribbled events may
	// have entered SMM (where this VM has no memory), as they would on KVM.
	axvm_vcpu_events none{};
	none.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING | AXVM_VCPUEVENT_VALID_SHADOW | AXVM_VCPUEVENT_VALID_SMM;
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, reinterpret_cast<unsigned long>(&none)) == 0);
	EXPECT(m.expect_out(0x10, 1) >= 0);
	g_why.clear();
	return true;
}

} // namespace abi
