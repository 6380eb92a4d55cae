/* Precision-recall plots (SVG, no dependency): one file per namespace, one curve per prediction file. */
#include "fantasia/evaluate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/* characters safe in a file name and in SVG text */
static void sanitize(char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '-' || *s == '.'))
      *s = '_';
}

fc_status fc_eval_write_plots(const fc_eval *ev, const fc_ontology *o, const char *out_dir, fc_error *err) {
  size_t nrows;
  const fc_eval_row *rows = fc_eval_rows(ev, &nrows);
  const fc_eval_row **best;
  double *cov;
  size_t nb;
  fc_status st = fc_mkdir_p(out_dir, err);
  if (st != FC_OK) return st;
  if ((st = fc_eval_best(ev, "f", &best, &cov, &nb, err)) != FC_OK) return st;
  const double X0 = 60, Y0 = 20, W = 400, H = 400; /* plot area */
  for (size_t k = 0; k < fc_ontology_n_namespaces(o); k++) {
    size_t nfiles = 0;
    for (size_t b = 0; b < nb; b++)
      nfiles += best[b]->ns == (int)k;
    if (!nfiles) continue;
    char *nsname = fc_strdup(fc_ontology_namespace(o, (int)k));
    char *name = nsname ? fc_sprintf("pr_%s.svg", nsname) : NULL;
    if (name) sanitize(name);
    char *path = name ? fc_path_join(out_dir, name) : NULL;
    free(name);
    if (!path) {
      free(nsname);
      free(best);
      free(cov);
      return fc_error_set(err, FC_ENOMEM, "evaluate: out of memory");
    }
    fc_atomic_file f;
    st = fc_atomic_open(&f, path, err);
    free(path);
    if (st != FC_OK) {
      free(nsname);
      break;
    }
    FILE *fp = f.fp;
    double height = Y0 + H + 50 + 16.0 * (double)nfiles;
    fprintf(
        fp,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
        "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
        X0 + W + 20, height);
    sanitize(nsname);
    fprintf(fp, "<text x=\"%.0f\" y=\"14\" text-anchor=\"middle\">%s: precision-recall</text>\n", X0 + W / 2,
            nsname);
    free(nsname);
    for (int g = 0; g <= 5; g++) {
      double v = g / 5.0;
      fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", X0,
              Y0 + H - v * H, X0 + W, Y0 + H - v * H);
      fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", X0 + v * W, Y0,
              X0 + v * W, Y0 + H);
      fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", X0 - 4, Y0 + H - v * H + 4,
              v);
      fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n", X0 + v * W, Y0 + H + 16,
              v);
    }
    fprintf(fp,
            "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
            X0, Y0, W, H);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">recall</text>\n", X0 + W / 2,
            Y0 + H + 32);
    fprintf(fp,
            "<text transform=\"translate(16 %.0f) rotate(-90)\" text-anchor=\"middle\">precision</text>\n",
            Y0 + H / 2);
    size_t fi = 0;
    for (size_t b = 0; b < nb; b++) {
      if (best[b]->ns != (int)k) continue;
      const char *col = palette[fi % 8];
      fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
      for (size_t i = 0; i < nrows; i++)
        if (rows[i].ns == (int)k && rows[i].filename == best[b]->filename)
          fprintf(fp, "%.1f,%.1f ", X0 + rows[i].m[FC_EV_RC] * W, Y0 + H - rows[i].m[FC_EV_PR] * H);
      fputs("\"/>\n", fp);
      fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", X0 + best[b]->m[FC_EV_RC] * W,
              Y0 + H - best[b]->m[FC_EV_PR] * H, col);
      char *label = fc_strdup(best[b]->filename);
      if (label) sanitize(label);
      fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s  Fmax %.3f (tau %.2f, coverage %.3f)</text>\n",
              X0, Y0 + H + 50 + 16.0 * (double)fi, col, label ? label : "", best[b]->m[FC_EV_F], best[b]->tau,
              best[b]->m[FC_EV_COV]);
      free(label);
      fi++;
    }
    fputs("</svg>\n", fp);
    if ((st = fc_atomic_commit(&f, err)) != FC_OK) break;
  }
  free(best);
  free(cov);
  return st;
}
