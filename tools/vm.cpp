// SPDX-License-Identifier: GPL-2.0
#include "vm.hpp"

#include <cstring>
#include <vector>

namespace axvm::client {

bool parse_mode(const std::string &s, Mode &mode)
{
	if (s == "real")
		mode = Mode::Real;
	else if (s == "protected")
		mode = Mode::Protected;
	else if (s == "protected-paging")
		mode = Mode::ProtectedPaging;
	else if (s == "long")
		mode = Mode::Long;
	else if (s == "el1")
		mode = Mode::El1;
	else
		return false;
	return true;
}

const char *mode_name(Mode mode)
{
	switch (mode) {
	case Mode::Real: return "real";
	case Mode::Protected: return "protected";
	case Mode::ProtectedPaging: return "protected-paging";
	case Mode::Long: return "long";
	case Mode::El1: return "el1";
	}
	return "?";
}

int Machine::fail(const char *what, long err)
{
	what_ = what;
	return err < 0 ? static_cast<int>(err) : -EIO;
}

int Machine::create(const char *device, uint64_t mem_size, bool irqchip)
{
	dev_ = Fd(open(device, O_RDWR | O_CLOEXEC));
	if (!dev_.valid())
		return fail("open", -errno);
	long fd = call(dev_.get(), AXVM_CREATE_VM);
	if (fd < 0)
		return fail("KVM_CREATE_VM", fd);
	vm_ = Fd(static_cast<int>(fd));
	mem_ = mmap(nullptr, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem_ == MAP_FAILED) {
		mem_ = nullptr;
		return fail("mmap guest memory", -errno);
	}
	mem_size_ = mem_size;
	axvm_userspace_memory_region region{};
	region.memory_size = mem_size;
	region.userspace_addr = reinterpret_cast<uintptr_t>(mem_);
	long err = call(vm_.get(), AXVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&region));
	if (err)
		return fail("KVM_SET_USER_MEMORY_REGION", err);
	if (irqchip && (err = call(vm_.get(), AXVM_CREATE_IRQCHIP)))
		return fail("KVM_CREATE_IRQCHIP", err);
	fd = call(vm_.get(), AXVM_CREATE_VCPU, 0);
	if (fd < 0)
		return fail("KVM_CREATE_VCPU", fd);
	vcpu_ = Fd(static_cast<int>(fd));
	run_size_ = call(dev_.get(), AXVM_GET_VCPU_MMAP_SIZE);
	if (run_size_ <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE", run_size_);
	void *run = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_.get(), 0);
	if (run == MAP_FAILED)
		return fail("mmap run page", -errno);
	run_ = static_cast<axvm_run *>(run);

	// What every real VMM does: show the guest what the hypervisor supports.
	// Older modules without it still run guests on their default model.
	std::vector<uint64_t> buf((sizeof(axvm_cpuid2) + 256 * sizeof(axvm_cpuid_entry2)) / 8 + 1);
	auto *cpuid = reinterpret_cast<axvm_cpuid2 *>(buf.data());
	cpuid->nent = 256;
	if (call(dev_.get(), AXVM_GET_SUPPORTED_CPUID, reinterpret_cast<unsigned long>(cpuid)) == 0) {
		err = call(vcpu_.get(), AXVM_SET_CPUID2, reinterpret_cast<unsigned long>(cpuid));
		if (err)
			return fail("KVM_SET_CPUID2", err);
	}
	return 0;
}

Machine::~Machine()
{
	if (run_)
		munmap(run_, run_size_);
	if (mem_)
		munmap(mem_, mem_size_);
}

namespace {

axvm_segment flat(uint16_t selector, uint8_t type, bool code64)
{
	axvm_segment s{};
	s.base = 0;
	s.limit = 0xffffffff;
	s.selector = selector;
	s.type = type;
	s.present = 1;
	s.s = 1;
	s.g = 1;
	s.l = code64;
	s.db = !code64;
	return s;
}

void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

} // namespace

// Identity maps of the first 4 GiB (RAM and the scratch device), at the top
// of guest memory: 32-bit paging with 4 MiB pages, or 4-level with 2 MiB.
void Machine::build_tables(Mode mode, axvm_sregs &s)
{
	const uint64_t base = mem_size_ - kTablesSize;
	uint8_t *t = memory() + base;
	memset(t, 0, kGdtOffset);
	if (mode == Mode::ProtectedPaging) {
		for (uint32_t i = 0; i < 1024; i++)
			put32(t + 4 * i, (i << 22) | 0x83); // present, writable, 4 MiB
		s.cr3 = base;
		s.cr4 = 0x10; // PSE
		s.cr0 |= 0x80000000u;
		return;
	}
	// PML4 at base, PDPT at +0x1000, four PDs at +0x2000..+0x5000.
	put64(t, (base + 0x1000) | 3);
	for (uint64_t i = 0; i < 4; i++) {
		put64(t + 0x1000 + 8 * i, (base + 0x2000 + 0x1000 * i) | 3);
		for (uint64_t j = 0; j < 512; j++)
			put64(t + 0x2000 + 0x1000 * i + 8 * j, ((i << 30) + (j << 21)) | 0x83);
	}
	s.cr3 = base;
	s.cr4 = 0x20; // PAE
	s.cr0 |= 0x80000000u;
	s.efer = 0x500; // LME | LMA
}

int Machine::set_one_reg(uint64_t id, uint64_t value)
{
	axvm_one_reg reg{id, reinterpret_cast<uintptr_t>(&value)};
	return static_cast<int>(call(vcpu_.get(), AXVM_SET_ONE_REG, reinterpret_cast<unsigned long>(&reg)));
}

// arm64: KVM_ARM_VCPU_INIT with the preferred target (EL1h, DAIF masked,
// MMU off), then the entry point and a stack at the top of RAM.
int Machine::setup_el1(uint64_t entry)
{
	axvm_vcpu_init init{};
	long err = call(vm_.get(), AXVM_ARM_PREFERRED_TARGET, reinterpret_cast<unsigned long>(&init));
	if (err)
		return fail("KVM_ARM_PREFERRED_TARGET", err);
	init.features[0] |= 1u << AXVM_ARM_VCPU_PSCI_0_2; // SYSTEM_OFF ends the run
	err = call(vcpu_.get(), AXVM_ARM_VCPU_INIT, reinterpret_cast<unsigned long>(&init));
	if (err)
		return fail("KVM_ARM_VCPU_INIT", err);
	if ((err = set_one_reg(AXVM_ARM64_PC, entry)))
		return fail("KVM_SET_ONE_REG pc", err);
	if ((err = set_one_reg(AXVM_ARM64_SP_EL1, mem_size_)))
		return fail("KVM_SET_ONE_REG sp_el1", err);
	return 0;
}

int Machine::setup_cpu(Mode mode, uint64_t entry)
{
	if (mode == Mode::El1)
		return setup_el1(entry);
	axvm_sregs s;
	long err = call(vcpu_.get(), AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&s));
	if (err)
		return fail("KVM_GET_SREGS", err);
	axvm_regs r{};
	r.rflags = 2;
	if (mode == Mode::Real) {
		// CS:IP = entry, with the data segments and the stack in the same 64 KiB.
		const uint16_t seg = static_cast<uint16_t>((entry >> 4) & 0xf000);
		for (axvm_segment *seg_reg : {&s.cs, &s.ds, &s.es, &s.ss}) {
			seg_reg->selector = seg;
			seg_reg->base = static_cast<uint64_t>(seg) << 4;
		}
		r.rip = entry & 0xffff;
		r.rsp = 0xfff0;
	} else {
		s.cr0 = 0x11; // PE, ET
		s.efer = 0;
		const bool lm = mode == Mode::Long;
		s.cs = flat(0x8, 0xb, lm);
		s.ds = s.es = s.fs = s.gs = s.ss = flat(0x10, 0x3, false);
		// A GDT in memory matching the segment registers, for the guest's
		// interrupt delivery and IRET (they reload CS and SS from it).
		const uint64_t gdt = mem_size_ - kTablesSize + kGdtOffset;
		const uint64_t descriptors[3] = {0, lm ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull,
						 0x00cf93000000ffffull};
		memcpy(memory() + gdt, descriptors, sizeof(descriptors));
		s.gdt.base = gdt;
		s.gdt.limit = sizeof(descriptors) - 1;
		if (mode != Mode::Protected)
			build_tables(mode, s);
		r.rip = entry;
		r.rsp = mem_size_ - kTablesSize;
	}
	err = call(vcpu_.get(), AXVM_SET_SREGS, reinterpret_cast<unsigned long>(&s));
	if (err)
		return fail("KVM_SET_SREGS", err);
	err = call(vcpu_.get(), AXVM_SET_REGS, reinterpret_cast<unsigned long>(&r));
	return err ? fail("KVM_SET_REGS", err) : 0;
}

} // namespace axvm::client
