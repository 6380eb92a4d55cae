#!/bin/bash
# CAFA3 evaluation benchmark: goPredSim's published CAFA3 predictions (k=1, SeqVec, GOA2017) against the
# CAFA3 ground truth with GO 2022-07-01 (../shared/data/go.obo.gz), by `fantasia-c evaluate`, compared
# column by column with cafaeval 1.2.1's stored outputs (../shared/data/cafa3/expected_cafaeval) and, when
# CAFAEVAL_PYTHON names a python with cafaeval installed (pip install cafaeval==1.2.1), with cafaeval run
# here on the same files, side by side (time and max RSS from /usr/bin/time -v).
#
# usage: bench/cafa3_eval.sh [path/to/fantasia-c]      (env: FANTASIA_DATA, CAFAEVAL_PYTHON, CAFAEVAL_THREADS)
set -euo pipefail
BIN=${1:-build/fantasia-c}
DATA=${FANTASIA_DATA:-$(dirname "$0")/../../shared/data}
C3=$DATA/cafa3
OUT=$(mktemp -d /tmp/cafa3_eval.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
[ -x "$BIN" ] || { echo "cafa3_eval: $BIN is not executable (build first)" >&2; exit 2; }
[ -d "$C3" ] || { echo "cafa3_eval: $C3 not found (set FANTASIA_DATA)" >&2; exit 2; }

measure() { # label logfile cmd...: prints "label wall_s max_rss_MB"
  local label=$1 log=$2; shift 2
  /usr/bin/time -v "$@" >"$log.out" 2>"$log" || { echo "$label failed:"; tail -5 "$log"; exit 1; }
  awk -v l="$label" '/Elapsed \(wall clock\)/{n=split($NF,a,":"); s=(n==3)?a[1]*3600+a[2]*60+a[3]:a[1]*60+a[2]}
       /Maximum resident set size/{r=$NF/1024} END{printf "%-26s %8.2f s %9.1f MB\n", l, s, r}' "$log"
}

compare() { # expected_dir ours_dir
  python3 - "$1" "$2" <<'PY'
import csv, sys
bad = 0
for name in ["evaluation_all.tsv", "evaluation_best_f.tsv", "evaluation_best_s.tsv", "evaluation_best_f_micro.tsv"]:
    def load(d):
        with open(f"{d}/{name}") as f:
            r = list(csv.reader(f, delimiter="\t"))
        return r[0], {tuple(x[:3]): x for x in r[1:]}
    (h1, a), (h2, b) = load(sys.argv[1]), load(sys.argv[2])
    if h1 != h2 or set(a) != set(b):
        print(f"  {name}: header or row keys differ"); bad += 1; continue
    cells = sum(len(v) for v in a.values())
    diff = sum(1 for k in a for i in range(len(h1)) if a[k][i] != b[k][i])
    bad += diff
    print(f"  {name}: {len(a)} rows, {cells} cells, {diff} different")
print("  IDENTICAL to the printed precision" if bad == 0 else f"  {bad} DIFFERENCES")
sys.exit(1 if bad else 0)
PY
}

fmax() { awk -F'\t' 'NR>1{printf "    %-20s Fmax %s at tau %s (pr %s rc %s cov %s)\n", $2, $13, $3, $8, $9, $10}' "$1"; }

echo "machine: $(nproc) cores, $(uname -sr); $(date -u +%F)"
status=0
for mode in default no_orphans; do
  flag=(); [ $mode = no_orphans ] && flag=(--no-orphans)
  echo "== $mode"
  measure "fantasia-c evaluate" "$OUT/ours_$mode.log" "$BIN" evaluate -q --ontology "$DATA/go.obo.gz" \
    --ground-truth "$C3/groundtruth/all.tsv" --predictions "$C3/gopredsim_predictions" "${flag[@]}" -o "$OUT/ours_$mode"
  fmax "$OUT/ours_$mode/evaluation_best_f.tsv"
  echo "  vs stored cafaeval 1.2.1 output ($C3/expected_cafaeval/$mode):"
  compare "$C3/expected_cafaeval/$mode" "$OUT/ours_$mode" || status=1
  if [ -n "${CAFAEVAL_PYTHON:-}" ]; then
    [ -f "$OUT/go.obo" ] || gzip -dc "$DATA/go.obo.gz" >"$OUT/go.obo"
    cflag=(); [ $mode = no_orphans ] && cflag=(-no_orphans)
    measure "cafaeval 1.2.1 (python)" "$OUT/peer_$mode.log" "$CAFAEVAL_PYTHON" -m cafaeval "$OUT/go.obo" \
      "$C3/gopredsim_predictions" "$C3/groundtruth/all.tsv" -out_dir "$OUT/peer_$mode" \
      -threads "${CAFAEVAL_THREADS:-1}" "${cflag[@]}"
    echo "  vs cafaeval run now:"
    compare "$OUT/peer_$mode" "$OUT/ours_$mode" || status=1
    awk '/Elapsed \(wall clock\)/{n=split($NF,a,":"); s=(n==3)?a[1]*3600+a[2]*60+a[3]:a[1]*60+a[2]; print s}' \
      "$OUT/ours_$mode.log" "$OUT/peer_$mode.log" | paste -sd' ' | awk '{printf "  speed-up (cafaeval / ours): %.1fx\n", $2/$1}'
  fi
done
echo "== information accretion from the ground truth (fantasia-c ia vs shared/data/scripts/compute_ia.py)"
measure "fantasia-c ia" "$OUT/ia.log" "$BIN" ia --ontology "$DATA/go.obo.gz" --annotations "$C3/groundtruth/all.tsv" -o "$OUT/ia.tsv"
measure "compute_ia.py (python)" "$OUT/ia_py.log" sh -c "python3 '$DATA/scripts/compute_ia.py' '$DATA/go.obo.gz' '$C3/groundtruth/all.tsv' > '$OUT/ia_py.tsv'"
if cmp -s "$OUT/ia.tsv" "$OUT/ia_py.tsv"; then echo "  IA files identical ($(wc -l <"$OUT/ia.tsv") terms)"; else echo "  IA files DIFFER"; status=1; fi
exit $status
