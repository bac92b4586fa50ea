#pragma once
// Counts heap allocations made while g_counting is set, by replacing the test
// executable's operator new and posix_memalign (behind xsimd's aligned
// allocator, i.e. every tensor buffer). These are definitions, not declarations:
// include this header from exactly one source file of a test executable.
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
extern "C" int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t rounded = (n + alignment - 1) / alignment * alignment;  // aligned_alloc's contract
  *out = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  return *out ? 0 : ENOMEM;
}
