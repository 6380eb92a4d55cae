#!/usr/bin/env bash
# Reading a FANTASIA-like embeddings.h5: fantasia.c (fc_embfile_read) vs FANTASIA's own h5py loop
# (lookup.py's enqueue pattern), same file, same run.
#   bench/embfile_read.sh [BUILD_DIR=build] [N=20000] [D=1024]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
n=${2:-20000}
d=${3:-1024}
file=$(mktemp -u /tmp/fc_bench_emb_XXXXXX).h5
trap 'rm -f "$file"' EXIT
py=python3
python3 -c 'import h5py' 2>/dev/null || py="/usr/bin/python3 -s"
ours=$("$build/embfile_read" "$n" "$d" "$file" f64 1)
echo "$ours"
peer=$($py - "$file" <<'PY'
import sys, time, h5py
t = time.process_time(); w = time.time(); n = 0
with h5py.File(sys.argv[1], "r") as h5file:
    for accession, group in h5file.items():
        if "sequence" not in group:
            continue
        sequence = group["sequence"][()].decode("utf-8")
        for item_name, item_group in group.items():
            if not item_name.startswith("type_"):
                continue
            for layer_name, layer_group in item_group.items():
                if not layer_name.startswith("layer_") or "embedding" not in layer_group:
                    continue
                emb = layer_group["embedding"][:]
                n += 1
print(f"h5py FANTASIA loop read: {n} embeddings, cpu {time.process_time() - t:.3f} s, wall {time.time() - w:.3f} s")
PY
)
echo "$peer"
oc=$(sed -n 's/^fantasia.c read:.*cpu \([0-9.]*\) s.*/\1/p' <<<"$ours")
pc=$(sed -n 's/.*cpu \([0-9.]*\) s.*/\1/p' <<<"$peer")
awk -v o="$oc" -v p="$pc" 'BEGIN { printf "ratio (h5py cpu / fantasia.c cpu): %.1fx\n", p / o }'
