// SPDX-License-Identifier: GPL-2.0
// One interrupt message on its way to the local APICs: an IPI (ICR write),
// an IOAPIC redirection or an MSI, already decoded (Intel SDM vol. 3A,
// 11.6.1 for the ICR fields, 11.11 for the MSI ones).
#pragma once

#include <axvm/types.hpp>

namespace axvm::x86 {

struct IrqMessage {
	u32 dest_id;
	u8 vector;
	u8 delivery_mode /*0 fixed,1 lowest,2 SMI,4 NMI,5 INIT,6 SIPI,7 ExtINT*/;
	bool logical;
	bool level /*trigger mode*/;
	bool assert;
	u8 shorthand /*0 none,1 self,2 all incl self,3 all excl self*/;
};

} // namespace axvm::x86
