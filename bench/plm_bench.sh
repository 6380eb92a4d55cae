#!/usr/bin/env bash
# Stage-A speed benchmark (issue 3): residues per second and peak memory of OUR ESM-2 650M and ProtT5-XL
# encoder inference against Hugging Face transformers (float32, PyTorch CPU, run the way FANTASIA runs it)
# and esm-cpp (PyPI, ESM-2 only), side by side in one run, with random weights (speed does not depend on
# the values), on a fixed sample of yeast proteins. Prints one RESULT line per run and a summary with
# the ratios ours/peer.
#
#   bench/plm_bench.sh                          # full size: 64 proteins, ESM-2 650M + ProtT5-XL encoder
#   SIZE=small N=8 bench/plm_bench.sh           # harness check in about a minute (35M-like / tiny T5)
#
# Environment (defaults in brackets):
#   BUILD [build]            build dir with fantasia-c and plm_bench (cmake --build build)
#   FANTASIA_DATA [../shared/data]  needs yeast_UP000002311.fasta; absent: SKIP
#   PYTHON [/work/torch-venv/bin/python]  torch + transformers + safetensors + sentencepiece; absent: SKIP
#   PLM_BENCH_DIR [/tmp/plm-bench]  cache: random-weight models (5 GB ESM-2 650M + 4.9 GB ProtT5-XL), the
#                            sample FASTA, esm-cpp's venv, logs
#   SIZE [full]              full | small (see bench/plm_make_models.py)
#   MODELS [esm2,t5]         which models
#   N [64]                   proteins in the sample; MAXLEN [0] drops longer proteins before sampling
#   THREADS [2]              threads on every side (OPENBLAS/OMP/MKL_NUM_THREADS, torch.set_num_threads,
#                            ESM_NUM_THREADS, fantasia-c --threads); OPENBLAS_CORETYPE is inherited as is
#   OURS [cli,lib]           cli: `fantasia-c embed` whole command (+ plm_bench --load-only for the load
#                            time; forward = whole - load); lib: bench/plm_bench.c timing the forward loop
#   HF_MODES [bs1,batched]   bs1 = FANTASIA (batch size 1); batched = length-sorted, padded batches
#   ESMCPP [auto]            1: run esm-cpp (installed into $PLM_BENCH_DIR/esmcpp-venv if needed); 0: skip;
#                            auto: 1 for SIZE=small, 0 for full (its float32 AVX2 path ran 11x slower than
#                            ours at the 35M size, so the 650M run would take hours here)
#
# Sample: the yeast proteome sorted by (length, accession); protein i of N is the one at rank
# floor((i + 0.5) * count / N): N evenly spaced length quantiles (N=64: 39 .. 1,875 residues, 30,745 in all).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BUILD=${BUILD:-build}
DATA=${FANTASIA_DATA:-$REPO/../shared/data}
PYTHON=${PYTHON:-/work/torch-venv/bin/python}
DIR=${PLM_BENCH_DIR:-/tmp/plm-bench}
SIZE=${SIZE:-full}
MODELS=${MODELS:-esm2,t5}
N=${N:-64}
MAXLEN=${MAXLEN:-0}
THREADS=${THREADS:-2}
OURS=${OURS:-cli,lib}
HF_MODES=${HF_MODES:-bs1,batched}
ESMCPP=${ESMCPP:-auto}
if [ "$ESMCPP" = auto ]; then if [ "$SIZE" = small ]; then ESMCPP=1; else ESMCPP=0; fi; fi

YEAST=$DATA/yeast_UP000002311.fasta
if [ ! -f "$YEAST" ]; then
  echo "plm_bench.sh: SKIP: $YEAST not found (set FANTASIA_DATA to the shared data folder)"
  exit 0
fi
if ! "$PYTHON" -c "import torch, transformers, safetensors, sentencepiece" 2>/dev/null; then
  echo "plm_bench.sh: SKIP: $PYTHON cannot import torch, transformers, safetensors and sentencepiece"
  echo "  (it makes the random-weight models and runs the Hugging Face peer; set PYTHON)"
  exit 0
fi
for b in fantasia-c plm_bench fma_peak; do
  if [ ! -x "$BUILD/$b" ]; then
    echo "plm_bench.sh: $BUILD/$b not found; build first (cmake --build $BUILD)" >&2
    exit 2
  fi
done
if [ -x /usr/bin/time ]; then TIME=(/usr/bin/time -f "TIME wall_s=%e peak_rss_kib=%M cpu_pct=%P"); else TIME=(); fi
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export ESM_NUM_THREADS=$THREADS TOKENIZERS_PARALLELISM=false TRANSFORMERS_VERBOSITY=error
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TQDM_DISABLE=1
mkdir -p "$DIR/logs"
LOG=$DIR/logs/results-$(date -u +%Y%m%dT%H%M%SZ).txt

# ---- the sample
SAMPLE=$DIR/yeast_sample_n${N}_max${MAXLEN}.fasta
python3 - "$YEAST" "$N" "$MAXLEN" "$SAMPLE" <<'EOF'
import sys
src, n, maxlen, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
recs, acc, buf = [], None, []
for line in open(src):
    line = line.strip()
    if line.startswith(">"):
        if acc is not None: recs.append((acc, "".join(buf)))
        acc, buf = line[1:].split()[0], []
    elif line: buf.append(line)
recs.append((acc, "".join(buf)))
recs = sorted((len(s), a, s) for a, s in recs if maxlen <= 0 or len(s) <= maxlen)
pick = [recs[int((i + 0.5) * len(recs) / n)] for i in range(min(n, len(recs)))]
with open(out + ".tmp", "w") as f:
    for _, a, s in pick: f.write(f">{a}\n{s}\n")
import os; os.replace(out + ".tmp", out)
L = [p[0] for p in pick]
print(f"sample: {len(pick)} of {len(recs)} yeast proteins, {sum(L)} residues, lengths {L[0]}..{L[-1]}, "
      f"median {L[len(L) // 2]} ({out})")
EOF

# ---- header
{
  echo "== plm_bench $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n): $(nproc) cores," \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== size=$SIZE threads=$THREADS OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} commit=$(git rev-parse --short HEAD 2>/dev/null || echo ?)"
  "$PYTHON" -c "import torch, transformers; print(f'== torch {torch.__version__} (BLAS: {\"MKL\" if torch.backends.mkl.is_available() else \"?\"}), transformers {transformers.__version__}')" 2>/dev/null
} | tee "$LOG"

# ---- esm-cpp venv (ESM-2 only)
# the machine's float32 FMA ceiling on $THREADS threads: the summary states each side's GFLOPS against it
echo "RESULT run=peak-machine $("$BUILD/fma_peak" "$THREADS" 1 | sed 's/^RESULT //')" | tee -a "$LOG"

ESMPY=""
if [ "$ESMCPP" != 1 ] && [[ ",$MODELS," == *,esm2,* ]]; then
  echo "esm-cpp: skipped (ESMCPP=$ESMCPP; at the 35M size its float32 AVX2 path was 11x slower than ours)" | tee -a "$LOG"
fi
if [ "$ESMCPP" = 1 ] && [[ ",$MODELS," == *,esm2,* ]]; then
  if [ ! -x "$DIR/esmcpp-venv/bin/python" ] || ! "$DIR/esmcpp-venv/bin/python" -c "import esm_cpp" 2>/dev/null; then
    echo "esm-cpp: installing into $DIR/esmcpp-venv (pip install esm-cpp)"
    if ! { python3 -m venv "$DIR/esmcpp-venv" && "$DIR/esmcpp-venv/bin/pip" install -q esm-cpp; } >"$DIR/logs/esmcpp-install.log" 2>&1; then
      echo "esm-cpp: NOT INSTALLED (pip install esm-cpp failed; tail of $DIR/logs/esmcpp-install.log:)" | tee -a "$LOG"
      tail -3 "$DIR/logs/esmcpp-install.log" | sed 's/^/  /' | tee -a "$LOG"
    fi
  fi
  if "$DIR/esmcpp-venv/bin/python" -c "import esm_cpp" 2>/dev/null; then
    ESMPY=$DIR/esmcpp-venv/bin/python
    "$ESMPY" -c "import esm_cpp; print(f'== esm-cpp {esm_cpp.__version__}, CPU path {esm_cpp.current_isa()} (host {esm_cpp.host_isa()})')" | tee -a "$LOG"
  fi
fi

# run NAME CMD...: runs CMD under /usr/bin/time; prints "RESULT run=NAME <the command's RESULT fields>
# wall_s=<whole command> peak_rss_kib=<peak RSS of the whole command>"
run() {
  local name=$1
  shift
  local out=$DIR/logs/$name.log rc=0
  "${TIME[@]}" "$@" >"$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "RESULT run=$name FAILED (exit $rc; see $out)" | tee -a "$LOG"
    grep -v '^TIME' "$out" | tail -3 | sed 's/^/  /' | tee -a "$LOG"
    return 0
  fi
  local res tim
  res=$(grep '^RESULT' "$out" | tail -1 | sed 's/^RESULT //' || true)
  tim=$(grep '^TIME' "$out" | tail -1 | sed 's/^TIME //' || true)
  echo "RESULT run=$name $res $tim" | tee -a "$LOG"
}

for kind in ${MODELS//,/ }; do
  MD=$("$PYTHON" bench/plm_make_models.py "$DIR/models" --size "$SIZE" --only "$kind" 2>"$DIR/logs/make-$kind.log" | tail -1) || {
    echo "plm_bench.sh: making the $kind model failed:" >&2
    tail -5 "$DIR/logs/make-$kind.log" >&2
    exit 1
  }
  echo "-- $kind: $MD ($(du -sh "$MD/model.safetensors" | cut -f1) of float32 weights)" | tee -a "$LOG"
  python3 bench/plm_flops.py "$kind" "$MD" "$SAMPLE" | tee -a "$LOG"
  if [[ ",$OURS," == *,cli,* ]]; then
    rm -f "$DIR/ours-$kind.h5" "$DIR/ours-$kind.failed.tsv"
    run "ours-cli-$kind" "$BUILD/fantasia-c" embed --model "$MD" --layers 0 --threads "$THREADS" -q \
      -i "$SAMPLE" -o "$DIR/ours-$kind.h5" --failed "$DIR/ours-$kind.failed.tsv"
    run "ours-load-$kind" "$BUILD/plm_bench" --model "$MD" --fasta "$SAMPLE" --threads "$THREADS" --load-only
  fi
  if [[ ",$OURS," == *,lib,* ]]; then
    run "ours-lib-$kind" "$BUILD/plm_bench" --model "$MD" --fasta "$SAMPLE" --threads "$THREADS"
  fi
  for mode in ${HF_MODES//,/ }; do
    run "hf-$mode-$kind" "$PYTHON" bench/plm_peer.py --engine hf --mode "$mode" --model "$MD" \
      --fasta "$SAMPLE" --threads "$THREADS"
  done
  if [ "$kind" = esm2 ] && [ -n "$ESMPY" ]; then
    run "esmcpp-bs1-$kind" "$ESMPY" bench/plm_peer.py --engine esmcpp --mode bs1 --model "$MD" \
      --fasta "$SAMPLE" --threads "$THREADS"
  fi
done

# ---- summary: ours vs each peer, per model
echo "== summary: res/s = sample residues / forward seconds (model load excluded); whole = the command's wall time;" \
  "GFLOPS = the pass's multiply-adds (bench/plm_flops.py) / forward seconds, % of the machine's FMA peak (bench/fma_peak.c)" | tee -a "$LOG"
python3 bench/plm_summary.py "$LOG" | tee -a "$LOG"
echo "== results in $LOG"
