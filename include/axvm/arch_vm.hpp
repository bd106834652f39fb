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
	// ---- irqfds (KVM_IRQFD; the glue keeps them, module/eventfd.c) ----
	// Whether one may be assigned (KVM's kvm_arch_irqfd_allowed): -EINVAL
	// without an interrupt controller in the kernel to take it.
	virtual Status irqfd_allowed(bool /*resample*/) const { return fail(err::EINVAL); }
	// It fired (process context): an edge on @gsi, or with @resample the
	// line held up until the guest ends the interrupt.
	virtual void irqfd_inject(u32 /*gsi*/, bool /*resample*/) {}
	// A resampling irqfd on @gsi comes (@on) or goes; the glue hears of
	// the guest's EOIs of that line through axvm_irqfd_resampled().
	virtual Status irqfd_resample(u32 /*gsi*/, bool /*on*/) { return fail(err::EINVAL); }
	// The glue's VM, for the calls the core makes to it.
	void set_glue(void *glue) { glue_ = glue; }
	void *glue() const { return glue_; }

	// Whether a vCPU exists yet: some settings are only taken before.
	void note_vcpu_created() { has_vcpus_ = true; }
	bool has_vcpus() const { return has_vcpus_; }

private:
	bool has_vcpus_ = false;
	void *glue_ = nullptr;
};

} // namespace axvm
