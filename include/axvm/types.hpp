// SPDX-License-Identifier: GPL-2.0
// Fixed-width types and the few <utility>/<new> pieces the freestanding core
// needs (-nostdinc++ leaves us without the standard library).
#pragma once

#include "boundary.h"

namespace axvm {

using u8 = axvm_u8;
using u16 = axvm_u16;
using u32 = axvm_u32;
using u64 = axvm_u64;
using usize = axvm_usize;
using i64 = long long;

static_assert(sizeof(u8) == 1 && sizeof(u16) == 2 && sizeof(u32) == 4 && sizeof(u64) == 8);
static_assert(sizeof(usize) == sizeof(void *));

// The host and guest page size axvm supports (x86-64; arm64 with 4 KiB pages).
constexpr u64 kPageSize = 4096;

template <class T> struct remove_reference { using type = T; };
template <class T> struct remove_reference<T &> { using type = T; };
template <class T> struct remove_reference<T &&> { using type = T; };
template <class T> using remove_reference_t = typename remove_reference<T>::type;

template <class T> constexpr remove_reference_t<T> &&move(T &&t) noexcept
{
	return static_cast<remove_reference_t<T> &&>(t);
}

template <class T> constexpr T &&forward(remove_reference_t<T> &t) noexcept
{
	return static_cast<T &&>(t);
}

// Only for unevaluated contexts (decltype), like std::declval.
template <class T> T &&declval() noexcept;

template <class T, usize N> constexpr usize array_size(const T (&)[N]) noexcept { return N; }

// Copies @n bytes that userspace may rewrite meanwhile (the run page): each
// byte is read once, so what is checked afterwards is what gets used.
inline void copy_once(void *dst, const void *src, usize n)
{
	u8 *d = static_cast<u8 *>(dst);
	const u8 *s = static_cast<const u8 *>(src);
	for (usize i = 0; i < n; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

} // namespace axvm

// Placement new, normally from <new>.
inline void *operator new(axvm_usize, void *where) noexcept { return where; }
