#!/usr/bin/env bash
# Stage A's GEMM ceiling, side by side: OpenBLAS sgemm (ours, bench/gemm_ceiling.c) against torch's
# F.linear (MKL in the PyPI wheel) on the ESM-2 650M / ProtT5-XL shapes, same threads; prints the ratio per
# shape. Usage: [BUILD=build] [PYTHON=/work/torch-venv/bin/python] [THREADS=2] [REPS=5] bench/gemm_ceiling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-/work/torch-venv/bin/python} THREADS=${THREADS:-2} REPS=${REPS:-5}
if ! "$PYTHON" -c "import torch" 2>/dev/null; then echo "gemm_ceiling.sh: SKIP: $PYTHON cannot import torch"; exit 0; fi
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
ours=$("$BUILD/gemm_ceiling" "$REPS")
peer=$("$PYTHON" - "$THREADS" "$REPS" <<'PY'
import sys, time, torch
torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])
for M, N, K in [(500,1280,1280),(500,5120,1280),(500,1280,5120),(4096,1280,1280),(4096,5120,1280),(500,16384,1024),(500,1024,16384)]:
    a, w = torch.rand(M, K), torch.rand(N, K)
    torch.nn.functional.linear(a, w)
    t = time.perf_counter()
    for _ in range(reps): torch.nn.functional.linear(a, w)
    dt = (time.perf_counter() - t) / reps
    print(f"GEMM side=torch M={M} N={N} K={K} gflops={2*M*N*K/dt/1e9:.1f}")
PY
)
echo "== gemm_ceiling $(date -u +%FT%TZ), threads $THREADS, torch $("$PYTHON" -c 'import torch;print(torch.__version__)')"
paste <(echo "$ours") <(echo "$peer") | awk '{split($6,a,"=");split($12,b,"=");printf "%s %s %s  openblas %6.1f  torch %6.1f GFLOPS  ratio %.2fx\n",$3,$4,$5,a[2],b[2],a[2]/b[2]}'
