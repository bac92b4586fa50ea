#pragma once
// A fast checksum of bytes (core/tape_leaves.cpp), with which backward sees that
// a borrowed tensor changed after Tape::borrow. Internal to core.
#include <cstddef>
#include <cstdint>

namespace tapegrad::detail {

// Eight interleaved Fletcher-style lanes of 64-bit words, mixed with the length:
// any one changed word, and any two words swapped within a lane, change it.
std::uint64_t bytes_checksum(const void* data, std::size_t bytes);

}  // namespace tapegrad::detail
