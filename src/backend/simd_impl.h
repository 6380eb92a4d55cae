/* Vector kernels written once over a small macro vocabulary; included by simd_avx2.c (8 lanes) and
 * simd_avx512.c (16 lanes), which define the vocabulary and FC_T (the function target attribute) first.
 *
 * Why our own exp/erfc polynomials: the kernels must be compiled for AVX2 / AVX-512 inside a baseline
 * build and chosen at run time. Debian's C toolchain offers no vector libm we can call that way with a
 * stated accuracy (glibc's libmvec _ZGV* variants are only reached through -ffast-math / OpenMP simd
 * auto-vectorisation at the build's own -march, and document ~4 ulp without per-function guarantees), so
 * we write them: Cephes' expf polynomial (about 1 ulp) with a split 2^n scale that covers the subnormal
 * range, and Numerical Recipes' erfc(z) = t·exp(−z² − 1.26551223 + t·P₉(t)), t = 1/(1 + z/2), fractional
 * error below 1.2e-7 for every z ≥ 0. tanh is never formed: 0.5(1 + tanh u) = sigmoid(2u) and
 * sigmoid(z) = 1/(1+e^−z) (z ≥ 0) or e^z/(1+e^z) (z < 0), which have no cancellation.
 *
 * Tails: for the elementwise kernels the last partial vector goes through the same vector code via masked
 * loads / stores (VLDN, VSTN), so an element's value never depends on where a thread's range starts or
 * ends; the row kernels (layernorm, rmsnorm) finish a row with a scalar loop, which is deterministic too
 * because threads split those by whole rows.
 *
 * No local arrays in these functions: with the wider target GCC raises a local array's alignment to the
 * vector width and then uses aligned moves on it, but AddressSanitizer's stack frames only guarantee 32
 * bytes, so an AVX-512 ASan build faults (seen with GCC 13). Tails use masked loads, reductions stay in
 * registers, and rotary's angle tables live on the heap. */

#define FC_CAT2(a, b) a##b
#define FC_CAT(a, b) FC_CAT2(a, b)
#define K(name) FC_CAT(name, FC_SUFFIX)

/* e^x for every lane: x clamped to [-110, 89] (results 0 / inf outside the float range) */
FC_T static inline V K(vexp)(V x) {
  x = VMAX(x, SET1(-110.0f));
  x = VMIN(x, SET1(89.0f));
  V n = VROUND(VMUL(x, SET1(1.44269504088896341f)));
  V r = VFNMA(n, SET1(0.693359375f), x);
  r = VFNMA(n, SET1(-2.12194440e-4f), r);
  V p = SET1(1.9875691500e-4f);
  p = VFMA(p, r, SET1(1.3981999507e-3f));
  p = VFMA(p, r, SET1(8.3334519073e-3f));
  p = VFMA(p, r, SET1(4.1665795894e-2f));
  p = VFMA(p, r, SET1(1.6666665459e-1f));
  p = VFMA(p, r, SET1(5.0000001201e-1f));
  p = VFMA(p, VMUL(r, r), VADD(r, SET1(1.0f)));
  VI ni = VCVTI(n), n1 = VSRAI1(ni), n2 = VSUBI(ni, n1); /* 2^n = 2^n1 · 2^n2, both normal */
  return VMUL(VMUL(p, VPOW2I(n1)), VPOW2I(n2));
}

/* x·num/(1 + e) with e = e^−|z|, num = 1 (z ≥ 0) or e (z < 0): x·sigmoid(z) without cancellation */
FC_T static inline V K(xsigmoid)(V x, V z) {
  V e = K(vexp)(VNEG(VABS(z)));
  V num = VSEL_LT0(z, e, SET1(1.0f));
  return VDIV(VMUL(x, num), VADD(SET1(1.0f), e));
}

FC_T static inline V K(vgelu_erf)(V x) {
  V z = VMUL(VABS(x), SET1(0.70710678118654752f));
  V t = VDIV(SET1(1.0f), VFMA(z, SET1(0.5f), SET1(1.0f)));
  V p = SET1(0.17087277f);
  p = VFMA(p, t, SET1(-0.82215223f));
  p = VFMA(p, t, SET1(1.48851587f));
  p = VFMA(p, t, SET1(-1.13520398f));
  p = VFMA(p, t, SET1(0.27886807f));
  p = VFMA(p, t, SET1(-0.18628806f));
  p = VFMA(p, t, SET1(0.09678418f));
  p = VFMA(p, t, SET1(0.37409196f));
  p = VFMA(p, t, SET1(1.00002368f));
  p = VFMA(p, t, SET1(-1.26551223f));
  V zz = VMUL(z, z), zl = VFMS(z, z, zz);                           /* z² = zz + zl exactly */
  V hc = VMUL(VMUL(SET1(0.5f), t), K(vexp)(VSUB(VSUB(p, zz), zl))); /* erfc(z)/2 */
  V phi = VSEL_LT0(x, hc, VSUB(SET1(1.0f), hc));
  return VMUL(x, phi);
}

FC_T static inline V K(vact)(fc_act act, V x) {
  switch (act) {
  case FC_ACT_RELU:
    return VMAX(x, SET1(0.0f));
  case FC_ACT_GELU_ERF:
    return K(vgelu_erf)(x);
  case FC_ACT_GELU_TANH: {
    V x2 = VMUL(x, x);
    V z = VMUL(VMUL(SET1(1.5957691216057308f), x), VFMA(SET1(0.044715f), x2, SET1(1.0f)));
    return K(xsigmoid)(x, z);
  }
  case FC_ACT_SILU:
    return K(xsigmoid)(x, x);
  default:
    return x;
  }
}

/* one loop per activation so the switch sits outside the loop */
#define FC_ACT_LOOP(ACT)                                                                                     \
  do {                                                                                                       \
    size_t i = 0;                                                                                            \
    for (; i + W <= n; i += W)                                                                               \
      VST(x + i, K(vact)(ACT, VLD(x + i)));                                                                  \
    if (i < n) VSTN(x + i, K(vact)(ACT, VLDN(x + i, n - i, 0.0f)), n - i);                                   \
  } while (0)

FC_T static void K(act_v)(fc_act act, float *x, size_t n) {
  switch (act) {
  case FC_ACT_RELU:
    FC_ACT_LOOP(FC_ACT_RELU);
    break;
  case FC_ACT_GELU_ERF:
    FC_ACT_LOOP(FC_ACT_GELU_ERF);
    break;
  case FC_ACT_GELU_TANH:
    FC_ACT_LOOP(FC_ACT_GELU_TANH);
    break;
  case FC_ACT_SILU:
    FC_ACT_LOOP(FC_ACT_SILU);
    break;
  default:
    break;
  }
}

#define FC_GATED_LOOP(ACT)                                                                                   \
  do {                                                                                                       \
    size_t i = 0;                                                                                            \
    for (; i + W <= n; i += W)                                                                               \
      VST(out + i, VMUL(K(vact)(ACT, VLD(g + i)), VLD(u + i)));                                              \
    if (i < n) VSTN(out + i, VMUL(K(vact)(ACT, VLDN(g + i, n - i, 0.0f)), VLDN(u + i, n - i, 0.0f)), n - i); \
  } while (0)

FC_T static void K(gated_v)(fc_act act, const float *g, const float *u, float *out, size_t n) {
  switch (act) {
  case FC_ACT_RELU:
    FC_GATED_LOOP(FC_ACT_RELU);
    break;
  case FC_ACT_GELU_ERF:
    FC_GATED_LOOP(FC_ACT_GELU_ERF);
    break;
  case FC_ACT_GELU_TANH:
    FC_GATED_LOOP(FC_ACT_GELU_TANH);
    break;
  case FC_ACT_SILU:
    FC_GATED_LOOP(FC_ACT_SILU);
    break;
  default:
    FC_GATED_LOOP(FC_ACT_IDENTITY);
    break;
  }
}

FC_T static void K(mul_v)(float *x, const float *y, size_t n) {
  size_t i = 0;
  for (; i + W <= n; i += W)
    VST(x + i, VMUL(VLD(x + i), VLD(y + i)));
  for (; i < n; i++) /* a product rounds the same in any lane */
    x[i] *= y[i];
}

FC_T static void K(add_scaled_v)(float *x, const float *y, float s, size_t n) {
  V sv = SET1(s);
  size_t i = 0;
  for (; i + W <= n; i += W)
    VST(x + i, VFMA(sv, VLD(y + i), VLD(x + i)));
  if (i < n) VSTN(x + i, VFMA(sv, VLDN(y + i, n - i, 0.0f), VLDN(x + i, n - i, 0.0f)), n - i);
}

FC_T static void K(layernorm_v)(const float *x, size_t rows, size_t dim, const float *w, const float *b,
                                float eps, float *out) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * dim;
    float *o = out + r * dim;
    VD a0 = VDZERO, a1 = VDZERO;
    size_t j = 0;
    for (; j + W <= dim; j += W) {
      V v = VLD(xr + j);
      a0 = VDADD(a0, VCVT_LO(v));
      a1 = VDADD(a1, VCVT_HI(v));
    }
    double s = VDHSUM(VDADD(a0, a1));
    for (; j < dim; j++)
      s += xr[j];
    double mean = dim ? s / (double)dim : 0;
    VD mv = VDSET1(mean);
    a0 = a1 = VDZERO;
    for (j = 0; j + W <= dim; j += W) {
      V v = VLD(xr + j);
      VD d0 = VDSUB(VCVT_LO(v), mv), d1 = VDSUB(VCVT_HI(v), mv);
      a0 = VDFMA(d0, d0, a0);
      a1 = VDFMA(d1, d1, a1);
    }
    double s2 = VDHSUM(VDADD(a0, a1));
    for (; j < dim; j++) {
      double d = xr[j] - mean;
      s2 += d * d;
    }
    double var = dim ? s2 / (double)dim : 0;
    double inv = 1.0 / sqrt(var + eps);
    VD iv = VDSET1(inv);
    for (j = 0; j + W <= dim; j += W) { /* (x − mean)·inv·w + b in double, one rounding to float */
      V v = VLD(xr + j);
      VD y0 = VDMUL(VDSUB(VCVT_LO(v), mv), iv), y1 = VDMUL(VDSUB(VCVT_HI(v), mv), iv);
      if (w) {
        V wv = VLD(w + j);
        y0 = VDMUL(y0, VCVT_LO(wv));
        y1 = VDMUL(y1, VCVT_HI(wv));
      }
      if (b) {
        V bv = VLD(b + j);
        y0 = VDADD(y0, VCVT_LO(bv));
        y1 = VDADD(y1, VCVT_HI(bv));
      }
      VST(o + j, VFROMD(y0, y1));
    }
    for (; j < dim; j++) {
      double y = (xr[j] - mean) * inv;
      if (w) y *= w[j];
      if (b) y += b[j];
      o[j] = (float)y;
    }
  }
}

FC_T static void K(rmsnorm_v)(const float *x, size_t rows, size_t dim, const float *w, float eps,
                              float *out) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * dim;
    float *o = out + r * dim;
    VD a0 = VDZERO, a1 = VDZERO;
    size_t j = 0;
    for (; j + W <= dim; j += W) {
      V v = VLD(xr + j);
      VD d0 = VCVT_LO(v), d1 = VCVT_HI(v);
      a0 = VDFMA(d0, d0, a0);
      a1 = VDFMA(d1, d1, a1);
    }
    double s = VDHSUM(VDADD(a0, a1));
    for (; j < dim; j++)
      s += (double)xr[j] * xr[j];
    double inv = 1.0 / sqrt(s / (double)dim + (double)eps);
    VD iv = VDSET1(inv);
    for (j = 0; j + W <= dim; j += W) {
      V v = VLD(xr + j);
      VD y0 = VDMUL(VCVT_LO(v), iv), y1 = VDMUL(VCVT_HI(v), iv);
      if (w) {
        V wv = VLD(w + j);
        y0 = VDMUL(y0, VCVT_LO(wv));
        y1 = VDMUL(y1, VCVT_HI(wv));
      }
      VST(o + j, VFROMD(y0, y1));
    }
    for (; j < dim; j++)
      o[j] = (float)((double)xr[j] * inv * (w ? (double)w[j] : 1.0));
  }
}

/* e^(v − mx) with the exact rounding error of v − mx folded in (two-sum), 0 where v = −inf */
FC_T static inline V K(expdiff)(V v, V mv) {
  V nm = VNEG(mv);
  V d = VADD(v, nm), bb = VSUB(d, v);
  V lo = VADD(VSUB(v, VSUB(d, bb)), VSUB(nm, bb));
  V e = K(vexp)(d);
  return VSEL_NINF(d, VFMA(e, lo, e));
}

FC_T static void K(softmax_v)(float *x, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    float *v = x + r * cols;
    size_t j = 0, tail = cols % W, body = cols - tail;
    V m = SET1(-INFINITY);
    for (; j < body; j += W)
      m = VMAX(m, VLD(v + j));
    V vt = VLDN(v + body, tail, -INFINITY); /* the tail, padded with −inf */
    m = VMAX(m, vt);
    float mx = VHMAX(m);
    if (mx == -INFINITY) {
      memset(v, 0, cols * sizeof *v);
      continue;
    }
    V mv = SET1(mx);
    VD a0 = VDZERO, a1 = VDZERO;
    for (j = 0; j < body; j += W) {
      V e = K(expdiff)(VLD(v + j), mv);
      VST(v + j, e);
      a0 = VDADD(a0, VCVT_LO(e));
      a1 = VDADD(a1, VCVT_HI(e));
    }
    V e = K(expdiff)(vt, mv); /* padding is −inf: contributes 0 */
    VSTN(v + body, e, tail);
    a0 = VDADD(a0, VCVT_LO(e));
    a1 = VDADD(a1, VCVT_HI(e));
    float inv = (float)(1.0 / VDHSUM(VDADD(a0, a1)));
    V iv = SET1(inv);
    for (j = 0; j < body; j += W)
      VST(v + j, VMUL(VLD(v + j), iv));
    for (; j < cols; j++)
      v[j] *= inv;
  }
}

FC_T static void K(rotary_v)(float *x, size_t p0, size_t p1, size_t heads, size_t hd, size_t ld,
                             const float *inv_freq) {
  size_t h2 = hd / 2;
  float *c = malloc(2 * (h2 ? h2 : 1) * sizeof *c), *s = c + h2; /* heap: see "No local arrays" above */
  if (!c) {
    fc_simd_kernels_scalar.rotary(x, p0, p1, heads, hd, ld, inv_freq);
    return;
  }
  for (size_t p = p0; p < p1; p++) {
    fc_rotary_angles(p, inv_freq, h2, c, s);
    for (size_t h = 0; h < heads; h++) {
      float *u = x + p * ld + h * hd;
      size_t i = 0;
      for (; i + W <= h2; i += W) {
        V a = VLD(u + i), bb = VLD(u + i + h2), cv = VLD(c + i), sv = VLD(s + i);
        VST(u + i, VFMS(a, cv, VMUL(bb, sv)));
        VST(u + i + h2, VFMA(a, sv, VMUL(bb, cv)));
      }
      for (; i < h2; i++) {
        float a = u[i], bb = u[i + h2];
        u[i] = a * c[i] - bb * s[i];
        u[i + h2] = bb * c[i] + a * s[i];
      }
    }
  }
  free(c);
}

const fc_simd_kernels K(fc_simd_kernels) = {K(layernorm_v), K(rmsnorm_v), K(softmax_v),    K(act_v),
                                            K(gated_v),     K(mul_v),     K(add_scaled_v), K(rotary_v)};
