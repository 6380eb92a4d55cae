#!/usr/bin/env bash
# Stage A: packed batches vs one sequence per batch, same binary, same model, one run.
#   bench/embed_batching.sh [BUILD_DIR=build] [H=320 L=6 HEADS=20]
# A random-weight ESM-2 of the given shape (default esm2_t6_8M's) is written by build/esm2_cpu; inputs are
# 400 random proteins of 30-89 residues and demo/queries.fasta (33 proteins, 13,851 residues). Each is
# embedded with --batch-tokens 1 and with the default (4096); wall/user seconds, peak RSS and the ratio.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
H=${2:-320} L=${3:-6} HEADS=${4:-20}
W=$(mktemp -d /tmp/fc-bench-batch-XXXXXX)
trap 'rm -rf "$W"' EXIT
export FANTASIA_NO_PROGRESS=1 OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
"$BUILD/esm2_cpu" "$H" "$L" "$HEADS" 20 "$W/model" >/dev/null
awk 'BEGIN{s="ACDEFGHIKLMNPQRSTVWY"; srand(3); for(k=0;k<400;k++){n=30+int(rand()*60); printf ">s%d\n",k;
  for(i=0;i<n;i++) printf "%s", substr(s,int(rand()*20)+1,1); printf "\n"}}' >"$W/short.fa"
for f in "$W/short.fa" "$SRC/demo/queries.fasta"; do
  declare -A wall
  for bt in 1 4096; do
    rm -f "$W/t.h5"
    /usr/bin/time -f "%e %U %M" -o "$W/time.txt" "$BUILD/fantasia-c" -q embed -m "$W/model" --layers 0,1 \
      --batch-tokens $bt -i "$f" -o "$W/t.h5" --failed "$W/f.tsv"
    read -r e u m <"$W/time.txt"
    wall[$bt]=$e
    printf '%-14s --batch-tokens %-5s wall %6.2f s  user %6.2f s  peak RSS %4d MB\n' "$(basename "$f")" $bt "$e" "$u" $((m / 1024))
  done
  awk -v a="${wall[1]}" -v b="${wall[4096]}" 'BEGIN{printf "  one-at-a-time / batched: %.2fx\n", a / b}'
done
