// SPDX-License-Identifier: GPL-2.0
#include <axvm/io_events.hpp>
#include <uapi/axvm.h>

namespace axvm {

namespace {

constexpr u32 kValidFlags = AXVM_IOEVENTFD_FLAG_DATAMATCH | AXVM_IOEVENTFD_FLAG_PIO | AXVM_IOEVENTFD_FLAG_DEASSIGN;

bool valid_len(u32 len) { return len == 0 || len == 1 || len == 2 || len == 4 || len == 8; }

} // namespace

IoEvents::~IoEvents()
{
	if (!table_)
		return;
	for (u32 i = 0; i < table_->count; i++)
		axvm_eventfd_put(table_->entries[i].eventfd);
	axvm_kfree(table_);
}

void IoEvents::publish(Table *next)
{
	Table *old = __atomic_exchange_n(&table_, next, __ATOMIC_ACQ_REL);
	if (old) {
		axvm_synchronize_rcu();
		axvm_kfree(old);
	}
}

Status IoEvents::assign(const axvm_ioeventfd &a, void *eventfd)
{
	// KVM's checks, in its order.
	if ((a.flags & ~kValidFlags) || !valid_len(a.len) || a.addr + a.len < a.addr ||
	    (!a.len && (a.flags & AXVM_IOEVENTFD_FLAG_DATAMATCH))) {
		axvm_log(AXVM_LOG_WARN, "IOEVENTFD: flags 0x%x, len %u, addr 0x%llx", a.flags, a.len, a.addr);
		return fail(err::EINVAL);
	}
	const Entry e = {a.addr, a.datamatch, a.len, (a.flags & AXVM_IOEVENTFD_FLAG_PIO) != 0,
			 !(a.flags & AXVM_IOEVENTFD_FLAG_DATAMATCH), eventfd};
	const Table *cur = table_;
	const u32 n = cur ? cur->count : 0;
	u32 on_bus = 0;
	for (u32 i = 0; i < n; i++) {
		const Entry &c = cur->entries[i];
		if (c.pio != e.pio)
			continue;
		on_bus++;
		// KVM's ioeventfd_check_collision: the same place, and either
		// matches any value or both match the same one.
		if (c.addr == e.addr && c.len == e.len && (c.wildcard || e.wildcard || c.datamatch == e.datamatch)) {
			axvm_log(AXVM_LOG_WARN, "IOEVENTFD: 0x%llx (%u bytes) is registered already", a.addr, a.len);
			return fail(err::EEXIST);
		}
	}
	if (on_bus >= kMaxEntries)
		return fail(err::ENOSPC);
	Table *next = static_cast<Table *>(axvm_kzalloc(sizeof(Table) + (n + 1) * sizeof(Entry)));
	if (!next)
		return fail(err::ENOMEM);
	for (u32 i = 0; i < n; i++)
		next->entries[i] = cur->entries[i];
	next->entries[n] = e;
	next->count = n + 1;
	publish(next);
	return Status();
}

Status IoEvents::deassign(const axvm_ioeventfd &a, void *eventfd)
{
	if ((a.flags & ~kValidFlags) || !valid_len(a.len))
		return fail(err::EINVAL);
	const bool pio = a.flags & AXVM_IOEVENTFD_FLAG_PIO, wildcard = !(a.flags & AXVM_IOEVENTFD_FLAG_DATAMATCH);
	const Table *cur = table_;
	const u32 n = cur ? cur->count : 0;
	for (u32 i = 0; i < n; i++) {
		const Entry &c = cur->entries[i];
		if (c.eventfd != eventfd || c.pio != pio || c.addr != a.addr || c.len != a.len || c.wildcard != wildcard ||
		    (!wildcard && c.datamatch != a.datamatch))
			continue;
		Table *next = nullptr;
		if (n > 1) {
			next = static_cast<Table *>(axvm_kzalloc(sizeof(Table) + (n - 1) * sizeof(Entry)));
			if (!next)
				return fail(err::ENOMEM);
			u32 k = 0;
			for (u32 j = 0; j < n; j++)
				if (j != i)
					next->entries[k++] = cur->entries[j];
			next->count = n - 1;
		}
		void *gone = c.eventfd;
		publish(next);
		axvm_eventfd_put(gone);
		return Status();
	}
	return fail(err::ENOENT);
}

bool IoEvents::signal(bool pio, u64 addr, u32 len, u64 value) const
{
	const Table *t = __atomic_load_n(&table_, __ATOMIC_ACQUIRE);
	if (!t)
		return false;
	for (u32 i = 0; i < t->count; i++) {
		const Entry &e = t->entries[i];
		if (e.pio != pio || e.addr != addr)
			continue;
		// KVM's ioeventfd_in_range.
		if (e.len) {
			if (e.len != len)
				continue;
			if (!e.wildcard) {
				const u64 mask = len == 8 ? ~0ull : (1ull << (8 * len)) - 1;
				if ((value & mask) != e.datamatch)
					continue;
			}
		}
		axvm_eventfd_signal(e.eventfd);
		return true;
	}
	return false;
}

} // namespace axvm
