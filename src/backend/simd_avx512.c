/* AVX-512F level of the backend kernels: the vocabulary of simd_impl.h over 16 float lanes, using only
 * AVX-512F instructions (no DQ/VL, so every AVX-512 CPU qualifies; bitwise float ops go through the
 * integer forms). Every function carries target("avx512f"); dispatch.c calls it only when the CPU and OS
 * report avx512f. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#define FC_T __attribute__((target("avx512f")))
#define FC_SUFFIX _avx512
#define W 16
typedef __m512 V;
typedef __m512d VD;
typedef __m512i VI;
#define VLD(p) _mm512_loadu_ps(p)
#define VST(p, v) _mm512_storeu_ps(p, v)
#define SET1(c) _mm512_set1_ps(c)
#define VADD _mm512_add_ps
#define VSUB _mm512_sub_ps
#define VMUL _mm512_mul_ps
#define VDIV _mm512_div_ps
#define VMAX _mm512_max_ps
#define VMIN _mm512_min_ps
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VFMS(a, b, c) _mm512_fmsub_ps(a, b, c)
#define VFNMA(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define VROUND(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VABS(x) _mm512_castsi512_ps(_mm512_and_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)))
#define VNEG(x)                                                                                              \
  _mm512_castsi512_ps(_mm512_xor_epi32(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)))
#define VSEL_LT0(z, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ), b, a)
#define VSEL_NINF(d, a)                                                                                      \
  _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ), a, _mm512_setzero_ps())
#define VCVTI(x) _mm512_cvtps_epi32(x)
#define VSRAI1(n) _mm512_srai_epi32(n, 1)
#define VSUBI _mm512_sub_epi32
#define VPOW2I(n) _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23))
#define VDZERO _mm512_setzero_pd()
#define VDSET1(c) _mm512_set1_pd(c)
#define VDADD _mm512_add_pd
#define VDSUB _mm512_sub_pd
#define VDMUL _mm512_mul_pd
#define VDFMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define VCVT_LO(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define VCVT_HI(v) _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
#define VFROMD(lo, hi)                                                                                       \
  _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo))),         \
                                      _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1))

/* lanes < n of p (n < 16; the rest `fill`), and the store of lanes < n: no access past p + n */
#define VLDN(p, n, fill) _mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << (n)) - 1u), p)
#define VSTN(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1u), v)
#define VHMAX _mm512_reduce_max_ps
#define VDHSUM _mm512_reduce_add_pd

#include "simd_impl.h"
