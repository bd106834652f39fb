// SPDX-License-Identifier: GPL-2.0
// An MSI (address and data as a device writes them) decoded into the
// message the local APICs receive, as KVM's kvm_set_msi_irq. Intel SDM
// vol. 3A, 11.11.1 (address: 0xfee, destination 19:12, redirection hint
// bit 3, destination mode bit 2) and 11.11.2 (data: vector 7:0, delivery
// mode 10:8, trigger mode bit 15). With KVM_X2APIC_API_USE_32BIT_IDS the
// upper 24 bits of a 32-bit x2APIC ID come from address_hi bits 31:8
// (Linux's x86_msi_msg_get_destid); address_hi bits 7:0 must then be 0.
#pragma once

#include "irq_message.hpp"

#include <axvm/result.hpp>

namespace axvm::x86 {

struct MsiAddress {
	u32 address_lo;
	u32 address_hi;
	u32 data;
};

// KVM's kvm_msi_route_invalid: with 32-bit IDs on, address_hi bits 7:0
// are reserved and such a route or KVM_SIGNAL_MSI is -EINVAL.
constexpr bool msi_invalid(const MsiAddress &msi, bool x2apic_32bit_ids)
{
	return x2apic_32bit_ids && (msi.address_hi & 0xff);
}

constexpr IrqMessage decode_msi(const MsiAddress &msi, bool x2apic_32bit_ids)
{
	IrqMessage m = {};
	m.dest_id = (msi.address_lo >> 12) & 0xff;
	if (x2apic_32bit_ids)
		m.dest_id |= (msi.address_hi >> 8) << 8;
	m.vector = static_cast<u8>(msi.data);
	m.delivery_mode = (msi.data >> 8) & 7;
	// The redirection hint makes KVM pick one destination by lowest
	// priority (kvm_lowest_prio_delivery); IrqMessage has no hint, so a
	// fixed message with the hint is sent as lowest priority, which KVM
	// then delivers the same way.
	if ((msi.address_lo & (1u << 3)) && m.delivery_mode == kDeliveryFixed)
		m.delivery_mode = kDeliveryLowest;
	m.logical = msi.address_lo & (1u << 2);
	m.level = msi.data & (1u << 15);
	m.assert = true; // data bit 14 (level assert) is ignored, as by KVM
	m.shorthand = 0;
	return m;
}

// An MSI routing entry's set() (KVM's kvm_set_msi): a deassert does
// nothing (-1), an assert is one message; the format is checked again
// because KVM_CAP_X2APIC_API can be enabled after the route was made.
inline int set_msi(IrqSink &sink, const MsiAddress &msi, bool level, bool x2apic_32bit_ids)
{
	if (msi_invalid(msi, x2apic_32bit_ids))
		return -err::EINVAL;
	if (!level)
		return -1;
	return sink.deliver(decode_msi(msi, x2apic_32bit_ids), nullptr);
}

} // namespace axvm::x86
