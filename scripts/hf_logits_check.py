#!/usr/bin/env python3
"""hf_logits_check.py - does transformers, loading an `ingot export --format hf`
checkpoint, compute the same logits as ingot running the artifact itself?

Two steps, because ingot (C) and transformers (torch) rarely live on the same
machine:

  # where ingot is built: ingot's logits of the artifact for the prompts
  python3 scripts/hf_logits_check.py ingot ART.ingot build/.libs/libingot.so OUT.npz
  # where transformers is (the GPU machine has it): the export's logits, compared
  python3 scripts/hf_logits_check.py hf EXPORT_DIR OUT.npz [--device cuda]

The prompts are tokenized by ingot and the same ids are given to transformers
(no special tokens), so only the forward passes are compared: the largest
|logit difference| against the logits' spread, and top-1 agreement over every
position.  The export of a quantized artifact holds its weights dequantized
to bf16, and ingot runs the quantized weights in f32, so the two differ by
bf16 rounding of the weights (up to 2^-9 of each, relative) and the order of
f32 sums; the check fails when the largest difference exceeds 5 % of the
logits' standard deviation or top-1 agreement is below 99 % (tiny-llama's
int4 export on an H100, 2026-12-07: 2.1 % and 100 %).
"""
import ctypes
import sys

PROMPTS = [
    "def quicksort(arr):\n    if len(arr) <= 1:\n        return arr\n",
    "The history of the printing press begins in the fifteenth century, when",
    "#include <stdio.h>\n\nint main(void)\n{\n    printf(\"hello\\n\");\n",
    "Water boils at one hundred degrees Celsius at sea level, but on a mountain",
]


class Err(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 1024)]


class Info(ctypes.Structure):
    _fields_ = [("architecture", ctypes.c_char_p), ("vocab_size", ctypes.c_int),
                ("rest", ctypes.c_int * 64)]


def ingot_logits(artifact, lib_path, out):
    import numpy as np
    lib = ctypes.CDLL(lib_path)
    lib.ingot_model_open.restype = ctypes.c_void_p
    lib.ingot_context_create.restype = ctypes.c_void_p
    err = Err()
    m = lib.ingot_model_open(artifact.encode(), ctypes.byref(err))
    if not m:
        sys.exit("ingot: %s" % err.message.decode())
    info = Info()
    lib.ingot_model_get_info(ctypes.c_void_p(m), ctypes.byref(info))
    vocab = info.vocab_size
    arrays = {}
    for i, text in enumerate(PROMPTS):
        data = text.encode()
        ids = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_size_t()
        if lib.ingot_tokenize(ctypes.c_void_p(m), data, ctypes.c_size_t(len(data)), 0, ctypes.byref(ids),
                              ctypes.byref(n), ctypes.byref(err)) != 0:
            sys.exit("ingot: %s" % err.message.decode())
        toks = np.array(ids[:n.value], dtype=np.int32)
        ctx = lib.ingot_context_create(ctypes.c_void_p(m), ctypes.c_int(len(toks)), 0, ctypes.byref(err))
        if not ctx:
            sys.exit("ingot: %s" % err.message.decode())
        logits = np.zeros((len(toks), vocab), dtype=np.float32)
        if lib.ingot_context_eval(ctypes.c_void_p(ctx), toks.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                  len(toks), 0, logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 1,
                                  ctypes.byref(err)) != 0:
            sys.exit("ingot: %s" % err.message.decode())
        lib.ingot_context_free(ctypes.c_void_p(ctx))
        arrays["ids%d" % i] = toks
        arrays["logits%d" % i] = logits
    np.savez(out, **arrays)
    print("%s: %d prompts, %d tokens" % (out, len(PROMPTS), sum(len(arrays["ids%d" % i]) for i in range(len(PROMPTS)))))


def hf_compare(export_dir, npz, device):
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(export_dir, torch_dtype=torch.float32).to(device).eval()
    ref = np.load(npz)
    worst, agree, total = 0.0, 0, 0
    for i in range(len(PROMPTS)):
        ids = torch.tensor(ref["ids%d" % i], dtype=torch.long, device=device)[None]
        with torch.no_grad():
            got = model(ids).logits[0].float().cpu().numpy()
        want = ref["logits%d" % i]
        spread = float(want.std())
        worst = max(worst, float(np.abs(got - want).max()) / spread)
        agree += int((got.argmax(-1) == want.argmax(-1)).sum())
        total += want.shape[0]
    print("%s: %d positions, largest |logit difference| %.4f of the logits' std, top-1 agreement %.2f %%"
          % (export_dir, total, worst, 100.0 * agree / total))
    return 0 if worst <= 0.05 and agree >= 0.99 * total else 1


def main(argv):
    if len(argv) >= 4 and argv[0] == "ingot":
        ingot_logits(argv[1], argv[2], argv[3])
        return 0
    if len(argv) >= 3 and argv[0] == "hf":
        device = argv[4] if len(argv) >= 5 and argv[3] == "--device" else "cpu"
        return hf_compare(argv[1], argv[2], device)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
