// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's binary statistics (KVM_GET_STATS_FD), read the way a monitoring
 * tool reads them, written only against <linux/kvm.h>. A guest with a known
 * exit sequence runs (three port writes, two MMIO writes, an interrupt
 * window, a HLT, a spin ended by a signal); then the VM's and the vCPU's
 * statistics are read and checked: the layout, the id strings, pread at any
 * offset, and the counters KVM and axvm both keep. One line each; the tests
 * require the same lines from /dev/axvm and /dev/kvm.
 */
#include "vmm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

struct stats {
	struct kvm_stats_header h;
	char id[256]; /* name_size bytes (48 in KVM; the header says) */
	char *descs; /* h.num_desc descriptors of desc_size bytes */
	size_t desc_size;
	uint64_t *data;
	size_t data_size;
};

static int read_stats(int fd, struct stats *s)
{
	if (pread(fd, &s->h, sizeof(s->h), 0) != sizeof(s->h) || !s->h.name_size || s->h.name_size > sizeof(s->id))
		return -1;
	if (pread(fd, s->id, s->h.name_size, s->h.id_offset) != s->h.name_size)
		return -1;
	s->desc_size = sizeof(struct kvm_stats_desc) + s->h.name_size;
	s->descs = calloc(s->h.num_desc, s->desc_size);
	if (pread(fd, s->descs, s->h.num_desc * s->desc_size, s->h.desc_offset) !=
	    (ssize_t)(s->h.num_desc * s->desc_size))
		return -1;
	s->data_size = 0;
	for (uint32_t i = 0; i < s->h.num_desc; i++) {
		const struct kvm_stats_desc *d = (void *)(s->descs + i * s->desc_size);
		size_t end = d->offset + d->size * sizeof(uint64_t);
		if (end > s->data_size)
			s->data_size = end;
	}
	s->data = calloc(1, s->data_size);
	return pread(fd, s->data, s->data_size, s->h.data_offset) == (ssize_t)s->data_size ? 0 : -1;
}

/* The value of @name, checking that it is a plain cumulative counter. */
static const char *stat(const struct stats *s, const char *name, uint64_t *value)
{
	for (uint32_t i = 0; i < s->h.num_desc; i++) {
		const struct kvm_stats_desc *d = (void *)(s->descs + i * s->desc_size);
		if (strcmp(d->name, name))
			continue;
		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE ||
		    (d->flags & KVM_STATS_UNIT_MASK) != KVM_STATS_UNIT_NONE || d->size != 1 || d->exponent)
			return "not a plain cumulative counter";
		*value = s->data[d->offset / sizeof(uint64_t)];
		return NULL;
	}
	return "missing";
}

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kvm_stats DEVICE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGALRM, &sa, NULL);
	int dev = vmm_open(argv[1]);
	if (dev < 0) {
		perror(argv[1]);
		return 1;
	}
	printf("cap_binary_stats_fd: %s\n", ioctl(dev, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0 ? "yes" : "no");
	static const uint8_t code[] = {
		0xe6, 0xe9, 0xe6, 0xe9, 0xe6, 0xe9, /* out 0xe9,al x3 */
		0xa3, 0x00, 0x00, 0xa3, 0x02, 0x00, /* mov [0],ax; mov [2],ax: DS = 0x1000, beyond RAM */
		0xfb, 0x90,                         /* sti; nop: the window opens */
		0xf4,                               /* hlt */
		0xeb, 0xfe,                         /* jmp $ */
	};
	struct vmm_vm vm;
	struct vmm_vcpu cpu;
	if (vmm_vm_create(&vm, dev, 0x10000, code, sizeof(code)) || vmm_vcpu_create(&cpu, dev, vm.fd, 0)) {
		perror("VM setup");
		return 1;
	}
	const int vcpu = cpu.fd;
	struct kvm_run *run = cpu.run;
	struct kvm_sregs s;
	ioctl(vcpu, KVM_GET_SREGS, &s);
	s.cs.selector = 0, s.cs.base = 0;
	s.ds.selector = 0x1000, s.ds.base = 0x10000;
	ioctl(vcpu, KVM_SET_SREGS, &s);
	vmm_set_regs_at(vcpu, VMM_CODE, 0x8000);

	/* The exits: io x3, mmio x2, the window (asked for once), hlt, signal. */
	char seq[128] = "";
	for (int i = 0; i < 12; i++) {
		run->request_interrupt_window = i == 5;
		if (ioctl(vcpu, KVM_RUN, 0)) {
			strcat(seq, errno == EINTR ? " intr" : " error");
			break;
		}
		const uint32_t reason = run->exit_reason;
		strcat(seq, reason == KVM_EXIT_IO ? " io" : reason == KVM_EXIT_MMIO ? " mmio" :
			    reason == KVM_EXIT_IRQ_WINDOW_OPEN ? " window" : reason == KVM_EXIT_HLT ? " hlt" : " other");
		if (reason == KVM_EXIT_HLT) {
			struct itimerval t = {.it_value = {.tv_usec = 100000}};
			setitimer(ITIMER_REAL, &t, NULL);
		} else if (reason != KVM_EXIT_IO && reason != KVM_EXIT_MMIO && reason != KVM_EXIT_IRQ_WINDOW_OPEN) {
			break;
		}
	}
	printf("guest exits:%s\n", seq);

	int vm_stats = ioctl(vm.fd, KVM_GET_STATS_FD, 0), vcpu_stats = ioctl(vcpu, KVM_GET_STATS_FD, 0);
	struct stats vs, cs;
	if (vm_stats < 0 || vcpu_stats < 0 || read_stats(vm_stats, &vs) || read_stats(vcpu_stats, &cs)) {
		printf("stats: cannot read (%s)\n", strerror(errno));
		return 1;
	}
	/* Layout: ids, descriptors within bounds, the data block at its offset.
	 * The ids are KVM's (api.rst, KVM_GET_STATS_FD): "kvm-PID" and
	 * "kvm-PID/vcpu-ID"; KVM's own selftest insists on the "kvm" prefix. */
	char vm_id[32];
	snprintf(vm_id, sizeof(vm_id), "kvm-%d", (int)getpid());
	const char *slash = strrchr(cs.id, '/');
	printf("ids: %s\n", !strcmp(vs.id, vm_id) && slash && !strcmp(slash, "/vcpu-0") &&
				    !strncmp(cs.id, vs.id, slash - cs.id)
			    ? "the VM's, and the vCPU's under it"
			    : "unexpected");
	printf("layout: %s\n", cs.h.id_offset >= sizeof(cs.h) && cs.h.desc_offset >= cs.h.id_offset + cs.h.name_size &&
				       cs.h.data_offset >= cs.h.desc_offset + cs.h.num_desc * cs.desc_size
			       ? "ok" : "overlapping");
	/* The same values through a pread of one value in the middle. */
	uint64_t one = ~0ull, io = 0;
	const struct kvm_stats_desc *first = NULL;
	for (uint32_t i = 0; i < cs.h.num_desc && !first; i++) {
		const struct kvm_stats_desc *d = (void *)(cs.descs + i * cs.desc_size);
		if (!strcmp(d->name, "io_exits"))
			first = d;
	}
	if (first)
		pread(vcpu_stats, &one, sizeof(one), cs.h.data_offset + first->offset);
	stat(&cs, "io_exits", &io);
	printf("pread of one value: %s\n", first && one == io ? "same" : "different");

	static const char *const counters[] = {"io_exits", "mmio_exits", "halt_exits", "signal_exits",
					       "request_irq_exits", "irq_window_exits"};
	uint64_t sum = 0, v = 0;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		const char *why = stat(&cs, counters[i], &v);
		if (why)
			printf("vcpu %s: %s\n", counters[i], why);
		else
			printf("vcpu %s: %llu\n", counters[i], (unsigned long long)v);
		if (i < 3)
			sum += v;
	}
	const char *why = stat(&cs, "exits", &v);
	printf("vcpu exits: %s\n", why ? why : v >= sum ? "at least those" : "fewer than those");
	why = stat(&cs, "hypercalls", &v);
	printf("vcpu hypercalls: %s\n", why ? why : "present");
	why = stat(&vs, "remote_tlb_flush", &v);
	printf("vm remote_tlb_flush: %s\n", why ? why : "present");
	return 0;
}
