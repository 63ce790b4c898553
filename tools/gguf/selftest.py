#!/usr/bin/python3
"""Self-test of gguf_writer.py / gguf_reader.py.

1. Every golden GGUF (goldens/qwen3vlmoe-tiny-a, written by an independent writer) is read and re-written
   with GGUFWriter: the bytes must be identical.
2. A file with every metadata type (scalars, arrays of each type, nested arrays), a non-default alignment
   and every tensor type (f32, f16, bf16, q8_0) is written and read back; values, types, ne order,
   offsets/alignment and dequantisation error bounds are checked.

  /usr/bin/python3 tools/gguf/selftest.py [GOLDENS_DIR/qwen3vlmoe-tiny-a]
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
GOLD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "goldens", "qwen3vlmoe-tiny-a")
TMP = tempfile.mkdtemp(prefix="gguf-selftest-")
if not os.path.isdir(GOLD):
    print("note: goldens not found at %s; byte-identity check not run" % GOLD)
from gguf.gguf_writer import GGUFWriter
from gguf.gguf_reader import GGUFReader
# 1) rewrite goldens byte-for-byte
for fn in (['text.gguf', 'mmproj.gguf'] if os.path.isdir(GOLD) else []):
    src = os.path.join(GOLD, fn)
    r = GGUFReader(src)
    w = GGUFWriter(os.path.join(TMP, 're_' + fn), r.kv['general.architecture'])
    for k, v in r.kv.items():
        if k == 'general.architecture': continue
        t = r.kv_types[k]
        if t.startswith('array['):
            w.add_array(k, v, t[6:-1])
        else:
            getattr(w, 'add_' + t)(k, v)
    for n in r.tensor_order:
        w.add_tensor(n, r.tensor_array(n), r.tensors[n]['type'])
    w.write()
    a = open(src, 'rb').read(); b = open(os.path.join(TMP, 're_' + fn), 'rb').read()
    print(fn, 'identical bytes:', a == b, len(a), len(b))
    assert a == b, fn
# 2) every type
rng = np.random.default_rng(0)
w = GGUFWriter(os.path.join(TMP, 'all.gguf'), 'test', alignment=64)
scal = dict(u8=200, i8=-5, u16=60000, i16=-30000, u32=4000000000, i32=-2000000000, u64=2**63+5, i64=-2**62, f32=1.5, f64=1e-300, bool=True)
for t, v in scal.items(): getattr(w, 'add_' + t)('s.' + t, v)
w.add_string('s.string', 'héllo <|im_end|>')
arrs = dict(u8=[1,2,255], i8=[-1,0,127], u16=[1,65535], i16=[-32768,5], u32=[0,1,2**32-1], i32=[-1,3,2], f32=[0.5,-2.25], bool=[True,False,True], string=['a','Ġb',''], u64=[2**64-1], i64=[-7], f64=[3.25])
for t, v in arrs.items(): w.add_array('a.' + t, v, t)
w.add_array('a.nested', [('i32', [1,2]), ('string', ['x'])], 'array')
x = rng.standard_normal((3, 4, 64)).astype(np.float32)
w.add_tensor('t.f32', x, 'f32'); w.add_tensor('t.f16', x, 'f16'); w.add_tensor('t.bf16', x, 'bf16'); w.add_tensor('t.q8_0', x, 'q8_0')
w.add_tensor('t.1d', np.arange(7, dtype=np.float32), 'f32')
w.add_tensor('t.zero_q8', np.zeros((2, 32), np.float32), 'q8_0')
w.write()
r = GGUFReader(os.path.join(TMP, 'all.gguf'))
assert r.alignment == 64 and r.data_start % 64 == 0
for t, v in scal.items():
    got = r.kv['s.' + t]
    assert r.kv_types['s.' + t] == t, (t, r.kv_types['s.' + t])
    assert got == v or abs(got - v) < 1e-7 * abs(v), (t, got, v)
assert r.kv['s.string'] == 'héllo <|im_end|>'
for t, v in arrs.items():
    assert r.kv_types['a.' + t] == 'array[%s]' % t
    assert r.kv['a.' + t] == v, (t, r.kv['a.' + t], v)
assert r.kv['a.nested'] == [[1,2],['x']], r.kv['a.nested']
for n, tol in [('t.f32', 0), ('t.f16', 2e-3), ('t.bf16', 1.6e-2), ('t.q8_0', None)]:
    a = r.tensor_array(n)
    assert r.tensors[n]['ne'] == [64, 4, 3]
    assert r.tensors[n]['offset'] % 64 == 0
    err = np.max(np.abs(a - x) / np.maximum(1, np.abs(x)))
    print(n, r.tensors[n]['type'], 'max rel err', err)
    if tol is not None: assert err <= tol, n
# q8_0 error bounded by d/2 per block
q = r.tensor_array('t.q8_0').reshape(-1, 32); xb = x.reshape(-1, 32)
d = np.abs(xb).max(1) / 127
assert np.all(np.abs(q - xb) <= d[:, None] * 0.5 * 1.01 + 1e-3 * d[:, None])
assert np.array_equal(r.tensor_array('t.1d'), np.arange(7, dtype=np.float32))
assert np.all(r.tensor_array('t.zero_q8') == 0)
# bf16 exact check against reference rounding of a few known values
vals = np.array([1.0, 1.00390625, 1.01171875, -3.0e38, np.inf], np.float32)
from gguf.gguf_writer import f32_to_bf16_bits
assert [int(b) for b in f32_to_bf16_bits(vals)] == [0x3f80, 0x3f80, 0x3f82, 0xff62, 0x7f80]
import shutil
shutil.rmtree(TMP)
print('ALL OK')
