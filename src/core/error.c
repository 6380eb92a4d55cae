#include "fantasia/core.h"

#include <stdarg.h>
#include <string.h>

fc_status fc_error_set(fc_error *err, fc_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* one line: a message never carries a newline */
    for (char *p = err->msg; *p; p++)
      if (*p == '\n' || *p == '\r') *p = ' ';
    err->code = code;
  }
  return code;
}

void fc_error_clear(fc_error *err) {
  if (err) {
    err->code = FC_OK;
    err->msg[0] = '\0';
  }
}

const char *fc_status_name(fc_status code) {
  switch (code) {
  case FC_OK:
    return "ok";
  case FC_EINVAL:
    return "invalid input";
  case FC_EIO:
    return "i/o error";
  case FC_ENOMEM:
    return "out of memory";
  case FC_EFORMAT:
    return "malformed file";
  case FC_ENOTFOUND:
    return "not found";
  case FC_EUNSUPPORTED:
    return "unsupported";
  case FC_EEXTERNAL:
    return "external tool failed";
  case FC_EMISMATCH:
    return "mismatch";
  case FC_EDUPLICATE:
    return "duplicate";
  }
  return "unknown error";
}

int fc_status_exit_code(fc_status code) {
  switch (code) {
  case FC_OK:
    return 0;
  case FC_EINVAL:
  case FC_ENOTFOUND:
  case FC_EMISMATCH:
  case FC_EDUPLICATE:
    return 2;
  case FC_EIO:
    return 3;
  case FC_EFORMAT:
    return 4;
  default:
    return 1;
  }
}
