#!/bin/sh
REPS=${REPS:-3}
for r in $(seq 1 $REPS); do
  for tree in /tmp/store-bench/tree-base /tmp/store-bench/tree-mid /work/wt-store; do
    (cd $tree && printf '%s ' "$(basename $tree)" && node --import tsx bench/scratch/single.ts vesper 100)
  done
  (cd /work/wt-store && printf 'raw ' && node --import tsx bench/scratch/single.ts raw 0)
done
