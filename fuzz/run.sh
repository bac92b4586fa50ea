#!/usr/bin/env bash
# Builds tapegrad's libFuzzer targets with clang++ (ASan + UBSan), writes a seed
# corpus, and runs each target for the given number of seconds.
#
#   fuzz/run.sh [seconds] [target ...]      targets: npy idx checkpoint module_state (default: all)
#
#   FUZZ_BUILD=dir   build and corpus directory (default: <repo>/build-fuzz)
#   FUZZ_JOBS=n      targets run at once (default 1; each uses one core)
#   CXX=clang++-14   the compiler (Debian's clang package)
#
# The tapegrad sources a target needs are compiled straight into it (the CMake
# library is built by g++ and carries no coverage instrumentation). Findings go
# to <build>/findings/<target>/; the exit status is 1 if there are any.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_BUILD:-$root/build-fuzz}
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy idx checkpoint module_state)
jobs=${FUZZ_JOBS:-1}
cxx=${CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz/run.sh: $cxx not found (apt-get install clang)" >&2; exit 2; }

flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -I"$root/include" -I"$root" -fsanitize=address,undefined
       -fno-sanitize-recover=undefined -Wno-deprecated-declarations)
sources=(core/tape.cpp core/tape_leaves.cpp core/var.cpp core/record.cpp core/broadcast.cpp optim/optimizer.cpp optim/sgd.cpp
         optim/adam.cpp nn/module.cpp io/npy.cpp io/npy_header.cpp io/idx.cpp io/zip.cpp io/checkpoint.cpp
         io/module_state.cpp)
mkdir -p "$out/obj"

# Compile each library source once, with coverage hooks, when it or any header changed.
newest_header=$(find "$root/core" "$root/io" "$root/optim" "$root/nn" -name '*.hpp' -printf '%T@\n' | sort -n | tail -1)
objects=()
for src in "${sources[@]}"; do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  objects+=("$obj")
  if [ ! -f "$obj" ] || [ "$root/$src" -nt "$obj" ] ||
     [ "$(stat -c %Y "$obj")" -lt "${newest_header%.*}" ]; then
    echo "fuzz/run.sh: compiling $src" >&2
    "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$root/$src" -o "$obj" &
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  fi
done
wait

link() {  # link <output> <main source> <extra flags...>
  local exe=$1 src=$2
  shift 2
  if [ ! -x "$exe" ] || [ "$src" -nt "$exe" ] || [ -n "$(find "${objects[@]}" "$root"/fuzz/*.hpp -newer "$exe")" ]; then
    echo "fuzz/run.sh: linking $(basename "$exe")" >&2
    "$cxx" "${flags[@]}" "$@" "$src" "${objects[@]}" -lz -o "$exe"
  fi
}
link "$out/make_corpus" "$root/fuzz/make_corpus.cpp" -fsanitize=fuzzer-no-link
for t in "${targets[@]}"; do
  [ -f "$root/fuzz/fuzz_$t.cpp" ] || { echo "fuzz/run.sh: unknown target '$t' (npy, idx, checkpoint, module_state)" >&2; exit 2; }
  link "$out/fuzz_$t" "$root/fuzz/fuzz_$t.cpp" -fsanitize=fuzzer
done

rm -rf "$out/seeds"
ASAN_OPTIONS=detect_leaks=0 "$out/make_corpus" "$out/seeds"

run_one() {
  local t=$1 max_len=4096
  [ "$t" = checkpoint ] || [ "$t" = module_state ] && max_len=16384
  mkdir -p "$out/corpus/$t" "$out/findings/$t"
  local dict=()
  [ -f "$root/fuzz/$t.dict" ] && dict=(-dict="$root/fuzz/$t.dict")
  [ "$t" = module_state ] && dict=(-dict="$root/fuzz/checkpoint.dict")
  "$out/fuzz_$t" "$out/corpus/$t" "$out/seeds/$t" "${dict[@]}" -max_total_time="$seconds" -max_len=$max_len \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$out/findings/$t/" \
    >"$out/$t.log" 2>&1 || true
}
echo "fuzz/run.sh: running ${targets[*]} for ${seconds} s each, $jobs at a time (logs in $out/<target>.log)"
for t in "${targets[@]}"; do
  run_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait

status=0
for t in "${targets[@]}"; do
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1 || true)
  findings=$(find "$out/findings/$t" -type f | wc -l)
  printf '%-11s %12s executions  %-9s corpus %5d  findings %d\n' "$t" "${execs:-?}" "${cov:-cov: ?}" \
    "$(find "$out/corpus/$t" -type f | wc -l)" "$findings"
  if [ "$findings" -gt 0 ]; then
    status=1
    find "$out/findings/$t" -type f | sed 's/^/    /'
    grep -m3 -E 'ERROR: |SUMMARY: |runtime error' "$out/$t.log" | sed 's/^/    /' || true
  fi
done
exit $status
