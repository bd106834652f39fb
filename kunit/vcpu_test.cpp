// SPDX-License-Identifier: GPL-2.0
// The vCPU state machine: every legal and every illegal edge, failures
// inside an operation, and exclusive use.
#include "check.hpp"
#include "fake_arch.hpp"

using namespace axvm;
using axvm::test::FakeVcpu;

namespace {

enum class Op { Setup, Bind, Unbind, Run, Block, Wake };
constexpr Op kOps[] = {Op::Setup, Op::Bind, Op::Unbind, Op::Run, Op::Block, Op::Wake};
constexpr VcpuState kStates[] = {VcpuState::Invalid, VcpuState::Created, VcpuState::Free,
				 VcpuState::Ready,   VcpuState::Running, VcpuState::Blocked};

// The seed's edges: the one state each operation starts from, and where it leads.
struct Edge {
	Op op;
	VcpuState from, to;
};
constexpr Edge kEdges[] = {
	{Op::Setup, VcpuState::Created, VcpuState::Free},  {Op::Bind, VcpuState::Free, VcpuState::Ready},
	{Op::Unbind, VcpuState::Ready, VcpuState::Free},   {Op::Run, VcpuState::Ready, VcpuState::Ready},
	{Op::Block, VcpuState::Running, VcpuState::Blocked}, {Op::Wake, VcpuState::Blocked, VcpuState::Ready},
};

int apply(Vcpu &v, Op op)
{
	switch (op) {
	case Op::Setup: return v.setup().error();
	case Op::Bind: return v.bind().error();
	case Op::Unbind: return v.unbind().error();
	case Op::Run: return v.run().error();
	case Op::Block: return v.block().error();
	case Op::Wake: return v.wake().error();
	}
	return -1;
}

// Walks a fresh vCPU to @s through legal edges only.
bool reach(Vcpu &v, VcpuState s)
{
	switch (s) {
	case VcpuState::Created: return true;
	case VcpuState::Invalid: return !v.transition_state(VcpuState::Free, VcpuState::Ready).ok();
	case VcpuState::Free: return v.setup().ok();
	case VcpuState::Ready: return v.setup().ok() && v.bind().ok();
	case VcpuState::Running:
		return reach(v, VcpuState::Ready) && v.transition_state(VcpuState::Ready, VcpuState::Running).ok();
	case VcpuState::Blocked: return reach(v, VcpuState::Running) && v.block().ok();
	}
	return false;
}

int arch_calls(const test::FakeArch &a) { return a.setup_calls + a.bind_calls + a.unbind_calls + a.run_calls; }

} // namespace

extern "C" void axvm_test_vcpu_every_edge(struct kunit *t)
{
	for (VcpuState s : kStates) {
		for (Op op : kOps) {
			FakeVcpu f;
			if (!f.ok()) {
				CHECK(t, !"allocation failed");
				return;
			}
			CHECK(t, reach(*f.vcpu, s));
			CHECK_EQ(t, f.vcpu->state(), s);
			const int before = arch_calls(*f.arch);

			const Edge *legal = nullptr;
			for (const Edge &e : kEdges)
				if (e.op == op && e.from == s)
					legal = &e;

			const int r = apply(*f.vcpu, op);
			if (legal) {
				CHECK_EQ(t, r, 0);
				CHECK_EQ(t, f.vcpu->state(), legal->to);
			} else {
				// Illegal: an error, Invalid, and the backend never called.
				CHECK_EQ(t, r, -err::EINVAL);
				CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
				CHECK_EQ(t, arch_calls(*f.arch), before);
			}
			CHECK(t, !f.arch->current_was_wrong);
		}
	}
}

extern "C" void axvm_test_vcpu_full_cycle(struct kunit *t)
{
	FakeVcpu f(3);
	CHECK(t, f.ok());
	Vcpu &v = *f.vcpu;
	CHECK_EQ(t, v.state(), VcpuState::Created);
	CHECK_EQ(t, v.id(), 3u);
	CHECK(t, v.setup().ok());
	CHECK_EQ(t, f.arch->setup_calls, 1);
	CHECK(t, v.bind().ok());
	CHECK_EQ(t, v.bound_cpu(), static_cast<int>(f.arch->bound_cpu));
	for (int i = 0; i < 3; i++) {
		Result<ExitReason> e = v.run();
		CHECK(t, e.ok());
		CHECK(t, e.ok() && e.value().kind() == ExitKind::Halt);
		CHECK_EQ(t, v.state(), VcpuState::Ready);
	}
	CHECK_EQ(t, f.arch->run_calls, 3);
	CHECK(t, v.unbind().ok());
	CHECK_EQ(t, v.bound_cpu(), Vcpu::kNotBound);
	CHECK(t, v.bind().ok()); // Free again: may bind anew
	CHECK_EQ(t, v.state(), VcpuState::Ready);
	CHECK(t, !f.arch->current_was_wrong);
}

extern "C" void axvm_test_vcpu_failing_operation(struct kunit *t)
{
	{
		FakeVcpu f;
		f.arch->fail_setup = true;
		CHECK_EQ(t, f.vcpu->setup().error(), -err::EIO);
		CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
	}
	{
		FakeVcpu f;
		f.arch->fail_bind = true;
		CHECK(t, f.vcpu->setup().ok());
		CHECK_EQ(t, f.vcpu->bind().error(), -err::EIO);
		CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
	}
	{
		FakeVcpu f;
		f.arch->fail_unbind = true;
		CHECK(t, reach(*f.vcpu, VcpuState::Ready));
		CHECK_EQ(t, f.vcpu->unbind().error(), -err::EIO);
		CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
	}
	{
		FakeVcpu f;
		f.arch->fail_run = true;
		CHECK(t, reach(*f.vcpu, VcpuState::Ready));
		CHECK_EQ(t, f.vcpu->run().error(), -err::EIO);
		CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
		// Invalid is final: nothing leaves it.
		for (Op op : kOps)
			CHECK(t, apply(*f.vcpu, op) != 0);
		CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
	}
	{
		// A failing closure of with_state_transition: its error, then Invalid.
		FakeVcpu f;
		Status s = f.vcpu->with_state_transition(VcpuState::Created, VcpuState::Free,
							 [] { return Status(fail(err::ENOSPC)); });
		CHECK_EQ(t, s.error(), -err::ENOSPC);
		CHECK_EQ(t, f.vcpu->state(), VcpuState::Invalid);
	}
}

extern "C" void axvm_test_vcpu_without_backend(struct kunit *t)
{
	Vcpu *v = new Vcpu(0, nullptr);
	CHECK(t, v);
	if (!v)
		return;
	CHECK_EQ(t, v->setup().error(), -err::ENODEV);
	CHECK_EQ(t, v->state(), VcpuState::Invalid);
	delete v;
}

extern "C" void axvm_test_vcpu_claim(struct kunit *t)
{
	FakeVcpu f;
	Vcpu &v = *f.vcpu;
	CHECK(t, v.try_claim());
	CHECK(t, !v.try_claim()); // a second thread would get -EBUSY
	CHECK_EQ(t, v.state(), VcpuState::Created); // and the state is untouched
	v.release();
	{
		VcpuClaim c(v);
		CHECK(t, static_cast<bool>(c));
		VcpuClaim c2(v);
		CHECK(t, !static_cast<bool>(c2));
	}
	CHECK(t, v.try_claim()); // both RAII claims gone, the first released it
	v.release();
}
