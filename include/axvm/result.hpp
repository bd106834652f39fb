// SPDX-License-Identifier: GPL-2.0
// Errors are values: a negative errno, never an exception or a panic.
#pragma once

#include "types.hpp"

namespace axvm {

// Negative errno values are the error currency; the numbers come from the
// boundary header, where the C side checks them against the kernel's.
namespace err {
constexpr int EPERM = AXVM_EPERM;
constexpr int EINTR = AXVM_EINTR;
constexpr int EIO = AXVM_EIO;
constexpr int ENXIO = AXVM_ENXIO;
constexpr int E2BIG = AXVM_E2BIG;
constexpr int EAGAIN = AXVM_EAGAIN;
constexpr int ENOMEM = AXVM_ENOMEM;
constexpr int EFAULT = AXVM_EFAULT;
constexpr int EBUSY = AXVM_EBUSY;
constexpr int EEXIST = AXVM_EEXIST;
constexpr int ENODEV = AXVM_ENODEV;
constexpr int EINVAL = AXVM_EINVAL;
constexpr int ENOSPC = AXVM_ENOSPC;
constexpr int ERANGE = AXVM_ERANGE;
constexpr int ENOTTY = AXVM_ENOTTY;
constexpr int ENOENT = AXVM_ENOENT;
constexpr int ENOEXEC = AXVM_ENOEXEC;
constexpr int EOPNOTSUPP = AXVM_EOPNOTSUPP;
} // namespace err

// A failure: always a negative errno.
struct Error {
	int code;
};

constexpr Error fail(int errno_value) { return Error{-errno_value}; }

template <class T> class [[nodiscard]] Result {
public:
	Result(const T &value) : code_(0), value_(value) {}
	Result(Error e) : code_(e.code) {}

	bool ok() const { return code_ == 0; }
	int error() const { return code_; }
	T &value() { return value_; }
	const T &value() const { return value_; }
	// The value, for TRY (only after ok()).
	T take() { return value_; }

private:
	int code_;
	union {
		T value_;
	};
};

template <> class [[nodiscard]] Result<void> {
public:
	Result() : code_(0) {}
	Result(Error e) : code_(e.code) {}
	// A negative errno or 0, as C callers and the glue speak it.
	static Result from_errno(int code) { return code ? Result(Error{code}) : Result(); }

	bool ok() const { return code_ == 0; }
	int error() const { return code_; }
	void take() {}

private:
	int code_;
};

using Status = Result<void>;

} // namespace axvm

// TRY(expr): the value of a Result (nothing, for a Status), or return its
// error from the enclosing function, which returns a Status or any Result.
// (A GNU statement expression: the core is built with -std=gnu++17.)
#define TRY(expr)                                                                \
	({                                                                       \
		auto try_result_ = (expr);                                       \
		if (!try_result_.ok())                                           \
			return ::axvm::Error{try_result_.error()};               \
		try_result_.take();                                              \
	})

namespace axvm {

} // namespace axvm
