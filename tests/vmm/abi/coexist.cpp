// SPDX-License-Identifier: GPL-2.0
// Sharing SVM (or VMX) with the kernel's KVM, loaded in the same machine by
// the caller: whoever has a VM first keeps the hardware, and both work after.
#include "abi.hpp"

#include <linux/kvm.h>

namespace abi {
namespace {

// Runs the one-instruction HLT guest on @dev; true if it halted.
bool halts_on(const char *dev)
{
	const char *saved = kDev;
	kDev = dev;
	Machine m;
	const bool ok = m.start({0xf4}) && m.run_to(AXVM_EXIT_HLT);
	kDev = saved;
	return ok;
}

} // namespace

bool kvm_vm_blocks_axvm()
{
	Fd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
	EXPECT(kvm >= 0);
	Fd kvm_vm(xioctl(kvm, KVM_CREATE_VM, 0));
	EXPECT(kvm_vm >= 0);
	Fd dev(open_dev());
	EXPECT(xioctl(dev, AXVM_CREATE_VM) == -EBUSY); // KVM holds SVM now
	return true;
}

bool axvm_vm_blocks_kvm_then_both_work()
{
	{
		Machine m;
		EXPECT(m.start({0xf4}));
		Fd kvm(open("/dev/kvm", O_RDWR | O_CLOEXEC));
		EXPECT(kvm >= 0);
		EXPECT(xioctl(kvm, KVM_CREATE_VM, 0) < 0); // KVM refuses while axvm holds SVM
		EXPECT(m.run_to(AXVM_EXIT_HLT));
	}
	EXPECT(halts_on("/dev/kvm")); // KVM unharmed
	EXPECT(halts_on("/dev/axvm")); // and axvm too
	return true;
}

} // namespace abi
