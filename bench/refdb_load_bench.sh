#!/usr/bin/env bash
# Reference store load: fantasia.c (SQLite store, fp16 blocks -> f32) vs numpy (FANTASIA-Lite style
# lookup_table.npz: np.load + astype(float32)), same 124,000 x 1024 matrix, same run.
#   BUILD=build bench/refdb_load_bench.sh [ROWS DIM]
# The store and the .npz files are made once under $FC_BENCH_DIR (default /tmp/fc_refdb_bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$here/../build}
PY=${PYTHON:-/usr/bin/python3}
DIR=${FC_BENCH_DIR:-/tmp/fc_refdb_bench}
ROWS=${1:-124000}
DIM=${2:-1024}
REPS=${REPS:-3}
mkdir -p "$DIR"
store=$DIR/store_${ROWS}x${DIM}.fcref
npz=$DIR/lookup_table_${ROWS}x${DIM}.npz
npzc=$DIR/lookup_table_${ROWS}x${DIM}_compressed.npz
[ -f "$store" ] || "$BUILD/refdb_load_bench" build "$store" "$ROWS" "$DIM"
[ -f "$npz" ] || "$PY" "$here/refdb_load_peer.py" make "$store" "$npz"
[ -f "$npzc" ] || "$PY" "$here/refdb_load_peer.py" make "$store" "$npzc" --compressed
echo "# machine: $(nproc) cores, $(uname -sr); $(date -u +%Y-%m-%dT%H:%M:%SZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# store $(du -h "$store" | cut -f1), npz $(du -h "$npz" | cut -f1), npz compressed $(du -h "$npzc" | cut -f1)"
out=$( { "$BUILD/refdb_load_bench" load "$store" "$REPS"
         "$PY" "$here/refdb_load_peer.py" load "$npz" "$REPS" numpy-npz
         "$PY" "$here/refdb_load_peer.py" load "$npzc" "$REPS" numpy-npz-compressed; } )
echo "$out"
echo "$out" | awk '
  /^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
              t[v["side"] "," v["mode"]] = v["median_s"]; c[v["side"] "," v["mode"]] = v["cpu_s"] }
  END { for (m = 0; m < 2; m++) { mode = m ? "warm" : "cold"
          printf "RATIO mode=%s numpy-npz/fantasia.c=%.2fx numpy-npz-compressed/fantasia.c=%.2fx (time ratio; >1 means fantasia.c faster)\n",
                 mode, t["numpy-npz," mode] / t["fantasia.c," mode], t["numpy-npz-compressed," mode] / t["fantasia.c," mode]
          printf "CPU-RATIO mode=%s numpy-npz/fantasia.c=%.2fx numpy-npz-compressed/fantasia.c=%.2fx (CPU seconds per load, all threads)\n",
                 mode, c["numpy-npz," mode] / c["fantasia.c," mode], c["numpy-npz-compressed," mode] / c["fantasia.c," mode] } }'
