#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer harnesses (tests/fuzz/fuzz_*.c) into OUT/<target>/.

  /usr/bin/python3 tests/fuzz/make_seeds.py OUT

Seeds come from the tests' own cases: small synthetic models in every architecture
(tools/gen_synthetic_model.py, as tests/*.sh make them) for the GGUF reader, PIL-made
images in each format plus tests/data's for the image decoder, tests/data/tokenizer_corpus.txt
for the tokenizer, YUYV/MJPEG frames of the sizes tests/selftest uses for the camera, and
tests/data/app_script.txt for the script parser. Nothing here is committed: it is made at run time.
"""
import io
import json
import os
import struct
import subprocess
import sys

from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
out = sys.argv[1]


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- gguf: the smallest models every architecture accepts, text and mmproj
tiny = ["--preset", "tiny", "--layers", "1", "--experts", "2", "--top-k", "1", "--embd", "8", "--heads", "1",
        "--kv-heads", "1", "--head-dim", "8", "--ff-exp", "8", "--ff", "8", "--ctx", "64", "--rope-sections", "1,1,1,1",
        "--vocab-merges", "4", "--vision-depth", "1", "--vision-width", "8", "--vision-heads", "1", "--vision-ff", "8",
        "--vision-patch", "2", "--vision-pos-side", "2", "--deepstack", "0"]
tmp = os.path.join(out, "_models")
os.makedirs(tmp, exist_ok=True)
for arch, extra in (("qwen3vlmoe", []), ("qwen3vl", []), ("qwen3moe", []), ("qwen3", ["--tie-embeddings"]),
                    ("qwen3vlmoe", ["--dtype", "q8_0", "--embd", "32", "--ff-exp", "32", "--vision-width", "32",
                                    "--vision-ff", "32", "--head-dim", "32"]),
                    ("qwen3vlmoe", ["--dtype", "f16"])):
    prefix = os.path.join(tmp, arch + "-" + "-".join(e.strip("-") for e in extra) + "-")
    subprocess.run(["/usr/bin/python3", os.path.join(root, "tools", "gen_synthetic_model.py"), "--arch", arch,
                    "--out-prefix", prefix] + tiny + extra, check=True, stdout=subprocess.DEVNULL)
for f in sorted(os.listdir(tmp)):
    put("gguf", f, open(os.path.join(tmp, f), "rb").read())
    os.remove(os.path.join(tmp, f))
os.rmdir(tmp)
# header-only files: no tensors, a few keys of every value type (as tests/test_gguf.c builds them)
def s(x): return struct.pack("<Q", len(x)) + x
kvs = [(b"general.architecture", 8, s(b"qwen3vlmoe")), (b"general.alignment", 4, struct.pack("<I", 32)),
       (b"a.u8", 0, b"\x07"), (b"a.i16", 3, struct.pack("<h", -3)), (b"a.f64", 12, struct.pack("<d", 0.5)),
       (b"a.bool", 7, b"\x01"), (b"a.u64", 10, struct.pack("<Q", 1 << 40)),
       (b"a.arr", 9, struct.pack("<IQ", 8, 2) + s(b"x") + s(b"yz")),
       (b"a.nest", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 5, 2) + struct.pack("<ii", -1, 2))]
for version in (2, 3):
    body = b"GGUF" + struct.pack("<IQQ", version, 0, len(kvs))
    for k, t, v in kvs:
        body += s(k) + struct.pack("<I", t) + v
    put("gguf", "header-v%d.gguf" % version, body)

# ---- image: each format PIL writes, small and odd sizes; the last byte is the harness's knob
def img(mode, size):
    im = Image.new("RGB", size)
    im.putdata([((x * 37) % 256, (y * 59) % 256, ((x + y) * 23) % 256) for y in range(size[1]) for x in range(size[0])])
    return im.convert("L").convert("I").point(lambda v: v * 257).convert("I;16") if mode == "I;16" else im.convert(mode)
cases = [("png", "RGB", (7, 5), {}), ("png", "RGBA", (3, 9), {}), ("png", "P", (16, 4), {}), ("png", "L", (5, 5), {}),
         ("png", "I;16", (4, 3), {}), ("png", "1", (9, 2), {}),
         ("jpeg", "RGB", (21, 11), {"quality": 90}), ("jpeg", "RGB", (33, 17), {"progressive": True}),
         ("jpeg", "L", (8, 8), {}), ("jpeg", "RGB", (16, 16), {"subsampling": 2}),
         ("bmp", "RGB", (5, 3), {}), ("bmp", "P", (6, 2), {}), ("bmp", "L", (3, 3), {}),
         ("gif", "P", (5, 3), {}), ("ppm", "RGB", (4, 4), {}), ("ppm", "L", (5, 2), {}), ("tga", "RGB", (3, 2), {}),
         ("webp", "RGB", (13, 7), {"quality": 80}), ("webp", "RGBA", (6, 5), {"lossless": True}),
         ("jpeg", "CMYK", (9, 6), {}), ("png", "LA", (4, 4), {})]
for i, (fmt, mode, size, kw) in enumerate(cases):
    b = io.BytesIO()
    img(mode, size).save(b, fmt.upper() if fmt != "ppm" else "PPM", **kw)
    put("image", "%02d-%s-%s.%s" % (i, mode.replace(";", ""), "x".join(map(str, size)), fmt), b.getvalue() + bytes([i * 13 % 256]))
# EXIF orientation: JPEG, PNG (eXIf) and WebP (EXIF chunk) each with a rotation; an animated GIF
ex = Image.Exif()
ex[0x0112] = 6
for j, (fmt, kw) in enumerate([("jpeg", {}), ("png", {}), ("webp", {"lossless": True})]):
    b = io.BytesIO()
    img("RGB", (11, 4)).save(b, fmt.upper(), exif=ex.tobytes(), **kw)
    put("image", "exif6-%d.%s" % (j, fmt), b.getvalue() + bytes([j * 29 % 256]))
b = io.BytesIO()
img("P", (6, 4)).save(b, "GIF", save_all=True, append_images=[img("P", (6, 4)).rotate(90)], duration=50, loop=0)
put("image", "animated.gif", b.getvalue() + b"\x11")
for f in ("flat_21x11.jpg", "pattern_5x3.gif"):
    put("image", f, open(os.path.join(root, "tests", "data", f), "rb").read() + b"\x55")

# ---- request: bodies of POST /v1/chat/completions (app/server/srv_request.c)
import base64, json
png1 = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8ffff3f0005fe02fea7d6a4470000000049454e44ae426082")).decode()
reqs = [
    {"messages": [{"role": "user", "content": "hi"}]},
    {"model": "m", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
      {"role": "assistant", "content": "hello"}, {"role": "user", "content": "more"}], "max_tokens": 5, "temperature": 0.5,
     "top_p": 0.9, "seed": 3, "stop": ["\n", "x"], "stream": True, "stream_options": {"include_usage": True}},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + png1}},
      {"type": "text", "text": "what?"}]}], "return_routed_experts": True},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "data:image/jpeg;base64,/9j/4A=="}]}],
     "moevk": {"routing": True}, "chat_template_kwargs": {"enable_thinking": False}, "n": 1, "stop": "END"},
]
for i, r in enumerate(reqs):
    put("request", "req-%d.json" % i, json.dumps(r).encode())
put("request", "broken.json", b'{"messages": [{"role": "user", "content": "hi"')

# ---- tokenizer: the tests' corpus, with special parsing off (0) and on (1)
n = 0
for line in open(os.path.join(root, "tests", "data", "tokenizer_corpus.txt"), encoding="utf-8"):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    text = json.loads(line).encode("utf-8")
    put("tokenizer", "c%03d" % n, bytes([n % 2]) + text)
    n += 1
for i, t in enumerate(["<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe.<|im_end|>\n",
                       "<|endoftext|><|im_end|>", "<|im_start<|im_end|>|>", "\xff\xfe broken \xc3"]):
    put("tokenizer", "s%d" % i, b"\x01" + t.encode("utf-8", "surrogateescape") if isinstance(t, str) else t)

# ---- camera: header (fmt, w, h, stride as u16) + frame
def cam(fmt, w, h, stride, frame):
    return struct.pack("<BHHH", fmt, w, h, stride) + frame
for w, h, pad in ((2, 2, 0), (3, 2, 4), (16, 8, 0), (17, 3, 2), (64, 4, 8)):
    stride = ((w + 1) // 2) * 4 + pad
    frame = bytes((16 + (i * 7) % 220) if i % 2 == 0 else (128 + (i * 3) % 100) for i in range(stride * h))
    put("camera", "yuyv-%dx%d-s%d" % (w, h, stride), cam(0, w, h, stride, frame))
for w, h in ((8, 8), (21, 11), (32, 16)):
    b = io.BytesIO()
    img("RGB", (w, h)).save(b, "JPEG", quality=80)
    put("camera", "mjpeg-%dx%d" % (w, h), cam(1, w, h, 0, b.getvalue()))

# ---- script: the app test's script and single commands of every kind
put("script", "app_script.txt", open(os.path.join(root, "tests", "data", "app_script.txt"), "rb").read())
cmds = ["load ${IMG}", "camera test:", "wait model 5", "wait caption 1.5", "wait banner some text here",
        "wait frames 3", "view image", "mode average", "help on", "hover caption 2", "hover cell 0 1", "hover none",
        "click both", "drop /tmp/x.gguf", "resize 800 600", "key space", "screenshot a/b.png",
        "expect caption-nonempty", "expect banner camera", "ask what colour is it?", "wait answer 30",
        "expect answer-nonempty", "overlay on", "layer 1", "hover region 3", "sleep 10", "quit"]
for i, c in enumerate(cmds):
    put("script", "cmd%02d" % i, (c + "  # comment\n").encode())
put("script", "mixed", ("\t \n# only a comment\n" + "\r\n".join(cmds) + "\n${MOEVK_FUZZ_X}\n${\n${}x\n").encode())
