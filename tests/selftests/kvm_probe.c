// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_probe DEVICE PROBE...: what a KVM-compatible device says it offers,
 * one "PROBE=VALUE" per argument on one line. The selftest runner
 * (tests/boot/selftests) asks /dev/kvm and /dev/axvm the same questions, and
 * the host's report decides from the answers which selftests axvm claims to
 * support (tests/selftests/needs). Written only against <linux/kvm.h>.
 *
 *   cap:KVM_CAP_NAME              KVM_CHECK_EXTENSION on the device fd
 *   vmcap:KVM_CAP_NAME            KVM_CHECK_EXTENSION on a fresh VM's fd
 *   cpuid:LEAF:INDEX:REG:BIT      that bit of KVM_GET_SUPPORTED_CPUID (x86)
 *   device:KVM_DEV_TYPE_NAME      KVM_CREATE_DEVICE with KVM_CREATE_DEVICE_TEST
 *   memflag:KVM_MEM_NAME          KVM_SET_USER_MEMORY_REGION accepts that flag
 *   ioctl:KVM_GET_REG_LIST        a vCPU after KVM_ARM_VCPU_INIT answers it (arm64;
 *                                 1 when it does, -errno when not)
 *
 * A VALUE is the ioctl's answer (> 0 means offered), 0, or -errno when the
 * question itself failed; an unknown name is "?".
 *
 * Built by tests/harness/selftests.sh with the uapi headers of the kernel
 * the selftests come from; kvm_probe_caps.h, the KVM_CAP_* table, is
 * generated there from that <linux/kvm.h>.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

struct name_value {
	const char *name;
	long value;
};

static const struct name_value caps[] = {
#include "kvm_probe_caps.h"
};

static const struct name_value devices[] = {
#define DEV(x) { #x, x }
	DEV(KVM_DEV_TYPE_FSL_MPIC_20), DEV(KVM_DEV_TYPE_FSL_MPIC_42), DEV(KVM_DEV_TYPE_XICS),
	DEV(KVM_DEV_TYPE_VFIO), DEV(KVM_DEV_TYPE_ARM_VGIC_V2), DEV(KVM_DEV_TYPE_FLIC),
	DEV(KVM_DEV_TYPE_ARM_VGIC_V3), DEV(KVM_DEV_TYPE_ARM_VGIC_ITS), DEV(KVM_DEV_TYPE_XIVE),
	DEV(KVM_DEV_TYPE_ARM_PV_TIME),
#undef DEV
};

static const struct name_value memflags[] = {
	{ "KVM_MEM_LOG_DIRTY_PAGES", KVM_MEM_LOG_DIRTY_PAGES },
	{ "KVM_MEM_READONLY", KVM_MEM_READONLY },
};

static int lookup(const struct name_value *table, size_t n, const char *name, long *value)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(table[i].name, name)) {
			*value = table[i].value;
			return 0;
		}
	}
	return -1;
}
#define LOOKUP(table, name, value) lookup(table, sizeof(table) / sizeof(table[0]), name, value)

static long answer(long ret) { return ret < 0 ? -errno : ret; }

static long vm_create(int dev)
{
	return answer(ioctl(dev, KVM_CREATE_VM, 0));
}

static long probe_memflag(int dev, long flag)
{
	long vm = vm_create(dev);
	if (vm < 0)
		return vm;
	size_t size = 0x10000;
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		close(vm);
		return -errno;
	}
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = flag, .guest_phys_addr = 0x100000, .memory_size = size,
		.userspace_addr = (unsigned long)mem,
	};
	long ret = answer(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r));
	close(vm);
	munmap(mem, size);
	return ret == 0 ? 1 : ret;
}

static long probe_device(int dev, long type)
{
	long vm = vm_create(dev);
	if (vm < 0)
		return vm;
	struct kvm_create_device cd = { .type = type, .flags = KVM_CREATE_DEVICE_TEST };
	long ret = answer(ioctl(vm, KVM_CREATE_DEVICE, &cd));
	close(vm);
	return ret == 0 ? 1 : ret;
}

static long probe_cpuid(int dev, const char *spec)
{
#ifdef __x86_64__
	unsigned long leaf, index, bit;
	char reg[4];
	if (sscanf(spec, "%li:%li:%3[a-z]:%li", &leaf, &index, reg, &bit) != 4 || bit > 31)
		return -EINVAL;
	int nent = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	c->nent = nent;
	long ret = answer(ioctl(dev, KVM_GET_SUPPORTED_CPUID, c));
	if (ret < 0) {
		free(c);
		return ret;
	}
	ret = 0;
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != leaf || e->index != index)
			continue;
		unsigned int v = !strcmp(reg, "eax") ? e->eax : !strcmp(reg, "ebx") ? e->ebx :
				 !strcmp(reg, "ecx") ? e->ecx : e->edx;
		ret = (v >> bit) & 1;
	}
	free(c);
	return ret;
#else
	(void)dev;
	(void)spec;
	return -ENOTTY;
#endif
}

static long probe_ioctl(int dev, const char *name)
{
#ifdef __aarch64__
	if (strcmp(name, "KVM_GET_REG_LIST"))
		return -EINVAL;
	long vm = vm_create(dev);
	if (vm < 0)
		return vm;
	long ret, vcpu = answer(ioctl(vm, KVM_CREATE_VCPU, 0));
	struct kvm_vcpu_init init;
	struct kvm_reg_list list = { .n = 0 };
	if (vcpu < 0) {
		ret = vcpu;
	} else if ((ret = answer(ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init))) == 0 &&
		   (ret = answer(ioctl(vcpu, KVM_ARM_VCPU_INIT, &init))) == 0) {
		/* With room for none, KVM says how many: -E2BIG. */
		ret = answer(ioctl(vcpu, KVM_GET_REG_LIST, &list));
		ret = ret == -E2BIG && list.n > 0 ? 1 : ret == 0 ? -EINVAL : ret;
	}
	if (vcpu >= 0)
		close(vcpu);
	close(vm);
	return ret;
#else
	(void)dev;
	(void)name;
	return -ENOTTY;
#endif
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kvm_probe DEVICE PROBE...\n");
		return 2;
	}
	int dev = open(argv[1], O_RDWR | O_CLOEXEC);
	const long open_error = dev < 0 ? -errno : 0;
	for (int i = 2; i < argc; i++) {
		const char *p = argv[i], *arg = strchr(p, ':');
		long v = 0;
		int known = 1;
		if (dev < 0) {
			v = open_error;
		} else if (!arg) {
			known = 0;
		} else if (!strncmp(p, "cap:", 4) || !strncmp(p, "vmcap:", 6)) {
			known = !LOOKUP(caps, arg + 1, &v);
			if (known && p[0] == 'v') {
				long vm = vm_create(dev);
				v = vm < 0 ? vm : answer(ioctl(vm, KVM_CHECK_EXTENSION, v));
				if (vm >= 0)
					close(vm);
			} else if (known) {
				v = answer(ioctl(dev, KVM_CHECK_EXTENSION, v));
			}
		} else if (!strncmp(p, "device:", 7)) {
			known = !LOOKUP(devices, arg + 1, &v);
			if (known)
				v = probe_device(dev, v);
		} else if (!strncmp(p, "memflag:", 8)) {
			known = !LOOKUP(memflags, arg + 1, &v);
			if (known)
				v = probe_memflag(dev, v);
		} else if (!strncmp(p, "cpuid:", 6)) {
			v = probe_cpuid(dev, arg + 1);
		} else if (!strncmp(p, "ioctl:", 6)) {
			v = probe_ioctl(dev, arg + 1);
			known = v != -EINVAL;
		} else {
			known = 0;
		}
		if (known)
			printf("%s%s=%ld", i > 2 ? " " : "", p, v);
		else
			printf("%s%s=?", i > 2 ? " " : "", p);
	}
	printf("\n");
	return 0;
}
