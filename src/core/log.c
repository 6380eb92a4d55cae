#include "fantasia/core.h"

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

static fc_log_level g_level = FC_LOG_INFO;
static pthread_mutex_t g_log_mutex = PTHREAD_MUTEX_INITIALIZER;

void fc_log_set_level(fc_log_level level) {
  g_level = level;
}
fc_log_level fc_log_get_level(void) {
  return g_level;
}

void fc_log(fc_log_level level, const char *fmt, ...) {
  if (level > g_level) return;
  static const char *names[] = {"error", "warning", "info", "debug"};
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
  pthread_mutex_lock(&g_log_mutex);
  fprintf(stderr, "%s fantasia-c %s: ", ts, names[level]);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  pthread_mutex_unlock(&g_log_mutex);
}
