// SPDX-License-Identifier: GPL-2.0
#include "x86_vm.hpp"

#include "host.h"
#include "msrs.hpp"
#include "x86.hpp"

namespace axvm::x86 {

MsrFilter::~MsrFilter()
{
	for (u32 i = 0; i < count; i++)
		delete[] ranges[i].bitmap;
}

bool MsrFilter::allows(u32 index, bool write) const
{
	const u32 want = write ? AXVM_MSR_FILTER_WRITE : AXVM_MSR_FILTER_READ;
	for (u32 i = 0; i < count; i++) {
		const Range &r = ranges[i];
		if (!(r.flags & want) || index < r.base || index - r.base >= r.nmsrs)
			continue;
		const u32 bit = index - r.base;
		return r.bitmap[bit / 8] & (1u << (bit % 8));
	}
	return !default_deny;
}

X86Vm::~X86Vm() { delete filter_; }

u64 X86Vm::tsc_offset_for_write(u64 value)
{
	const u64 now = rdtsc();
	const u64 hz = static_cast<u64>(axvm_x86_tsc_khz()) * 1000;
	bool matched = false;
	if (tsc_written_) {
		const u64 expected = last_tsc_write_ + (now - last_tsc_host_);
		matched = value == 0 || (value < expected + hz && value + hz > expected);
	}
	const u64 offset = matched ? last_tsc_offset_ : value - now;
	tsc_written_ = true;
	last_tsc_write_ = value;
	last_tsc_host_ = now;
	last_tsc_offset_ = offset;
	return offset;
}

Status X86Vm::set_msr_filter(const axvm_msr_filter &f)
{
	if (f.flags & ~AXVM_MSR_FILTER_DEFAULT_DENY) {
		axvm_log(AXVM_LOG_WARN, "X86_SET_MSR_FILTER: flags 0x%x", f.flags);
		return fail(err::EINVAL);
	}
	MsrFilter *next = new MsrFilter;
	if (!next)
		return fail(err::ENOMEM);
	next->default_deny = f.flags & AXVM_MSR_FILTER_DEFAULT_DENY;
	bool empty = true;
	for (const axvm_msr_filter_range &r : f.ranges) {
		if (!r.flags)
			continue; // an unused slot, as in KVM
		empty = false;
		const u32 bytes = (r.nmsrs + 7) / 8;
		if ((r.flags & ~(AXVM_MSR_FILTER_READ | AXVM_MSR_FILTER_WRITE)) || !r.nmsrs ||
		    bytes > AXVM_MSR_FILTER_MAX_BITMAP_SIZE) {
			axvm_log(AXVM_LOG_WARN, "X86_SET_MSR_FILTER: range flags 0x%x, %u MSRs", r.flags, r.nmsrs);
			delete next;
			return fail(err::EINVAL);
		}
		// The glue copied the bitmap into the kernel (bitmap is then a
		// kernel address); one more copy makes it ours.
		u8 *bitmap = new u8[bytes];
		if (!bitmap) {
			delete next;
			return fail(err::ENOMEM);
		}
		const u8 *from = reinterpret_cast<const u8 *>(static_cast<usize>(r.bitmap));
		for (u32 i = 0; i < bytes; i++)
			bitmap[i] = from[i];
		next->ranges[next->count++] = MsrFilter::Range{r.flags, r.base, r.nmsrs, bitmap};
	}
	// An empty allow-by-default filter is no filter (KVM frees it too).
	if (empty && !next->default_deny) {
		delete next;
		next = nullptr;
	}
	bool covers = false;
	for (u32 msr : kPassThroughMsrs)
		covers |= next && (!next->allows(msr, false) || !next->allows(msr, true));
	// The new filter first: a vCPU that enters with every MSR exiting
	// must find it. (One that entered before exits for nothing else: it
	// may run on with the old map until its next entry, as under KVM
	// until its KVM_REQ_MSR_FILTER_CHANGED is seen.)
	MsrFilter *old = __atomic_exchange_n(&filter_, next, __ATOMIC_ACQ_REL);
	__atomic_store_n(&filters_pass_through_, covers, __ATOMIC_RELEASE);
	// vCPUs read the filter in their exit handlers, with preemption off:
	// once an RCU grace period has passed none holds the old one.
	if (old) {
		axvm_synchronize_rcu();
		delete old;
	}
	return Status();
}

bool X86Vm::msr_allowed(u32 index, bool write) const
{
	const MsrFilter *f = __atomic_load_n(&filter_, __ATOMIC_ACQUIRE);
	return !f || f->allows(index, write);
}

Status X86Vm::ioctl(unsigned int cmd, void *arg, usize)
{
	switch (cmd) {
	case AXVM_SET_IDENTITY_MAP_ADDR:
		// Only VMX without unrestricted guest would use the page (axvm
		// requires unrestricted guest); KVM takes it before vCPUs only.
		if (has_vcpus()) {
			axvm_log(AXVM_LOG_WARN, "SET_IDENTITY_MAP_ADDR after vCPUs were created");
			return fail(err::EINVAL);
		}
		identity_map_addr_ = *static_cast<const u64 *>(arg);
		return Status();
	case AXVM_X86_SET_MSR_FILTER:
		return set_msr_filter(*static_cast<const axvm_msr_filter *>(arg));
	default:
		return fail(err::ENOTTY);
	}
}

Status X86Vm::enable_cap(u32 cap, u64 arg0)
{
	switch (cap) {
	case AXVM_CAP_MSR_PLATFORM_INFO:
		platform_info_readable_ = arg0 != 0;
		return Status();
	case AXVM_CAP_X86_USER_SPACE_MSR:
		if (arg0 & ~u64{AXVM_MSR_EXIT_REASON_INVAL | AXVM_MSR_EXIT_REASON_UNKNOWN | AXVM_MSR_EXIT_REASON_FILTER})
			return fail(err::EINVAL);
		user_space_msr_ = static_cast<u32>(arg0);
		return Status();
	default:
		return fail(err::EINVAL);
	}
}

} // namespace axvm::x86
