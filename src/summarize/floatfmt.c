/* Shortest round-trip text of a float32, laid out like Polars' CSV writer (ryu style):
 * decimal notation when the decimal point falls within 13 digits left / 5 zeros right
 * ("0.4", "1.0", "123456790.0", "0.000001"), else scientific ("1e-7", "1.5e+13"). */
#include "summarize_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* digits: n significant digits (no trailing zeros); value = 0.d1d2... * 10^kk */
static int layout(int neg, const char *digits, int n, int kk, char *buf) {
  char *o = buf;
  if (neg) *o++ = '-';
  int k = kk - n;
  if (k >= 0 && kk <= 13) {
    memcpy(o, digits, (size_t)n);
    o += n;
    for (int i = 0; i < k; i++)
      *o++ = '0';
    *o++ = '.';
    *o++ = '0';
  } else if (kk > 0 && kk <= 13) {
    memcpy(o, digits, (size_t)kk);
    o += kk;
    *o++ = '.';
    memcpy(o, digits + kk, (size_t)(n - kk));
    o += n - kk;
  } else if (kk > -6 && kk <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (int i = 0; i < -kk; i++)
      *o++ = '0';
    memcpy(o, digits, (size_t)n);
    o += n;
  } else {
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, (size_t)(n - 1));
      o += n - 1;
    }
    int e = kk - 1;
    *o++ = 'e';
    if (e < 0) {
      *o++ = '-';
      e = -e;
    } else {
      *o++ = '+';
    }
    if (e >= 10) *o++ = (char)('0' + e / 10);
    *o++ = (char)('0' + e % 10);
  }
  *o = '\0';
  return (int)(o - buf);
}

static int special(float v, char *buf) {
  if (isnan(v)) return (int)(strcpy(buf, "NaN"), 3);
  if (isinf(v)) {
    strcpy(buf, v < 0 ? "-inf" : "inf");
    return v < 0 ? 4 : 3;
  }
  if (v == 0.0f) {
    strcpy(buf, signbit(v) ? "-0.0" : "0.0");
    return signbit(v) ? 4 : 3;
  }
  return -1;
}

int fc_format_f32_ref(float v, char *buf) {
  int s = special(v, buf);
  if (s >= 0) return s;
  char tmp[48];
  for (int p = 1; p <= 9; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, (double)fabsf(v));
    if (strtof(tmp, NULL) == fabsf(v)) break;
  }
  /* tmp = d.ddde±XX */
  char digits[16];
  int n = 0;
  char *e = strchr(tmp, 'e');
  for (char *q = tmp; q < e; q++)
    if (*q != '.') digits[n++] = *q;
  while (n > 1 && digits[n - 1] == '0')
    n--;
  int exp10 = atoi(e + 1);
  return layout(v < 0, digits, n, exp10 + 1, buf);
}

static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* x * 10^k with one rounding when |k| <= 22 */
static double scale10(double x, int k) {
  if (k >= 0) {
    while (k > 22) {
      x *= 1e22;
      k -= 22;
    }
    return x * P10[k];
  }
  k = -k;
  while (k > 22) {
    x /= 1e22;
    k -= 22;
  }
  return x / P10[k];
}

int fc_format_f32(float v, char *buf) {
  int s = special(v, buf);
  if (s >= 0) return s;
  float a = fabsf(v);
  /* float32 denormals and extremes: leave them to the reference path */
  if (a < 1e-30f || a > 1e30f) return fc_format_f32_ref(v, buf);
  double x = (double)a;
  int e = (int)floor(log10(x)); /* 10^e <= x < 10^(e+1), maybe off by one */
  if (x < scale10(1.0, e))
    e--;
  else if (x >= scale10(1.0, e + 1))
    e++;
  for (int p = 1; p <= 9; p++) {
    int sh = p - 1 - e;
    double m = nearbyint(scale10(x, sh));
    int ee = e;
    if (m >= P10[p]) { /* rounded up to the next power of ten */
      m /= 10;
      ee++;
      sh--;
    }
    double back = scale10(m, -sh);
    /* exact-enough near ties or rounding of the candidate: confirm rare doubtful cases slowly */
    if ((float)back == a) {
      char digits[16];
      long long mi = (long long)m;
      int n = p;
      for (int i = p - 1; i >= 0; i--) {
        digits[i] = (char)('0' + mi % 10);
        mi /= 10;
      }
      while (n > 1 && digits[n - 1] == '0')
        n--;
      return layout(v < 0, digits, n, ee + 1, buf);
    }
  }
  return fc_format_f32_ref(v, buf);
}

/* "%.{prec}f" of x without printf when that is provably the same text: y = x * 10^prec carries a relative
 * error below 2^-52, so unless y lies within that error of a rounding tie, nearbyint(y) is the correctly
 * rounded decimal printf would give. Returns the length, or -1 (caller uses snprintf). */
int fc__fixed_fast(double x, int prec, char *buf) {
  static const double P[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  if (prec < 0 || prec > 9 || !(fabs(x) < 1e14)) return -1;
  double y = fabs(x) * P[prec];
  if (y >= 9e15) return -1;
  double fl = floor(y), frac = y - fl;
  if (fabs(frac - 0.5) <= y * 4.5e-16 + 1e-300) return -1;
  uint64_t r = (uint64_t)(frac > 0.5 ? fl + 1 : fl);
  char tmp[32];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + r % 10);
    r /= 10;
  } while (r);
  while (n <= prec)
    tmp[n++] = '0'; /* at least one integer digit */
  char *o = buf;
  if (signbit(x)) *o++ = '-';
  for (int i = n - 1; i >= 0; i--) {
    *o++ = tmp[i];
    if (i == prec && prec > 0) *o++ = '.';
  }
  *o = '\0';
  return (int)(o - buf);
}
