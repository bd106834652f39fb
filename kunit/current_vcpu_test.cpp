// SPDX-License-Identifier: GPL-2.0
// CURRENT_VCPU through with_current_cpu_set: on every online CPU at once,
// each CPU sees only its own vCPU; nesting is refused; every path clears it.
#include "check.hpp"
#include "fake_arch.hpp"

using namespace axvm;
using axvm::test::FakeVcpu;

namespace {

constexpr unsigned int kMaxCpus = 64;

struct EachCpu {
	FakeVcpu *vcpus[kMaxCpus] = {};
	FakeVcpu *spare[kMaxCpus] = {};
	unsigned int online = 0;
	unsigned int arrived = 0;
	bool ran[kMaxCpus] = {};
	bool ok[kMaxCpus] = {};
};

// Runs on each CPU with interrupts off. KUnit cannot report from here, so
// the verdict goes into ctx->ok[cpu] for the test thread to check.
void on_cpu(void *arg)
{
	EachCpu &ctx = *static_cast<EachCpu *>(arg);
	const unsigned int cpu = axvm_this_cpu();
	if (cpu >= kMaxCpus)
		return;
	Vcpu &mine = *ctx.vcpus[cpu]->vcpu;
	Vcpu &other = *ctx.spare[cpu]->vcpu;
	bool ok = Vcpu::current() == nullptr;

	Status s = mine.with_current_cpu_set([&] {
		bool inside = Vcpu::current() == &mine;
		// Wait (bounded, generously: an emulated CPU may be slow to take
		// its IPI on a loaded host) until every CPU is inside too, then look again:
		// each must still see its own vCPU while all are published.
		__atomic_add_fetch(&ctx.arrived, 1, __ATOMIC_SEQ_CST);
		for (long spin = 0; spin < 2000000000L && __atomic_load_n(&ctx.arrived, __ATOMIC_SEQ_CST) < ctx.online;
		     spin++)
			asm volatile("" ::: "memory");
		inside = inside && __atomic_load_n(&ctx.arrived, __ATOMIC_SEQ_CST) == ctx.online;
		inside = inside && Vcpu::current() == &mine;
		// Nesting is refused and leaves the outer vCPU published.
		Status nested = other.with_current_cpu_set([] { return Status(); });
		inside = inside && nested.error() == -err::EBUSY && Vcpu::current() == &mine;
		return inside ? Status() : Status(fail(err::EIO));
	});
	ok = ok && s.ok() && Vcpu::current() == nullptr;
	ctx.ran[cpu] = true;
	ctx.ok[cpu] = ok;
}

} // namespace

extern "C" void axvm_test_current_vcpu_every_cpu(struct kunit *t)
{
	EachCpu *ctx = new EachCpu;
	CHECK(t, ctx);
	if (!ctx)
		return;
	const unsigned int n = axvm_nr_cpu_ids() < kMaxCpus ? axvm_nr_cpu_ids() : kMaxCpus;
	for (unsigned int cpu = 0; cpu < n; cpu++) {
		if (!axvm_cpu_online(cpu))
			continue;
		ctx->online++;
		ctx->vcpus[cpu] = new FakeVcpu(cpu);
		ctx->spare[cpu] = new FakeVcpu(100 + cpu);
		CHECK(t, ctx->vcpus[cpu] && ctx->vcpus[cpu]->ok() && ctx->spare[cpu] && ctx->spare[cpu]->ok());
	}
	if (ctx->online < 2) {
		axvm_kunit_skip(t, "needs at least two online CPUs");
	} else {
		axvm_run_on_each_cpu(on_cpu, ctx);
		for (unsigned int cpu = 0; cpu < n; cpu++) {
			if (!ctx->vcpus[cpu])
				continue;
			CHECK(t, ctx->ran[cpu]);
			CHECK(t, ctx->ok[cpu]);
		}
	}
	for (unsigned int cpu = 0; cpu < n; cpu++) {
		delete ctx->vcpus[cpu];
		delete ctx->spare[cpu];
	}
	delete ctx;
}

extern "C" void axvm_test_current_vcpu_cleared_on_errors(struct kunit *t)
{
	FakeVcpu a(1), b(2);
	CHECK(t, a.ok() && b.ok());

	axvm_preempt_disable();
	const bool empty_before = Vcpu::current() == nullptr;
	axvm_preempt_enable();
	CHECK(t, empty_before);

	// A failing closure: its error comes back and the slot is empty after.
	Status s = a.vcpu->with_current_cpu_set([] { return Status(fail(err::ENOSPC)); });
	CHECK_EQ(t, s.error(), -err::ENOSPC);
	axvm_preempt_disable();
	const bool empty_after_error = Vcpu::current() == nullptr;
	axvm_preempt_enable();
	CHECK(t, empty_after_error);

	// A refused nesting inside a failing operation of the outer vCPU.
	Status outer = a.vcpu->with_current_cpu_set([&] {
		Status inner = b.vcpu->with_current_cpu_set([] { return Status(); });
		return inner.ok() ? Status() : inner;
	});
	CHECK_EQ(t, outer.error(), -err::EBUSY);
	axvm_preempt_disable();
	const bool empty_after_nesting = Vcpu::current() == nullptr;
	axvm_preempt_enable();
	CHECK(t, empty_after_nesting);

	// A state-machine failure on the way: manipulate_arch_vcpu from the
	// wrong state never publishes, and the slot stays empty.
	CHECK(t, !a.vcpu->bind().ok());
	axvm_preempt_disable();
	const bool empty_after_bad_state = Vcpu::current() == nullptr;
	axvm_preempt_enable();
	CHECK(t, empty_after_bad_state);
}
