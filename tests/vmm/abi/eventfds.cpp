// SPDX-License-Identifier: GPL-2.0
// KVM_IOEVENTFD (guest writes that signal an eventfd instead of exiting)
// and KVM_IRQFD (an eventfd that raises a GSI of the in-kernel irqchip),
// with KVM's errnos for bad input.
#include "abi.hpp"

#include <pthread.h>
#include <sys/eventfd.h>

namespace abi {

namespace {

axvm_ioeventfd ioeventfd(int fd, uint64_t addr, uint32_t len, uint32_t flags, uint64_t datamatch = 0)
{
	axvm_ioeventfd e{};
	e.fd = fd;
	e.addr = addr;
	e.len = len;
	e.flags = flags;
	e.datamatch = datamatch;
	return e;
}

long add(int vm, const axvm_ioeventfd &e) { return xioctl(vm, AXVM_IOEVENTFD, reinterpret_cast<unsigned long>(&e)); }

uint64_t drain(int efd)
{
	uint64_t n = 0;
	return read(efd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

} // namespace

bool ioeventfds()
{
	Machine m;
	// out 0x77,al (signalled); mov al,4; out 0x78,al (no match: exits);
	// mov al,5; out 0x78,al (matches); mov ax,0x1000; mov ds,ax;
	// mov word [0],0x1234 (MMIO at 0x10000, signalled); mov al,'E';
	// out 0xe9,al; hlt
	EXPECT(m.start({0xe6, 0x77, 0xb0, 0x04, 0xe6, 0x78, 0xb0, 0x05, 0xe6, 0x78, 0xb8, 0x00, 0x10, 0x8e, 0xd8,
			0xc7, 0x06, 0x00, 0x00, 0x34, 0x12, 0xb0, 'E', 0xe6, 0xe9, 0xf4}));
	Fd port(eventfd(0, EFD_NONBLOCK)), match(eventfd(0, EFD_NONBLOCK)), mmio(eventfd(0, EFD_NONBLOCK));
	EXPECT(add(m.vm, ioeventfd(port, 0x77, 1, AXVM_IOEVENTFD_FLAG_PIO)) == 0);
	EXPECT(add(m.vm, ioeventfd(match, 0x78, 1, AXVM_IOEVENTFD_FLAG_PIO | AXVM_IOEVENTFD_FLAG_DATAMATCH, 5)) == 0);
	EXPECT(add(m.vm, ioeventfd(mmio, 0x10000, 0, 0)) == 0); // any length
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.run->io.port == 0x78 &&
	       m.io_value() == 4);
	EXPECT(drain(port) == 1 && drain(match) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_IO && m.run->io.port == 0xe9 &&
	       m.io_value() == 'E');
	EXPECT(drain(match) == 1 && drain(mmio) == 1);
	EXPECT(xioctl(m.vcpu, AXVM_RUN) == 0 && m.run->exit_reason == AXVM_EXIT_HLT);

	// KVM's answers to bad registrations.
	EXPECT(add(m.vm, ioeventfd(port, 0x77, 1, AXVM_IOEVENTFD_FLAG_PIO)) == -EEXIST);
	EXPECT(add(m.vm, ioeventfd(port, 0x80, 3, AXVM_IOEVENTFD_FLAG_PIO)) == -EINVAL);
	EXPECT(add(m.vm, ioeventfd(port, 0x80, 0, AXVM_IOEVENTFD_FLAG_DATAMATCH)) == -EINVAL);
	EXPECT(add(m.vm, ioeventfd(port, ~0ull, 8, 0)) == -EINVAL); // wraps
	EXPECT(add(m.vm, ioeventfd(port, 0x80, 1, 1u << 5)) == -EINVAL);
	EXPECT(add(m.vm, ioeventfd(-1, 0x80, 1, 0)) == -EBADF);
	EXPECT(add(m.vm, ioeventfd(m.vm, 0x80, 1, 0)) == -EINVAL); // not an eventfd
	EXPECT(add(m.vm, ioeventfd(port, 0x79, 1, AXVM_IOEVENTFD_FLAG_PIO | AXVM_IOEVENTFD_FLAG_DEASSIGN)) == -ENOENT);
	EXPECT(add(m.vm, ioeventfd(port, 0x77, 1, AXVM_IOEVENTFD_FLAG_PIO | AXVM_IOEVENTFD_FLAG_DEASSIGN)) == 0);
	EXPECT(add(m.vm, ioeventfd(port, 0x77, 1, AXVM_IOEVENTFD_FLAG_PIO | AXVM_IOEVENTFD_FLAG_DEASSIGN)) == -ENOENT);
	EXPECT(xioctl(m.vm, AXVM_IOEVENTFD, 8) == -EFAULT);
	return true;
}

bool irqfds()
{
	Fd dev(open_dev());
	Fd efd(eventfd(0, 0)), other(eventfd(0, 0));
	axvm_irqfd f{};
	f.fd = efd;
	f.gsi = 5;
	{ // Without an in-kernel irqchip there is nothing to raise.
		Fd vm(xioctl(dev, AXVM_CREATE_VM));
		EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == -EINVAL);
	}
	// A real-mode guest with the in-kernel PIC: IRQ5 at vector 0x25, its
	// handler prints 'I' and ends it; the guest waits halted in the kernel.
	Machine m;
	EXPECT(m.start({0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6,
			0x21, 0xb0, 0xdf, 0xe6, 0x21, 0xb0, 'R', 0xe6, 0xe9, 0xfb, 0xf4, 0xeb, 0xfd}));
	// (CREATE_IRQCHIP before the vCPU: Machine made one, so a new VM.)
	IrqchipVm chip;
	EXPECT(chip.start(m));
	const int vm = chip.vm, vcpu = chip.cpu.fd;
	axvm_run *const run = chip.cpu.run;
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint8_t handler[] = {0xb0, 'I', 0xe6, 0xe9, 0xb0, 0x20, 0xe6, 0x20, 0xcf};
	memcpy(mem + 0x1800, handler, sizeof(handler));
	const uint16_t ivt[2] = {0x1800, 0};
	memcpy(mem + 4 * 0x25, ivt, sizeof(ivt));
	axvm_regs regs;
	EXPECT(xioctl(vcpu, AXVM_GET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(vcpu, AXVM_SET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);

	f.flags = 1u << 2;
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == -EINVAL);
	f.flags = 0;
	f.fd = 1000;
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == -EBADF);
	f.fd = efd;
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == 0);
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == -EBUSY); // one irqfd per eventfd
	EXPECT(xioctl(vcpu, AXVM_RUN) == 0 && run->exit_reason == AXVM_EXIT_IO);
	uint8_t *io = reinterpret_cast<uint8_t *>(run) + run->io.data_offset;
	EXPECT(io[0] == 'R');
	// The guest halts in the kernel; the eventfd, written from another
	// thread, raises IRQ5 and wakes it.
	pthread_t writer;
	EXPECT(pthread_create(&writer, nullptr, [](void *fd) -> void * {
		usleep(100000);
		const uint64_t one = 1;
		if (write(*static_cast<int *>(fd), &one, sizeof(one)) != sizeof(one))
			return fd;
		return nullptr;
	}, &efd.fd) == 0);
	const long r = xioctl(vcpu, AXVM_RUN);
	void *failed = nullptr;
	pthread_join(writer, &failed);
	EXPECT(!failed && r == 0 && run->exit_reason == AXVM_EXIT_IO && io[0] == 'I');
	// Deassigned: gone; deassigning again (or what was never there) is 0.
	f.flags = AXVM_IRQFD_FLAG_DEASSIGN;
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == 0);
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == 0);
	// A resampling irqfd needs a resamplefd that is an eventfd.
	f.flags = AXVM_IRQFD_FLAG_RESAMPLE;
	f.fd = other;
	f.resamplefd = 1000;
	EXPECT(xioctl(vm, AXVM_IRQFD, reinterpret_cast<unsigned long>(&f)) == -EBADF);
	return true;
}

} // namespace abi
