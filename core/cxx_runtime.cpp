// SPDX-License-Identifier: GPL-2.0
// The C++ runtime the core needs, and nothing more: allocation through the
// kernel (built with -fcheck-new, so `new` may return null and callers check)
// and the pure-virtual trap. The build refuses any other runtime symbol and
// any global constructor (scripts/check-cxx-object.sh).
#include <axvm/types.hpp>

void *operator new(axvm_usize size) { return axvm_kzalloc(size); }
void *operator new[](axvm_usize size) { return axvm_kzalloc(size); }
void operator delete(void *ptr) noexcept { axvm_kfree(ptr); }
void operator delete[](void *ptr) noexcept { axvm_kfree(ptr); }
void operator delete(void *ptr, axvm_usize) noexcept { axvm_kfree(ptr); }
void operator delete[](void *ptr, axvm_usize) noexcept { axvm_kfree(ptr); }

// Reached only through a corrupted vtable; log and stop this call path
// without taking the host down with a BUG().
extern "C" void __cxa_pure_virtual();
extern "C" void __cxa_pure_virtual()
{
	axvm_log(AXVM_LOG_ERR, "pure virtual function called");
}
