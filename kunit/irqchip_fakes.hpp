// SPDX-License-Identifier: GPL-2.0
// The rest of the machine as the interrupt controller models see it: a
// recorder of the messages they send, the acks and mask changes they
// report, with the answers a test sets.
#pragma once

#include "check.hpp"

#include <arch/x86/irqchip/irq_message.hpp>

namespace axvm::test {

struct FakeMachine final : x86::IrqSink, x86::IrqNotifier {
	enum : unsigned { kLog = 32 };

	int deliver(const x86::IrqMessage &msg, x86::DestMap *dest_map) override
	{
		last = msg;
		delivered++;
		if (dest_map)
			for (unsigned id = 0; id < 64; id++)
				if (accepting_vcpus & (1ull << id)) {
					dest_map->vcpus |= 1ull << id;
					dest_map->vectors[id] = msg.vector;
				}
		return deliver_result;
	}
	void irq_acked(unsigned irqchip, unsigned pin) override
	{
		if (acks < kLog)
			acked[acks] = irqchip * 100 + pin;
		acks++;
		if (on_ack)
			on_ack(ack_context, irqchip, pin);
	}
	void irq_mask_changed(unsigned irqchip, unsigned pin, bool masked) override
	{
		mask_changes++;
		last_mask = irqchip * 100 + pin + (masked ? 1000 : 0);
	}
	bool pic_intr_accepted() override { return pic_accepted; }

	// What deliver() answers, and which vCPUs it says accepted.
	int deliver_result = 1;
	u64 accepting_vcpus = 1;
	bool pic_accepted = true;
	void (*on_ack)(void *context, unsigned irqchip, unsigned pin) = nullptr;
	void *ack_context = nullptr;

	x86::IrqMessage last = {};
	unsigned delivered = 0;
	unsigned acked[kLog] = {}; // irqchip * 100 + pin
	unsigned acks = 0;
	unsigned last_mask = 0;    // irqchip * 100 + pin, + 1000 if masked
	unsigned mask_changes = 0;
};

// Runs @body on a fresh Bench (a model and its fakes) on the heap: with
// KASAN, several of them would not fit a kernel stack frame.
template <class Bench, class Body> void with_bench(struct kunit *t, Body body)
{
	Bench *b = new Bench;
	CHECK(t, b);
	if (b)
		body(b);
	delete b;
}

} // namespace axvm::test
