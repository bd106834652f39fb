// SPDX-License-Identifier: GPL-2.0
// KVM's x86 quirks axvm can disable (KVM_CAP_DISABLE_QUIRKS, _QUIRKS2):
// MONITOR/MWAIT as NOPs, IA32_MISC_ENABLE's MWAIT bit in CPUID, the other
// vendor's hypercall instruction rewritten; and KVM's PV hypercalls as the
// guest's CPUID 0x40000001 allows them (KVM_CAP_ENFORCE_PV_FEATURE_CPUID);
// steal time (MSR_KVM_STEAL_TIME).
#include "abi.hpp"

#include <cpuid.h>

namespace abi {

namespace {

constexpr uint32_t kMiscEnable = 0x1a0;
constexpr uint64_t kMiscEnableDefault = (1ull << 11) | (1ull << 12), kMiscEnableMwait = 1ull << 18;

bool host_is_vmx()
{
	unsigned int eax, ebx, ecx, edx;
	return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 5));
}

// This CPU's hypercall instruction and the other vendor's.
void hypercall_insns(uint8_t (&native)[3], uint8_t (&foreign)[3])
{
	const uint8_t vmcall[3] = {0x0f, 0x01, 0xc1}, vmmcall[3] = {0x0f, 0x01, 0xd9};
	memcpy(native, host_is_vmx() ? vmcall : vmmcall, 3);
	memcpy(foreign, host_is_vmx() ? vmmcall : vmcall, 3);
}

// Runs to the first exit that is neither port I/O nor a hypercall: byte
// OUTs as characters, dword OUTs as [hex], hypercalls as H<nr> (answered
// with nr + 1).
std::string trace(Machine &m)
{
	std::string seen;
	for (int i = 0; i < 40; i++) {
		if (xioctl(m.vcpu, AXVM_RUN))
			return seen + "!";
		if (m.run->exit_reason == AXVM_EXIT_IO) {
			char b[16];
			if (m.run->io.size == 1)
				b[0] = static_cast<char>(m.io_value()), b[1] = 0;
			else
				snprintf(b, sizeof(b), "[%x]", m.io_value());
			seen += b;
		} else if (m.run->exit_reason == AXVM_EXIT_HYPERCALL) {
			seen += "H" + std::to_string(m.run->hypercall.nr);
			m.run->hypercall.ret = m.run->hypercall.nr + 1;
		} else {
			break;
		}
	}
	return m.run->exit_reason == AXVM_EXIT_HLT ? seen : seen + "?" + std::to_string(m.run->exit_reason);
}

long enable_cap(int fd, uint32_t cap, uint64_t arg0, uint32_t flags = 0)
{
	axvm_enable_cap c{};
	c.cap = cap;
	c.flags = flags;
	c.args[0] = arg0;
	return xioctl(fd, AXVM_ENABLE_CAP, (unsigned long)&c);
}

// The vCPU's CPUID with @edit applied to each entry, set again.
template <typename F> bool edit_cpuid(Machine &m, F edit)
{
	CpuidTable t;
	EXPECT(t.get(m.vcpu, AXVM_GET_CPUID2) == 0);
	for (uint32_t i = 0; i < t.c().nent; i++)
		edit(t.c().entries[i]);
	EXPECT(xioctl(m.vcpu, AXVM_SET_CPUID2, (unsigned long)t.buf.data()) == 0);
	return true;
}

uint32_t leaf1_ecx(Machine &m)
{
	CpuidTable t;
	const axvm_cpuid_entry2 *e = t.get(m.vcpu, AXVM_GET_CPUID2) ? nullptr : t.find(1);
	return e ? e->ecx : ~0u;
}

struct OneMsr {
	uint32_t nmsrs, pad;
	axvm_msr_entry entries[1];
};

long set_msr(Machine &m, uint32_t index, uint64_t value)
{
	OneMsr s{1, 0, {axvm_msr_entry{index, 0, value}}};
	return xioctl(m.vcpu, AXVM_SET_MSRS, (unsigned long)&s);
}

bool get_msr(Machine &m, uint32_t index, uint64_t &value)
{
	OneMsr s{1, 0, {axvm_msr_entry{index, 0, 0}}};
	value = s.entries[0].data;
	if (xioctl(m.vcpu, AXVM_GET_MSRS, (unsigned long)&s) != 1)
		return false;
	value = s.entries[0].data;
	return true;
}

constexpr uint32_t kMsrKvmStealTime = 0x4b564d03;

// struct kvm_steal_time's first fields.
struct StealTime {
	uint64_t steal;
	uint32_t version, flags;
	uint8_t preempted;
};

} // namespace

// The capabilities' answers and KVM 6.1's errnos for bad input.
bool quirks_caps()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	const long mask = AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT | AXVM_X86_QUIRK_FIX_HYPERCALL_INSN |
			  AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS;
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_DISABLE_QUIRKS2) == mask);
	EXPECT(xioctl(m.vm, AXVM_CHECK_EXTENSION, AXVM_CAP_DISABLE_QUIRKS2) == mask);
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_DISABLE_QUIRKS) == 1);
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID) == 1);
	// QUIRKS2: a quirk axvm cannot disable, or no quirk at all: -EINVAL.
	for (uint64_t bad : {uint64_t{AXVM_X86_QUIRK_LINT0_REENABLED}, uint64_t{1} << 7, uint64_t{1} << 63, ~uint64_t{0}})
		EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, bad) == -EINVAL);
	EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, mask) == 0);
	EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, 0) == 0);
	EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, mask, 1) == -EINVAL); // flags
	// Version 1 takes any bits, as KVM.
	EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS, ~uint64_t{0}) == 0);
	// ENFORCE_PV_FEATURE_CPUID is the vCPU's: on the VM -EINVAL, on the
	// vCPU any value, flags 0; another cap on the vCPU -EINVAL.
	EXPECT(enable_cap(m.vm, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1) == -EINVAL);
	EXPECT(enable_cap(m.vcpu, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1) == 0);
	EXPECT(enable_cap(m.vcpu, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, ~uint64_t{0}) == 0);
	EXPECT(enable_cap(m.vcpu, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, 0) == 0);
	EXPECT(enable_cap(m.vcpu, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1, 1) == -EINVAL);
	EXPECT(enable_cap(m.vcpu, AXVM_CAP_DISABLE_QUIRKS2, 0) == -EINVAL);
	EXPECT(enable_cap(m.vcpu, AXVM_CAP_X2APIC_API, 0) == -EINVAL);
	return true;
}

// MONITOR and MWAIT: NOPs with the quirk, #UD without it when CPUID lacks
// MONITOR, which IA32_MISC_ENABLE's bit 18 sets once the MISC_ENABLE quirk
// is off (SSE3 needed to toggle it).
bool quirks_monitor_mwait()
{
	// xor eax,eax; xor ecx,ecx; xor edx,edx; monitor; mwait; mov al,'D'; out 0xe9,al; hlt
	const std::vector<uint8_t> code = {0x31, 0xc0, 0x31, 0xc9, 0x31, 0xd2, 0x0f, 0x01, 0xc8,
					   0x0f, 0x01, 0xc9, 0xb0, 'D',  0xe6, 0xe9, 0xf4};
	auto no_monitor = [](axvm_cpuid_entry2 &e) {
		if (e.function == 1)
			e.ecx &= ~(1u << 3);
	};
	struct Case {
		uint32_t cap;
		uint64_t quirks;
		bool misc_mwait;
		const char *want;
	} cases[] = {
		{AXVM_CAP_DISABLE_QUIRKS2, 0, false, "D"},
		{AXVM_CAP_DISABLE_QUIRKS2, AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, false, "UUD"},
		{AXVM_CAP_DISABLE_QUIRKS, ~uint64_t{0}, false, "UUD"}, // version 1 honours the same bits
		{AXVM_CAP_DISABLE_QUIRKS2, AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS | AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT,
		 true, "D"},
		{AXVM_CAP_DISABLE_QUIRKS2, AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, true, "UUD"}, // CPUID not updated
	};
	for (const Case &c : cases) {
		Machine m;
		EXPECT(start_protected_ud(m, code));
		EXPECT(edit_cpuid(m, no_monitor));
		EXPECT(enable_cap(m.vm, c.cap, c.quirks) == 0);
		if (c.misc_mwait) {
			EXPECT(set_msr(m, kMiscEnable, kMiscEnableDefault | kMiscEnableMwait) == 1);
			const bool follows = !(c.quirks & AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT);
			EXPECT(((leaf1_ecx(m) >> 3) & 1) == (follows ? 0u : 1u));
		}
		const std::string seen = trace(m);
		if (seen != c.want) {
			g_why = "quirks 0x" + std::to_string(c.quirks) + ": guest saw '" + seen + "', want '" + c.want + "'";
			return false;
		}
	}
	// Without SSE3 the MWAIT bit cannot be toggled (KVM: the MSR write
	// fails, for userspace too); other bits still can.
	Machine m;
	EXPECT(start_protected_ud(m, code));
	EXPECT(edit_cpuid(m, [](axvm_cpuid_entry2 &e) {
		if (e.function == 1)
			e.ecx &= ~1u;
	}));
	EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) == 0);
	EXPECT(set_msr(m, kMiscEnable, kMiscEnableDefault | kMiscEnableMwait) == 0);
	EXPECT(set_msr(m, kMiscEnable, kMiscEnableDefault | 1) == 1);
	EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, 0) == 0);
	EXPECT(set_msr(m, kMiscEnable, kMiscEnableDefault | kMiscEnableMwait) == 1);
	return true;
}

// The other vendor's hypercall instruction: rewritten in guest memory and
// run again with the quirk (a hypercall exit, then the native bytes in
// memory), #UD and the bytes untouched without it.
bool quirks_fix_hypercall()
{
	uint8_t native[3], foreign[3];
	hypercall_insns(native, foreign);
	// mov eax,0x55; <foreign>; mov al,'D'; out 0xe9,al; hlt
	std::vector<uint8_t> code = {0xb8, 0x55, 0, 0, 0};
	code.insert(code.end(), foreign, foreign + 3);
	code.insert(code.end(), {0xb0, 'D', 0xe6, 0xe9, 0xf4});
	for (bool disabled : {false, true}) {
		Machine m;
		EXPECT(start_protected_ud(m, code));
		if (disabled)
			EXPECT(enable_cap(m.vm, AXVM_CAP_DISABLE_QUIRKS2, AXVM_X86_QUIRK_FIX_HYPERCALL_INSN) == 0);
		const std::string seen = trace(m);
		const uint8_t *at = static_cast<uint8_t *>(m.mem) + VMM_CODE + 5;
		const char *want = disabled ? "UD" : "H85D";
		if (seen != want || memcmp(at, disabled ? foreign : native, 3)) {
			g_why = std::string(disabled ? "quirk off" : "quirk on") + ": guest saw '" + seen + "', want '" +
				want + "'";
			return false;
		}
	}
	return true;
}

// KVM_HC_SCHED_YIELD is answered in the kernel (0); with the PV CPUID
// enforced, KVM_HC_KICK_CPU and KVM_HC_SCHED_YIELD not offered in CPUID
// 0x40000001 give -KVM_ENOSYS (32 bits here); CPL 3 gets -KVM_EPERM.
bool pv_feature_cpuid_enforced()
{
	uint8_t native[3], foreign[3];
	hypercall_insns(native, foreign);
	// mov eax,11; <hypercall>; out 0xe9,eax; mov eax,5; <hypercall>; out 0xe9,eax; hlt
	std::vector<uint8_t> code = {0xb8, 11, 0, 0, 0};
	code.insert(code.end(), native, native + 3);
	code.insert(code.end(), {0xe7, 0xe9, 0xb8, 5, 0, 0, 0});
	code.insert(code.end(), native, native + 3);
	code.insert(code.end(), {0xe7, 0xe9, 0xf4});
	struct Case {
		int enforce;
		uint32_t features;
		const char *want;
	} cases[] = {
		{0, 0, "[0]H5[6]"},
		{1, 0, "[fffffc18][fffffc18]"},
		{1, 1u << 13, "[0][fffffc18]"},
		{1, 1u << 7, "[fffffc18]H5[6]"}, // PV_UNHALT offered: KICK_CPU is userspace's
		{0, 0, "[0]H5[6]"},
	};
	for (const Case &c : cases) {
		Machine m;
		EXPECT(start_protected_ud(m, code));
		EXPECT(edit_cpuid(m, [&](axvm_cpuid_entry2 &e) {
			if (e.function == 0x40000001)
				e.eax = c.features;
		}));
		EXPECT(enable_cap(m.vcpu, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, c.enforce) == 0);
		const std::string seen = trace(m);
		if (seen != c.want) {
			g_why = "enforce " + std::to_string(c.enforce) + " features 0x" + std::to_string(c.features) +
				": guest saw '" + seen + "', want '" + c.want + "'";
			return false;
		}
	}
	return true;
}

// MSR_KVM_STEAL_TIME: offered in CPUID, saved by the VMM; KVM's checks on
// writes (reserved bits 5:1, so 64-byte aligned; the feature under
// enforcement); any GPA accepted, a record outside RAM never written.
bool steal_time_msr()
{
	Machine m;
	EXPECT(m.start({0xe6, 0xe9, 0xeb, 0xfc})); // out 0xe9,al; jmp $-2
	CpuidTable t;
	EXPECT(t.get(m.dev, AXVM_GET_SUPPORTED_CPUID) == 0);
	EXPECT(t.find(0x40000001) && (t.find(0x40000001)->eax & (1u << 5)));
	uint64_t v = 1;
	EXPECT(get_msr(m, kMsrKvmStealTime, v) && v == 0);
	for (uint64_t bad : {0x3000ull | 2 | 1, 0x3000ull | 0x20, 0x3008ull | 1, 0x3001ull | 0x3e})
		EXPECT(set_msr(m, kMsrKvmStealTime, bad) == 0);
	EXPECT(get_msr(m, kMsrKvmStealTime, v) && v == 0);
	EXPECT(set_msr(m, kMsrKvmStealTime, 0x3040 | 1) == 1);
	EXPECT(get_msr(m, kMsrKvmStealTime, v) && v == (0x3040 | 1));
	// Outside every slot, and past the end of the address space: accepted,
	// the guest runs, nothing is written.
	for (uint64_t gpa : {0x40000000ull, 0xffffffffffffffc0ull}) {
		EXPECT(set_msr(m, kMsrKvmStealTime, gpa | 1) == 1);
		EXPECT(m.expect_out(0xe9, 1) >= 0);
	}
	// In the index list KVM_GET/SET_MSRS save.
	std::vector<uint32_t> list(1 + 512);
	list[0] = 511;
	EXPECT(xioctl(m.dev, AXVM_GET_MSR_INDEX_LIST, (unsigned long)list.data()) == 0);
	bool listed = false;
	for (uint32_t i = 1; i <= list[0]; i++)
		listed |= list[i] == kMsrKvmStealTime;
	EXPECT(listed);
	// Enforced without the feature: refused to userspace too (KVM). (A
	// new vCPU: after RUN its CPUID is final.)
	Machine n;
	EXPECT(n.start({0xf4}));
	EXPECT(edit_cpuid(n, [](axvm_cpuid_entry2 &e) {
		if (e.function == 0x40000001)
			e.eax = 0;
	}));
	EXPECT(set_msr(n, kMsrKvmStealTime, 0x3040 | 1) == 1);
	EXPECT(enable_cap(n.vcpu, AXVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1) == 0);
	EXPECT(set_msr(n, kMsrKvmStealTime, 0x3040 | 1) == 0);
	EXPECT(!get_msr(n, kMsrKvmStealTime, v));
	return true;
}

// The record: at each RUN the version goes up by two (even: a first value
// with junk's odd version is made even first), steal only grows, preempted
// is cleared; disabled, it is left alone.
bool steal_time_record()
{
	Machine m;
	EXPECT(m.start({0xe6, 0xe9, 0xeb, 0xfc})); // out 0xe9,al; jmp $-2
	StealTime *st = reinterpret_cast<StealTime *>(static_cast<uint8_t *>(m.mem) + 0x3000);
	st->steal = 100, st->version = 5, st->preempted = 1;
	EXPECT(set_msr(m, kMsrKvmStealTime, 0x3000 | 1) == 1);
	EXPECT(m.expect_out(0xe9, 1) >= 0);
	EXPECT(st->version == 8 && st->steal >= 100 && st->preempted == 0 && st->flags == 0);
	const uint64_t steal = st->steal;
	EXPECT(m.expect_out(0xe9, 1) >= 0);
	EXPECT(st->version == 10 && st->steal >= steal);
	EXPECT(set_msr(m, kMsrKvmStealTime, 0x3000) == 1); // disabled
	EXPECT(m.expect_out(0xe9, 1) >= 0);
	EXPECT(st->version == 10);
	return true;
}

} // namespace abi
