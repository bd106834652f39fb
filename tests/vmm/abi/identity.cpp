// SPDX-License-Identifier: GPL-2.0
// ABI identity with KVM, checked by the compiler: every number and layout of
// include/uapi/axvm.h is <linux/kvm.h>'s. Nothing here runs.
#include <uapi/axvm.h>

#include <linux/kvm.h>

#include <cstddef>

static_assert(AXVM_API_VERSION == KVM_API_VERSION);
static_assert(AXVM_GET_API_VERSION == KVM_GET_API_VERSION);
static_assert(AXVM_CREATE_VM == KVM_CREATE_VM);
static_assert(AXVM_CHECK_EXTENSION == KVM_CHECK_EXTENSION);
static_assert(AXVM_GET_VCPU_MMAP_SIZE == KVM_GET_VCPU_MMAP_SIZE);
static_assert(AXVM_CREATE_VCPU == KVM_CREATE_VCPU);
static_assert(AXVM_SET_USER_MEMORY_REGION == KVM_SET_USER_MEMORY_REGION);
static_assert(AXVM_RUN == KVM_RUN);
static_assert(AXVM_GET_REGS == KVM_GET_REGS && AXVM_SET_REGS == KVM_SET_REGS);
static_assert(AXVM_GET_SREGS == KVM_GET_SREGS && AXVM_SET_SREGS == KVM_SET_SREGS);
// <linux/kvm.h> declares kvm_cpuid2's flexible array with __DECLARE_FLEX_ARRAY,
// whose empty struct makes sizeof(kvm_cpuid2) 12 in C++ but 8 in C (and in
// the kernel); the ioctl numbers encode that size, so compare with C's.
static_assert(AXVM_GET_SUPPORTED_CPUID == _IOWR(KVMIO, 0x05, char[8]));
static_assert(AXVM_SET_CPUID2 == _IOW(KVMIO, 0x90, char[8]) && AXVM_GET_CPUID2 == _IOWR(KVMIO, 0x91, char[8]));
static_assert(AXVM_SET_TSS_ADDR == KVM_SET_TSS_ADDR);
static_assert(AXVM_SET_NR_MMU_PAGES == KVM_SET_NR_MMU_PAGES && AXVM_GET_NR_MMU_PAGES == KVM_GET_NR_MMU_PAGES);
static_assert(AXVM_CAP_MMU_SHADOW_CACHE_CONTROL == KVM_CAP_MMU_SHADOW_CACHE_CONTROL);
static_assert(AXVM_CAP_SET_TSS_ADDR == KVM_CAP_SET_TSS_ADDR && AXVM_CAP_EXT_CPUID == KVM_CAP_EXT_CPUID);
static_assert(AXVM_CAP_IMMEDIATE_EXIT == KVM_CAP_IMMEDIATE_EXIT);
static_assert(AXVM_SYSTEM_EVENT_RESET == KVM_SYSTEM_EVENT_RESET);
static_assert(AXVM_CPUID_FLAG_SIGNIFCANT_INDEX == KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
static_assert(sizeof(axvm_regs) == sizeof(kvm_regs) && sizeof(axvm_sregs) == sizeof(kvm_sregs));
static_assert(sizeof(axvm_segment) == sizeof(kvm_segment) && sizeof(axvm_dtable) == sizeof(kvm_dtable));
static_assert(offsetof(axvm_sregs, cr0) == offsetof(kvm_sregs, cr0));
static_assert(offsetof(axvm_sregs, interrupt_bitmap) == offsetof(kvm_sregs, interrupt_bitmap));
static_assert(offsetof(axvm_segment, unusable) == offsetof(kvm_segment, unusable));
static_assert(sizeof(axvm_cpuid_entry2) == sizeof(kvm_cpuid_entry2) && sizeof(axvm_cpuid2) == 8);
static_assert(offsetof(axvm_cpuid_entry2, edx) == offsetof(kvm_cpuid_entry2, edx));
static_assert(offsetof(axvm_regs, rip) == offsetof(kvm_regs, rip));
static_assert(AXVM_CAP_USER_MEMORY == KVM_CAP_USER_MEMORY && AXVM_CAP_NR_VCPUS == KVM_CAP_NR_VCPUS);
static_assert(AXVM_CAP_NR_MEMSLOTS == KVM_CAP_NR_MEMSLOTS && AXVM_CAP_MAX_VCPUS == KVM_CAP_MAX_VCPUS);
static_assert(AXVM_CAP_MAX_VCPU_ID == KVM_CAP_MAX_VCPU_ID);
static_assert(AXVM_MEM_READONLY == KVM_MEM_READONLY && AXVM_MEM_LOG_DIRTY_PAGES == KVM_MEM_LOG_DIRTY_PAGES);
static_assert(AXVM_EXIT_IO == KVM_EXIT_IO && AXVM_EXIT_HYPERCALL == KVM_EXIT_HYPERCALL);
static_assert(AXVM_EXIT_HLT == KVM_EXIT_HLT && AXVM_EXIT_MMIO == KVM_EXIT_MMIO);
static_assert(AXVM_EXIT_IRQ_WINDOW_OPEN == KVM_EXIT_IRQ_WINDOW_OPEN && AXVM_EXIT_SHUTDOWN == KVM_EXIT_SHUTDOWN);
static_assert(AXVM_EXIT_FAIL_ENTRY == KVM_EXIT_FAIL_ENTRY && AXVM_EXIT_INTR == KVM_EXIT_INTR);
static_assert(AXVM_EXIT_INTERNAL_ERROR == KVM_EXIT_INTERNAL_ERROR);
static_assert(AXVM_EXIT_SYSTEM_EVENT == KVM_EXIT_SYSTEM_EVENT);
static_assert(AXVM_EXIT_X86_RDMSR == KVM_EXIT_X86_RDMSR && AXVM_EXIT_X86_WRMSR == KVM_EXIT_X86_WRMSR);
static_assert(AXVM_EXIT_IO_IN == KVM_EXIT_IO_IN && AXVM_EXIT_IO_OUT == KVM_EXIT_IO_OUT);
static_assert(AXVM_SYSTEM_EVENT_SHUTDOWN == KVM_SYSTEM_EVENT_SHUTDOWN);

#define SAME_FIELD(a, b, f) \
	static_assert(offsetof(a, f) == offsetof(b, f) && sizeof(a::f) == sizeof(b::f), #f)
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, slot);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, flags);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, guest_phys_addr);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, memory_size);
SAME_FIELD(axvm_userspace_memory_region, kvm_userspace_memory_region, userspace_addr);
static_assert(sizeof(axvm_userspace_memory_region) == sizeof(kvm_userspace_memory_region));
SAME_FIELD(axvm_run, kvm_run, request_interrupt_window);
SAME_FIELD(axvm_run, kvm_run, immediate_exit);
SAME_FIELD(axvm_run, kvm_run, exit_reason);
SAME_FIELD(axvm_run, kvm_run, ready_for_interrupt_injection);
SAME_FIELD(axvm_run, kvm_run, if_flag);
SAME_FIELD(axvm_run, kvm_run, flags);
SAME_FIELD(axvm_run, kvm_run, cr8);
SAME_FIELD(axvm_run, kvm_run, apic_base);
SAME_FIELD(axvm_run, kvm_run, io);
SAME_FIELD(axvm_run, kvm_run, mmio);
SAME_FIELD(axvm_run, kvm_run, hypercall);
SAME_FIELD(axvm_run, kvm_run, fail_entry);
SAME_FIELD(axvm_run, kvm_run, internal);
SAME_FIELD(axvm_run, kvm_run, system_event.type);
SAME_FIELD(axvm_run, kvm_run, msr);
SAME_FIELD(axvm_run, kvm_run, kvm_valid_regs);
SAME_FIELD(axvm_run, kvm_run, kvm_dirty_regs);
SAME_FIELD(axvm_run, kvm_run, s);
SAME_FIELD(axvm_run, kvm_run, s.regs.regs);
SAME_FIELD(axvm_run, kvm_run, s.regs.sregs);
SAME_FIELD(axvm_run, kvm_run, s.regs.events);
static_assert(AXVM_CAP_GET_MSR_FEATURES == KVM_CAP_GET_MSR_FEATURES);
static_assert(AXVM_CAP_VCPU_ATTRIBUTES == KVM_CAP_VCPU_ATTRIBUTES);
static_assert(AXVM_SET_DEVICE_ATTR == KVM_SET_DEVICE_ATTR && AXVM_GET_DEVICE_ATTR == KVM_GET_DEVICE_ATTR &&
	      AXVM_HAS_DEVICE_ATTR == KVM_HAS_DEVICE_ATTR);
static_assert(AXVM_VCPU_TSC_CTRL == KVM_VCPU_TSC_CTRL && AXVM_VCPU_TSC_OFFSET == KVM_VCPU_TSC_OFFSET);
SAME_FIELD(axvm_device_attr, kvm_device_attr, flags);
SAME_FIELD(axvm_device_attr, kvm_device_attr, group);
SAME_FIELD(axvm_device_attr, kvm_device_attr, attr);
SAME_FIELD(axvm_device_attr, kvm_device_attr, addr);
static_assert(AXVM_CAP_SYNC_REGS == KVM_CAP_SYNC_REGS && AXVM_SYNC_X86_VALID_FIELDS == KVM_SYNC_X86_VALID_FIELDS);
static_assert(AXVM_SYNC_X86_REGS == KVM_SYNC_X86_REGS && AXVM_SYNC_X86_SREGS == KVM_SYNC_X86_SREGS &&
	      AXVM_SYNC_X86_EVENTS == KVM_SYNC_X86_EVENTS);
static_assert(sizeof(axvm_run) == sizeof(kvm_run));

// x86 in-kernel interrupt controllers and timers.
SAME_FIELD(axvm_run, kvm_run, eoi.vector);
static_assert(AXVM_EXIT_IOAPIC_EOI == KVM_EXIT_IOAPIC_EOI);
static_assert(AXVM_CREATE_IRQCHIP == KVM_CREATE_IRQCHIP && AXVM_IRQ_LINE == KVM_IRQ_LINE);
static_assert(AXVM_IRQ_LINE_STATUS == KVM_IRQ_LINE_STATUS);
static_assert(AXVM_GET_IRQCHIP == KVM_GET_IRQCHIP && AXVM_SET_IRQCHIP == KVM_SET_IRQCHIP);
static_assert(AXVM_SET_GSI_ROUTING == _IOW(KVMIO, 0x6a, char[8])); // a flexible array, as kvm_cpuid2
static_assert(AXVM_REINJECT_CONTROL == KVM_REINJECT_CONTROL && AXVM_IRQFD == KVM_IRQFD);
static_assert(AXVM_CREATE_PIT2 == KVM_CREATE_PIT2 && AXVM_SET_BOOT_CPU_ID == KVM_SET_BOOT_CPU_ID);
static_assert(AXVM_IOEVENTFD == KVM_IOEVENTFD && AXVM_GET_PIT2 == KVM_GET_PIT2 && AXVM_SET_PIT2 == KVM_SET_PIT2);
static_assert(AXVM_SIGNAL_MSI == KVM_SIGNAL_MSI);
static_assert(AXVM_GET_LAPIC == KVM_GET_LAPIC && AXVM_SET_LAPIC == KVM_SET_LAPIC);
static_assert(AXVM_TPR_ACCESS_REPORTING == KVM_TPR_ACCESS_REPORTING && AXVM_SET_VAPIC_ADDR == KVM_SET_VAPIC_ADDR);
static_assert(AXVM_GET_MP_STATE == KVM_GET_MP_STATE && AXVM_SET_MP_STATE == KVM_SET_MP_STATE);
static_assert(AXVM_CAP_IRQCHIP == KVM_CAP_IRQCHIP && AXVM_CAP_PIT == KVM_CAP_PIT);
static_assert(AXVM_CAP_MP_STATE == KVM_CAP_MP_STATE && AXVM_CAP_REINJECT_CONTROL == KVM_CAP_REINJECT_CONTROL);
static_assert(AXVM_CAP_IRQ_ROUTING == KVM_CAP_IRQ_ROUTING && AXVM_CAP_IRQ_INJECT_STATUS == KVM_CAP_IRQ_INJECT_STATUS);
static_assert(AXVM_CAP_IRQFD == KVM_CAP_IRQFD && AXVM_CAP_PIT2 == KVM_CAP_PIT2);
static_assert(AXVM_CAP_SET_BOOT_CPU_ID == KVM_CAP_SET_BOOT_CPU_ID && AXVM_CAP_PIT_STATE2 == KVM_CAP_PIT_STATE2);
static_assert(AXVM_CAP_IOEVENTFD == KVM_CAP_IOEVENTFD && AXVM_CAP_TSC_DEADLINE_TIMER == KVM_CAP_TSC_DEADLINE_TIMER);
static_assert(AXVM_CAP_SIGNAL_MSI == KVM_CAP_SIGNAL_MSI && AXVM_CAP_IRQFD_RESAMPLE == KVM_CAP_IRQFD_RESAMPLE);
static_assert(AXVM_CAP_IOEVENTFD_NO_LENGTH == KVM_CAP_IOEVENTFD_NO_LENGTH);
static_assert(AXVM_CAP_SPLIT_IRQCHIP == KVM_CAP_SPLIT_IRQCHIP && AXVM_CAP_X2APIC_API == KVM_CAP_X2APIC_API);
static_assert(AXVM_CAP_IOEVENTFD_ANY_LENGTH == KVM_CAP_IOEVENTFD_ANY_LENGTH);
static_assert(AXVM_IRQCHIP_IOAPIC == KVM_IRQCHIP_IOAPIC && AXVM_IOAPIC_NUM_PINS == KVM_IOAPIC_NUM_PINS);
static_assert(AXVM_MP_STATE_INIT_RECEIVED == KVM_MP_STATE_INIT_RECEIVED);
static_assert(AXVM_MP_STATE_SIPI_RECEIVED == KVM_MP_STATE_SIPI_RECEIVED);
static_assert(AXVM_MP_STATE_AP_RESET_HOLD == KVM_MP_STATE_AP_RESET_HOLD);
// arm64's, in the generic header: register list, vCPU attributes, PSCI.
static_assert(AXVM_GET_REG_LIST == _IOWR(KVMIO, 0xb0, char[8]) && sizeof(axvm_reg_list) == 8); // as kvm_cpuid2
static_assert(AXVM_SET_DEVICE_ATTR == KVM_SET_DEVICE_ATTR && AXVM_GET_DEVICE_ATTR == KVM_GET_DEVICE_ATTR);
static_assert(AXVM_HAS_DEVICE_ATTR == KVM_HAS_DEVICE_ATTR && sizeof(axvm_device_attr) == sizeof(kvm_device_attr));
SAME_FIELD(axvm_device_attr, kvm_device_attr, addr);
static_assert(AXVM_CAP_STEAL_TIME == KVM_CAP_STEAL_TIME && AXVM_CAP_VCPU_ATTRIBUTES == KVM_CAP_VCPU_ATTRIBUTES);
static_assert(AXVM_CAP_ARM_SYSTEM_SUSPEND == KVM_CAP_ARM_SYSTEM_SUSPEND);
static_assert(AXVM_MP_STATE_STOPPED == KVM_MP_STATE_STOPPED && AXVM_SYSTEM_EVENT_SUSPEND == KVM_SYSTEM_EVENT_SUSPEND);
static_assert(AXVM_MP_STATE_SUSPENDED == KVM_MP_STATE_SUSPENDED && AXVM_SYSTEM_EVENT_WAKEUP == KVM_SYSTEM_EVENT_WAKEUP);
static_assert(AXVM_CAP_HLT == KVM_CAP_HLT && AXVM_CAP_IOAPIC_POLARITY_IGNORED == KVM_CAP_IOAPIC_POLARITY_IGNORED);
static_assert(AXVM_PIT_SPEAKER_DUMMY == KVM_PIT_SPEAKER_DUMMY && AXVM_PIT_FLAGS_HPET_LEGACY == KVM_PIT_FLAGS_HPET_LEGACY);
static_assert(AXVM_IRQ_ROUTING_IRQCHIP == KVM_IRQ_ROUTING_IRQCHIP && AXVM_IRQ_ROUTING_MSI == KVM_IRQ_ROUTING_MSI);
static_assert(AXVM_IRQFD_FLAG_RESAMPLE == KVM_IRQFD_FLAG_RESAMPLE);
static_assert(AXVM_IOEVENTFD_FLAG_DATAMATCH == KVM_IOEVENTFD_FLAG_DATAMATCH);
static_assert(AXVM_IOEVENTFD_FLAG_PIO == KVM_IOEVENTFD_FLAG_PIO && AXVM_IOEVENTFD_FLAG_DEASSIGN == KVM_IOEVENTFD_FLAG_DEASSIGN);
static_assert(AXVM_X2APIC_API_USE_32BIT_IDS == KVM_X2APIC_API_USE_32BIT_IDS);
static_assert(sizeof(axvm_pic_state) == sizeof(kvm_pic_state) && sizeof(axvm_ioapic_state) == sizeof(kvm_ioapic_state));
SAME_FIELD(axvm_ioapic_state, kvm_ioapic_state, redirtbl);
static_assert(sizeof(axvm_irqchip) == sizeof(kvm_irqchip) && offsetof(axvm_irqchip, chip) == offsetof(kvm_irqchip, chip));
static_assert(sizeof(axvm_lapic_state) == sizeof(kvm_lapic_state) && sizeof(axvm_mp_state) == sizeof(kvm_mp_state));
static_assert(sizeof(axvm_pit_channel_state) == sizeof(kvm_pit_channel_state));
SAME_FIELD(axvm_pit_channel_state, kvm_pit_channel_state, count_load_time);
static_assert(sizeof(axvm_pit_state2) == sizeof(kvm_pit_state2) && offsetof(axvm_pit_state2, flags) == offsetof(kvm_pit_state2, flags));
static_assert(sizeof(axvm_pit_config) == sizeof(kvm_pit_config) && sizeof(axvm_reinject_control) == sizeof(kvm_reinject_control));
static_assert(sizeof(axvm_irq_routing_entry) == sizeof(kvm_irq_routing_entry));
SAME_FIELD(axvm_irq_routing_entry, kvm_irq_routing_entry, u);
// The same __DECLARE_FLEX_ARRAY quirk as kvm_cpuid2: in C the entries start at 8.
static_assert(offsetof(axvm_irq_routing, entries) == 8 && sizeof(axvm_irq_routing) == 8);
static_assert(sizeof(axvm_msi) == sizeof(kvm_msi) && sizeof(axvm_irqfd) == sizeof(kvm_irqfd));
static_assert(sizeof(axvm_ioeventfd) == sizeof(kvm_ioeventfd));
SAME_FIELD(axvm_ioeventfd, kvm_ioeventfd, flags);

// What a full VMM saves and restores (QEMU's register sync).
static_assert(AXVM_GET_MSR_INDEX_LIST == _IOWR(KVMIO, 0x02, char[4])); // kvm_msr_list in C: 4 bytes
static_assert(AXVM_GET_MSR_FEATURE_INDEX_LIST == _IOWR(KVMIO, 0x0a, char[4]));
static_assert(AXVM_GET_EMULATED_CPUID == _IOWR(KVMIO, 0x09, char[8]));
static_assert(AXVM_GET_MSRS == _IOWR(KVMIO, 0x88, char[8]) && AXVM_SET_MSRS == _IOW(KVMIO, 0x89, char[8]));
static_assert(AXVM_SET_SIGNAL_MASK == _IOW(KVMIO, 0x8b, char[4]));
static_assert(AXVM_X86_GET_MCE_CAP_SUPPORTED == KVM_X86_GET_MCE_CAP_SUPPORTED && AXVM_X86_SETUP_MCE == KVM_X86_SETUP_MCE);
static_assert(AXVM_SET_IDENTITY_MAP_ADDR == KVM_SET_IDENTITY_MAP_ADDR && AXVM_GET_DIRTY_LOG == KVM_GET_DIRTY_LOG);
static_assert(AXVM_X86_SET_MSR_FILTER == KVM_X86_SET_MSR_FILTER);
static_assert(AXVM_GET_FPU == KVM_GET_FPU && AXVM_SET_FPU == KVM_SET_FPU);
static_assert(AXVM_GET_DEBUGREGS == KVM_GET_DEBUGREGS && AXVM_SET_DEBUGREGS == KVM_SET_DEBUGREGS);
static_assert(AXVM_SET_TSC_KHZ == KVM_SET_TSC_KHZ && AXVM_GET_TSC_KHZ == KVM_GET_TSC_KHZ);
static_assert(AXVM_GET_XSAVE == _IOR(KVMIO, 0xa4, char[4096]) && AXVM_SET_XSAVE == _IOW(KVMIO, 0xa5, char[4096]));
static_assert(AXVM_GET_XCRS == KVM_GET_XCRS && AXVM_SET_XCRS == KVM_SET_XCRS);
static_assert(AXVM_CAP_JOIN_MEMORY_REGIONS_WORKS == KVM_CAP_JOIN_MEMORY_REGIONS_WORKS);
static_assert(AXVM_CAP_DESTROY_MEMORY_REGION_WORKS == KVM_CAP_DESTROY_MEMORY_REGION_WORKS);
static_assert(AXVM_CAP_MCE == KVM_CAP_MCE && AXVM_CAP_SET_IDENTITY_MAP_ADDR == KVM_CAP_SET_IDENTITY_MAP_ADDR);
static_assert(AXVM_CAP_DEBUGREGS == KVM_CAP_DEBUGREGS && AXVM_CAP_XSAVE == KVM_CAP_XSAVE && AXVM_CAP_XCRS == KVM_CAP_XCRS);
static_assert(AXVM_CAP_GET_TSC_KHZ == KVM_CAP_GET_TSC_KHZ && AXVM_CAP_MSR_PLATFORM_INFO == KVM_CAP_MSR_PLATFORM_INFO);
static_assert(AXVM_CAP_X86_USER_SPACE_MSR == KVM_CAP_X86_USER_SPACE_MSR && AXVM_CAP_X86_MSR_FILTER == KVM_CAP_X86_MSR_FILTER);
static_assert(sizeof(axvm_msr_entry) == sizeof(kvm_msr_entry) && sizeof(axvm_fpu) == sizeof(kvm_fpu));
SAME_FIELD(axvm_fpu, kvm_fpu, xmm);
SAME_FIELD(axvm_fpu, kvm_fpu, mxcsr);
static_assert(sizeof(axvm_debugregs) == sizeof(kvm_debugregs) && sizeof(axvm_xsave) == 4096);
static_assert(sizeof(axvm_xcrs) == sizeof(kvm_xcrs) && offsetof(axvm_xcrs, xcrs) == offsetof(kvm_xcrs, xcrs));
static_assert(sizeof(axvm_dirty_log) == sizeof(kvm_dirty_log));
static_assert(sizeof(axvm_msr_filter) == sizeof(kvm_msr_filter) && sizeof(axvm_msr_filter_range) == sizeof(kvm_msr_filter_range));
SAME_FIELD(axvm_msr_filter_range, kvm_msr_filter_range, base);
static_assert(AXVM_MSR_EXIT_REASON_FILTER == KVM_MSR_EXIT_REASON_FILTER && AXVM_MSR_EXIT_REASON_UNKNOWN == KVM_MSR_EXIT_REASON_UNKNOWN);
static_assert(AXVM_MSR_FILTER_DEFAULT_DENY == KVM_MSR_FILTER_DEFAULT_DENY && AXVM_MSR_FILTER_WRITE == KVM_MSR_FILTER_WRITE);
static_assert(AXVM_MSR_FILTER_MAX_BITMAP_SIZE == KVM_MSR_FILTER_MAX_BITMAP_SIZE);
// System Management Mode.
static_assert(AXVM_SMI == KVM_SMI && AXVM_CAP_X86_SMM == KVM_CAP_X86_SMM);
static_assert(AXVM_CAP_MULTI_ADDRESS_SPACE == KVM_CAP_MULTI_ADDRESS_SPACE);
static_assert(AXVM_VCPUEVENT_VALID_SMM == KVM_VCPUEVENT_VALID_SMM && AXVM_RUN_X86_SMM == KVM_RUN_X86_SMM);
SAME_FIELD(axvm_vcpu_events, kvm_vcpu_events, smi);
