/* AVX2 + FMA level of the backend kernels: the vocabulary of simd_impl.h over 8 float lanes. Every
 * function carries target("avx2,fma"), so a baseline (-march=x86-64) build contains it; dispatch.c calls
 * it only when the CPU reports avx2 and fma. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#define FC_T __attribute__((target("avx2,fma")))
#define FC_SUFFIX _avx2
#define W 8
typedef __m256 V;
typedef __m256d VD;
typedef __m256i VI;
#define VLD(p) _mm256_loadu_ps(p)
#define VST(p, v) _mm256_storeu_ps(p, v)
#define SET1(c) _mm256_set1_ps(c)
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VDIV _mm256_div_ps
#define VMAX _mm256_max_ps
#define VMIN _mm256_min_ps
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)   /* a·b + c */
#define VFMS(a, b, c) _mm256_fmsub_ps(a, b, c)   /* a·b − c */
#define VFNMA(a, b, c) _mm256_fnmadd_ps(a, b, c) /* c − a·b */
#define VROUND(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define VNEG(x) _mm256_xor_ps(_mm256_set1_ps(-0.0f), x)
/* lanes where z < 0 take a, the others b */
#define VSEL_LT0(z, a, b) _mm256_blendv_ps(b, a, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ))
/* lanes where d = −inf become 0 */
#define VSEL_NINF(d, a) _mm256_andnot_ps(_mm256_cmp_ps(d, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ), a)
#define VCVTI(x) _mm256_cvtps_epi32(x)
#define VSRAI1(n) _mm256_srai_epi32(n, 1)
#define VSUBI _mm256_sub_epi32
#define VPOW2I(n) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23))
#define VDZERO _mm256_setzero_pd()
#define VDSET1(c) _mm256_set1_pd(c)
#define VDADD _mm256_add_pd
#define VDSUB _mm256_sub_pd
#define VDMUL _mm256_mul_pd
#define VDFMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define VCVT_LO(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define VCVT_HI(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#define VFROMD(lo, hi) _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo))

/* lanes < n of p (n < 8; the rest `fill`), and the store of lanes < n: no access past p + n */
FC_T static inline __m256i maskn_avx2(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
FC_T static inline __m256 ldn_avx2(const float *p, size_t n, float fill) {
  __m256i m = maskn_avx2(n);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
FC_T static inline void stn_avx2(float *p, __m256 v, size_t n) {
  _mm256_maskstore_ps(p, maskn_avx2(n), v);
}
FC_T static inline float hmax_avx2(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
FC_T static inline double hsum_d_avx2(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#define VLDN ldn_avx2
#define VSTN stn_avx2
#define VHMAX hmax_avx2
#define VDHSUM hsum_d_avx2

#include "simd_impl.h"
