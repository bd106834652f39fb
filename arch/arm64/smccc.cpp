// SPDX-License-Identifier: GPL-2.0
// The SMCCC services besides PSCI that axvm answers in the kernel, as KVM
// 6.1 does (hypercalls.c, trng.c, pvtime.c, the PTP vendor call): SMCCC
// 1.1 with ARCH_FEATURES, the TRNG from the kernel's random number
// generator, PV steal time from the vCPU thread's run-queue wait, and
// KVM's vendor hypervisor service (its UID, its feature bitmap, PTP: the
// realtime clock with the counter read at the same moment). The VMM turns
// each family off through the firmware bitmap registers (regs.cpp) before
// the VM first runs; a call to a family turned off is NOT_SUPPORTED.
#include "vcpu.hpp"

#include "vm.hpp"

#include <axvm/raii.hpp>
#include <uapi/axvm.h>

namespace axvm::arm64 {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the stolen-time record is little-endian");

namespace {

constexpr u64 kSmcccNotSupported = static_cast<u64>(-1);
constexpr u64 kTrngInvalidParameter = static_cast<u64>(-2);
constexpr u64 kNoIpa = ~0ull;
// The stolen-time record (DEN0057A 3.2): revision, attributes, then the
// stolen time in ns, 64 bytes in all.
constexpr u64 kStolenTimeOffset = 8, kStolenTimeRecordSize = 64;
// axvm's TRNG (its own UUID, f44aa9c7-e776-434c-be50-93318ccf12a4, as
// four little-endian words) and KVM's vendor hypervisor service, whose
// calls axvm answers as KVM does (ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_0-3).
constexpr u64 kTrngUuid[4] = {0xc7a94af4, 0x4c4376e7, 0x319350be, 0xa412cf8c};
constexpr u64 kKvmVendorUid[4] = {0xb66fb428, 0xe911c52e, 0x564bcaa9, 0x743a004d};

} // namespace

u64 Arm64Vm::services_offered(u32 index)
{
	switch (index) {
	case 0:
		return kStdTrng;
	case 1: // PV time needs the scheduler's run-queue accounting
		return StealClock::supported() ? kStdHypPvTime : 0;
	default:
		return kVendorFuncFeatures | kVendorPtp;
	}
}

Status Arm64Vm::set_services(u32 index, u64 value)
{
	if (index > 2 || (value & ~services_offered(index)))
		return fail(err::EINVAL);
	SpinGuard g(psci_lock_);
	if (__atomic_load_n(&has_run_, __ATOMIC_RELAXED) && value != services_[index])
		return fail(err::EBUSY);
	__atomic_store_n(&services_[index], value, __ATOMIC_RELAXED);
	return Status();
}

// TRNG_RND32/RND64 (DEN0098 2.5): @bits of entropy, at most 96 or 192,
// right-aligned in x1-x3 (KVM's kvm_trng_do_rnd).
static void trng_random(u64 fn, u64 bits, u64 (&r)[4])
{
	const u64 max = fn == kTrngRnd32 ? 96 : 192;
	if (bits > max) {
		r[0] = kTrngInvalidParameter;
		return;
	}
	u64 words[3] = {};
	axvm_random_bytes(words, sizeof(words));
	for (u64 i = 0; i < 3; i++) {
		if (bits <= 64 * i)
			words[i] = 0;
		else if (bits < 64 * (i + 1))
			words[i] &= (1ull << (bits - 64 * i)) - 1;
	}
	r[0] = 0;
	if (fn == kTrngRnd32) {
		r[1] = words[1] & 0xffffffff;
		r[2] = words[0] >> 32;
		r[3] = words[0] & 0xffffffff;
	} else {
		r[1] = words[2];
		r[2] = words[1];
		r[3] = words[0];
	}
}

// TRNG_VERSION, _FEATURES, _GET_UUID, _RND32, _RND64 (DEN0098).
static void trng(u64 fn, u64 a1, u64 (&r)[4])
{
	switch (fn) {
	case kTrngVersion:
		r[0] = kTrngVersion10;
		break;
	case kTrngFeatures: {
		const u32 f = static_cast<u32>(a1);
		if (f == kTrngVersion || f == kTrngFeatures || f == kTrngGetUuid || f == kTrngRnd32 || f == kTrngRnd64)
			r[0] = 0;
		break;
	}
	case kTrngGetUuid:
		for (int i = 0; i < 4; i++)
			r[i] = kTrngUuid[i];
		break;
	default:
		trng_random(fn, static_cast<u32>(a1), r);
		break;
	}
}

// PV_TIME_FEATURES and PV_TIME_ST (DEN0057A): only once the VMM gave the
// vCPU its record's address (KVM_ARM_VCPU_PVTIME_IPA). ST starts the
// count: the record zeroed, the stolen time counted from now.
void Arm64Vcpu::pv_time(u64 fn, u64 a1, u64 (&r)[4])
{
	if (steal_ipa_ == kNoIpa)
		return;
	if (fn == kPvTimeFeatures) {
		const u32 f = static_cast<u32>(a1);
		if (f == kPvTimeFeatures || f == kPvTimeSt)
			r[0] = 0;
		return;
	}
	const u8 zero[kStolenTimeRecordSize] = {};
	if (!vm_.memory().write(steal_ipa_, zero, sizeof(zero)).ok())
		return; // the slot went away: nothing to count into
	steal_clock_.start();
	steal_active_ = true;
	r[0] = steal_ipa_;
}

// Before an entry: the time this vCPU's thread waited for a CPU since the
// last look goes into the guest's record (KVM's kvm_update_stolen_time).
void Arm64Vcpu::record_steal()
{
	if (!steal_active_)
		return;
	const u64 waited = steal_clock_.take();
	if (!waited)
		return;
	u64 stolen = 0;
	if (!vm_.memory().read(steal_ipa_ + kStolenTimeOffset, &stolen, sizeof(stolen)).ok())
		return;
	stolen += waited;
	(void)vm_.memory().write(steal_ipa_ + kStolenTimeOffset, &stolen, sizeof(stolen));
}

// KVM's PTP call: the realtime clock and the guest's virtual or physical
// count at one instant, each split into two 32-bit halves; NOT_SUPPORTED
// unless the host's clocksource is the architected counter.
void Arm64Vcpu::ptp(u64 a1, u64 (&r)[4]) const
{
	u64 real = 0, count = 0;
	const u32 which = static_cast<u32>(a1);
	if ((which != kPtpVirtualCounter && which != kPtpPhysicalCounter) ||
	    axvm_clock_snapshot_arch_counter(&real, &count))
		return;
	if (which == kPtpVirtualCounter)
		count -= static_cast<const Arm64Vm *>(vm_.arch())->cntvoff();
	r[0] = real >> 32;
	r[1] = real & 0xffffffff;
	r[2] = count >> 32;
	r[3] = count & 0xffffffff;
}

bool Arm64Vcpu::handle_smccc()
{
	const u64 fn = ctx_.x[0], a1 = ctx_.x[1];
	const Arm64Vm &vm = *static_cast<const Arm64Vm *>(vm_.arch());
	u64 r[4] = {kSmcccNotSupported, 0, 0, 0};
	switch (fn) {
	case kSmcccVersion:
		r[0] = kSmcccVersion11;
		break;
	case kSmcccArchFeatures:
		// No SMCCC_ARCH_WORKAROUND_1/2/3 (their firmware registers say
		// NOT_AVAIL); PV time's discovery goes through here.
		if (static_cast<u32>(a1) == kPvTimeFeatures && (vm.services(1) & kStdHypPvTime))
			r[0] = 0;
		break;
	case kTrngVersion:
	case kTrngFeatures:
	case kTrngGetUuid:
	case kTrngRnd32:
	case kTrngRnd64:
		if (vm.services(0) & kStdTrng)
			trng(fn, a1, r);
		break;
	case kPvTimeFeatures:
	case kPvTimeSt:
		if (vm.services(1) & kStdHypPvTime)
			pv_time(fn, a1, r);
		break;
	case kVendorHypCallUid:
		if (vm.services(2) & kVendorFuncFeatures)
			for (int i = 0; i < 4; i++)
				r[i] = kKvmVendorUid[i];
		break;
	case kVendorHypFeatures:
		if (vm.services(2) & kVendorFuncFeatures)
			r[0] = vm.services(2);
		break;
	case kVendorHypPtp:
		if (vm.services(2) & kVendorPtp)
			ptp(a1, r);
		break;
	default:
		return false;
	}
	for (int i = 0; i < 4; i++)
		ctx_.x[i] = r[i];
	return true;
}

// KVM_SET/GET/HAS_DEVICE_ATTR on the vCPU: only PVTIME_CTRL/PVTIME_IPA,
// with KVM's answers (kvm_arm_pvtime_set_attr and friends).
Status Arm64Vcpu::device_attr(unsigned int cmd, axvm_attr_value &a)
{
	if (a.group != AXVM_ARM_VCPU_PVTIME_CTRL || a.attr != AXVM_ARM_VCPU_PVTIME_IPA ||
	    !Arm64Vm::services_offered(1))
		return fail(err::ENXIO);
	if (cmd == AXVM_HAS_DEVICE_ATTR)
		return Status();
	if (cmd == AXVM_GET_DEVICE_ATTR) {
		a.value = steal_ipa_;
		return Status();
	}
	if (a.value & (kStolenTimeRecordSize - 1))
		return fail(err::EINVAL);
	if (steal_ipa_ != kNoIpa)
		return fail(err::EEXIST);
	u8 probe = 0; // in a memory slot, as KVM checks
	if (!vm_.memory().read(a.value, &probe, sizeof(probe)).ok())
		return fail(err::EINVAL);
	steal_ipa_ = a.value;
	return Status();
}

} // namespace axvm::arm64
