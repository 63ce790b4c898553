"""Byte-level BPE in the Qwen2 / GPT-2 form that llama.cpp's `gpt2` tokenizer with pre=`qwen2` runs.

 * pre-tokenisation: the Qwen2 regex (spec §5.4). Python's `re` has no \\p{L}/\\p{N}; we use
   [^\\W\\d_] for letters and \\d for numbers, identical on the ASCII captions we train on.
 * bytes -> GPT-2 bytes_to_unicode characters; merges learned on pre-tokenised words (so
   merge-rank BPE over those words reproduces the vocabulary), ids: 0..255 byte tokens
   (id == byte value), then one token per merge in rank order, then the Qwen special tokens.
 * encode() = llama.cpp's algorithm: split at special tokens, pre-tokenise, repeatedly merge
   the adjacent pair with the lowest rank (leftmost on ties).
"""
import json
import re
from collections import Counter, defaultdict

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>"]

_L = r"[^\W\d_]"
_NOT_LN_CRLF = r"(?:[^\r\n\w]|_)"
_NOT_SLN = r"(?:[^\s\w]|_)"
QWEN2_RE = re.compile(
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    r"|" + _NOT_LN_CRLF + r"?" + _L + r"+"
    r"|\d"
    r"| ?" + _NOT_SLN + r"+[\r\n]*"
    r"|\s*[\r\n]+"
    r"|\s+(?!\S)"
    r"|\s+")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def pretokenize(text):
    return QWEN2_RE.findall(text)


def to_symbols(word):
    return [B2U[b] for b in word.encode("utf-8")]


def train(texts, n_merges):
    counts = Counter()
    for t in texts:
        for w in pretokenize(t):
            counts[w] += 1
    words = [to_symbols(w) for w in counts]
    freq = [counts[w] for w in counts]
    pairs = Counter()
    where = defaultdict(set)
    for i, s in enumerate(words):
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += freq[i]
            where[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], [-ord(c) for c in kv[0][0] + " " + kv[0][1]]))
        (a, b), c = best
        if c < 2:
            break
        merges.append((a, b))
        ab = a + b
        for i in list(where[(a, b)]):
            s = words[i]
            for x, y in zip(s, s[1:]):
                pairs[(x, y)] -= freq[i]
                if pairs[(x, y)] <= 0:
                    del pairs[(x, y)]
                where[(x, y)].discard(i)
            ns, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    ns.append(ab); j += 2
                else:
                    ns.append(s[j]); j += 1
            words[i] = ns
            for x, y in zip(ns, ns[1:]):
                pairs[(x, y)] += freq[i]
                where[(x, y)].add(i)
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.rank = {m: i for i, m in enumerate(self.merges)}
        self.tokens = [B2U[b] for b in range(256)] + [a + b for a, b in self.merges] + SPECIALS
        self.types = [1] * (256 + len(self.merges)) + [3] * len(SPECIALS)
        self.id = {}
        for i, t in enumerate(self.tokens):
            self.id.setdefault(t, i)
        self.special = {s: self.id[s] for s in SPECIALS}
        self._cache = {}

    @property
    def n_vocab(self):
        return len(self.tokens)

    def bpe(self, word):
        if word in self._cache:
            return self._cache[word]
        s = to_symbols(word)
        while len(s) > 1:
            best, bi = None, -1
            for i in range(len(s) - 1):
                r = self.rank.get((s[i], s[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            s = s[:bi] + [s[bi] + s[bi + 1]] + s[bi + 2:]
        ids = [self.id[x] for x in s]
        self._cache[word] = ids
        return ids

    def encode(self, text, special=True):
        out = []
        parts = re.split("(" + "|".join(re.escape(s) for s in SPECIALS) + ")", text) if special else [text]
        for p in parts:
            if not p:
                continue
            if special and p in self.special:
                out.append(self.special[p])
                continue
            for w in pretokenize(p):
                out.extend(self.bpe(w))
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] == 3:
                bs.extend(t.encode())
            else:
                bs.extend(U2B[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    def save(self, path):
        json.dump({"merges": [a + " " + b for a, b in self.merges]}, open(path, "w"))

    @classmethod
    def load(cls, path):
        return cls([m.split(" ") for m in json.load(open(path))["merges"]])
