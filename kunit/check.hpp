// SPDX-License-Identifier: GPL-2.0
// KUnit from C++: the suites are C++ functions registered by kunit/suites.c;
// failures are reported through these C helpers (KUnit's macros are C).
#pragma once

#include <axvm/types.hpp>

struct kunit;

extern "C" {
void axvm_kunit_check(struct kunit *test, bool ok, const char *expr, const char *file, int line);
void axvm_kunit_skip(struct kunit *test, const char *why);
// Moves the calling test thread to @cpu (and back to any CPU with -1).
int axvm_kunit_move_to_cpu(int cpu);
}

#define CHECK(test, cond) axvm_kunit_check((test), static_cast<bool>(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(test, a, b) CHECK(test, (a) == (b))
