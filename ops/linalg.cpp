#include <tapegrad/ops/linalg.hpp>

#include <algorithm>

#include <cblas.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tapegrad {

namespace {

// Row-major gemm C = alpha·op(A)·op(B) + beta·C on raw buffers. op(A) is m×k,
// op(B) is k×n; lda/ldb are the row lengths of A and B as stored (not as used).
inline void gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}
inline void gemm(bool trans_a, bool trans_b, int m, int n, int k, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}

#if defined(__AVX512F__)
// Narrow products (output n <= one AVX-512 register: 16 floats / 8 doubles),
// e.g. a 256×784 batch times a 784×10 weight. OpenBLAS packs both operands and
// pads n to its kernel width, so packing dominates; these kernels stream A once
// with the output in registers. Measured for the linear-SVM step (forward
// 256×784·784×10 + dW = Xᵀ·dS): 144 -> 76-79 us; for 4096×3072·3072×10 13.6 -> 10 ms.
struct Lanes32 {
  using V = __m512;
  using M = __mmask16;
  static constexpr std::size_t width = 16;
  static M mask(std::size_t n) { return static_cast<M>((1u << n) - 1u); }
  static V zero() { return _mm512_setzero_ps(); }
  static V load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static V fma(float a, V b, V c) { return _mm512_fmadd_ps(_mm512_set1_ps(a), b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static void store(M m, float* p, V v) { _mm512_mask_storeu_ps(p, m, v); }
};
struct Lanes64 {
  using V = __m512d;
  using M = __mmask8;
  static constexpr std::size_t width = 8;
  static M mask(std::size_t n) { return static_cast<M>((1u << n) - 1u); }
  static V zero() { return _mm512_setzero_pd(); }
  static V load(M m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static V fma(double a, V b, V c) { return _mm512_fmadd_pd(_mm512_set1_pd(a), b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static void store(M m, double* p, V v) { _mm512_mask_storeu_pd(p, m, v); }
};
template <class T> struct LanesOf;
template <> struct LanesOf<float> { using type = Lanes32; };
template <> struct LanesOf<double> { using type = Lanes64; };

// R rows of C (+)= R rows of A · B: R independent accumulators hide the FMA latency.
template <class L, int R, class T>
inline void narrow_rows(bool fresh, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
                        std::size_t ldb, T* c) {
  const typename L::M m = L::mask(n);
  typename L::V acc[R];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r) acc[r] = L::zero();
  for (std::size_t p = 0; p < k; ++p) {
    const typename L::V bp = L::load(m, b + p * ldb);
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r] = L::fma(a[r * lda + p], bp, acc[r]);
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    T* cr = c + r * n;
    L::store(m, cr, fresh ? acc[r] : L::add(acc[r], L::load(m, cr)));
  }
}

// P rows of C = Aᵀ·G (C row p = Σ_i A[i,p]·G[i,:]), A stored m×lda: each pass
// reads one P-wide column strip of A, row by row, into P accumulators.
template <class L, int P, class T>
inline void narrow_cols(bool fresh, std::size_t n, std::size_t m, const T* a, std::size_t lda, const T* g,
                        std::size_t ldg, T* c) {
  const typename L::M mk = L::mask(n);
  typename L::V acc[P];
  #pragma GCC unroll 16
  for (int j = 0; j < P; ++j) acc[j] = L::zero();
  for (std::size_t i = 0; i < m; ++i) {
    const typename L::V gi = L::load(mk, g + i * ldg);
    const T* ai = a + i * lda;
    // the strip's rows are lda apart, too far for the hardware prefetcher
    _mm_prefetch(reinterpret_cast<const char*>(ai + 8 * lda), _MM_HINT_T0);
    #pragma GCC unroll 16
    for (int j = 0; j < P; ++j) acc[j] = L::fma(ai[j], gi, acc[j]);
  }
  #pragma GCC unroll 16
  for (int j = 0; j < P; ++j) {
    T* cj = c + j * n;
    L::store(mk, cj, fresh ? acc[j] : L::add(acc[j], L::load(mk, cj)));
  }
}

// The same product with the register along A's rows instead: N accumulators hold
// Cᵀ[j, strip] = Σ_i G[i,j]·A[i, strip], with no idle lanes when n < width
// (n = 10: 10 FMAs per row of the strip instead of 16), then transposed out.
template <class L, int N, class T>
void narrow_strip(bool fresh, std::size_t m, const T* a, std::size_t lda, const T* g, std::size_t ldg, T* c) {
  constexpr std::size_t w = L::width;
  const typename L::M all = L::mask(w);
  typename L::V acc[N];
#pragma GCC unroll 16
  for (int j = 0; j < N; ++j) acc[j] = L::zero();
  for (std::size_t i = 0; i < m; ++i) {
    const T* ai = a + i * lda;
    _mm_prefetch(reinterpret_cast<const char*>(ai + 8 * lda), _MM_HINT_T0);
    const typename L::V x = L::load(all, ai);
    const T* gi = g + i * ldg;
#pragma GCC unroll 16
    for (int j = 0; j < N; ++j) acc[j] = L::fma(gi[j], x, acc[j]);
  }
  alignas(64) T tmp[N * w];
#pragma GCC unroll 16
  for (int j = 0; j < N; ++j) L::store(all, tmp + j * w, acc[j]);
  for (std::size_t l = 0; l < w; ++l)
    for (int j = 0; j < N; ++j) c[l * N + j] = (fresh ? T(0) : c[l * N + j]) + tmp[j * w + l];
}

template <class L, int N = 1, class T>
void narrow_strips(std::size_t n, bool fresh, std::size_t rows, std::size_t m, const T* a, std::size_t lda,
                   const T* g, std::size_t ldg, T* c, std::size_t& done) {
  if constexpr (N <= 16) {
    if (static_cast<std::size_t>(N) != n)
      return narrow_strips<L, N + 1>(n, fresh, rows, m, a, lda, g, ldg, c, done);
    for (; done + L::width <= rows; done += L::width) narrow_strip<L, N>(fresh, m, a + done, lda, g, ldg, c + done * n);
  }
}

// C (m×n) (+)= op(A)·B for n <= the register width; false when the shape is not
// one it handles (B transposed, or n too wide), leaving the call to BLAS.
template <class T>
bool narrow_gemm(bool fresh, bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a,
                 std::size_t lda, const T* b, std::size_t ldb, T* c) {
  using L = typename LanesOf<T>::type;
  if (trans_b || n > L::width) return false;
  constexpr int kBlock = 8;
  std::size_t i = 0;
  if (!trans_a) {  // C = A·B: rows of A in blocks
    for (; i + kBlock <= m; i += kBlock) narrow_rows<L, kBlock>(fresh, n, k, a + i * lda, lda, b, ldb, c + i * n);
    for (; i < m; ++i) narrow_rows<L, 1>(fresh, n, k, a + i * lda, lda, b, ldb, c + i * n);
  } else {  // C = Aᵀ·B with A stored k×m: output row i is column i of A
    narrow_strips<L>(n, fresh, m, k, a, lda, b, ldb, c, i);
    for (; i < m; ++i) narrow_cols<L, 1>(fresh, n, k, a + i, lda, b, ldb, c + i * n);
  }
  return true;
}
#else
template <class T>
bool narrow_gemm(bool, bool, bool, std::size_t, std::size_t, std::size_t, const T*, std::size_t, const T*,
                 std::size_t, T*) {
  return false;
}
#endif

// Threads: matmul changes no process-wide state, so tapes on different threads
// never race. OpenBLAS itself runs a product of m·n·k ≤ 2^18 on one thread and
// splits larger ones over its pool (OPENBLAS_NUM_THREADS, or the caller's own
// openblas_set_num_threads, decides its size). The narrow products where one
// thread is much faster (a linear classifier's 256×784·784×10) take the AVX-512
// kernels above and never reach BLAS.

// dst (m×n) (+)= op(A)·op(B) with inner extent k. An empty product (k = 0) is a
// zero matrix, so it only matters when dst holds nothing yet; BLAS is called
// only with every extent positive, which keeps each leading dimension >= 1.
template <class T>
void gemm_into(Tensor<T>& dst, bool fresh, bool trans_a, bool trans_b, std::size_t m, std::size_t n,
               std::size_t k, const T* a, std::size_t lda, const T* b, std::size_t ldb) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (fresh) std::fill(dst.begin(), dst.end(), T(0));
    return;
  }
  if (narrow_gemm(fresh, trans_a, trans_b, m, n, k, a, lda, b, ldb, dst.data())) return;
  gemm(trans_a, trans_b, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a,
       static_cast<int>(lda), b, static_cast<int>(ldb), fresh ? T(0) : T(1), dst.data(),
       static_cast<int>(n));
}

}  // namespace

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape("matmul");
  t.check(a, "matmul");  // errors name this op, not tape.value
  t.check(b, "matmul");
  const Tensor<T>& A = t.value_of(a.id());
  const Tensor<T>& B = t.value_of(b.id());
  if (A.dimension() != 2 || B.dimension() != 2)
    fail("matmul: expected 2-D operands, got ", shape_str(A.shape()), " x ", shape_str(B.shape()));
  if (A.shape()[1] != B.shape()[0])
    fail("matmul: inner dimensions differ: ", shape_str(A.shape()), " x ", shape_str(B.shape()));
  const std::size_t m = A.shape()[0], k = A.shape()[1], n = B.shape()[1];
  // BLAS takes int extents; a 2^31 extent would overflow them silently.
  constexpr std::size_t kMaxExtent = 0x7fffffff;
  if (m > kMaxExtent || k > kMaxExtent || n > kMaxExtent)
    fail("matmul: extents of ", shape_str(A.shape()), " x ", shape_str(B.shape()), " exceed BLAS's int range");

  // C = A·B: dA = dC·Bᵀ (m×n · n×k), dB = Aᵀ·dC (k×m · m×n), both as gemm transpose flags
  Record<T>& r = t.push("matmul", {a, b}, [](Tape<T>& t, Record<T>& r) {
    const Tensor<T>& A = t.value_of(r.inputs[0]);
    const Tensor<T>& B = t.value_of(r.inputs[1]);
    const std::size_t m = A.shape()[0], k = A.shape()[1], n = B.shape()[1];
    bool fresh = false;
    // one grad_buffer call per operand: for x·x the second call sees the first's
    // contribution (fresh = false) and gemm accumulates with beta = 1
    if (Tensor<T>* dA = t.grad_buffer(r.inputs[0], fresh))
      gemm_into(*dA, fresh, false, true, m, k, n, r.grad.data(), n, B.data(), n);
    if (Tensor<T>* dB = t.grad_buffer(r.inputs[1], fresh))
      gemm_into(*dB, fresh, true, false, k, n, m, A.data(), k, r.grad.data(), n);
  }, [](const Record<T>&, Tape<double>&, const Var<double>* x) { return matmul(x[0], x[1]); });
  r.value.resize({m, n});  // a no-op when a reused record already has this shape
  gemm_into(r.value, true, false, false, m, n, k, A.data(), k, B.data(), n);
  return t.commit(r);
}

template Var<float> matmul(const Var<float>&, const Var<float>&);
template Var<double> matmul(const Var<double>&, const Var<double>&);

}  // namespace tapegrad
