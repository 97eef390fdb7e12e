#!/usr/bin/env python3
"""hf_precision.py - how far HF transformers itself moves from its fp32
goldens when it runs in lower precision: the yardstick for the CUDA
backend's golden-logit tolerances (tests/test_cuda.c).

    python3 bench/hf_precision.py MODEL_DIR [MODEL_DIR ...]

For each model: the goldens' token sequences (golden/logits.safetensors,
`tokens`) through transformers on the GPU in fp32, bf16 and fp16 (eager
attention, all positions at once, as the goldens were made), printing
max |logit - golden| / max |golden| per dtype, the measure test_cuda uses.
"""
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main():
    for d in sys.argv[1:]:
        g = load_file(f"{d}/golden/logits.safetensors")
        tok, ref = g["tokens"].long().cuda(), g["logits"].double().cuda()
        for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
            m = AutoModelForCausalLM.from_pretrained(d, dtype=dt, attn_implementation="eager").cuda().eval()
            with torch.no_grad():
                out = m(tok).logits.double()
            r = ((out - ref).abs().max() / ref.abs().max()).item()
            print(f"{d.rstrip('/').split('/')[-1]}: transformers {name}: logits max|diff|/max|logit| = {r:.3g}")
            del m
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
