#!/usr/bin/env python3
"""hf_generate.py - the seed stack's speed: HF transformers `generate`
(eager attention, bf16, batch 1, greedy) on a checkpoint folder, on the GPU.

    python3 bench/hf_generate.py MODEL_DIR [--prompt 512] [--gen 128] [--reps 3]

Prints one JSON line: tok/s of the generated tokens (prefill excluded: the
time of a 1-token generate is subtracted), prefill ms and peak GPU memory.
"""
import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    m = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="eager").cuda().eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, m.config.vocab_size, (1, a.prompt), generator=g).cuda()
    kw = dict(do_sample=False, pad_token_id=0, eos_token_id=None)

    def run(n):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            m.generate(ids, max_new_tokens=n, min_new_tokens=n, **kw)
        torch.cuda.synchronize()
        return time.perf_counter() - t

    run(4)  # warm-up
    first, full = [], []
    for _ in range(a.reps):
        first.append(run(1))
        full.append(run(a.gen))
    first.sort()
    full.sort()
    t1, tn = first[len(first) // 2], full[len(full) // 2]
    print(json.dumps({"model": a.model, "prompt": a.prompt, "gen": a.gen,
                      "tg_tps": (a.gen - 1) / (tn - t1), "prefill_ms": 1e3 * t1,
                      "gpu_mem_mb": torch.cuda.max_memory_allocated() / 2**20}))


if __name__ == "__main__":
    main()
