// SPDX-License-Identifier: GPL-2.0
// Ownership and scopes the core relies on, as small RAII types (the
// freestanding core has no <memory>).
#pragma once

#include "types.hpp"

namespace axvm {

// Sole owner of a `new`-allocated T (null allowed): deleted with it unless
// released.
template <class T> class Owned {
public:
	explicit Owned(T *p = nullptr) : p_(p) {}
	~Owned() { delete p_; }
	Owned(Owned &&other) : p_(other.release()) {}
	Owned &operator=(Owned &&other)
	{
		if (this != &other) {
			delete p_;
			p_ = other.release();
		}
		return *this;
	}
	Owned(const Owned &) = delete;
	Owned &operator=(const Owned &) = delete;

	T *get() const { return p_; }
	T *operator->() const { return p_; }
	T &operator*() const { return *p_; }
	explicit operator bool() const { return p_ != nullptr; }
	// Hands the object over: the caller owns it now.
	T *release()
	{
		T *p = p_;
		p_ = nullptr;
		return p;
	}

private:
	T *p_;
};

// Preemption off for a scope (the kernel's preempt_disable/enable).
class PreemptGuard {
public:
	PreemptGuard() { axvm_preempt_disable(); }
	~PreemptGuard() { axvm_preempt_enable(); }
	PreemptGuard(const PreemptGuard &) = delete;
	PreemptGuard &operator=(const PreemptGuard &) = delete;
};

// A spinlock held for a scope (axvm_spin_lock/unlock).
class SpinGuard {
public:
	explicit SpinGuard(axvm_spinlock *lock) : lock_(lock) { axvm_spin_lock(lock_); }
	~SpinGuard() { axvm_spin_unlock(lock_); }
	SpinGuard(const SpinGuard &) = delete;
	SpinGuard &operator=(const SpinGuard &) = delete;

private:
	axvm_spinlock *lock_;
};

} // namespace axvm
