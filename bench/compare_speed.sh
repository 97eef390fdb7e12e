#!/bin/sh
# compare_speed.sh - CPU speed of two builds side by side: prompt (pp) and
# generation (tg) tokens/s of every weight format on the random Qwen2-0.5B
# shape, the builds alternating within each round (old, new; then new, old)
# so that both see the same machine.  Prints per format the median tokens/s
# of each build, the median of the per-round ratios new/old and their range.
#   sh bench/compare_speed.sh OLD_BUILD NEW_BUILD [WORK_DIR]
# Environment: ROUNDS (default 5), FORMATS (default "bf16 int8 nf4 int4"),
# PP (prompt tokens, default 128), TG (generated tokens, default 64),
# THREADS (default: all), INGOT_ISA as for ingot (forces a kernel set).
# Artifacts are made with OLD_BUILD and reused from WORK_DIR.
set -eu
old=$(cd "$1" && pwd)
new=$(cd "$2" && pwd)
work=${3:-$old/bench-models}
rounds=${ROUNDS:-5}
formats=${FORMATS:-bf16 int8 nf4 int4}
pp=${PP:-128}; tg=${TG:-64}
thr=${THREADS:+-t $THREADS}
mkdir -p "$work"
m="$work/qwen2-0.5b"
[ -f "$m/model.safetensors.index.json" ] || "$old/bench/make-random-model" --shape qwen2-0.5b -o "$m" >/dev/null
[ -f "$m.bf16.ingot" ] || "$old/ingot" convert -q "$m" -o "$m.bf16.ingot"
for f in $formats; do
  [ "$f" = bf16 ] || [ -f "$m.$f.ingot" ] || "$old/ingot" quantize -q "$m.bf16.ingot" -o "$m.$f.ingot" --type "$f"
done

jnum() { sed -n "s/^ *\"$1\": *\\([0-9.]*\\).*/\\1/p"; }
res="$work/compare_speed.txt"; : > "$res"
r=1
while [ "$r" -le "$rounds" ]; do
  for f in $formats; do
    if [ $((r % 2)) = 1 ]; then order="old new"; else order="new old"; fi
    for b in $order; do
      if [ "$b" = old ]; then bin="$old/ingot"; else bin="$new/ingot"; fi
      # shellcheck disable=SC2086
      out=$("$bin" bench "$m.$f.ingot" -p "$pp" -n "$tg" -r 1 --json $thr)
      echo "$r $f $b $(echo "$out" | jnum pp_tps) $(echo "$out" | jnum tg_tps) $(echo "$out" | sed -n 's/^ *"isa": "\(.*\)".*/\1/p')" >> "$res"
    done
  done
  r=$((r + 1))
done
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cpus; kernel set $(awk 'NR==1{print $6}' "$res"); $rounds rounds; pp$pp, tg$tg"
echo "| format | pp old | pp new | pp new/old (range) | tg old | tg new | tg new/old (range) |"
echo "|---|---|---|---|---|---|---|"
for f in $formats; do
  awk -v f="$f" '
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                   return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    $2 == f { if ($3 == "old") { po[$1] = $4; to[$1] = $5 } else { pn[$1] = $4; tn[$1] = $5 } }
    END {
      n = 0; for (r in po) { n++; a[n] = po[r]; b[n] = pn[r]; c[n] = to[r]; d[n] = tn[r]; rp[n] = pn[r] / po[r]; rt[n] = tn[r] / to[r] }
      lp = hp = rp[1]; lt = ht = rt[1]
      for (i = 1; i <= n; i++) { if (rp[i] < lp) lp = rp[i]; if (rp[i] > hp) hp = rp[i]; if (rt[i] < lt) lt = rt[i]; if (rt[i] > ht) ht = rt[i] }
      printf "| %s | %.1f | %.1f | %.3f (%.3f-%.3f) | %.2f | %.2f | %.3f (%.3f-%.3f) |\n", f, med(a, n), med(b, n), med(rp, n), lp, hp, med(c, n), med(d, n), med(rt, n), lt, ht
    }' "$res"
done
