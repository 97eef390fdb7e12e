#!/usr/bin/env python3
"""peer_layouts.py - ingot's exports read by numpy references written from the
peers' published code, compared with ingot's own dequantization.

  awq  AWQ_DIR HF_DIR     AutoAWQ GEMM checkpoint (ingot export --format awq)
  bnb  BNB_DIR HF_DIR     transformers + bitsandbytes checkpoint (--format bnb)
  gguf FILE.gguf HF_DIR   GGUF (--format gguf), read with the gguf package
  gptq GPTQ_DIR HF_DIR    a GPTQ checkpoint (AutoGPTQ's layout)
  write-gptq AWQ_DIR OUT_DIR v1|v2
                          writes the awq export's weights as a GPTQ checkpoint,
                          packed as AutoGPTQ packs (for ingot convert to read)

HF_DIR is `ingot export --format hf` of the same artifact: ingot's reference
dequantization (formats/), rounded to bf16.  The references compute in f32
and round to bf16 the same way (nearest, ties to even), so awq and nf4 must
agree bit for bit; int8 within one bf16 ulp (bitsandbytes multiplies by SCB
and divides by 127, ingot multiplies by the stored SCB / 127); gguf within
the rounding export/gguf_quant.c states (Q4_1: half an f16 ulp of 15 * d,
Q8_0: 127 * 2^-11 * d) plus one bf16 ulp.  Exit 0 when all agree, 1 when
any differs, 2 on usage or a missing package (never a skip).
"""
import json
import os
import struct
import sys

try:
    import numpy as np
except ImportError:
    sys.exit("peer_layouts.py: numpy is not installed (scripts/install-deps.sh installs it)")

# ---------------------------------------------------------------- safetensors

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I32": np.int32,
             "I16": np.int16, "I8": np.int8, "U8": np.uint8, "I64": np.int64}


def read_safetensors(path):
    """{name: array} of one file; BF16 comes back as f32."""
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(blob, dtype=ST_DTYPES[t["dtype"]], count=(b - a) // np.dtype(
            ST_DTYPES[t["dtype"]]).itemsize, offset=8 + n + a).reshape(t["shape"])
        if t["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr
    return out


def read_checkpoint(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if not os.path.exists(idx):
        return read_safetensors(os.path.join(d, "model.safetensors"))
    out = {}
    for shard in sorted(set(json.load(open(idx))["weight_map"].values())):
        out.update(read_safetensors(os.path.join(d, shard)))
    return out


def to_bf16(x):
    """f32 -> bf16 (nearest, ties to even) -> f32, as util/halfs.c rounds."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return r.astype(np.uint32).view(np.float32)


class Report:
    def __init__(self, what):
        self.what, self.n, self.bad = what, 0, 0

    def exact(self, name, got, want):
        self.n += 1
        if got.shape != want.shape:
            return self.fail(name, "shape %s, ingot %s" % (got.shape, want.shape))
        diff = np.nonzero(got.view(np.uint32) != want.view(np.uint32))[0] if got.ndim == 1 else \
            np.argwhere(got.view(np.uint32) != want.view(np.uint32))
        if len(diff):
            i = tuple(diff[0]) if got.ndim > 1 else diff[0]
            self.fail(name, "%d values differ, first at %s: %r, ingot %r" % (len(diff), i, got[i], want[i]))

    def close(self, name, got, want, tol):
        self.n += 1
        if got.shape != want.shape:
            return self.fail(name, "shape %s, ingot %s" % (got.shape, want.shape))
        over = np.abs(got.astype(np.float64) - want.astype(np.float64)) - tol
        if (over > 0).any():
            i = np.unravel_index(np.argmax(over), over.shape)
            self.fail(name, "%r, ingot %r, beyond the stated rounding %r at %s" %
                      (got[i], want[i], np.broadcast_to(tol, got.shape)[i], i))

    def fail(self, name, why):
        self.bad += 1
        print("%s: %s: %s" % (self.what, name, why), file=sys.stderr)

    def done(self):
        print("%s: %d tensors, %d differ" % (self.what, self.n, self.bad))
        if self.n == 0:
            print("%s: nothing compared" % self.what, file=sys.stderr)
            return 1
        return 1 if self.bad else 0


def bf16_ulp(x):
    """One bf16 ulp of |x| (the hf export's rounding)."""
    e = np.floor(np.log2(np.maximum(np.abs(x.astype(np.float64)), 2.0 ** -126)))
    return 2.0 ** (e - 7)

# ---------------------------------------------------------------- AutoAWQ

# AutoAWQ awq/utils/packing_utils.py: AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7] and
# AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]; unpack_awq shifts each int32 by
# [0, 4, ..., 28] and keeps the low 4 bits (columns in packed order), then
# reverse_awq_order indexes every group of 8 columns with AWQ_REVERSE_ORDER;
# dequantize_gemm: (iweight - izeros) * scales, zeros and scales repeated over
# each group of group_size input rows.  The result is (in, out): W transposed.
AWQ_REVERSE_ORDER = np.array([0, 4, 1, 5, 2, 6, 3, 7])


def awq_unpack(packed):
    """int32 (rows, cols/8) -> int (rows, cols), AutoAWQ's unpack_awq + reverse_awq_order."""
    shifts = np.arange(0, 32, 4, dtype=np.uint32)
    u = packed.view(np.uint32)
    vals = (u[:, :, None] >> shifts[None, None, :]) & 15  # (rows, cols/8, 8), packed order
    vals = vals[:, :, AWQ_REVERSE_ORDER]                  # logical column order
    return vals.reshape(packed.shape[0], -1).astype(np.int32)


def check_awq(awq_dir, hf_dir):
    awq, hf, r = read_checkpoint(awq_dir), read_checkpoint(hf_dir), Report("awq")
    g = json.load(open(os.path.join(awq_dir, "config.json")))["quantization_config"]["group_size"]
    for name in sorted(n for n in awq if n.endswith(".qweight")):
        base = name[:-len(".qweight")]
        iw, iz = awq_unpack(awq[name]), awq_unpack(awq[base + ".qzeros"])
        sc = awq[base + ".scales"].astype(np.float32)
        iz, sc = np.repeat(iz, g, axis=0), np.repeat(sc, g, axis=0)
        w = ((iw - iz).astype(np.float32) * sc).T          # (out, in)
        r.exact(base + ".weight", to_bf16(w), hf[base + ".weight"])
    return r.done()

# ---------------------------------------------------------------- bitsandbytes


def nf4_absmax(bnb, w):
    """bitsandbytes functional.dequantize_4bit: with nested statistics,
    absmax = dequantize_blockwise(absmax_u8, state2) + offset, i.e.
    nested_quant_map[q] * nested_absmax[i // 256] (f32), then + offset (f32)."""
    a = bnb[w + ".absmax"]
    state = json.loads(bytes(bnb[w + ".quant_state.bitsandbytes__nf4"]).decode())
    if w + ".nested_absmax" not in bnb:
        return a.astype(np.float32), state
    blocks = state["nested_blocksize"]
    code, na = bnb[w + ".nested_quant_map"], bnb[w + ".nested_absmax"]
    v = code[a.astype(np.int64)] * np.repeat(na, blocks)[:a.size]
    return (v + np.float32(state["nested_offset"])).astype(np.float32), state


def check_bnb(bnb_dir, hf_dir):
    bnb, hf, r = read_checkpoint(bnb_dir), read_checkpoint(hf_dir), Report("bnb")
    for w in sorted(n for n in bnb if n.endswith(".weight") and bnb[n].dtype in (np.uint8, np.int8)):
        if bnb[w].dtype == np.uint8:
            # kDequantizeBlockwise (csrc/kernels.cu) for NF4: the high nibble is the first value,
            # each multiplied by its block's absmax
            absmax, state = nf4_absmax(bnb, w)
            packed = bnb[w].reshape(-1)
            codes = np.stack([packed >> 4, packed & 15], axis=1).reshape(-1)
            qmap = bnb[w + ".quant_map"]
            vals = qmap[codes] * np.repeat(absmax, state["blocksize"])
            got = to_bf16(vals.astype(np.float32)).reshape(state["shape"])
            r.exact(w, got, hf[w])
        else:
            # Linear8bitLt / int8_vectorwise_dequant: q * SCB / 127 per row (f32)
            scb = bnb[w[:-len(".weight")] + ".SCB"]
            vals = bnb[w].astype(np.float32) * scb[:, None] / np.float32(127)
            r.close(w, to_bf16(vals), hf[w], bf16_ulp(hf[w]))
    return r.done()

# ---------------------------------------------------------------- GPTQ

# AutoGPTQ auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py, QuantLinear.pack:
# intweight (in, out); qweight[row] |= intweight[8 row + j] << 4 j (packed along
# the inputs, in order); zeros -= 1 (the v1 format), then
# qzeros[:, col] |= zeros[:, 8 col + j] << 4 j; scales f16 (in/G, out);
# g_idx = i // G.  forward (the torch path): zeros + 1, then
# weight = scales * (weight - zeros) per group of G input rows: (in, out).
# GPTQModel's gptq_v2 format leaves out the - 1 / + 1.


def gptq_pack_rows(vals):
    """int (rows, cols), rows % 8 == 0 -> int32 (rows/8, cols), 8 rows a word."""
    v = vals.astype(np.uint32).reshape(-1, 8, vals.shape[1])
    out = np.zeros((v.shape[0], v.shape[2]), dtype=np.uint32)
    for j in range(8):
        out |= v[:, j, :] << np.uint32(4 * j)
    return out.view(np.int32)


def gptq_pack_cols(vals):
    """int (rows, cols) -> int32 (rows, cols/8), 8 columns a word."""
    return np.ascontiguousarray(gptq_pack_rows(np.ascontiguousarray(vals.T)).view(np.uint32).T).view(np.int32)


def gptq_unpack_rows(packed):
    u = packed.view(np.uint32)
    vals = (u[:, None, :] >> (4 * np.arange(8, dtype=np.uint32))[None, :, None]) & 15
    return vals.reshape(-1, packed.shape[1]).astype(np.int32)


def gptq_unpack_cols(packed):
    return np.ascontiguousarray(gptq_unpack_rows(np.ascontiguousarray(packed.T)).T)


def write_safetensors(path, tensors):
    names = {np.float32: "F32", np.float16: "F16", np.int32: "I32", np.uint8: "U8", np.int8: "I8"}
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        header[name] = {"dtype": names[a.dtype.type], "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_gptq(awq_dir, out_dir, fmt):
    awq = read_checkpoint(awq_dir)
    cfg = json.load(open(os.path.join(awq_dir, "config.json")))
    g = cfg["quantization_config"]["group_size"]
    out = {}
    for name, a in awq.items():
        if not name.endswith((".qweight", ".qzeros", ".scales")):
            out[name] = a
    for name in (n for n in awq if n.endswith(".qweight")):
        base = name[:-len(".qweight")]
        iw, iz = awq_unpack(awq[name]), awq_unpack(awq[base + ".qzeros"])  # (in, out), (in/G, out)
        if fmt == "v1":
            if (iz == 0).any():
                sys.exit("peer_layouts.py: %s has a zero point 0, which the v1 format cannot store" % base)
            iz = iz - 1
        out[base + ".qweight"] = gptq_pack_rows(iw)
        out[base + ".qzeros"] = gptq_pack_cols(iz)
        out[base + ".scales"] = awq[base + ".scales"]
        out[base + ".g_idx"] = (np.arange(iw.shape[0]) // g).astype(np.int32)
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(awq_dir):
        if f.endswith((".json", ".jinja")) and f != "config.json" and not f.startswith("model."):
            open(os.path.join(out_dir, f), "wb").write(open(os.path.join(awq_dir, f), "rb").read())
    cfg["quantization_config"] = {"quant_method": "gptq", "bits": 4, "group_size": g,
                                  "desc_act": False, "sym": False, "true_sequential": True,
                                  "checkpoint_format": "gptq" if fmt == "v1" else "gptq_v2"}
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), out)
    return 0


def check_gptq(gptq_dir, hf_dir):
    q, hf, r = read_checkpoint(gptq_dir), read_checkpoint(hf_dir), Report("gptq")
    qc = json.load(open(os.path.join(gptq_dir, "config.json")))["quantization_config"]
    add = 0 if qc.get("checkpoint_format") == "gptq_v2" else 1
    for name in sorted(n for n in q if n.endswith(".qweight")):
        base = name[:-len(".qweight")]
        iw = gptq_unpack_rows(q[name])                                   # (in, out)
        g = iw.shape[0] // q[base + ".scales"].shape[0]
        iz = np.repeat(gptq_unpack_cols(q[base + ".qzeros"]) + add, g, axis=0)
        sc = np.repeat(q[base + ".scales"].astype(np.float32), g, axis=0)
        w = (sc * (iw - iz).astype(np.float32)).T
        r.exact(base + ".weight", to_bf16(w), hf[base + ".weight"])
    return r.done()

# ---------------------------------------------------------------- GGUF

HF_OF = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
         "output.weight": "lm_head.weight"}
BLK = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
       "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
       "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
       "ffn_down": "mlp.down_proj"}


def hf_name(name):
    if name in HF_OF:
        return HF_OF[name]
    _, i, part, kind = name.split(".")
    return "model.layers.%s.%s.%s" % (i, BLK[part], kind)


def llama_permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute: the rows of attn_q / attn_k."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def block_d(raw, block_bytes):
    """The f16 d leading each ggml block of a (rows, bytes) tensor, per weight (32 a block)."""
    b = raw.reshape(raw.shape[0], -1, block_bytes)
    d = b[:, :, :2].copy().view(np.float16).astype(np.float64)[:, :, 0]
    return np.repeat(np.abs(d), 32, axis=1)


def check_gguf(path, hf_dir):
    try:
        from gguf import GGUFReader, GGMLQuantizationType as Q
        from gguf.quants import dequantize
    except ImportError:
        sys.exit("peer_layouts.py: the gguf package is not installed (scripts/install-deps.sh installs it)")
    rd, hf, r = GGUFReader(path), read_checkpoint(hf_dir), Report("gguf")
    arch = bytes(rd.fields["general.architecture"].parts[-1]).decode()
    heads = int(rd.fields[arch + ".attention.head_count"].parts[-1][0])
    kv = int(rd.fields[arch + ".attention.head_count_kv"].parts[-1][0])
    for t in rd.tensors:
        want = hf[hf_name(t.name)]
        got = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(want.shape)
        if arch == "llama" and ".attn_q." in t.name:
            want = llama_permute(want, heads)
        elif arch == "llama" and ".attn_k." in t.name:
            want = llama_permute(want, kv)
        if t.tensor_type in (Q.F32, Q.F16, Q.BF16):
            r.exact(t.name, got, want)  # stored as is
            continue
        # ingot's value was rounded to bf16 by the hf export; the GGUF moved it by at most
        # the stated rounding of its block's d
        if t.tensor_type == Q.Q4_1:
            step = block_d(t.data, 20) * 15 * 2.0 ** -11  # half an f16 ulp of m, m <= 15 d
        elif t.tensor_type == Q.Q8_0:
            step = block_d(t.data, 34) * 127 * 2.0 ** -11
        else:
            r.fail(t.name, "unexpected type %s" % t.tensor_type.name)
            continue
        r.close(t.name, got, want, step.reshape(want.shape) + bf16_ulp(want) + 1e-12)
    return r.done()


def main(argv):
    cmds = {"awq": check_awq, "bnb": check_bnb, "gguf": check_gguf, "gptq": check_gptq}
    if len(argv) == 5 and argv[1] == "write-gptq" and argv[4] in ("v1", "v2"):
        return write_gptq(argv[2], argv[3], argv[4])
    if len(argv) != 4 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
