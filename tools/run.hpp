// SPDX-License-Identifier: GPL-2.0
#pragma once

namespace axvm::client {

// `axvm run` with its arguments after "run"; the process exit status.
int run_command(int argc, char **argv);

} // namespace axvm::client
