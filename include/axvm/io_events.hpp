// SPDX-License-Identifier: GPL-2.0
// KVM_IOEVENTFD: guest writes that signal an eventfd instead of exiting to
// userspace (virtio queue notifications). The table is replaced whole on
// every change (the VM's lock held) and read by vCPUs in their exit path
// with preemption off, so an old table is freed after an RCU grace period.
// The eventfds are the glue's (opaque here): the table holds a reference
// to each, given back with axvm_eventfd_put().
#pragma once

#include "result.hpp"

struct axvm_ioeventfd;

namespace axvm {

class IoEvents {
public:
	enum : u32 { kMaxEntries = 1000 }; // KVM's NR_IOBUS_DEVS, per bus

	IoEvents() = default;
	~IoEvents();
	IoEvents(const IoEvents &) = delete;
	IoEvents &operator=(const IoEvents &) = delete;

	// KVM_IOEVENTFD with its checks (KVM's kvm_assign_ioeventfd and
	// kvm_deassign_ioeventfd): -EINVAL for bad flags, lengths or ranges,
	// -EEXIST for a registration that collides, -ENOSPC beyond
	// kMaxEntries, -ENOENT to deassign what is not there. @eventfd: the
	// glue's reference, which the table takes on success (assign) and
	// gives back on success (deassign: the one registered is put).
	Status assign(const axvm_ioeventfd &args, void *eventfd);
	Status deassign(const axvm_ioeventfd &args, void *eventfd);

	// A guest write of @len bytes of @value at @addr (port I/O if @pio):
	// the eventfd of a matching registration is signalled (true).
	// Preemption off (the vCPU exit path).
	bool signal(bool pio, u64 addr, u32 len, u64 value) const;

private:
	struct Entry {
		u64 addr;
		u64 datamatch;
		u32 len; // 0: any access at addr
		bool pio;
		bool wildcard; // no datamatch
		void *eventfd;
	};
	struct Table {
		u32 count;
		Entry entries[];
	};
	// Installs @next (may be null) and frees the old table once no vCPU
	// can be reading it.
	void publish(Table *next);

	Table *table_ = nullptr;
};

} // namespace axvm
