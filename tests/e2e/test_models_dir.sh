#!/usr/bin/env bash
# Models found by name: `embed --model ESM` and a `run` config without `path:` locate the checkpoint in a
# models folder (--models-dir / embedding.models_dir / $FANTASIA_MODELS) or in the Hugging Face cache
# layout (models--org--name/snapshots/<refs/main>), and give the same vectors as the explicit directory.
source "$(dirname "$0")/common.sh"
M=$SRC/tests/fixtures/esm2
Q=$SRC/demo/queries.fasta
cd "$WORK"
vec() { h5dump -d "/$(h5ls "$1" | grep '^accession_' | head -1 | cut -d' ' -f1)/type_ESM/layer_0/embedding" "$1" |
  grep -A3 DATA | tail -3; }
"$FC_BIN" -q embed --model "$M" --model-name ESM --limit 2 -i "$Q" -o direct.h5 2>err.txt || bad "direct: $(cat err.txt)"
ref=$(vec direct.h5)
# 1. a models folder with the hub id as path (org/name)
mkdir -p models/facebook && ln -s "$M" models/facebook/esm2_t33_650M_UR50D
if "$FC_BIN" -q embed --model ESM --models-dir models --limit 2 -i "$Q" -o a.h5 2>err.txt && [ "$(vec a.h5)" = "$ref" ]; then
  ok "--models-dir: ESM -> models/facebook/esm2_t33_650M_UR50D, same vectors, group type_ESM"
else
  bad "--models-dir: $(cat err.txt)"
fi
# 2. $FANTASIA_MODELS with the bare repository name
mkdir -p flat && ln -s "$M" flat/esm2_t33_650M_UR50D
if FANTASIA_MODELS=$WORK/flat HOME=$WORK "$FC_BIN" -q embed --model ESM --limit 2 -i "$Q" -o b.h5 2>err.txt &&
  [ "$(vec b.h5)" = "$ref" ]; then
  ok "\$FANTASIA_MODELS: ESM -> flat/esm2_t33_650M_UR50D"
else
  bad "FANTASIA_MODELS: $(cat err.txt)"
fi
# 3. the Hugging Face cache: refs/main names the snapshot; an older stray snapshot is ignored
C=hf/hub/models--facebook--esm2_t33_650M_UR50D
mkdir -p "$C/snapshots/0000stale" "$C/refs" && ln -s "$M" "$C/snapshots/abc123" && echo abc123 >"$C/refs/main"
if env -u FANTASIA_MODELS -u HF_HUB_CACHE HF_HOME=$WORK/hf HOME=$WORK "$FC_BIN" -q embed --model facebook/esm2_t33_650M_UR50D \
  --model-name ESM --limit 2 -i "$Q" -o c.h5 2>err.txt && [ "$(vec c.h5)" = "$ref" ]; then
  ok "HF cache: hub id -> snapshot of refs/main"
else
  bad "HF cache: $(cat err.txt)"
fi
# 4. run: embedding.models_dir and a model without path
sed -e "s#^input:.*#input: $Q#" -e "s#^base_directory:.*#base_directory: $WORK/out#" \
  -e "s#^only_embedding:.*#only_embedding: true#" -e "s#^limit_execution:.*##" \
  -e "s#^  models:#  models_dir: $WORK/models\n  models:#" -e "s#^    kmer: .*#    ESM:#" "$SRC/demo/config.yaml" >config.yaml
if exp=$("$FC_BIN" -q run --config config.yaml 2>err.txt) && [ "$(h5ls "$exp/embeddings.h5" | grep -c '^accession_')" = 33 ]; then
  ok "run: ESM located through embedding.models_dir"
else
  bad "run with models_dir: $(cat err.txt)"
fi
# 5. not found: one clear line naming the places tried, no output
expect_fail "unknown model name lists the places tried" "Prot-T5.*tried.*models/Rostlab/prot_t5_xl_uniref50" \
  "$FC_BIN" embed --model Prot-T5 --models-dir models -i "$Q" -o none.h5
[ ! -e none.h5 ] && ok "no output for a missing model" || bad "none.h5 written"
expect_fail "configured path that does not exist" "path .*nowhere does not exist" \
  "$FC_BIN" run --config config.yaml --embedding.models.ESM.path "$WORK/nowhere"
no_partial "$WORK" "models folder"
finish
