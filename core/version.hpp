#ifndef TAPEGRAD_CORE_VERSION_HPP
#define TAPEGRAD_CORE_VERSION_HPP
// tapegrad's version, and the xtensor configuration its binary interface is built
// with. CMakeLists.txt reads the version from the three lines below; tapegrad::version()
// reports the version of the library that is linked in.
//
// The ABI pin. xtensor's default allocator is xsimd::aligned_allocator<T, A>, with A
// taken from the instruction set the file is compiled for (xsimd::default_arch):
// 16 bytes for baseline x86-64, 32 with AVX2, 64 with AVX-512. A is part of the type
// of every Tensor and so of every tapegrad symbol that takes one: a library built with
// -march=native and a program built without it would name different functions (the
// link fails) or, through templates, different types. So tapegrad fixes A to 64 (the
// widest vector x86-64 has) for everyone, whatever -march says, before xtensor is
// first included. That is why this header is read first in every file that uses
// tapegrad: the CMake target tapegrad::tapegrad and `pkg-config --cflags tapegrad`
// pass `-include <tapegrad/core/version.hpp>` to the compiler. It holds only macros,
// plus C++ declarations under __cplusplus, so a C file given the same flags compiles.
// With the pin, a program compiled for any x86-64 links against a natively tuned
// tapegrad (and runs wherever the library's instructions do).

#define TAPEGRAD_VERSION_MAJOR 0
#define TAPEGRAD_VERSION_MINOR 2
#define TAPEGRAD_VERSION_PATCH 0

#define TAPEGRAD_STRINGIFY_(x) #x
#define TAPEGRAD_STRINGIFY(x) TAPEGRAD_STRINGIFY_(x)
// "0.2.0": the version of these headers.
#define TAPEGRAD_VERSION_STRING                                                        \
  TAPEGRAD_STRINGIFY(TAPEGRAD_VERSION_MAJOR)                                           \
  "." TAPEGRAD_STRINGIFY(TAPEGRAD_VERSION_MINOR) "." TAPEGRAD_STRINGIFY(TAPEGRAD_VERSION_PATCH)
// One number for #if: 10000 * major + 100 * minor + patch (0.2.0 -> 200).
#define TAPEGRAD_VERSION \
  (TAPEGRAD_VERSION_MAJOR * 10000 + TAPEGRAD_VERSION_MINOR * 100 + TAPEGRAD_VERSION_PATCH)

// The byte alignment of every xtensor container's storage, in the library and in
// every program using it.
#define TAPEGRAD_XTENSOR_ALIGNMENT 64

#if defined(XTENSOR_CONFIG_HPP)
#error "tapegrad: an xtensor header was read before <tapegrad/core/version.hpp>, so xtensor chose its allocator without tapegrad's alignment. Compile with tapegrad's flags: link the CMake target tapegrad::tapegrad, or add `pkg-config --cflags tapegrad` (both include this header first)."
#endif
#if defined(XTENSOR_DEFAULT_ALLOCATOR) || defined(XTENSOR_DEFAULT_ALIGNMENT)
#error "tapegrad: XTENSOR_DEFAULT_ALLOCATOR / XTENSOR_DEFAULT_ALIGNMENT are fixed by tapegrad (they are part of its ABI); do not define them."
#endif
#ifndef XTENSOR_USE_XSIMD
#define XTENSOR_USE_XSIMD
#endif
#define XTENSOR_DEFAULT_ALIGNMENT TAPEGRAD_XTENSOR_ALIGNMENT
#define XTENSOR_DEFAULT_ALLOCATOR(T) xsimd::aligned_allocator<T, TAPEGRAD_XTENSOR_ALIGNMENT>

#ifdef __cplusplus
namespace tapegrad {

// The version of the tapegrad library linked into the program, "0.2.0". It differs
// from TAPEGRAD_VERSION_STRING (the headers') only when a program is compiled
// against one version's headers and linked with another version's library.
const char* version() noexcept;

}  // namespace tapegrad
#endif

#endif  // TAPEGRAD_CORE_VERSION_HPP
