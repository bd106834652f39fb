// SPDX-License-Identifier: GPL-2.0
// What the core asks of the architecture layer as a whole (arch/<arch>/).
#pragma once

#include "arch_vcpu.hpp"

namespace axvm {
class Vm;
}

namespace axvm::arch {

enum class Backend : u8 { None, Svm, Vmx, Arm64Vhe };

const char *backend_name(Backend backend);

// Probes the CPU we are on; called once at module load.
Backend detect();

// The backend found by detect() (None before it ran).
Backend backend();

// Creates the backend's half of vCPU @id of @vm; -ENODEV where the host has
// no backend axvm can drive.
Result<ArchVcpu *> create_vcpu(Vm &vm, u32 id);

} // namespace axvm::arch
