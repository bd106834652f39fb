// SPDX-License-Identifier: GPL-2.0
// One KVM_RUN, from the glue's ioctl down to Vcpu::run() and back.
#include <axvm/kernel_vcpu.hpp>
#include <axvm/raii.hpp>
#include <uapi/axvm.h>

namespace axvm {

const bool KernelVcpu::kNoHaltInKernel = false;

KernelVcpu::~KernelVcpu()
{
	if (waitq_)
		axvm_waitq_destroy(waitq_);
	delete &vcpu_;
}

bool KernelVcpu::init()
{
	waitq_ = axvm_waitq_create();
	return waitq_;
}

Status KernelVcpu::bind_here()
{
	const int here = static_cast<int>(axvm_this_cpu());
	if (vcpu_.state() == VcpuState::Ready && vcpu_.bound_cpu() == here)
		return Status();
	// The thread moved since the last exit: leave the old CPU (the backend
	// flushes its TLB tag there) and load the vCPU on this one.
	if (vcpu_.state() == VcpuState::Ready)
		TRY(vcpu_.unbind());
	return vcpu_.bind();
}

namespace {

// What the backend keeps loaded for the whole of a KVM_RUN (x86: the
// guest's FPU state), from the first entry to the return to userspace.
class RunScope {
public:
	explicit RunScope(ArchVcpu &arch) : arch_(arch) { arch_.run_begin(); }
	~RunScope() { arch_.run_end(); }
	RunScope(const RunScope &) = delete;
	RunScope &operator=(const RunScope &) = delete;

private:
	ArchVcpu &arch_;
};

} // namespace

Status KernelVcpu::run(axvm_exit_record *record)
{
	if (!vcpu_.arch()) {
		axvm_log(AXVM_LOG_WARN, "RUN: no virtualization backend for this CPU");
		return fail(err::ENODEV);
	}
	if (vcpu_.state() == VcpuState::Invalid) {
		axvm_log(AXVM_LOG_WARN, "RUN: vcpu %u is Invalid after an earlier failure", vcpu_.id());
		return fail(err::EIO);
	}
	TRY(vcpu_.arch()->check_runnable());

	// Whatever enter() returns, the run page gets the registers userspace
	// asked for (KVM's store_regs() on every way out of KVM_RUN).
	Status result = enter(record);
	vcpu_.arch()->store_run_state(run_);
	return result;
}

Status KernelVcpu::enter(axvm_exit_record *record)
{
	TRY(vcpu_.arch()->take_run_state(run_));
	// The exit userspace handled completes first (its value goes in); KVM
	// does the same, so that immediate_exit can complete an exit cleanly.
	if (has_pending_) {
		const IoReadExit *in = pending_.as_io_read();
		if (in && in->count > 1) {
			u32 len = 0;
			const u8 *data = io_in_data(run_, pending_, &len);
			vcpu_.arch()->take_io_batch(data, len);
		}
		vcpu_.arch()->complete_userspace_exit(read_return_value(pending_, run_), read_failed(pending_, run_));
		has_pending_ = false;
	}

	// immediate_exit before the guest is entered: -EINTR, and the run page
	// keeps the last exit as it was (KVM's order: the completion above,
	// then this). KVM's own selftests complete an MMIO exit this way and
	// then read that exit again.
	if (run_.immediate_exit)
		return exit_to_user(fail(err::EINTR));

	RunScope scope(*vcpu_.arch());
	axvm_vcpu_stats &stats = vcpu_.arch()->stats;
	for (;;) {
		if (run_.immediate_exit || axvm_signal_pending()) {
			if (!run_.immediate_exit)
				stats.signal_exits++;
			run_.exit_reason = AXVM_EXIT_INTR;
			return exit_to_user(fail(err::EINTR));
		}
		axvm_cond_resched();

		vcpu_.arch()->set_interrupt_window_request(run_.request_interrupt_window);
		Result<ExitReason> exit = [this]() -> Result<ExitReason> {
			PreemptGuard preempt; // bound to this CPU from here to the exit
			TRY(bind_here());
			return vcpu_.run(halt_in_kernel_ || vcpu_.arch()->halts_in_kernel());
		}();
		if (!exit.ok())
			return Error{exit.error()};
		count(stats, exit.value());

		if (vcpu_.state() == VcpuState::Blocked) {
			Status woken = wait_for_event();
			if (!woken.ok()) {
				run_.exit_reason = AXVM_EXIT_INTR;
				return exit_to_user(woken);
			}
			Status s = vcpu_.arch()->after_wake();
			if (!s.ok())
				return exit_to_user(s);
			continue;
		}
		if (exit.value().handled_in_kernel()) {
			// KVM's userspace-irqchip flow: tell userspace as soon as the
			// guest can take its interrupt.
			if (vcpu_.arch()->window_open_for_user()) {
				stats.request_irq_exits++;
				run_.exit_reason = AXVM_EXIT_IRQ_WINDOW_OPEN;
				return exit_to_user(Status());
			}
			continue; // enter the guest again
		}
		if (to_ioeventfd(exit.value()))
			continue;
		exit_to_run(exit.value(), run_);
		if (exit.value().completes_on_next_run()) {
			pending_ = exit.value();
			has_pending_ = true;
		}
		if (record)
			*record = exit_record(exit.value());
		return exit_to_user(Status());
	}
}

static_assert(AXVM_EXIT_KINDS == static_cast<int>(ExitKind::Nothing) + 1, "one counter per exit kind");

// Counts one exit from the guest, by kind and under KVM's names.
void KernelVcpu::count(axvm_vcpu_stats &stats, const ExitReason &exit)
{
	stats.exits++;
	stats.exit_reason[static_cast<int>(exit.kind())]++;
	switch (exit.kind()) {
	case ExitKind::IoRead:
	case ExitKind::IoWrite:
		stats.io_exits++;
		break;
	case ExitKind::MmioRead:
	case ExitKind::MmioWrite:
		stats.mmio_exits++;
		break;
	case ExitKind::Halt:
		stats.halt_exits++;
		break;
	case ExitKind::Hypercall:
		stats.hypercalls++;
		break;
	default:
		break;
	}
}

bool KernelVcpu::to_ioeventfd(const ExitReason &exit)
{
	if (!io_events_)
		return false;
	bool signalled = false;
	{
		PreemptGuard preempt; // the table is read under RCU
		if (const IoWriteExit *io = exit.as_io_write())
			signalled = io_events_->signal(true, io->port, bytes(io->width), io->data);
		else if (const MmioWriteExit *m = exit.as_mmio_write())
			signalled = io_events_->signal(false, m->addr, bytes(m->width), m->data);
	}
	if (signalled && exit.completes_on_next_run())
		vcpu_.arch()->complete_userspace_exit(0, false);
	return signalled;
}

// Every return to userspace reports the interrupt state, as KVM does.
Status KernelVcpu::exit_to_user(Status result)
{
	vcpu_.arch()->fill_run_state(run_);
	return result;
}

Status KernelVcpu::wait_for_event()
{
	const int err = axvm_waitq_wait(waitq_, [](void *v) -> int {
		return static_cast<KernelVcpu *>(v)->vcpu_.arch()->has_wake_event();
	}, this);
	TRY(vcpu_.wake()); // Blocked -> Ready, woken or interrupted
	return Status::from_errno(err);
}

Status KernelVcpu::queue_interrupt(u32 vector, bool nmi)
{
	if (!vcpu_.arch())
		return fail(err::ENODEV);
	TRY(vcpu_.arch()->queue_interrupt(vector, nmi));
	kick();
	return Status();
}

Status KernelVcpu::set_irq_line(u32 line, bool level)
{
	if (!vcpu_.arch())
		return fail(err::ENODEV);
	TRY(vcpu_.arch()->set_irq_line(line, level));
	kick();
	return Status();
}

void KernelVcpu::kick()
{
	axvm_waitq_wake(waitq_);
	// The backend's flag is set (with a full barrier) before this read: a
	// vCPU entering on bound_cpu() after it sees the flag.
	if (vcpu_.state() == VcpuState::Running) {
		const int cpu = vcpu_.bound_cpu();
		if (cpu >= 0)
			axvm_kick_cpu(static_cast<unsigned int>(cpu));
	}
}

Status KernelVcpu::arch_ioctl(unsigned int cmd, void *arg, usize size)
{
	if (!vcpu_.arch()) {
		axvm_log(AXVM_LOG_WARN, "vCPU ioctl 0x%x: no virtualization backend for this CPU", cmd);
		return fail(err::ENODEV);
	}
	if (vcpu_.state() == VcpuState::Invalid) {
		axvm_log(AXVM_LOG_WARN, "vCPU ioctl 0x%x: vcpu %u is Invalid after an earlier failure", cmd,
			 vcpu_.id());
		return fail(err::EIO);
	}
	TRY(vcpu_.arch()->arch_ioctl(cmd, arg, size));
	// arm64: new registers replace whatever a pending read exit would have
	// written. (x86 decides by RIP, as KVM does: see X86Vcpu.)
	if (cmd == AXVM_SET_ONE_REG || cmd == AXVM_ARM_VCPU_INIT)
		has_pending_ = false;
	return Status();
}

} // namespace axvm
