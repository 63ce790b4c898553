#!/usr/bin/python3
"""Sets metadata keys of a GGUF file and leaves everything else byte-identical.

    /usr/bin/python3 tools/gguf/set_keys.py IN.gguf OUT.gguf --u32 moevk.vision.image_min_tokens=16 ...

A key already in the file is rewritten in place (same position in the key/value section); a new key
is appended after the others. Every other key/value record, the tensor-info records and the tensor
data are copied as bytes: tensor offsets are relative to the data section, which starts at the next
multiple of general.alignment after the tensor infos, so growing the header moves nothing inside it.
The result is read back and checked: the same tensors with the same bytes, the same other keys.
IN and OUT may be the same path (written to a temporary file, then renamed).
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gguf.gguf_reader import GGUFReader  # noqa: E402
from gguf.gguf_writer import VALUE_TYPES, _pack_string, _pack_value  # noqa: E402

# option -> (GGUF value type name, parser)
SETTERS = {"u32": ("u32", int), "i32": ("i32", int), "string": ("string", str)}


def record(key, tname, value):
    """One key/value record: key string, u32 value type, value."""
    vt = VALUE_TYPES[tname]
    return _pack_string(key) + struct.pack("<I", vt) + _pack_value(vt, value)


def set_keys(src, dst, new):
    """new: list of (key, type name, value). Returns the bytes written."""
    r = GGUFReader(src)
    buf = r.buf
    if any(k == "general.alignment" for k, _, _ in new):
        raise ValueError("general.alignment cannot be changed by this tool")
    want = {k: (t, v) for k, t, v in new}
    kv = b""
    for key in r.kv:  # file order, untouched records as bytes
        a, b = r.kv_spans[key]
        kv += record(key, *want[key]) if key in want else buf[a:b]
    added = [k for k, _, _ in new if k not in r.kv]
    for key in added:
        kv += record(key, *want[key])
    head = buf[:4] + struct.pack("<IQQ", r.version, len(r.tensors), len(r.kv) + len(added))
    infos = buf[r.infos_start:r.infos_end]
    out = head + kv + infos
    out += b"\0" * ((-len(out)) % r.alignment)
    out += buf[r.data_start:]
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    check(r, GGUFReader(tmp), want)
    os.replace(tmp, dst)
    return out


def check(old, new, want):
    """The rewritten file holds the same tensors (bytes) and keys, plus the wanted ones."""
    if new.tensor_order != old.tensor_order:
        raise AssertionError("tensor order changed")
    for name in old.tensor_order:
        if new.tensors[name] != old.tensors[name] or new.tensor_raw(name) != old.tensor_raw(name):
            raise AssertionError("tensor %s changed" % name)
    if old.buf[old.data_start:] != new.buf[new.data_start:]:
        raise AssertionError("the data section changed")
    for key, val in old.kv.items():
        if key not in want and (new.kv.get(key) != val or new.kv_types[key] != old.kv_types[key]):
            raise AssertionError("key %s changed" % key)
    for key, (tname, val) in want.items():
        if new.kv.get(key) != val or new.kv_types[key] != tname:
            raise AssertionError("key %s reads back as %r" % (key, new.kv.get(key)))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    for opt in SETTERS:
        ap.add_argument("--" + opt, action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    new = []
    for opt, (tname, parse) in SETTERS.items():
        for kv in getattr(a, opt):
            key, sep, val = kv.partition("=")
            if not sep or not key:
                ap.error("--%s wants KEY=VALUE, got %r" % (opt, kv))
            new.append((key, tname, parse(val)))
    if not new:
        ap.error("no key to set")
    set_keys(a.src, a.dst, new)
    for key, tname, val in new:
        print("%s: %s %s = %r" % (a.dst, key, tname, val))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
