#pragma once
// The container of a checkpoint: an uncompressed .npz, i.e. a ZIP archive whose
// entries are "<name>.npy" arrays stored without compression, which
// numpy.load reads, and the file it lives in. Split from io/checkpoint.cpp (its
// only client, whose schema of entry names lives there) so that the byte layout
// and the atomic file writes are tested on their own.
//
// Both directions are strict about one layout: the writer emits exactly one
// byte sequence for a list of entries (stored, no flags, fixed 1980-01-01
// timestamp, no extra fields or comment, no ZIP64), and the reader accepts only
// that sequence — it walks the archive with bounds checks, verifies each
// entry's CRC-32, rebuilds the archive and requires it to equal the input. The
// same holds for each entry's .npy header (format 1.0, as NumPy pads it).
//
// Errors are tapegrad::Error messages starting with `where` (the caller's
// "load_checkpoint: <path>: "); names taken from a file are shown escaped.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/io/npy.hpp>

namespace tapegrad {

constexpr std::uint64_t kZipMaxBytes = 0xFFFFFFFFull;  // no ZIP64: offsets and sizes are 32-bit
constexpr std::size_t kNpzMaxRank = 32;

// One archive member: its name without ".npy", and the .npy file's bytes.
struct NpzEntry {
  std::string name;
  std::string bytes;
};

// zlib's CRC-32 of p[0, n), continuing from crc (any n: zlib takes 32-bit lengths).
std::uint32_t crc32_of(const char* p, std::size_t n, std::uint32_t crc = 0);

// s with bytes outside printable ASCII (and '\') as \xNN, cut after 80
// characters with "...": for quoting a file's contents in one error line.
std::string escaped(const std::string& s);

// The archive of `entries`, in order. Over 4 GiB or 65535 entries is an Error.
std::string zip_npz(const std::vector<NpzEntry>& entries, const std::string& where);
// The entries of bytes zip_npz wrote (names without ".npy"); anything else is an Error.
std::vector<NpzEntry> unzip_npz(const char* bytes, std::size_t size, const std::string& where);

// An entry's .npy bytes: the 1.0 header NumPy writes for (dtype, shape), then data.
std::string npy_entry_bytes(const NpyArray& array);
// Decodes npy_entry_bytes' output for dtypes <f4 <f8 <i8 <u8 |u1 and rank <=
// kNpzMaxRank: the header must be exactly the one it writes, the data exactly
// as long as the shape says. Messages name the entry: "entry '<name>': ...".
NpyArray parse_npy_entry(const NpzEntry& entry, const std::string& where);

// The bytes of a regular file of at most kZipMaxBytes.
std::string read_npz_file(const std::string& path, const std::string& where);
// Replaces path's contents atomically: writes a temporary "<path>.tmp.<pid>.<n>"
// beside it (O_EXCL), flushes, fsyncs, renames it over path, fsyncs the
// directory. A crash at any moment leaves the old file or the new one, never a
// mix (a stale temporary may remain); on an error the temporary is removed.
void write_npz_file(const std::string& path, const std::string& bytes, const std::string& where);

}  // namespace tapegrad
