// SPDX-License-Identifier: GPL-2.0
// Interrupts, axvm's own flow (AXVM_QUEUE_INTERRUPT, halting in the kernel)
// and KVM's (KVM_INTERRUPT and the interrupt window) under a 1 kHz timer,
// re-injection, the checks on queued interrupts, IPIs and vCPU events.
#include "abi.hpp"

#include <csignal>
#include <ctime>
#include <pthread.h>

namespace abi {
namespace {

constexpr uint16_t kCounter = 0x600; // the guests' handler counts here

// IVT entry @vector -> 0:@handler; the handler at 0x1300 counts and returns.
void install_counting_handler(Machine &m, int vector)
{
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint16_t off = 0x1300;
	memcpy(mem + 4 * vector, &off, 2);
	const uint8_t handler[] = {0xff, 0x06, kCounter & 0xff, kCounter >> 8, 0xcf}; // inc word [0x600]; iret
	memcpy(mem + off, handler, sizeof(handler));
}

uint16_t counter(Machine &m)
{
	return __atomic_load_n(reinterpret_cast<uint16_t *>(static_cast<uint8_t *>(m.mem) + kCounter), __ATOMIC_SEQ_CST);
}

// Waits (up to 5 s) for the guest to have counted @n interrupts.
bool counted(Machine &m, uint16_t n)
{
	for (int i = 0; i < 5000 && counter(m) < n; i++)
		usleep(1000);
	return counter(m) == n;
}

void sleep_until(timespec &t, long add_ns)
{
	t.tv_nsec += add_ns;
	while (t.tv_nsec >= 1000000000) {
		t.tv_nsec -= 1000000000;
		t.tv_sec++;
	}
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
}

// 200 ticks; 40 in Bochs, where a tick costs a spinning guest some 20 ms.
const uint16_t kTicks = static_cast<uint16_t>(abi_scaled(200));
constexpr uint32_t kTimerVector = 0x21;

// A 1 kHz timer thread. Each tick waits until the guest has taken the
// previous one (so a slow emulated guest coalesces nothing), then delivers
// the next: with AXVM_QUEUE_INTERRUPT, or by signalling the vCPU thread
// (KVM's flow) when @signal_to is set. Finally it stops the vCPU thread.
struct Timer {
	Machine *m;
	pthread_t vcpu_thread;
	bool use_signal;
	int requested = 0;
	bool ok = true, stop = false;
	int failed_tick = 0, seen = 0;

	static void *body(void *arg)
	{
		Timer &t = *static_cast<Timer *>(arg);
		timespec next;
		clock_gettime(CLOCK_MONOTONIC, &next);
		for (uint16_t i = 1; i <= kTicks && t.ok; i++) {
			sleep_until(next, 1000000);
			t.ok = counted(*t.m, i - 1);
			if (!t.ok) {
				t.failed_tick = i;
				t.seen = counter(*t.m);
			}
			if (t.use_signal) {
				__atomic_store_n(&t.requested, i, __ATOMIC_SEQ_CST);
				pthread_kill(t.vcpu_thread, SIGUSR1);
			} else {
				axvm_queue_interrupt q{kTimerVector, 0};
				t.ok = t.ok && xioctl(t.m->vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == 0;
			}
		}
		t.ok = t.ok && counted(*t.m, kTicks);
		usleep(50000);
		t.ok = t.ok && counter(*t.m) == kTicks; // and none delivered twice
		__atomic_store_n(&t.stop, true, __ATOMIC_SEQ_CST);
		pthread_kill(t.vcpu_thread, SIGUSR1);
		return nullptr;
	}
};

// Runs @code with a 1 kHz timer; RUN is interrupted only by signals.
bool timer_test(const std::vector<uint8_t> &code, bool halt_in_kernel, bool use_signal)
{
	Machine m;
	EXPECT(m.start(code));
	install_counting_handler(m, kTimerVector);
	if (halt_in_kernel) {
		axvm_enable_cap cap{};
		cap.cap = AXVM_CAP_HALT_IN_KERNEL;
		cap.args[0] = 1;
		EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == 0);
	}
	struct sigaction sa{};
	sa.sa_handler = on_alarm;
	EXPECT(sigaction(SIGUSR1, &sa, nullptr) == 0);
	Timer timer{&m, pthread_self(), use_signal};
	pthread_t tid;
	EXPECT(pthread_create(&tid, nullptr, Timer::body, &timer) == 0);
	int injected = 0;
	bool ok = true;
	while (ok && !__atomic_load_n(&timer.stop, __ATOMIC_SEQ_CST)) {
		if (use_signal && injected < __atomic_load_n(&timer.requested, __ATOMIC_SEQ_CST)) {
			if (m.run->ready_for_interrupt_injection) {
				axvm_interrupt irq{kTimerVector};
				ok = xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == 0;
				injected++;
				m.run->request_interrupt_window = 0;
			} else {
				m.run->request_interrupt_window = 1;
			}
		}
		const long r = xioctl(m.vcpu, AXVM_RUN);
		if (r == -EINTR)
			continue;
		// The KVM flow's one expected exit: the window it asked for.
		ok = r == 0 && m.run->exit_reason == AXVM_EXIT_IRQ_WINDOW_OPEN && use_signal;
	}
	pthread_join(tid, nullptr);
	EXPECT(ok);
	if (!timer.ok) {
		g_why = "tick " + std::to_string(timer.failed_tick) + ": the guest had counted " +
			std::to_string(timer.seen);
		return false;
	}
	return true;
}

const std::vector<uint8_t> kHaltLoop = {0xfb, 0xf4, 0xeb, 0xfd}; // sti; L: hlt; jmp L
const std::vector<uint8_t> kSpinLoop = {0xfb, 0xeb, 0xfe};       // sti; jmp $

} // namespace

bool timer_queued_to_halted_guest() { return timer_test(kHaltLoop, true, false); }
bool timer_queued_to_spinning_guest() { return timer_test(kSpinLoop, false, false); }
bool timer_by_signal_to_spinning_guest() { return timer_test(kSpinLoop, false, true); }

// An interrupt whose delivery an exit interrupted is delivered again, once:
// the guest's stack is in memory userspace adds only after the fault.
bool interrupted_delivery_is_reinjected()
{
	Machine m;
	EXPECT(m.start({
		0xb8, 0x00, 0x20, 0x8e, 0xd0, // mov ax,0x2000; mov ss,ax: the stack at 0x20000, not RAM yet
		0xbc, 0x00, 0x10,             // mov sp,0x1000
		0xfb, 0x90,                   // sti; nop
		0xf4,                         // hlt
	}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint16_t handler = 0x1100;
	memcpy(mem + 4 * 0x20, &handler, 2);
	const uint8_t code[] = {0xb0, 'I', 0xe6, 0xe9, 0xcf}; // mov al,'I'; out 0xe9,al; iret
	memcpy(mem + handler, code, sizeof(code));
	axvm_interrupt irq{0x20};
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == 0);
	EXPECT(m.run_to(AXVM_EXIT_INTERNAL_ERROR) && m.run->internal.suberror == AXVM_INTERNAL_ERROR_EMULATION);
	EXPECT(m.run->internal.data[0] >> 12 == 0x20); // pushing FLAGS at 0x20ffe
	axvm_vcpu_events e;
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, (unsigned long)&e) == 0 && e.interrupt.injected &&
	       e.interrupt.nr == 0x20);
	void *stack = map_anon(0x10000);
	EXPECT(stack && set_region(m.vm, region(1, 0x20000, 0x10000, stack)) == 0);
	EXPECT(m.expect_out(0xe9, 1) == 'I');
	EXPECT(m.run_to(AXVM_EXIT_HLT)); // 'I' only once
	munmap(stack, 0x10000);
	return true;
}

bool queue_interrupt_checks()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_queue_interrupt q{0x10, 0}; // an exception vector
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == -EINVAL);
	q = {0x100, 0};
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == -EINVAL);
	q = {0x30, 2};
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, (unsigned long)&q) == -EINVAL);
	EXPECT(xioctl(m.vcpu, AXVM_QUEUE_INTERRUPT, 0) == -EFAULT);
	axvm_enable_cap cap{};
	cap.cap = 12345;
	EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == -EINVAL);
	cap.cap = AXVM_CAP_HALT_IN_KERNEL;
	cap.flags = 1;
	EXPECT(xioctl(m.vm, AXVM_ENABLE_CAP, (unsigned long)&cap) == -EINVAL);
	axvm_interrupt irq{256};
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == -EINVAL);
	irq.irq = 0x20;
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_INTERRUPT, (unsigned long)&irq) == -EEXIST);
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_HALT_IN_KERNEL) == 1);
	EXPECT(xioctl(m.dev, AXVM_CHECK_EXTENSION, AXVM_CAP_VCPU_EVENTS) == 1);
	return true;
}

// x2APIC ICR writes reach userspace as SendIpi with the ICR's fields.
bool send_ipi_exit()
{
	Machine m;
	EXPECT(m.start({
		0x66, 0xb9, 0x30, 0x08, 0x00, 0x00, // mov ecx, 0x830
		0x66, 0xb8, 0x41, 0x00, 0x00, 0x00, // mov eax, 0x41: fixed, vector 0x41
		0x66, 0xba, 0x03, 0x00, 0x00, 0x00, // mov edx, 3: to CPU 3
		0x0f, 0x30,                         // wrmsr
		0x66, 0xb8, 0x42, 0x00, 0x0c, 0x00, // mov eax, 0xc0042: all but self, vector 0x42
		0x66, 0x31, 0xd2,                   // xor edx, edx
		0x0f, 0x30,                         // wrmsr
		0xf4,
	}));
	EXPECT(m.run_to(AXVM_EXIT_SEND_IPI));
	EXPECT(m.run->send_ipi.target_cpu == 3 && m.run->send_ipi.target_cpu_aux == 0 && !m.run->send_ipi.to_all &&
	       !m.run->send_ipi.to_self && m.run->send_ipi.vector == 0x41);
	EXPECT(m.run_to(AXVM_EXIT_SEND_IPI));
	EXPECT(m.run->send_ipi.target_cpu == 0 && m.run->send_ipi.to_all && !m.run->send_ipi.to_self &&
	       m.run->send_ipi.vector == 0x42);
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	return true;
}

// KVM_GET/SET_VCPU_EVENTS: a pending NMI set by userspace is delivered.
bool vcpu_events()
{
	Machine m;
	EXPECT(m.start({0xf4, 0xf4}));
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint16_t nmi_handler = 0x1200;
	memcpy(mem + 4 * 2, &nmi_handler, 2);
	const uint8_t handler[] = {0xb0, 'N', 0xe6, 0xe9, 0xcf}; // mov al,'N'; out 0xe9,al; iret
	memcpy(mem + nmi_handler, handler, sizeof(handler));
	axvm_vcpu_events e;
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, (unsigned long)&e) == 0);
	EXPECT(!e.nmi.pending && !e.nmi.masked && !e.interrupt.injected && (e.flags & AXVM_VCPUEVENT_VALID_SHADOW));
	e.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&e) == 0);
	EXPECT(xioctl(m.vcpu, AXVM_GET_VCPU_EVENTS, (unsigned long)&e) == 0 && e.nmi.pending);
	EXPECT(m.expect_out(0xe9, 1) == 'N');
	EXPECT(m.run_to(AXVM_EXIT_HLT));
	axvm_vcpu_events bad{};
	bad.flags = 0x80; // KVM_VCPUEVENT_VALID_* axvm does not support
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&bad) == -EINVAL);
	bad = axvm_vcpu_events{};
	bad.exception.injected = 1;
	bad.exception.nr = 40;
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&bad) == -EINVAL);
	bad.exception.nr = 2; // NMI is no exception
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&bad) == -EINVAL);
	// QEMU's idle exception and interrupt: vector 0xff, nothing injected.
	axvm_vcpu_events idle{};
	idle.exception.nr = 0xff;
	idle.interrupt.nr = 0xff;
	EXPECT(xioctl(m.vcpu, AXVM_SET_VCPU_EVENTS, (unsigned long)&idle) == 0);
	return true;
}

// The in-kernel PIC at a BIOS's base (IRQ 0-7 at vectors 8-15, below 32):
// the vector it answers is delivered like any other. (axvm refused vectors
// below 32 there and lost the interrupt the PIC had put in service, so
// SeaBIOS's first timer tick under QEMU blocked IRQ 0 for good.)
bool pic_vector_below_32()
{
	Machine m;
	// ICW1-4: base 8; unmask IRQ 1 only; out 'R'; sti; hlt; jmp hlt
	EXPECT(m.start({0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x08, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6,
			0x21, 0xb0, 0xfd, 0xe6, 0x21, 0xb0, 'R', 0xe6, 0xe9, 0xfb, 0xf4, 0xeb, 0xfd}));
	IrqchipVm chip;
	EXPECT(chip.start(m));
	const int vm = chip.vm, vcpu = chip.cpu.fd;
	axvm_run *const run = chip.cpu.run;
	uint8_t *mem = static_cast<uint8_t *>(m.mem);
	const uint8_t handler[] = {0xb0, 'K', 0xe6, 0xe9, 0xb0, 0x20, 0xe6, 0x20, 0xcf}; // out 'K'; EOI; iret
	memcpy(mem + 0x1800, handler, sizeof(handler));
	const uint16_t ivt[2] = {0x1800, 0};
	memcpy(mem + 4 * 9, ivt, sizeof(ivt)); // IRQ 1 at vector 9
	axvm_regs regs;
	EXPECT(xioctl(vcpu, AXVM_GET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);
	regs.rsp = 0x8000;
	EXPECT(xioctl(vcpu, AXVM_SET_REGS, reinterpret_cast<unsigned long>(&regs)) == 0);
	uint8_t *io = nullptr;
	struct sigaction sa{};
	sa.sa_handler = on_alarm; // no SA_RESTART: a lost interrupt ends RUN with -EINTR, not a hang
	EXPECT(sigaction(SIGALRM, &sa, nullptr) == 0);
	alarm(5);
	for (char expect : {'R', 'K', 'K'}) {
		if (expect == 'K') { // an edge on IRQ 1, while the guest halts
			axvm_irq_level l{};
			l.irq = 1, l.level = 1;
			EXPECT(xioctl(vm, AXVM_IRQ_LINE, reinterpret_cast<unsigned long>(&l)) == 0);
			l.level = 0;
			EXPECT(xioctl(vm, AXVM_IRQ_LINE, reinterpret_cast<unsigned long>(&l)) == 0);
		}
		EXPECT(xioctl(vcpu, AXVM_RUN) == 0 && run->exit_reason == AXVM_EXIT_IO);
		io = reinterpret_cast<uint8_t *>(run) + run->io.data_offset;
		EXPECT(run->io.port == 0xe9 && io[0] == expect);
	}
	alarm(0);
	return true;
}

// The split irqchip with the local APIC refusing the PIC's ExtINT (LVT0
// masked, as at reset and after Linux switches to the IOAPIC): a window
// userspace asks for never opens, as in KVM, and the guest runs on. (axvm
// opened it anyway: the window fired at once, entry after entry, and the
// guest never moved: QEMU's Linux stopped at "Switch to symmetric I/O".)
bool split_window_needs_extint()
{
	Machine m;
	// sti; nop; mov al,'A'; out 0xe9,al; mov al,'B'; out 0xe9,al; hlt
	EXPECT(m.start({0xfb, 0x90, 0xb0, 'A', 0xe6, 0xe9, 0xb0, 'B', 0xe6, 0xe9, 0xf4}));
	IrqchipVm chip;
	EXPECT(chip.start(m, 24));
	const int vcpu = chip.cpu.fd;
	axvm_run *const run = chip.cpu.run;
	// The APIC on (base MSR, SVR) with LVT0 an ExtINT entry, masked.
	struct {
		uint32_t nmsrs, pad;
		axvm_msr_entry e;
	} msrs{};
	msrs.nmsrs = 1;
	msrs.e.index = 0x1b;
	msrs.e.data = 0xfee00900;
	EXPECT(xioctl(vcpu, AXVM_SET_MSRS, reinterpret_cast<unsigned long>(&msrs)) == 1);
	axvm_lapic_state apic;
	EXPECT(xioctl(vcpu, AXVM_GET_LAPIC, reinterpret_cast<unsigned long>(&apic)) == 0);
	const uint32_t svr = 0x1ff, lvt0 = 0x10700;
	memcpy(apic.regs + 0xf0, &svr, 4);
	memcpy(apic.regs + 0x350, &lvt0, 4);
	EXPECT(xioctl(vcpu, AXVM_SET_LAPIC, reinterpret_cast<unsigned long>(&apic)) == 0);
	struct sigaction sa{};
	sa.sa_handler = on_alarm; // no SA_RESTART: a guest that never moves ends RUN with -EINTR
	EXPECT(sigaction(SIGALRM, &sa, nullptr) == 0);
	alarm(5);
	run->request_interrupt_window = 1;
	EXPECT(xioctl(vcpu, AXVM_RUN) == 0);
	g_why = "exit " + std::to_string(run->exit_reason);
	EXPECT(run->exit_reason == AXVM_EXIT_IO);
	uint8_t *io = reinterpret_cast<uint8_t *>(run) + run->io.data_offset;
	EXPECT(io[0] == 'A');
	EXPECT(!run->ready_for_interrupt_injection); // LVT0 masked: no ExtINT taken
	EXPECT(xioctl(vcpu, AXVM_RUN) == 0 && run->exit_reason == AXVM_EXIT_IO && io[0] == 'B');
	alarm(0);
	return true;
}

// What QEMU sends at every reset with an in-kernel irqchip: TPR access
// reporting off and the VAPIC (its TPR shadow page) at 0. axvm has neither
// feature, so only "off" is taken; anything else is refused, not ignored.
bool vapic_and_tpr_reporting_off()
{
	Machine m;
	EXPECT(m.start({0xf4}));
	axvm_tpr_access_ctl tac{};
	EXPECT(xioctl(m.vcpu, AXVM_TPR_ACCESS_REPORTING, (unsigned long)&tac) == 0);
	tac.enabled = 1;
	EXPECT(xioctl(m.vcpu, AXVM_TPR_ACCESS_REPORTING, (unsigned long)&tac) == -EOPNOTSUPP);
	tac = axvm_tpr_access_ctl{};
	tac.flags = 1;
	EXPECT(xioctl(m.vcpu, AXVM_TPR_ACCESS_REPORTING, (unsigned long)&tac) == -EINVAL);
	EXPECT(xioctl(m.vcpu, AXVM_TPR_ACCESS_REPORTING, 8) == -EFAULT);
	axvm_vapic_addr va{};
	EXPECT(xioctl(m.vcpu, AXVM_SET_VAPIC_ADDR, (unsigned long)&va) == -EINVAL); // no in-kernel APIC: KVM's answer
	IrqchipVm chip;
	EXPECT(chip.start(m));
	const int vcpu = chip.cpu.fd;
	EXPECT(xioctl(vcpu, AXVM_SET_VAPIC_ADDR, (unsigned long)&va) == 0);
	va.vapic_addr = 0x2000;
	EXPECT(xioctl(vcpu, AXVM_SET_VAPIC_ADDR, (unsigned long)&va) == -EOPNOTSUPP);
	EXPECT(xioctl(vcpu, AXVM_SET_VAPIC_ADDR, 8) == -EFAULT);
	return true;
}

} // namespace abi
