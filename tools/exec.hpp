// SPDX-License-Identifier: GPL-2.0
#pragma once

namespace axvm::client {

// `axvm exec` with its arguments after "exec": runs COMMAND with /dev/kvm
// bound to /dev/axvm in a private mount namespace (tools/exec.cpp). Returns
// only on failure, with the exit status (1; 2 for usage; 126/127 as a shell).
int exec_command(int argc, char **argv);

} // namespace axvm::client
