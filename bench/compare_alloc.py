#!/usr/bin/env python3
"""compare_alloc.py - two --target-bpw artifacts' allocations side by side
(e.g. --target-measure exact against proxy on the same model and target):

    python3 bench/compare_alloc.py exact.ingot proxy.ingot

Prints how well the second's candidate costs follow the first's (correlation
of their logarithms, the ratio's median and 10th/90th percentiles), how many
tensors got the same format, and both predicted divergences.
"""
import json
import math
import sys
import tarfile


def load(path):
    m = json.load(tarfile.open(path).extractfile("ingot.json"))
    a = m["quantization"]["allocation"]
    costs = {(t["name"], c["type"], c["group_size"]): c["kld"]
             for t in a["tensors"] for c in t["candidates"] if c["kld"] > 0}
    return a, costs


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    (aa, a), (ab, b) = load(argv[0]), load(argv[1])
    keys = [k for k in a if k in b]
    la, lb = [math.log(a[k]) for k in keys], [math.log(b[k]) for k in keys]
    n = len(keys)
    ma, mb = sum(la) / n, sum(lb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(la, lb))
    corr = cov / math.sqrt(sum((x - ma) ** 2 for x in la) * sum((y - mb) ** 2 for y in lb))
    r = sorted(b[k] / a[k] for k in keys)
    print("%d costs: log correlation %.3f, second/first median %.3f, p10 %.3f, p90 %.3f"
          % (n, corr, r[n // 2], r[n // 10], r[9 * n // 10]))
    ca = {t["name"]: (t["type"], t["group_size"]) for t in aa["tensors"]}
    cb = {t["name"]: (t["type"], t["group_size"]) for t in ab["tensors"]}
    same = sum(ca[k] == cb.get(k) for k in ca)
    print("same format for %d of %d tensors; predicted KLD %.4f (%s) and %.4f (%s)"
          % (same, len(ca), aa["predicted_kld"], aa.get("measure", "?"), ab["predicted_kld"], ab.get("measure", "?")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
