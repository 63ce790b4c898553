"""Minimal GGUF v3 reader (metadata + F32/F16/BF16/Q8_0 tensors -> numpy), used by the
PyTorch reference to run the golden models and to re-read our exported files.
Tensors come back as numpy arrays in row-major shape = reversed ggml ne."""
import struct
import numpy as np

_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class _R:
    def __init__(self, buf):
        self.b, self.o = buf, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.b[self.o:self.o + n].decode("utf-8")
        self.o += n
        return s

    def value(self, t):
        if t in _SCALAR:
            return self.take(_SCALAR[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            return [self.value(et) for _ in range(n)]
        raise ValueError("bad gguf value type %d" % t)


def read_gguf(path):
    """Returns (kv: dict, tensors: dict name -> np.ndarray (float32 unless F16 kept), types: dict name->ggml type)."""
    buf = open(path, "rb").read()
    r = _R(buf)
    if buf[:4] != b"GGUF":
        raise ValueError("not a GGUF file: " + path)
    r.o = 4
    ver = r.take("<I")
    if ver != 3:
        raise ValueError("GGUF version %d" % ver)
    n_t, n_kv = r.take("<Q"), r.take("<Q")
    kv = {}
    for _ in range(n_kv):
        k = r.string()
        kv[k] = r.value(r.take("<I"))
    infos = []
    for _ in range(n_t):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        t = r.take("<I")
        off = r.take("<Q")
        infos.append((name, ne, t, off))
    align = kv.get("general.alignment", 32)
    base = (r.o + align - 1) // align * align
    tensors, types = {}, {}
    for name, ne, t, off in infos:
        n = int(np.prod(ne))
        shape = tuple(reversed(ne))
        p = base + off
        if t == 0:
            a = np.frombuffer(buf, "<f4", n, p).astype(np.float32)
        elif t == 1:
            a = np.frombuffer(buf, "<f2", n, p).astype(np.float32)
        elif t == 30:
            u = np.frombuffer(buf, "<u2", n, p).astype(np.uint32) << 16
            a = u.view(np.float32)
        elif t == 8:
            nb = n // 32
            raw = np.frombuffer(buf, np.uint8, nb * 34, p).reshape(nb, 34)
            d = raw[:, :2].copy().view("<f2").astype(np.float32)
            q = raw[:, 2:].view(np.int8).astype(np.float32)
            a = (q * d).reshape(-1)
        else:
            raise ValueError("unsupported ggml type %d for %s" % (t, name))
        tensors[name] = a.reshape(shape)
        types[name] = t
    return kv, tensors, types
