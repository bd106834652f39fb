// SPDX-License-Identifier: GPL-2.0
// What an architecture keeps per VM beside its memory and its vCPUs (x86:
// the TSC every vCPU shares, the VM-wide MSR settings and, with them, the
// in-kernel interrupt controllers; arm64: its vGIC one day), and the VM
// ioctls and capabilities that are its own. Calls come with the VM's lock
// held (module/vm_fd.c), like every call that changes the VM.
#pragma once

#include "result.hpp"

namespace axvm {

class ArchVm {
public:
	virtual ~ArchVm() = default;
	// A VM ioctl with a fixed-size argument, which the glue copies in and
	// out around the call: its return value (0 for most), or -ENOTTY when
	// it is not the architecture's.
	virtual Result<long> ioctl(unsigned int /*cmd*/, void * /*arg*/, usize /*size*/) { return fail(err::ENOTTY); }
	// KVM_ENABLE_CAP for one of the architecture's capabilities: -EINVAL
	// when it is not one, as KVM answers.
	virtual Status enable_cap(u32 /*cap*/, u64 /*arg0*/) { return fail(err::EINVAL); }
	// Whether a vCPU exists yet: some settings are only taken before.
	void note_vcpu_created() { has_vcpus_ = true; }
	bool has_vcpus() const { return has_vcpus_; }

private:
	bool has_vcpus_ = false;
};

} // namespace axvm
