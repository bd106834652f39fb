// SPDX-License-Identifier: GPL-2.0
// What a full VMM (QEMU) needs beyond running code: the capabilities it
// requires, MSRs (index list, GET/SET with KVM's partial counts, guest
// accesses and userspace MSR exits), the FPU and XSAVE state, XCR0, debug
// registers, MP state, the signal mask, the TSC, dirty logs, run->cr8.
#include "abi.hpp"

#include <algorithm>
#include <csignal>
#include <pthread.h>

namespace abi {

namespace {

// struct axvm_msrs with room for one entry more than a call may carry.
struct Msrs {
	uint32_t nmsrs, pad;
	axvm_msr_entry entries[AXVM_MAX_MSR_IO + 1];
};
static_assert(offsetof(Msrs, entries) == offsetof(axvm_msrs, entries));

long msr_io(int vcpu, unsigned long cmd, Msrs &m, std::initializer_list<std::pair<uint32_t, uint64_t>> list)
{
	m.nmsrs = 0;
	for (auto &e : list)
		m.entries[m.nmsrs++] = axvm_msr_entry{e.first, 0, e.second};
	return xioctl(vcpu, cmd, reinterpret_cast<unsigned long>(&m));
}

bool get_msr(int vcpu, uint32_t index, uint64_t &value)
{
	Msrs m;
	if (msr_io(vcpu, AXVM_GET_MSRS, m, {{index, 0}}) != 1)
		return false;
	value = m.entries[0].data;
	return true;
}

} // namespace

bool vmm_capabilities()
{
	Fd dev(open_dev());
	// What QEMU refuses to start without (kvm_required_capabilites and its
	// x86 list; IRQ_ROUTING too), and the values it uses as numbers.
	for (long cap : {AXVM_CAP_USER_MEMORY, AXVM_CAP_DESTROY_MEMORY_REGION_WORKS, AXVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
			 AXVM_CAP_SET_TSS_ADDR, AXVM_CAP_EXT_CPUID, AXVM_CAP_MP_STATE, AXVM_CAP_IRQ_ROUTING,
			 AXVM_CAP_READONLY_MEM, AXVM_CAP_DEBUGREGS, AXVM_CAP_GET_TSC_KHZ, AXVM_CAP_SET_IDENTITY_MAP_ADDR,
			 AXVM_CAP_X86_MSR_FILTER, AXVM_CAP_MSR_PLATFORM_INFO})
		EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, cap) > 0);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_IRQ_ROUTING) > 24);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_MCE) >= 10);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_X86_USER_SPACE_MSR) == 7);
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_NR_MEMSLOTS) >= 32);
	uint64_t mce = 0;
	EXPECT(xioctl(dev, AXVM_X86_GET_MCE_CAP_SUPPORTED, reinterpret_cast<unsigned long>(&mce)) == 0);
	EXPECT(mce == ((1ull << 8) | (1ull << 24)));
	// Nothing emulated beyond the hardware; no room at all is -E2BIG.
	std::vector<uint64_t> buf(512);
	auto *c = reinterpret_cast<axvm_cpuid2 *>(buf.data());
	c->nent = 0;
	EXPECT(xioctl(dev, AXVM_GET_EMULATED_CPUID, reinterpret_cast<unsigned long>(c)) == -E2BIG);
	c->nent = 10;
	EXPECT(xioctl(dev, AXVM_GET_EMULATED_CPUID, reinterpret_cast<unsigned long>(c)) == 0 && c->nent == 0);
	// The VM ioctls QEMU makes before its vCPUs exist.
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	uint64_t ident = 0xfeffc000;
	EXPECT(xioctl(vm, AXVM_SET_IDENTITY_MAP_ADDR, reinterpret_cast<unsigned long>(&ident)) == 0);
	EXPECT(xioctl(vm, AXVM_SET_TSS_ADDR, 0xfeffd000) == 0);
	EXPECT(xioctl(vm, AXVM_SET_IDENTITY_MAP_ADDR, 1) == -EFAULT);
	Fd vcpu(xioctl(vm, AXVM_CREATE_VCPU, 0));
	EXPECT(vcpu >= 0);
	EXPECT(xioctl(vm, AXVM_SET_IDENTITY_MAP_ADDR, reinterpret_cast<unsigned long>(&ident)) == -EINVAL);
	// Without an in-kernel irqchip, GSI routing is refused as by KVM.
	axvm_irq_routing routing{};
	EXPECT(xioctl(vm, AXVM_SET_GSI_ROUTING, reinterpret_cast<unsigned long>(&routing)) == -EINVAL);
	return true;
}

bool msr_list_and_round_trip()
{
	Fd dev(open_dev());
	// The nmsrs = 0 probe: -E2BIG with the count.
	std::vector<uint32_t> buf(1 + 256);
	auto *list = reinterpret_cast<axvm_msr_list *>(buf.data());
	list->nmsrs = 0;
	EXPECT(xioctl(dev, AXVM_GET_MSR_INDEX_LIST, reinterpret_cast<unsigned long>(list)) == -E2BIG);
	const uint32_t n = list->nmsrs;
	EXPECT(n > 8 && n < 256);
	list->nmsrs = 256;
	EXPECT(xioctl(dev, AXVM_GET_MSR_INDEX_LIST, reinterpret_cast<unsigned long>(list)) == 0 && list->nmsrs == n);
	EXPECT(xioctl(dev, AXVM_GET_MSR_INDEX_LIST, 8) == -EFAULT);
	// Every listed MSR reads, and takes back what it read (a VMM's save
	// and restore).
	Machine m;
	EXPECT(m.start({0xf4}));
	static Msrs all;
	all.nmsrs = n;
	for (uint32_t i = 0; i < n; i++)
		all.entries[i] = axvm_msr_entry{list->indices[i], 0, 0};
	EXPECT(xioctl(m.vcpu, AXVM_GET_MSRS, reinterpret_cast<unsigned long>(&all)) == n);
	EXPECT(xioctl(m.vcpu, AXVM_SET_MSRS, reinterpret_cast<unsigned long>(&all)) == n);
	return true;
}

// KVM_CAP_GET_MSR_FEATURES: the feature MSR list (IA32_UCODE_REV) and
// KVM_GET_MSRS on the device, with KVM's counts; a vCPU takes the value.
bool feature_msrs()
{
	Fd dev(open_dev());
	EXPECT(xioctl(dev, AXVM_CHECK_EXTENSION, AXVM_CAP_GET_MSR_FEATURES) == 1);
	std::vector<uint32_t> buf(1 + 16);
	auto *list = reinterpret_cast<axvm_msr_list *>(buf.data());
	list->nmsrs = 1;
	EXPECT(xioctl(dev, AXVM_GET_MSR_FEATURE_INDEX_LIST, reinterpret_cast<unsigned long>(list)) == -E2BIG);
	EXPECT(list->nmsrs == 2);
	list->nmsrs = 16;
	EXPECT(xioctl(dev, AXVM_GET_MSR_FEATURE_INDEX_LIST, reinterpret_cast<unsigned long>(list)) == 0);
	EXPECT(list->nmsrs == 2 && list->indices[0] == 0x8b && list->indices[1] == 0x345);
	EXPECT(xioctl(dev, AXVM_GET_MSR_FEATURE_INDEX_LIST, 8) == -EFAULT);
	// Values up to the first MSR that is not a feature MSR (the TSC).
	static Msrs b;
	EXPECT(msr_io(dev, AXVM_GET_MSRS, b, {{0x8b, 0x1234}}) == 1);
	const uint64_t rev = b.entries[0].data;
	EXPECT(msr_io(dev, AXVM_GET_MSRS, b, {{0x8b, 0}, {0x10, 0}, {0x8b, 0}}) == 1 && b.entries[0].data == rev);
	EXPECT(msr_io(dev, AXVM_GET_MSRS, b, {{0x10, 0}, {0x8b, 0}}) == 0);
	EXPECT(msr_io(dev, AXVM_GET_MSRS, b, {{0x345, 1}}) == 1 && b.entries[0].data == 0); // no vPMU
	EXPECT(msr_io(dev, AXVM_GET_MSRS, b, {}) == 0);
	b.nmsrs = AXVM_MAX_MSR_IO;
	EXPECT(xioctl(dev, AXVM_GET_MSRS, reinterpret_cast<unsigned long>(&b)) == -E2BIG);
	EXPECT(xioctl(dev, AXVM_GET_MSRS, 16) == -EFAULT);
	EXPECT(msr_io(dev, AXVM_SET_MSRS, b, {{0x8b, 0}}) == -ENOTTY);
	// A vCPU starts with KVM's default and takes the host's.
	Machine m;
	EXPECT(m.start({0xf4}));
	uint64_t v = 0;
	EXPECT(get_msr(m.vcpu, 0x8b, v) && v == 0x100000000ull);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x8b, rev}}) == 1);
	EXPECT(get_msr(m.vcpu, 0x8b, v) && v == rev);
	// PERF_CAPABILITIES: userspace's, within the feature value (0); the
	// guest's RDMSR a #GP without PDCM in its CPUID.
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x345, 0}}) == 1);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x345, 1}}) == 0);
	EXPECT(get_msr(m.vcpu, 0x345, v) && v == 0);
	return true;
}

bool msrs_like_kvm()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	Msrs b;
	// Processed until the first refused entry; the count says how far.
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0xc0000081, 0x0023001000000000ull}, {0x1234, 0}, {0xc0000082, 0}}) ==
	       1);
	EXPECT(msr_io(m.vcpu, AXVM_GET_MSRS, b, {{0xc0000081, 0}, {0x1234, 0}}) == 1);
	EXPECT(b.entries[0].data == 0x0023001000000000ull);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {}) == 0); // QEMU's empty batch at vCPU init
	b.nmsrs = AXVM_MAX_MSR_IO; // KVM: fewer than MAX_IO_MSRS
	EXPECT(xioctl(m.vcpu, AXVM_GET_MSRS, reinterpret_cast<unsigned long>(&b)) == -E2BIG);
	b.nmsrs = AXVM_MAX_MSR_IO - 1;
	for (uint32_t i = 0; i < b.nmsrs; i++)
		b.entries[i] = axvm_msr_entry{0xc0000081, 0, 0};
	EXPECT(xioctl(m.vcpu, AXVM_GET_MSRS, reinterpret_cast<unsigned long>(&b)) == AXVM_MAX_MSR_IO - 1);
	EXPECT(xioctl(m.vcpu, AXVM_GET_MSRS, 16) == -EFAULT);
	// Non-canonical LSTAR, a reserved EFER bit, a bad PAT or MTRR type,
	// MCi_CTL other than 0 or all ones: refused.
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0xc0000082, 0x0000800000000000ull}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0xc0000080, 1ull << 20}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x277, 0x0202020202020202ull}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x2ff, 0x802}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x2ff, 0xc06}, {0x250, 0x0606060606060606ull}}) == 2);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x400, 5}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x400, ~0ull}, {0x401, 0x1234}}) == 2); // userspace may set STATUS
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0xfe, 0}}) == 0); // MTRRcap is read-only
	uint64_t v = 0;
	EXPECT(get_msr(m.vcpu, 0xfe, v) && v == 0x508);
	EXPECT(get_msr(m.vcpu, 0x179, v) && (v & 0xff) == 32); // 32 banks before SETUP_MCE
	// KVM_X86_SETUP_MCE: the bank count and supported bits only.
	uint64_t cap = 10 | (1ull << 8);
	EXPECT(xioctl(m.vcpu, AXVM_X86_SETUP_MCE, reinterpret_cast<unsigned long>(&cap)) == 0);
	EXPECT(get_msr(m.vcpu, 0x179, v) && v == cap);
	EXPECT(get_msr(m.vcpu, 0x17b, v) && v == ~0ull); // MCG_CTL all on
	EXPECT(msr_io(m.vcpu, AXVM_GET_MSRS, b, {{0x400 + 4 * 10, 0}}) == 0); // bank 10 is gone now
	for (uint64_t bad : {0ull, 33ull, 10 | (1ull << 9)}) {
		cap = bad;
		EXPECT(xioctl(m.vcpu, AXVM_X86_SETUP_MCE, reinterpret_cast<unsigned long>(&cap)) == -EINVAL);
	}
	// The TSC: set, read back a little later, never behind.
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x10, 1000000000000ull}}) == 1);
	EXPECT(get_msr(m.vcpu, 0x10, v) && v >= 1000000000000ull && v < 1000000000000ull + (100ull << 30));
	// APIC base: reserved bits and x2APIC without enable refused.
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x1b, 0xfee00900 | 1}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x1b, 0xfee00400}}) == 0);
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x1b, 0xfec00900}}) == 1);
	EXPECT(get_msr(m.vcpu, 0x1b, v) && v == 0xfec00900);
	// PLATFORM_INFO: userspace's to set, the guest's to read (by default).
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0xce, 0x1234}}) == 1);
	EXPECT(get_msr(m.vcpu, 0xce, v) && v == 0x1234);
	return true;
}

// IA32_TSC_ADJUST as KVM emulates it (KVM's tsc_msrs_test): offered in
// CPUID, saved and restored; the guest's TSC write moves it by as much, the
// guest's write to it moves the TSC, userspace's writes to either leave the
// other alone.
// KVM_CAP_VCPU_ATTRIBUTES: the vCPU's TSC offset (KVM_VCPU_TSC_CTRL,
// KVM_VCPU_TSC_OFFSET), the attribute checked before its address.
bool tsc_offset_attribute()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_VCPU_ATTRIBUTES) == 1);
	uint64_t value = 0;
	axvm_device_attr a{0, AXVM_VCPU_TSC_CTRL, AXVM_VCPU_TSC_OFFSET, reinterpret_cast<uintptr_t>(&value)};
	auto attr = [&](unsigned long cmd) { return xioctl(m.vcpu, cmd, reinterpret_cast<unsigned long>(&a)); };
	EXPECT(attr(AXVM_HAS_DEVICE_ATTR) == 0);
	// The guest's TSC is the host's plus the offset set (here 180 s back
	// at 1 GHz, negative as a u64).
	const uint64_t offset = -180000000000ull;
	value = offset;
	const uint64_t before = __builtin_ia32_rdtsc();
	EXPECT(attr(AXVM_SET_DEVICE_ATTR) == 0);
	uint64_t tsc = 0;
	EXPECT(get_msr(m.vcpu, 0x10, tsc));
	const uint64_t after = __builtin_ia32_rdtsc();
	EXPECT(tsc - offset >= before && tsc - offset <= after);
	value = 0;
	EXPECT(attr(AXVM_GET_DEVICE_ATTR) == 0 && value == offset);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	// A vCPU created afterwards joins that TSC (KVM's synchronization).
	Vcpu second;
	EXPECT(add_vcpu(m, 1, VMM_CODE, second));
	value = 0;
	EXPECT(xioctl(second.fd, AXVM_GET_DEVICE_ATTR, reinterpret_cast<unsigned long>(&a)) == 0 && value == offset);
	// Bad input: no such group or attribute (-ENXIO, before the address),
	// flags, the value's address, the struct's.
	a.group = 1;
	EXPECT(attr(AXVM_HAS_DEVICE_ATTR) == -ENXIO && attr(AXVM_SET_DEVICE_ATTR) == -ENXIO);
	a.group = AXVM_VCPU_TSC_CTRL;
	a.attr = 1;
	a.addr = 8;
	EXPECT(attr(AXVM_HAS_DEVICE_ATTR) == -ENXIO && attr(AXVM_GET_DEVICE_ATTR) == -ENXIO);
	a.attr = AXVM_VCPU_TSC_OFFSET;
	EXPECT(attr(AXVM_GET_DEVICE_ATTR) == -EFAULT && attr(AXVM_SET_DEVICE_ATTR) == -EFAULT);
	a.addr = reinterpret_cast<uintptr_t>(&value);
	a.flags = 1;
	EXPECT(attr(AXVM_HAS_DEVICE_ATTR) == -EINVAL && attr(AXVM_SET_DEVICE_ATTR) == -EINVAL);
	EXPECT(xioctl(m.vcpu, AXVM_HAS_DEVICE_ATTR, 16) == -EFAULT);
	// Not a VM or device ioctl.
	a.flags = 0;
	EXPECT(xioctl(m.vm, AXVM_HAS_DEVICE_ATTR, reinterpret_cast<unsigned long>(&a)) == -ENOTTY);
	value = 0;
	EXPECT(attr(AXVM_GET_DEVICE_ATTR) == 0 && value == offset);
	return true;
}

bool tsc_adjust()
{
	constexpr uint64_t k36 = 1ull << 36, k37 = 1ull << 37, kSlack = 1ull << 34;
	Machine m;
	// mov ecx,0x10; xor eax,eax; mov edx,0x10; wrmsr (TSC = 2^36); hlt;
	// mov ecx,0x3b; xor eax,eax; mov edx,0x20; wrmsr (TSC_ADJUST = 2^37); hlt
	EXPECT(m.start({0x66, 0xb9, 0x10, 0, 0, 0, 0x66, 0x31, 0xc0, 0x66, 0xba, 0x10, 0, 0, 0, 0x0f, 0x30, 0xf4,
			0x66, 0xb9, 0x3b, 0, 0, 0, 0x66, 0x31, 0xc0, 0x66, 0xba, 0x20, 0, 0, 0, 0x0f, 0x30, 0xf4}));
	CpuidTable t;
	EXPECT(t.get(m.dev, AXVM_GET_SUPPORTED_CPUID) == 0);
	EXPECT(t.find(7) && (t.find(7)->ebx & 2));
	std::vector<uint32_t> list(256);
	list[0] = 255;
	EXPECT(xioctl(m.dev, AXVM_GET_MSR_INDEX_LIST, (unsigned long)list.data()) == 0);
	EXPECT(std::find(list.begin() + 1, list.begin() + 1 + list[0], 0x3bu) != list.begin() + 1 + list[0]);
	uint64_t v = 1;
	EXPECT(get_msr(m.vcpu, 0x3b, v) && v == 0);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	uint64_t adjust = 0;
	EXPECT(get_msr(m.vcpu, 0x10, v) && v >= k36 && v < k36 + kSlack);
	EXPECT(get_msr(m.vcpu, 0x3b, adjust) && adjust <= k36 && adjust > k36 - kSlack);
	Msrs b;
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x3b, k36}}) == 1); // userspace's: the TSC stays
	EXPECT(get_msr(m.vcpu, 0x10, v) && v >= k36 && v < k36 + kSlack);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	EXPECT(get_msr(m.vcpu, 0x3b, v) && v == k37);
	EXPECT(get_msr(m.vcpu, 0x10, v) && v >= k37 && v < k37 + kSlack); // moved by 2^37 - 2^36
	EXPECT(msr_io(m.vcpu, AXVM_SET_MSRS, b, {{0x10, k36}}) == 1); // userspace's: the adjust stays
	EXPECT(get_msr(m.vcpu, 0x3b, v) && v == k37);
	return true;
}

namespace {

// A real-mode guest that runs RDMSR or WRMSR on ECX = @msr and prints the
// fault ('G') or EAX, then halts. #GP lands at 0x1800.
bool msr_guest(Machine &m, uint32_t msr, bool write)
{
	std::vector<uint8_t> code = {0x66, 0xb9, uint8_t(msr), uint8_t(msr >> 8), uint8_t(msr >> 16), uint8_t(msr >> 24),
				     0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x66, 0x31, 0xd2, 0x0f, uint8_t(write ? 0x30 : 0x32),
				     0x66, 0xe7, 0xe9, 0xf4};
	if (!m.start(code))
		return false;
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint8_t gp[] = {0xb0, 'G', 0xe6, 0xe9, 0xf4}; // mov al,'G'; out 0xe9,al; hlt
	memcpy(mem + 0x1800, gp, sizeof(gp));
	const uint16_t at = 0x1800;
	memcpy(mem + 4 * 13, &at, 2);
	return true;
}

} // namespace

bool guest_msrs_and_user_space_exits()
{
	{ // An MSR no CPU has: #GP.
		Machine m;
		EXPECT(msr_guest(m, 0x1234, false));
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.io_value() == 'G');
	}
	for (bool write : {false, true}) { // PERF_CAPABILITIES without PDCM, and any write: #GP
		Machine m;
		EXPECT(msr_guest(m, 0x345, write));
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.io_value() == 'G');
	}
	{ // ... unless userspace asked for it: an exit, its value, or its refusal.
		for (uint8_t error : {0, 1}) {
			Machine m;
			EXPECT(msr_guest(m, 0x1234, false));
			axvm_enable_cap cap{};
			cap.cap = AXVM_CAP_X86_USER_SPACE_MSR;
			cap.args[0] = AXVM_MSR_EXIT_REASON_UNKNOWN;
			EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap)) == 0);
			EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_X86_RDMSR);
			EXPECT(m.run->msr.index == 0x1234 && m.run->msr.reason == AXVM_MSR_EXIT_REASON_UNKNOWN);
			m.run->msr.data = 0xabcd;
			m.run->msr.error = error;
			EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO);
			EXPECT(m.io_value() == (error ? 'G' : 0xabcdu));
			cap.args[0] = 1u << 5;
			EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap)) == -EINVAL);
		}
	}
	{ // A filter that denies a known MSR's write: #GP, or a FILTER exit.
		for (bool exits : {false, true}) {
			Machine m;
			EXPECT(msr_guest(m, 0xc0000081, true)); // STAR
			uint8_t bitmap = 0;
			axvm_msr_filter f{};
			f.ranges[0] = axvm_msr_filter_range{AXVM_MSR_FILTER_WRITE, 1, 0xc0000081,
							    reinterpret_cast<uintptr_t>(&bitmap)};
			EXPECT(xioctl(m.vm, AXVM_X86_SET_MSR_FILTER, reinterpret_cast<unsigned long>(&f)) == 0);
			if (exits) {
				axvm_enable_cap cap{};
				cap.cap = AXVM_CAP_X86_USER_SPACE_MSR;
				cap.args[0] = AXVM_MSR_EXIT_REASON_FILTER;
				EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap)) == 0);
				EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_X86_WRMSR);
				EXPECT(m.run->msr.reason == AXVM_MSR_EXIT_REASON_FILTER && m.run->msr.data == 0x12345678);
			}
			EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO);
			EXPECT(m.io_value() == (exits ? 0x12345678u : 'G'));
			// Bad filters: unknown flags, an empty range, a huge one, a bad pointer.
			f.flags = 2;
			EXPECT(xioctl(m.vm, AXVM_X86_SET_MSR_FILTER, reinterpret_cast<unsigned long>(&f)) == -EINVAL);
			f.flags = 0;
			f.ranges[0].nmsrs = 0;
			EXPECT(xioctl(m.vm, AXVM_X86_SET_MSR_FILTER, reinterpret_cast<unsigned long>(&f)) == -EINVAL);
			f.ranges[0].nmsrs = 0x10000;
			EXPECT(xioctl(m.vm, AXVM_X86_SET_MSR_FILTER, reinterpret_cast<unsigned long>(&f)) == -EINVAL);
			f.ranges[0].nmsrs = 8;
			f.ranges[0].bitmap = 16;
			EXPECT(xioctl(m.vm, AXVM_X86_SET_MSR_FILTER, reinterpret_cast<unsigned long>(&f)) == -EFAULT);
		}
	}
	{ // MSRs a Linux guest touches at boot: MTRRs, MCE, MISC_ENABLE, HWCR, PAT.
		for (uint32_t msr : {0xfeu, 0x2ffu, 0x179u, 0x17au, 0x1a0u, 0xc0010015u, 0x277u, 0x186u}) {
			Machine m;
			EXPECT(msr_guest(m, msr, false));
			EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.io_value() != 'G');
		}
	}
	{ // MSR_IA32_POWER_CTL, which KVM keeps itself: no exit even with
	  // UNKNOWN exits on (KVM's userspace_msr_exit_test), the value kept.
		Machine m;
		EXPECT(msr_guest(m, 0x1fc, true));
		axvm_enable_cap cap{};
		cap.cap = AXVM_CAP_X86_USER_SPACE_MSR;
		cap.args[0] = AXVM_MSR_EXIT_REASON_UNKNOWN | AXVM_MSR_EXIT_REASON_INVAL;
		EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&cap)) == 0);
		EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO);
		EXPECT(m.io_value() == 0x12345678u);
		uint64_t v = 0;
		EXPECT(get_msr(m.vcpu, 0x1fc, v) && v == 0x12345678u);
	}
	return true;
}

bool fpu_xsave_and_xcrs()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_fpu fpu;
	EXPECT(xioctl(m.vcpu, AXVM_GET_FPU, reinterpret_cast<unsigned long>(&fpu)) == 0);
	EXPECT(fpu.fcw == 0x37f && fpu.mxcsr == 0x1f80); // the reset values
	fpu.mxcsr = 0x1f80 | (1 << 13);
	fpu.xmm[3][5] = 0x5a;
	EXPECT(xioctl(m.vcpu, AXVM_SET_FPU, reinterpret_cast<unsigned long>(&fpu)) == 0);
	axvm_fpu back;
	EXPECT(xioctl(m.vcpu, AXVM_GET_FPU, reinterpret_cast<unsigned long>(&back)) == 0);
	EXPECT(back.mxcsr == fpu.mxcsr && back.xmm[3][5] == 0x5a);
	fpu.mxcsr = 1u << 31; // a reserved MXCSR bit: refused, never loaded
	EXPECT(xioctl(m.vcpu, AXVM_SET_FPU, reinterpret_cast<unsigned long>(&fpu)) == -EINVAL);
	static axvm_xsave x;
	EXPECT(xioctl(m.vcpu, AXVM_GET_XSAVE, reinterpret_cast<unsigned long>(&x)) == 0);
	EXPECT(reinterpret_cast<uint8_t *>(x.region)[160 + 3 * 16 + 5] == 0x5a); // XMM3 in the legacy area
	EXPECT(xioctl(m.vcpu, AXVM_SET_XSAVE, reinterpret_cast<unsigned long>(&x)) == 0);
	x.region[512 / 4 + 1] = 1; // XSTATE_BV bit 32: a component no guest has
	EXPECT(xioctl(m.vcpu, AXVM_SET_XSAVE, reinterpret_cast<unsigned long>(&x)) == -EINVAL);
	axvm_xcrs xcrs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == 0);
	if (xcrs.nr_xcrs) { // the host has XSAVE on
		EXPECT(xcrs.nr_xcrs == 1 && xcrs.xcrs[0].xcr == 0 && xcrs.xcrs[0].value == 1);
		xcrs.xcrs[0].value = 3;
		EXPECT(xioctl(m.vcpu, AXVM_SET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == 0);
		for (uint64_t bad : {0ull, 2ull, 5ull, 1ull << 9}) { // no x87; no x87; AVX without SSE; PKRU
			xcrs.xcrs[0].value = bad;
			EXPECT(xioctl(m.vcpu, AXVM_SET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == -EINVAL);
		}
		EXPECT(xioctl(m.vcpu, AXVM_GET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == 0 &&
		       xcrs.xcrs[0].value == 3);
	}
	xcrs.nr_xcrs = AXVM_MAX_XCRS + 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == -EINVAL);
	xcrs.nr_xcrs = 0;
	xcrs.flags = 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == -EINVAL);
	return true;
}

bool guest_xsetbv()
{
	Machine m;
	// xor ecx,ecx; mov eax,EAX; xor edx,edx; xsetbv; xgetbv; out 0xe9,eax; hlt, twice:
	// x87|SSE, then AVX without SSE (#GP: 'G').
	std::vector<uint8_t> code;
	for (uint8_t eax : {3, 5})
		code.insert(code.end(), {0x66, 0x31, 0xc9, 0x66, 0xb8, eax, 0, 0, 0, 0x66, 0x31, 0xd2, 0x0f, 0x01, 0xd1,
					 0x0f, 0x01, 0xd0, 0x66, 0xe7, 0xe9});
	code.push_back(0xf4);
	EXPECT(m.start(code));
	axvm_xcrs xcrs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == 0);
	if (!xcrs.nr_xcrs)
		return true; // no XSAVE on this host: nothing to switch
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	// #GP: print 'G', skip XSETBV, XGETBV and the OUT (3 bytes each).
	const uint8_t gp[] = {0xb0, 'G', 0xe6, 0xe9, 0x55, 0x89, 0xe5, 0x83, 0x46, 0x02, 0x09, 0x5d, 0xcf};
	memcpy(mem + 0x1800, gp, sizeof(gp));
	const uint16_t at = 0x1800;
	memcpy(mem + 4 * 13, &at, 2);
	axvm_regs regs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(m.vcpu, AXVM_SET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);
	axvm_sregs sregs;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&sregs)) == 0);
	sregs.cr4 |= 1u << 18; // OSXSAVE
	EXPECT(xioctl(m.vcpu, AXVM_SET_SREGS, reinterpret_cast<unsigned long>(&sregs)) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.io_value() == 3);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.io_value() == 'G');
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	EXPECT(xioctl(m.vcpu, AXVM_GET_XCRS, reinterpret_cast<unsigned long>(&xcrs)) == 0 && xcrs.xcrs[0].value == 3);
	return true;
}

bool debugregs_mp_state_tsc_khz()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_debugregs d{};
	EXPECT(xioctl(m.vcpu, AXVM_GET_DEBUGREGS, reinterpret_cast<unsigned long>(&d)) == 0);
	EXPECT(d.dr6 == 0xffff0ff0 && d.dr7 == 0x400);
	d.db[2] = 0x1234;
	d.dr7 = 0x410;
	EXPECT(xioctl(m.vcpu, AXVM_SET_DEBUGREGS, reinterpret_cast<unsigned long>(&d)) == 0);
	axvm_debugregs back{};
	EXPECT(xioctl(m.vcpu, AXVM_GET_DEBUGREGS, reinterpret_cast<unsigned long>(&back)) == 0);
	EXPECT(back.db[2] == 0x1234 && back.dr7 == 0x410);
	d.flags = 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_DEBUGREGS, reinterpret_cast<unsigned long>(&d)) == -EINVAL);
	d.flags = 0;
	d.dr7 = 1ull << 32;
	EXPECT(xioctl(m.vcpu, AXVM_SET_DEBUGREGS, reinterpret_cast<unsigned long>(&d)) == -EINVAL);
	// Without an in-kernel local APIC a vCPU is always runnable.
	axvm_mp_state mp{7};
	EXPECT(xioctl(m.vcpu, AXVM_GET_MP_STATE, reinterpret_cast<unsigned long>(&mp)) == 0 &&
	       mp.mp_state == AXVM_MP_STATE_RUNNABLE);
	EXPECT(xioctl(m.vcpu, AXVM_SET_MP_STATE, reinterpret_cast<unsigned long>(&mp)) == 0);
	mp.mp_state = AXVM_MP_STATE_HALTED;
	EXPECT(xioctl(m.vcpu, AXVM_SET_MP_STATE, reinterpret_cast<unsigned long>(&mp)) == -EINVAL);
	// The TSC runs at the host's rate; it cannot be scaled.
	const long khz = xioctl(m.vcpu, AXVM_GET_TSC_KHZ);
	EXPECT(khz > 0);
	EXPECT(xioctl(m.vcpu, AXVM_SET_TSC_KHZ, khz) == 0 && xioctl(m.vcpu, AXVM_SET_TSC_KHZ, 0) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_SET_TSC_KHZ, khz / 2) == -EINVAL);
	return true;
}

bool run_cr8_and_apic_base()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	m.run->cr8 = 5;
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);
	axvm_sregs s;
	EXPECT(xioctl(m.vcpu, AXVM_GET_SREGS, reinterpret_cast<unsigned long>(&s)) == 0 && s.cr8 == 5);
	EXPECT(m.run->cr8 == 5 && m.run->apic_base == 0xfee00900); // QEMU takes both from every exit
	m.run->cr8 = 16; // not a TPR
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == -EINVAL);
	return true;
}

namespace {
void ignore(int) {}
} // namespace

// QEMU without KVM_CAP_IMMEDIATE_EXIT: SIG_IPI blocked in the thread,
// unblocked only inside KVM_RUN by KVM_SET_SIGNAL_MASK. A kick during RUN
// ends it with -EINTR and stays pending for sigtimedwait.
bool signal_mask_during_run()
{
	Machine m;
	EXPECT(m.start({0xeb, 0xfe})); // jmp $
	struct sigaction sa{};
	sa.sa_handler = ignore;
	EXPECT(sigaction(SIGUSR1, &sa, nullptr) == 0);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	EXPECT(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
	struct Restore {
		sigset_t set;
		~Restore() { pthread_sigmask(SIG_SETMASK, &set, nullptr); }
	} restore{old};
	std::vector<uint8_t> mask_buf(sizeof(axvm_signal_mask) + 8);
	auto *mask = reinterpret_cast<axvm_signal_mask *>(mask_buf.data());
	mask->len = 4;
	EXPECT(xioctl(m.vcpu, AXVM_SET_SIGNAL_MASK, reinterpret_cast<unsigned long>(mask)) == -EINVAL);
	mask->len = 8;
	memset(mask->sigset, 0, 8); // nothing blocked while inside RUN
	EXPECT(xioctl(m.vcpu, AXVM_SET_SIGNAL_MASK, reinterpret_cast<unsigned long>(mask)) == 0);
	const pthread_t self = pthread_self();
	pthread_t kicker;
	EXPECT(pthread_create(&kicker, nullptr, [](void *t) -> void * {
		usleep(200000);
		pthread_kill(*static_cast<pthread_t *>(t), SIGUSR1);
		return nullptr;
	}, const_cast<pthread_t *>(&self)) == 0);
	const long r = xioctl(m.vcpu, AXVM_RUN);
	pthread_join(kicker, nullptr);
	EXPECT(r == -EINTR && m.run->exit_reason == AXVM_EXIT_INTR);
	// Back in userspace the thread's own mask holds again: SIGUSR1 pending.
	sigset_t pending;
	EXPECT(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1));
	timespec zero{};
	EXPECT(sigtimedwait(&block, nullptr, &zero) == SIGUSR1);
	// No mask (a null argument): the thread's own mask inside RUN too.
	EXPECT(xioctl(m.vcpu, AXVM_SET_SIGNAL_MASK, 0) == 0);
	return true;
}

bool dirty_log()
{
	void *mem = map_anon(0x10000);
	EXPECT(mem);
	Fd dev(open_dev());
	Fd vm(xioctl(dev, AXVM_CREATE_VM));
	EXPECT(set_region(vm, region(0, 0, 0x8000, mem)) == 0);
	EXPECT(set_region(vm, region(1, 0x100000, 0x5000, static_cast<char *>(mem) + 0x8000,
				     AXVM_MEM_LOG_DIRTY_PAGES)) == 0);
	uint64_t bitmap[2] = {0, ~0ull};
	axvm_dirty_log log{};
	log.dirty_bitmap = reinterpret_cast<uintptr_t>(bitmap);
	log.slot = 0;
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == -ENOENT);
	log.slot = 5;
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == -ENOENT);
	log.slot = 1u << 16 | 1; // slot 1 of address space 1: none there
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == -ENOENT);
	log.slot = 2u << 16; // no such address space
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == -EINVAL);
	log.slot = 1;
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == 0);
	EXPECT(bitmap[0] == 0x1f && bitmap[1] == ~0ull); // its five pages, one long written
	log.dirty_bitmap = 8;
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == -EFAULT);
	// Logging off again: a flags-only change of the live slot.
	EXPECT(set_region(vm, region(1, 0x100000, 0x5000, static_cast<char *>(mem) + 0x8000)) == 0);
	log.dirty_bitmap = reinterpret_cast<uintptr_t>(bitmap);
	EXPECT(xioctl(vm, AXVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log)) == -ENOENT);
	munmap(mem, 0x10000);
	return true;
}

} // namespace abi
