"""Minimal pure-Python GGUF v3 writer (little-endian), numpy only.

Written from the GGUF file-format description (header, key/value section,
tensor-info section, aligned tensor data); it does not use llama.cpp's gguf-py.

Usage:
    w = GGUFWriter("out.gguf", "qwen3vlmoe")
    w.add_u32("qwen3vlmoe.block_count", 3)
    w.add_array("qwen3vlmoe.rope.dimension_sections", [3, 3, 2, 0], "i32")
    w.add_tensor("token_embd.weight", np.zeros((302, 64), np.float32), "f32")
    w.write()

Tensors are given in PyTorch / row-major shape (..., ne0) and stored with the
dimensions reversed (ggml "ne" order: fastest-varying first), same bytes.
"""

import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
GGUF_DEFAULT_ALIGNMENT = 32

# GGUF metadata value types
VT_U8, VT_I8, VT_U16, VT_I16, VT_U32, VT_I32, VT_F32, VT_BOOL, VT_STRING, \
    VT_ARRAY, VT_U64, VT_I64, VT_F64 = range(13)

VALUE_TYPES = {
    "u8": VT_U8, "i8": VT_I8, "u16": VT_U16, "i16": VT_I16,
    "u32": VT_U32, "i32": VT_I32, "f32": VT_F32, "bool": VT_BOOL,
    "string": VT_STRING, "array": VT_ARRAY, "u64": VT_U64, "i64": VT_I64,
    "f64": VT_F64,
}

# struct format for the fixed-size scalar value types
SCALAR_FMT = {
    VT_U8: "<B", VT_I8: "<b", VT_U16: "<H", VT_I16: "<h", VT_U32: "<I",
    VT_I32: "<i", VT_F32: "<f", VT_BOOL: "<?", VT_U64: "<Q", VT_I64: "<q",
    VT_F64: "<d",
}

# ggml tensor element types used here
GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_TYPE_Q8_0 = 8
GGML_TYPE_BF16 = 30

TENSOR_TYPES = {
    "f32": GGML_TYPE_F32, "f16": GGML_TYPE_F16, "q8_0": GGML_TYPE_Q8_0,
    "bf16": GGML_TYPE_BF16,
}

QK8_0 = 32  # elements per q8_0 block; block = f16 scale + 32 x int8 = 34 bytes


def _pack_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _pack_value(vtype, value):
    if vtype == VT_STRING:
        return _pack_string(value)
    if vtype == VT_ARRAY:
        elem_type, values = value
        return _pack_array(elem_type, values)
    fmt = SCALAR_FMT[vtype]
    if vtype == VT_BOOL:
        value = bool(value)
    return struct.pack(fmt, value)


def _pack_array(elem_type, values):
    et = VALUE_TYPES[elem_type] if isinstance(elem_type, str) else elem_type
    values = list(values)
    out = [struct.pack("<IQ", et, len(values))]
    if et in SCALAR_FMT and et != VT_BOOL:
        fmt = SCALAR_FMT[et]
        out.append(struct.pack("<%d%s" % (len(values), fmt[1]), *values))
    else:
        for v in values:
            if et == VT_ARRAY:
                out.append(_pack_array(v[0], v[1]))
            else:
                out.append(_pack_value(et, v))
    return b"".join(out)


def f32_to_bf16_bits(a):
    """float32 -> bf16 bit patterns (uint16), round-to-nearest-even, NaN kept quiet."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    rounded = (u + (0x7FFF + ((u >> 16) & 1))) >> 16
    quiet = (u >> 16) | 64
    return np.where(nan, quiet, rounded).astype(np.uint16)


def _round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def quantize_q8_0(a):
    """float32 array (..., ne0) with ne0 % 32 == 0 -> bytes in GGUF q8_0 block layout.

    Per block of 32: d = amax / 127 (stored f16), q = round(x / d) as int8
    (computed as x * (1/d) in float32, rounded half away from zero).
    """
    x = np.ascontiguousarray(a, dtype=np.float32).reshape(-1, QK8_0)
    amax = np.max(np.abs(x), axis=1)
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = _round_half_away(x * inv[:, None]).astype(np.int8)
    blocks = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q
    return blocks.tobytes()


def tensor_bytes(array, dtype):
    a = np.asarray(array)
    if dtype == "f32":
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "f16":
        return np.ascontiguousarray(a.astype(np.float32), dtype="<f2").tobytes()
    if dtype == "bf16":
        return f32_to_bf16_bits(a).astype("<u2").tobytes()
    if dtype == "q8_0":
        if a.shape[-1] % QK8_0 != 0:
            raise ValueError("q8_0 needs ne0 %% 32 == 0, got ne0=%d" % a.shape[-1])
        return quantize_q8_0(a)
    raise ValueError("unsupported tensor dtype %r" % (dtype,))


class GGUFWriter:
    def __init__(self, path, arch, alignment=GGUF_DEFAULT_ALIGNMENT):
        if alignment <= 0 or alignment % 8 != 0:
            raise ValueError("alignment must be a positive multiple of 8")
        self.path = path
        self.arch = arch
        self.alignment = alignment
        self._kv = []          # (key, vtype, value)
        self._keys = set()
        self._tensors = []     # (name, ne list, ggml type, bytes)
        self._names = set()
        self.add_string("general.architecture", arch)
        if alignment != GGUF_DEFAULT_ALIGNMENT:
            self.add_u32("general.alignment", alignment)

    # ---- key/value ----
    def _add(self, key, vtype, value):
        if key in self._keys:
            raise ValueError("duplicate key %r" % key)
        self._keys.add(key)
        self._kv.append((key, vtype, value))

    def add_u8(self, key, v): self._add(key, VT_U8, int(v))
    def add_i8(self, key, v): self._add(key, VT_I8, int(v))
    def add_u16(self, key, v): self._add(key, VT_U16, int(v))
    def add_i16(self, key, v): self._add(key, VT_I16, int(v))
    def add_u32(self, key, v): self._add(key, VT_U32, int(v))
    def add_i32(self, key, v): self._add(key, VT_I32, int(v))
    def add_u64(self, key, v): self._add(key, VT_U64, int(v))
    def add_i64(self, key, v): self._add(key, VT_I64, int(v))
    def add_f32(self, key, v): self._add(key, VT_F32, float(v))
    def add_f64(self, key, v): self._add(key, VT_F64, float(v))
    def add_bool(self, key, v): self._add(key, VT_BOOL, bool(v))
    def add_string(self, key, s): self._add(key, VT_STRING, s)

    def add_array(self, key, values, elem_type):
        """elem_type: one of VALUE_TYPES names; for nested arrays use
        elem_type='array' and values = list of (elem_type, values)."""
        if elem_type not in VALUE_TYPES:
            raise ValueError("unknown array element type %r" % (elem_type,))
        if elem_type in ("u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"):
            values = [int(v) for v in values]
        elif elem_type in ("f32", "f64"):
            values = [float(v) for v in values]
        self._add(key, VT_ARRAY, (elem_type, list(values)))

    # ---- tensors ----
    def add_tensor(self, name, array, dtype):
        if name in self._names:
            raise ValueError("duplicate tensor %r" % name)
        if dtype not in TENSOR_TYPES:
            raise ValueError("unsupported tensor dtype %r" % (dtype,))
        a = np.asarray(array)
        if a.ndim < 1 or a.ndim > 4:
            raise ValueError("tensor %r: ndim must be 1..4, got %d" % (name, a.ndim))
        ne = list(reversed(a.shape))
        data = tensor_bytes(a, dtype)
        self._names.add(name)
        self._tensors.append((name, ne, TENSOR_TYPES[dtype], data))

    # ---- output ----
    def _pad(self, n):
        return (-n) % self.alignment

    def write(self):
        head = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self._tensors), len(self._kv))]
        for key, vtype, value in self._kv:
            head.append(_pack_string(key))
            head.append(struct.pack("<I", vtype))
            head.append(_pack_value(vtype, value))
        offset = 0
        offsets = []
        for name, ne, ttype, data in self._tensors:
            offsets.append(offset)
            head.append(_pack_string(name))
            head.append(struct.pack("<I", len(ne)))
            head.append(struct.pack("<%dQ" % len(ne), *ne))
            head.append(struct.pack("<IQ", ttype, offset))
            offset += len(data) + self._pad(len(data))
        header = b"".join(head)
        with open(self.path, "wb") as f:
            f.write(header)
            f.write(b"\0" * self._pad(len(header)))
            for (name, ne, ttype, data), off in zip(self._tensors, offsets):
                f.write(data)
                f.write(b"\0" * self._pad(len(data)))
        return self.path
