#!/usr/bin/env bash
# embed is resumable: a run killed with SIGKILL and re-run ends with the same vectors as a clean run;
# a run resumed from a partial file embeds only what is missing; a re-run on a finished output does
# nothing and leaves it identical.
. "$(dirname "$0")/common.sh"
cd "$WORK"
B=$FC_BIN
Y=${FANTASIA_DATA:-/nonexistent}/yeast_UP000002311.fasta
if [ ! -r "$Y" ]; then
  echo "SKIP: $Y not found (FANTASIA_DATA); using the demo reference instead (too small to be killed mid-run)"
  Y=$SRC/demo/reference.fasta
fi
# the first 2,000 yeast proteins (1,000 under the sanitizer) keep the test short
awk -v m=$([ "${FC_SANITIZE:-0}" = 1 ] && echo 1000 || echo 2000) '/^>/{n++} n<=m' "$Y" >in.fa
Y=in.fa
N=$(grep -c '>' "$Y")
# vectors compared as text: h5py when importable, else h5dump of every embedding dataset
PY=
for p in python3 "/usr/bin/python3 -s"; do
  if $p -c 'import h5py, numpy' 2>/dev/null; then PY=$p; break; fi
done
dumpvec() {
  if [ -n "$PY" ]; then
    $PY - "$1" <<'P'
import sys, hashlib, h5py, numpy as np
h = hashlib.sha256()
n = 0
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        global n
        if isinstance(obj, h5py.Dataset) and name.endswith("/embedding"):
            h.update(name.encode()); h.update(np.asarray(obj[()], dtype="<f4").tobytes()); n += 1
        elif isinstance(obj, h5py.Dataset) and name.endswith("/sequence"):
            v = obj[()]
            h.update(name.encode()); h.update(v if isinstance(v, bytes) else str(v).encode())
    f.visititems(visit)
print(n, h.hexdigest())
P
  else
    h5dump -d / -H "$1" >/dev/null 2>&1
    h5dump "$1" | tail -n +2 | sha256sum | cut -c1-64
  fi
}

T0=$(date +%s.%N)
"$B" -q embed -i "$Y" -o clean.h5 || { bad "clean embed"; finish; exit 1; }
T1=$(date +%s.%N)
ref=$(dumpvec clean.h5)
echo "# clean run: $N sequences in $(echo "$T1 $T0" | awk '{print $1 - $2}') s, vectors $ref (${PY:-h5dump})"
case "$ref" in "$N "*) ok "clean run has $N embeddings" ;; [0-9]*\ *) bad "clean run: $ref, expected $N" ;; *) ok "clean run dumped" ;; esac

# 1. killed at several points, then re-run: same vectors as the clean run
# kill points: 25 % and 60 % of the clean run's time (at least 0.2 s)
for t in $(echo "$T1 $T0" | awk '{d=$1-$2; a=d*0.25; b=d*0.6; printf "%.2f %.2f", (a<0.2?0.2:a), (b<0.3?0.3:b)}'); do
  rm -f killed.h5 killed.h5.partial
  timeout -s KILL "$t" "$B" -q embed -i "$Y" -o killed.h5 >/dev/null 2>&1
  state=$([ -e killed.h5.partial ] && echo "partial $(stat -c %s killed.h5.partial) bytes" || echo "no partial")
  "$B" embed -i "$Y" -o killed.h5 >resume.log 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    [ "$(dumpvec killed.h5)" = "$ref" ] && ok "killed after ${t}s ($state), re-run: same vectors as a clean run" \
      || bad "killed after ${t}s ($state): vectors differ after the re-run"
  else
    bad "killed after ${t}s ($state): re-run failed: $(tail -2 resume.log)"
  fi
  [ ! -e killed.h5.partial ] && ok "no partial file left after the re-run" || bad "killed.h5.partial left"
done

# 2. resume from a genuine partial file (the first 40 % of the records), deterministic
rm -f part.h5 part.h5.partial
"$B" -q embed -i "$Y" -o part.h5 --limit $((N * 2 / 5)) && mv part.h5 part.h5.partial
"$B" embed -i "$Y" -o part.h5 >part.log 2>&1 || bad "resume from partial failed: $(tail -2 part.log)"
grep -q "resuming part.h5.partial with $((N * 2 / 5)) embeddings already stored" part.log \
  && ok "resume keeps the $((N * 2 / 5)) stored embeddings" || bad "resume log: $(grep -i resum part.log)"
[ "$(dumpvec part.h5)" = "$ref" ] && ok "resumed file: same vectors as a clean run" || bad "resumed file differs"

# 3. a damaged partial (cut short) is reported, left as it is (not cut further), and a re-run after
#    deleting it, as the message says, gives the clean result
rm -f cut.h5*
head -c 5000 clean.h5 >cut.h5.partial
expect_fail "damaged partial is reported" 'cut.h5.partial: damaged HDF5 file.*delete it to start over' "$B" embed -i "$Y" -o cut.h5
[ "$(stat -c %s cut.h5.partial)" = 5000 ] && ok "damaged partial left untouched" || bad "damaged partial changed size"
rm -f cut.h5.partial
"$B" -q embed -i "$Y" -o cut.h5 && [ "$(dumpvec cut.h5)" = "$ref" ] && ok "after deleting it: same vectors" || bad "re-run after delete"

# 4. a second embed on a finished output does nothing new and keeps it identical
cp clean.h5 before.h5
"$B" embed -i "$Y" -o clean.h5 >again.log 2>&1 || bad "second embed failed: $(tail -2 again.log)"
cmp -s before.h5 clean.h5 && ok "second embed leaves the finished file byte-identical" || bad "second embed changed the file"
grep -q "embed: $N of $N sequences were already in clean.h5; 0 newly embedded" again.log && ok "second embed reports nothing new" \
  || bad "second embed log: $(cat again.log)"
no_partial "$WORK" "resume"
finish
