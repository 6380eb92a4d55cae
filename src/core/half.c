/* IEEE binary16 and bfloat16 conversions, written here because HDF5 1.10's own
 * float32->float16 conversion is wrong for some values (see docs/file-formats). */
#include "fantasia/core.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

static inline uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

uint16_t fc_f32_to_f16(float f) {
  uint32_t x = f2u(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) /* inf or nan */
    return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
  if (absx >= 0x477ff000u) /* >= 65520 rounds to inf */
    return (uint16_t)(sign | 0x7c00u);
  if (absx < 0x38800000u) {              /* subnormal half or zero: value < 2^-14 */
    if (absx < 0x33000000u) return sign; /* < 2^-25 rounds to zero (2^-25 exactly ties to even 0) */
    uint32_t e = absx >> 23;
    uint32_t m = (absx & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t half = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t e = (absx >> 23) - 112; /* rebias 127 -> 15 */
  uint32_t m = absx & 0x7fffffu;
  uint32_t h = (e << 10) | (m >> 13);
  uint32_t rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* may carry into exponent: correct */
  return (uint16_t)(sign | h);
}

float fc_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  if (e == 0) {
    if (m == 0) return u2f(sign);
    /* subnormal: m * 2^-24 */
    float v = (float)m * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (e == 31) /* inf, or NaN made quiet as F16C hardware does */
    return u2f(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));
  return u2f(sign | ((e + 112) << 23) | (m << 13));
}

/* Scalar twin of the F16C path below; tests compare the two. */
void fc_f16_to_f32_array_scalar(const uint16_t *src, float *dst, size_t n) {
  for (size_t i = 0; i < n; i++)
    dst[i] = fc_f16_to_f32(src[i]);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(v));
  }
  for (; i < n; i++)
    dst[i] = fc_f16_to_f32(src[i]);
}
#endif

void fc_f16_to_f32_array(const uint16_t *src, float *dst, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx")) {
    f16_to_f32_f16c(src, dst, n);
    return;
  }
#endif
  fc_f16_to_f32_array_scalar(src, dst, n);
}

void fc_f32_to_f16_array(const float *src, uint16_t *dst, size_t n) {
  for (size_t i = 0; i < n; i++)
    dst[i] = fc_f32_to_f16(src[i]);
}

uint16_t fc_f32_to_bf16(float f) {
  uint32_t x = f2u(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet nan */
  uint32_t lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return (uint16_t)(x >> 16);
}

float fc_bf16_to_f32(uint16_t h) {
  return u2f((uint32_t)h << 16);
}
