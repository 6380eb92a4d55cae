#!/usr/bin/env bash
# Lookup benchmark (stage B): our exact k-NN vs bare OpenBLAS sgemm, SciPy (FANTASIA's CPU path) and
# faiss-cpu, all on the same random data (fixed seed), in one run.
#
#   bench/knn_bench.sh                        # full size: 20000 x 124000 x 1024, k = 1,50, both metrics
#   NQ=2000 NR=20000 bench/knn_bench.sh       # quick run
# Environment: BUILD (build dir, default build), NQ, NR, DIM, K, METRICS, THREADS (default: all cores),
# DATA (where Q.npy/R.npy go, default /tmp/fc_knn_bench), PYTHON (needs numpy; scipy and faiss-cpu
# are optional and reported as missing), SCIPY_QUERIES (default 50), FAISS_QUERIES (default 2000, 0 = all).
# OPENBLAS_CORETYPE, when set, is inherited by both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
NQ=${NQ:-20000}
NR=${NR:-124000}
DIM=${DIM:-1024}
K=${K:-1,50}
METRICS=${METRICS:-cosine,euclidean}
THREADS=${THREADS:-$(nproc)}
DATA=${DATA:-/tmp/fc_knn_bench}
PYTHON=${PYTHON:-python3}
if [ ! -x "$BUILD/knn_bench" ]; then
  echo "knn_bench.sh: $BUILD/knn_bench not found; build first (cmake --build $BUILD)" >&2
  exit 2
fi
mkdir -p "$DATA"
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
"$BUILD/knn_bench" --nq "$NQ" --nr "$NR" --dim "$DIM" --threads "$THREADS" --k "$K" --metric "$METRICS" \
  --npy "$DATA" | tee "$DATA/ours.txt"
"$PYTHON" bench/knn_peers.py --npy "$DATA" --ours "$DATA/ours.txt" --threads "$THREADS" --k "$K" \
  --metric "$METRICS" --scipy-queries "${SCIPY_QUERIES:-50}" --faiss-queries "${FAISS_QUERIES:-2000}"
