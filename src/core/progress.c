#include "fantasia/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fc_progress {
  char label[64];
  uint64_t total, done;
  double start, last_draw;
  int active;
  pthread_mutex_t mu;
};

static void draw(fc_progress *p, int final) {
  double now = fc_now_seconds();
  if (!final && now - p->last_draw < 0.2) return;
  p->last_draw = now;
  double el = now - p->start;
  double frac = p->total ? (double)p->done / (double)p->total : 0.0;
  if (frac > 1.0) frac = 1.0;
  int width = 30, fill = (int)(frac * width);
  char bar[40];
  for (int i = 0; i < width; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  double eta = (p->done && p->done < p->total) ? el * (double)(p->total - p->done) / (double)p->done : 0;
  fprintf(stderr, "\r%-24s [%s] %3.0f%% %llu/%llu %.0fs eta %.0fs ", p->label, bar, frac * 100.0,
          (unsigned long long)p->done, (unsigned long long)p->total, el, eta);
  if (final) fputc('\n', stderr);
  fflush(stderr);
}

fc_progress *fc_progress_start(const char *label, uint64_t total) {
  fc_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  p->total = total;
  p->start = fc_now_seconds();
  p->last_draw = 0;
  p->active = isatty(STDERR_FILENO) && fc_log_get_level() >= FC_LOG_INFO && !getenv("FANTASIA_NO_PROGRESS");
  pthread_mutex_init(&p->mu, NULL);
  return p;
}

void fc_progress_update(fc_progress *p, uint64_t done) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->done = done;
  if (p->active) draw(p, 0);
  pthread_mutex_unlock(&p->mu);
}

void fc_progress_add(fc_progress *p, uint64_t delta) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->done += delta;
  if (p->active) draw(p, 0);
  pthread_mutex_unlock(&p->mu);
}

void fc_progress_finish(fc_progress *p) {
  if (!p) return;
  if (p->active) {
    p->done = p->done > p->total ? p->done : p->total;
    draw(p, 1);
  }
  pthread_mutex_destroy(&p->mu);
  free(p);
}
