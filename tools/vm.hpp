// SPDX-License-Identifier: GPL-2.0
// One guest machine for the axvm tool: a VM with one memory slot at guest
// address 0, one vCPU with its run page, and the register set-up for each
// CPU mode, through the KVM-compatible ioctls of include/uapi/axvm.h only
// (so the same code drives /dev/kvm).
#pragma once

#include "client.hpp"

#include <cstdint>
#include <string>

namespace axvm::client {

// The x86 CPU modes, and arm64's only one: an EL1 guest (AArch64, MMU off).
enum class Mode { Real, Protected, ProtectedPaging, Long, El1 };

// The mode a guest starts in when none is given: the host's architecture's.
#ifdef __aarch64__
constexpr Mode kDefaultMode = Mode::El1;
#else
constexpr Mode kDefaultMode = Mode::Real;
#endif

bool parse_mode(const std::string &s, Mode &mode);
const char *mode_name(Mode mode);

// Where the tool puts things in guest memory (see README, "axvm run").
// The top 64 KiB of RAM hold what the tool builds for non-real modes: page
// tables from the start, the GDT at kGdtOffset.
constexpr uint64_t kTablesSize = 0x10000;
constexpr uint64_t kGdtOffset = 0xf000;

class Machine {
public:
	// 0 or -errno; @what names the step that failed. @irqchip: KVM's
	// in-kernel PIC, IOAPIC and local APICs (KVM_CREATE_IRQCHIP, which
	// must come before the first vCPU).
	int create(const char *device, uint64_t mem_size, bool irqchip = false);
	const char *failed_step() const { return what_; }

	uint8_t *memory() { return static_cast<uint8_t *>(mem_); }
	uint64_t memory_size() const { return mem_size_; }
	// Registers for @mode, starting at @entry with the stack below the tables.
	int setup_cpu(Mode mode, uint64_t entry);

	int run() { return static_cast<int>(call(vcpu_.get(), AXVM_RUN)); }
	axvm_run &run_page() { return *run_; }
	int vcpu_fd() const { return vcpu_.get(); }
	int vm_fd() const { return vm_.get(); }
	int device_fd() const { return dev_.get(); }
	~Machine();

private:
	int fail(const char *what, long err);
	void build_tables(Mode mode, axvm_sregs &s);
	int setup_el1(uint64_t entry);
	int set_one_reg(uint64_t id, uint64_t value);

	Fd dev_, vm_, vcpu_;
	void *mem_ = nullptr;
	uint64_t mem_size_ = 0;
	axvm_run *run_ = nullptr;
	long run_size_ = 0;
	const char *what_ = "";
};

} // namespace axvm::client
