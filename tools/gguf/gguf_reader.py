"""Minimal GGUF v3 reader for checks (pure Python + numpy).

    r = GGUFReader("model.gguf")
    r.kv["qwen3vlmoe.block_count"]      -> value (arrays as python lists)
    r.kv_types["..."]                   -> type name ('u32', 'array[i32]', ...)
    r.tensors["token_embd.weight"]      -> dict(ne=[...], type='f32', offset=..)
    r.tensor_array("token_embd.weight") -> float32 numpy array, row-major shape (ne reversed)

Command line: python3 gguf_reader.py FILE.gguf   (dumps keys and tensors)
"""

import struct
import sys

import numpy as np

_VT_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
             "array", "u64", "i64", "f64"]
_SCALAR_FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
               7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_GGML_TYPE_NAMES = {0: "f32", 1: "f16", 8: "q8_0", 30: "bf16"}
# (block elements, block bytes)
# ggml type id -> (elements per block, bytes per block): F32, F16, the legacy and k-quants, IQ4_NL/XS, BF16
_GGML_BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
               10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
               20: (32, 18), 23: (256, 136), 30: (1, 2)}


class GGUFReader:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        self.pos = 0
        magic = self.buf[:4]
        if magic != b"GGUF":
            raise ValueError("%s: bad magic %r" % (path, magic))
        self.pos = 4
        self.version, n_tensors, n_kv = self._unpack("<IQQ")
        if self.version != 3:
            raise ValueError("%s: GGUF version %d, expected 3" % (path, self.version))
        self.kv = {}
        self.kv_types = {}
        self.kv_spans = {}  # key -> (start, end) byte offsets of its whole record (key, type, value)
        for _ in range(n_kv):
            start = self.pos
            key = self._string()
            (vt,) = self._unpack("<I")
            val, tname = self._value(vt)
            self.kv[key] = val
            self.kv_types[key] = tname
            self.kv_spans[key] = (start, self.pos)
        self.infos_start = self.pos  # the tensor-info section follows the key/value section
        self.alignment = int(self.kv.get("general.alignment", 32))
        self.tensors = {}
        self.tensor_order = []
        for _ in range(n_tensors):
            name = self._string()
            (nd,) = self._unpack("<I")
            ne = list(self._unpack("<%dQ" % nd))
            ttype, off = self._unpack("<IQ")
            self.tensors[name] = {"ne": ne, "type_id": ttype,
                                  "type": _GGML_TYPE_NAMES.get(ttype, "type%d" % ttype),
                                  "offset": off}
            self.tensor_order.append(name)
        self.infos_end = self.pos
        self.data_start = self.pos + ((-self.pos) % self.alignment)

    def _unpack(self, fmt):
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals

    def _string(self):
        (n,) = self._unpack("<Q")
        s = self.buf[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8")

    def _value(self, vt):
        if vt == 8:
            return self._string(), "string"
        if vt == 9:
            et, n = self._unpack("<IQ")
            if et in _SCALAR_FMT:
                fmt = _SCALAR_FMT[et]
                vals = list(self._unpack("<%d%s" % (n, fmt[1])))
                return vals, "array[%s]" % _VT_NAMES[et]
            vals = []
            sub = None
            for _ in range(n):
                v, sub = self._value(et)
                vals.append(v)
            return vals, "array[%s]" % (sub if et == 9 and sub else _VT_NAMES[et])
        if vt in _SCALAR_FMT:
            (v,) = self._unpack(_SCALAR_FMT[vt])
            return v, _VT_NAMES[vt]
        raise ValueError("unknown GGUF value type %d at offset %d" % (vt, self.pos))

    def tensor_nbytes(self, name):
        t = self.tensors[name]
        n = int(np.prod(t["ne"]))
        be, bb = _GGML_BLOCK[t["type_id"]]
        return n // be * bb

    def tensor_raw(self, name):
        t = self.tensors[name]
        start = self.data_start + t["offset"]
        return self.buf[start:start + self.tensor_nbytes(name)]

    def tensor_array(self, name):
        """Dequantised float32 array in row-major shape (reversed ne)."""
        t = self.tensors[name]
        raw = self.tensor_raw(name)
        shape = tuple(reversed(t["ne"]))
        tid = t["type_id"]
        if tid == 0:
            a = np.frombuffer(raw, dtype="<f4")
        elif tid == 1:
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif tid == 30:
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif tid == 8:
            blk = np.frombuffer(raw, dtype=[("d", "<f2"), ("qs", "i1", (32,))])
            a = (blk["d"].astype(np.float32)[:, None] * blk["qs"].astype(np.float32)).reshape(-1)
        else:
            raise ValueError("tensor %s: unsupported type %d" % (name, tid))
        return a.reshape(shape)


def _short(v):
    if isinstance(v, list):
        if len(v) > 6:
            return "[%d items: %s ...]" % (len(v), ", ".join(repr(x) for x in v[:4]))
        return repr(v)
    if isinstance(v, str) and len(v) > 80:
        return repr(v[:77] + "...")
    return repr(v)


def main(argv):
    if len(argv) != 2:
        print("usage: gguf_reader.py FILE.gguf", file=sys.stderr)
        return 2
    r = GGUFReader(argv[1])
    print("version %d, %d kv, %d tensors, alignment %d, data at %d"
          % (r.version, len(r.kv), len(r.tensors), r.alignment, r.data_start))
    for k, v in r.kv.items():
        print("  %-48s %-14s %s" % (k, r.kv_types[k], _short(v)))
    for name in r.tensor_order:
        t = r.tensors[name]
        print("  %-40s %-6s ne=%s off=%d" % (name, t["type"], t["ne"], t["offset"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
