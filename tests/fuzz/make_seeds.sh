#!/bin/sh
# make_seeds.sh - (re)builds the seed corpora in tests/fuzz/corpus/ from the
# test inputs of the repository, and a tiny model (1 layer, hidden 64,
# vocabulary 320: tiny-llama's tokenizer cut down to its first 320 tokens)
# for the artifact and calibration harnesses.  Needs a built ingot, jq and
# python3 (only to write the tiny checkpoint's safetensors file).
# Inputs of fixed crashes (crash-*) are kept.
# Usage: sh tests/fuzz/make_seeds.sh BUILD_DIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: make_seeds.sh BUILD_DIR}" && pwd)
corpus="$top/tests/fuzz/corpus"
tiny=$(mktemp -d)
trap 'rm -rf "$tiny"' EXIT
for d in safetensors hf_config tokenizer chat_template artifact calib; do
  mkdir -p "$corpus/$d"
  find "$corpus/$d" -type f ! -name 'crash-*' -delete   # fixed crashes stay
done
src="$top/models/tiny-llama"

# ---- the tiny checkpoint ----
jq '.model.vocab |= with_entries(select(.value < 320))
    | (.model.vocab | keys) as $k
    | ($k | map({(.): true}) | add) as $have
    | .model.merges |= map(select($have[.[0]] and $have[.[1]] and $have[.[0] + .[1]]))' \
  "$src/tokenizer.json" > "$tiny/tokenizer.json"
jq '.hidden_size = 64 | .intermediate_size = 128 | .num_hidden_layers = 1 | .num_attention_heads = 2
    | .num_key_value_heads = 1 | .head_dim = 32 | .vocab_size = 320 | .max_position_embeddings = 64' \
  "$src/config.json" > "$tiny/config.json"
cp "$src/tokenizer_config.json" "$src/generation_config.json" "$src/chat_template.jinja" "$tiny/"
python3 - "$tiny/model.safetensors" <<'PY'
import json, random, struct, sys
random.seed(14)
V, H, F, KV = 320, 64, 128, 32
shapes = {"model.embed_tokens.weight": [V, H], "lm_head.weight": [V, H], "model.norm.weight": [H],
          "model.layers.0.input_layernorm.weight": [H], "model.layers.0.post_attention_layernorm.weight": [H],
          "model.layers.0.self_attn.q_proj.weight": [H, H], "model.layers.0.self_attn.k_proj.weight": [KV, H],
          "model.layers.0.self_attn.v_proj.weight": [KV, H], "model.layers.0.self_attn.o_proj.weight": [H, H],
          "model.layers.0.mlp.gate_proj.weight": [F, H], "model.layers.0.mlp.up_proj.weight": [F, H],
          "model.layers.0.mlp.down_proj.weight": [H, F]}
def bf16(x):
    return struct.pack("<f", x)[2:]
header, blobs, off = {}, [], 0
for name in sorted(shapes):
    n = 1
    for d in shapes[name]:
        n *= d
    norm = len(shapes[name]) == 1
    data = b"".join(bf16(1.0 if norm else random.gauss(0, 0.08)) for _ in range(n))
    header[name] = {"dtype": "BF16", "shape": shapes[name], "data_offsets": [off, off + len(data)]}
    blobs.append(data)
    off += len(data)
header["__metadata__"] = {"format": "pt"}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
"$build/ingot" convert "$tiny" -o "$corpus/artifact/tiny-bf16.ingot"
"$build/ingot" quantize "$corpus/artifact/tiny-bf16.ingot" -o "$corpus/artifact/tiny-int8.ingot" --type int8
"$build/ingot" quantize "$corpus/artifact/tiny-bf16.ingot" -o "$corpus/artifact/tiny-nf4.ingot" --type nf4

# ---- safetensors: small files of every shape of header ----
python3 - "$corpus/safetensors" <<'PY'
import json, struct, sys
def st(path, header, data=b""):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
d = sys.argv[1]
st(d + "/empty", {})
st(d + "/metadata-only", {"__metadata__": {"format": "pt", "note": "x"}})
st(d + "/dtypes", {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                   "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]},
                   "c": {"dtype": "F16", "shape": [1, 1], "data_offsets": [22, 24]},
                   "d": {"dtype": "I64", "shape": [], "data_offsets": [24, 32]},
                   "e": {"dtype": "U8", "shape": [0, 5], "data_offsets": [32, 32]},
                   "f": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [32, 36]},
                   "__metadata__": {"format": "pt"}}, bytes(range(36)))
st(d + "/one-bool", {"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}}, b"\x01\x00\x01")
PY
head -c 4096 "$tiny/model.safetensors" > /dev/null
cp "$tiny/model.safetensors" "$corpus/safetensors/tiny-model"

# ---- config.json of every supported family ----
for f in "$top"/tests/data/configs/*/config.json; do
  cp "$f" "$corpus/hf_config/$(basename "$(dirname "$f")")"
done
cp "$src/config.json" "$corpus/hf_config/tiny-llama"
# the quantization_config of AutoAWQ, GPTQ and bitsandbytes checkpoints
python3 - "$corpus/hf_config" <<'PY'
import json, sys
d = sys.argv[1]
base = json.load(open(d + "/llama-3-8b"))
seeds = {
    "llama-3-8b-awq": {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": True,
                       "version": "gemm"},
    "llama-3-8b-gptq": {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": False,
                        "sym": True, "damp_percent": 0.01, "true_sequential": True},
    "llama-3-8b-bnb-nf4": {"quant_method": "bitsandbytes", "_load_in_4bit": True,
                           "_load_in_8bit": False, "load_in_4bit": True, "load_in_8bit": False,
                           "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True,
                           "bnb_4bit_compute_dtype": "bfloat16", "bnb_4bit_quant_storage": "uint8",
                           "llm_int8_threshold": 6.0, "llm_int8_skip_modules": None,
                           "llm_int8_enable_fp32_cpu_offload": False,
                           "llm_int8_has_fp16_weight": False},
}
for name, q in seeds.items():
    c = dict(base, quantization_config=q)
    open(d + "/" + name, "w").write(json.dumps(c, indent=2) + "\n")
PY

# ---- tokenizers, each with a text after a NUL byte ----
text='Hello world! def f(x):\n    return x ** 2  # ünïcödé 数字 123 <|im_start|>user\n'
{ cat "$tiny/tokenizer.json"; printf '\000'; printf "$text"; } > "$corpus/tokenizer/tiny-bytelevel"
# a SentencePiece-style BPE (Llama 2, Mistral): spaces as U+2581, byte fallback, <unk>
python3 - "$tiny/sp.json" <<'PY'
import json, sys
MS = "\u2581"
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for i in range(256):
    vocab["<0x%02X>" % i] = 3 + i
pieces = [MS, "h", "e", "l", "o", "w", "r", "d", "t", "he", "ll", "llo", MS + "h", MS + "he", MS + "w", "or", "ld"]
for p in pieces:
    vocab.setdefault(p, len(vocab))
merges = [["h", "e"], ["l", "l"], ["ll", "o"], [MS, "h"], [MS + "h", "e"], [MS, "w"], ["o", "r"], ["l", "d"]]
tok = {"version": "1.0", "truncation": None, "padding": None,
       "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                         "normalized": False, "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])],
       "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": MS},
                                                          {"type": "Replace", "pattern": {"String": " "}, "content": MS}]},
       "pre_tokenizer": None,
       "post_processor": {"type": "TemplateProcessing",
                          "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                          "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
       "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": MS}, "content": " "},
                                                    {"type": "ByteFallback"}, {"type": "Fuse"},
                                                    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
       "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                 "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                 "vocab": vocab, "merges": merges}}
json.dump(tok, open(sys.argv[1], "w"), ensure_ascii=False)
PY
{ cat "$tiny/sp.json"; printf '\000'; printf "$text"; } > "$corpus/tokenizer/sentencepiece-bpe"
cp "$tiny/tokenizer.json" "$corpus/tokenizer/tiny-bytelevel-no-text"

# ---- chat templates: the real ones, and the feature cases with their contexts ----
for f in "$top"/tests/data/chat_templates/*.jinja "$src/chat_template.jinja"; do
  name=$(basename "$f" .jinja); [ "$name" = chat_template ] && name=tiny-llama
  cp "$f" "$corpus/chat_template/$name"
done
{ cat "$top/tests/data/chat_templates/qwen2.5-instruct.jinja"; printf '\000';
  cat "$top/tests/data/chat_templates/tools.json"; } > "$corpus/chat_template/qwen2.5-tools"
n=$(jq length "$top/tests/data/chat_templates/features.json")
i=0
while [ "$i" -lt "$n" ]; do
  { jq -j ".[$i].template" "$top/tests/data/chat_templates/features.json"; printf '\000';
    jq -c ".[$i].context" "$top/tests/data/chat_templates/features.json"; } > "$corpus/chat_template/feature-$i"
  i=$((i + 1))
done

# ---- calibration texts ----
head -c 3000 "$src/calib.txt" > "$corpus/calib/calib-head"
printf 'x' > "$corpus/calib/one-byte"
: > "$corpus/calib/empty"
printf 'caf\351 \377\376 na\303\257ve \342\202 end\n' > "$corpus/calib/bad-utf8"
printf '<|endoftext|><|im_start|> special tokens as text <|im_end|>\n' > "$corpus/calib/specials"
du -sh "$corpus"
