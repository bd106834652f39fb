// SPDX-License-Identifier: GPL-2.0
// The vCPU state machine, kept exactly as the seed (axvcpu) defines it:
//
//   Created -setup-> Free -bind-> Ready -run-> Running -exit-> Ready
//   Running -block-> Blocked -wake-> Ready;  Ready -unbind-> Free
//
// Every operation names the state it needs and the state it leaves; an
// operation attempted from any other state, or failing inside, leaves the
// vCPU Invalid. The seed relies on Rust's `&mut self` for exclusive access;
// here a thread first claims the vCPU (try_claim), and a second thread gets
// -EBUSY without touching the state, which is what a busy RUN reports.
#pragma once

#include "arch_vcpu.hpp"
#include "boundary.h"

namespace axvm {

enum class VcpuState : u8 { Invalid, Created, Free, Ready, Running, Blocked };

const char *state_name(VcpuState state);

class Vcpu {
public:
	enum : int { kNotBound = -1 };

	// Takes ownership of @arch (may be null: no backend on this host).
	Vcpu(u32 id, ArchVcpu *arch) : id_(id), arch_(arch) {}
	~Vcpu() { delete arch_; }
	Vcpu(const Vcpu &) = delete;
	Vcpu &operator=(const Vcpu &) = delete;

	u32 id() const { return id_; }
	VcpuState state() const { return __atomic_load_n(&state_, __ATOMIC_ACQUIRE); }
	ArchVcpu *arch() const { return arch_; }
	// The CPU the vCPU is bound to while Ready/Running, else kNotBound.
	// Read from other threads (kicks), hence atomic.
	int bound_cpu() const { return __atomic_load_n(&bound_cpu_, __ATOMIC_SEQ_CST); }

	// Exclusive use of the vCPU by one thread; false if another holds it.
	bool try_claim() { return !__atomic_exchange_n(&claimed_, true, __ATOMIC_ACQUIRE); }
	void release() { __atomic_store_n(&claimed_, false, __ATOMIC_RELEASE); }

	// Runs f() if the state is @from: success -> @to, failure -> Invalid.
	// Any other state -> Invalid and -EINVAL. f returns Status or Result<T>.
	template <class F> auto with_state_transition(VcpuState from, VcpuState to, F &&f) -> decltype(f())
	{
		if (state() != from) {
			report_bad_state(from);
			set_state(VcpuState::Invalid);
			return fail(err::EINVAL);
		}
		auto result = f();
		set_state(result.ok() ? to : VcpuState::Invalid);
		return result;
	}

	// Publishes this vCPU in CURRENT_VCPU for the duration of f(), with
	// preemption off; refuses (-EBUSY) if this CPU already has one.
	template <class F> auto with_current_cpu_set(F &&f) -> decltype(f())
	{
		axvm_preempt_disable();
		if (axvm_current_vcpu_get()) {
			axvm_preempt_enable();
			report_nested();
			return fail(err::EBUSY);
		}
		axvm_current_vcpu_set(this);
		auto result = f();
		axvm_current_vcpu_clear();
		axvm_preempt_enable();
		return result;
	}

	// with_state_transition and with_current_cpu_set combined, f(ArchVcpu&).
	template <class F> auto manipulate_arch_vcpu(VcpuState from, VcpuState to, F &&f)
		-> decltype(f(declval<ArchVcpu &>()))
	{
		return with_state_transition(from, to, [&]() -> decltype(f(declval<ArchVcpu &>())) {
			if (!arch_)
				return fail(err::ENODEV);
			return with_current_cpu_set([&] { return f(*arch_); });
		});
	}

	Status transition_state(VcpuState from, VcpuState to)
	{
		return with_state_transition(from, to, [] { return Status(); });
	}

	Status setup();           // Created -> Free
	Status bind();            // Free -> Ready, on the CPU we are on
	Status unbind();          // Ready -> Free
	// Ready -> Running -> Ready, or -> Blocked for a halt the guest can be
	// woken from when @block_on_halt (then wake() brings it back to Ready).
	Result<ExitReason> run(bool block_on_halt = false);
	Status block();           // Running -> Blocked
	Status wake();            // Blocked -> Ready

	// The vCPU published on this CPU, or null (preemption must be off).
	static Vcpu *current() { return static_cast<Vcpu *>(axvm_current_vcpu_get()); }

private:
	void set_state(VcpuState s) { __atomic_store_n(&state_, s, __ATOMIC_RELEASE); }
	void report_bad_state(VcpuState wanted) const;
	void report_nested() const;

	const u32 id_;
	ArchVcpu *const arch_;
	VcpuState state_ = VcpuState::Created;
	int bound_cpu_ = kNotBound;
	bool claimed_ = false;
};

// RAII claim: `VcpuClaim c(v); if (!c) return -EBUSY;`
class VcpuClaim {
public:
	explicit VcpuClaim(Vcpu &v) : vcpu_(v), held_(v.try_claim()) {}
	~VcpuClaim()
	{
		if (held_)
			vcpu_.release();
	}
	explicit operator bool() const { return held_; }

private:
	Vcpu &vcpu_;
	bool held_;
};

} // namespace axvm
