// SPDX-License-Identifier: GPL-2.0
// A small C++17 client for /dev/axvm on include/uapi/axvm.h alone: owned
// fds for the device, a VM and a vCPU, with errors as negative errno.
#pragma once

#include <uapi/axvm.h>

#include <cerrno>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace axvm::client {

// ioctl() as a value: the result, or -errno.
inline long call(int fd, unsigned long cmd, unsigned long arg = 0)
{
	long r = ioctl(fd, cmd, arg);
	return r < 0 ? -errno : r;
}

class Fd {
public:
	explicit Fd(int fd = -1) : fd_(fd) {}
	Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	Fd &operator=(Fd &&o) noexcept
	{
		std::swap(fd_, o.fd_);
		return *this;
	}
	~Fd()
	{
		if (fd_ >= 0)
			close(fd_);
	}
	int get() const { return fd_; }
	bool valid() const { return fd_ >= 0; }

private:
	int fd_;
};

class Device {
public:
	// Opens @path; error() then says why it failed (-errno).
	explicit Device(const char *path = "/dev/axvm")
		: fd_(open(path, O_RDWR | O_CLOEXEC)), error_(fd_.valid() ? 0 : -errno)
	{
	}
	int error() const { return error_; }
	long api_version() const { return call(fd_.get(), AXVM_GET_API_VERSION); }
	long check_extension(long cap) const { return call(fd_.get(), AXVM_CHECK_EXTENSION, cap); }
	long vcpu_mmap_size() const { return call(fd_.get(), AXVM_GET_VCPU_MMAP_SIZE); }
	// A new VM fd, or -errno.
	long create_vm() const { return call(fd_.get(), AXVM_CREATE_VM); }

private:
	Fd fd_;
	int error_;
};

} // namespace axvm::client
