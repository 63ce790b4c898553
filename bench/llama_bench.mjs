#!/usr/bin/env node
// llama.cpp throughput benchmark (through npm node-llama-cpp, pinned in bench/node/package.json).
//
//   node bench/llama_bench.mjs --model TEXT.gguf [--gpu false|vulkan|both] [--prompt P] [--decode N]
//        [--runs R] [--threads T] [--kv f16|f32] [--tokens FILE.i32] [--flash]
//
// Per run (after one untimed warm-up run), on a cleared sequence:
//   prefill: evaluate a P-token prompt in one batch (evaluateWithoutGeneratingNewTokens) -> P / seconds
//   decode:  generate N tokens greedily, one llama_decode per token (LlamaContextSequence.evaluate
//            iterator, temperature 0)                                             -> N / seconds
// Prints one JSON object (or, with --gpu both, an array of two: CPU build then Vulkan build) with the
// median over R runs (default 5) and every sample. The prompt is the first P ids of --tokens, or a fixed
// pseudo-random sequence of NORMAL-type token ids. Decode timing includes node-llama-cpp's per-token
// JS <-> native round trip and greedy sampling (small next to a llama_decode, but not zero).
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import {ensureEnv, importLlamaCpp, kvType, loadLlama, NODE_DIR, parseArgs, readI32} from "./node/common.mjs";

const USAGE = "usage: node llama_bench.mjs --model TEXT.gguf [--gpu false|vulkan|both] [--prompt P] [--decode N] " +
    "[--runs R] [--threads T] [--kv f16|f32] [--tokens FILE.i32] [--flash]";

let args;
try {
    args = parseArgs(process.argv.slice(2), {
        model: "", gpu: "both", prompt: "512", decode: "128", runs: "5", threads: "2", kv: "f16", tokens: "",
        flash: false, help: false,
    });
} catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
}
if (args.help || !args.model) {
    console.error(USAGE);
    process.exit(args.help ? 0 : 2);
}

if (args.gpu === "both") {
    // one process per build: each loads its own native binding with its own environment
    const results = [];
    for (const gpu of ["false", "vulkan"]) {
        const argv = process.argv.slice(1).map((a, i, all) => (all[i - 1] === "--gpu" ? gpu : a));
        if (!argv.includes("--gpu"))
            argv.push("--gpu", gpu);
        const r = spawnSync(process.execPath, argv, {encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
            env: {...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "1"}});
        if (r.status !== 0) {
            console.error(`llama_bench: --gpu ${gpu} run failed (exit ${r.status})`);
            process.exit(1);
        }
        results.push(JSON.parse(r.stdout));
    }
    console.log(JSON.stringify(results, null, 2));
    process.exit(0);
}
if (args.gpu !== "false" && args.gpu !== "vulkan") {
    console.error(`--gpu must be false, vulkan or both\n${USAGE}`);
    process.exit(2);
}
ensureEnv(args.gpu === "vulkan" ? {GGML_VK_VISIBLE_DEVICES: "0"} : {});

const P = parseInt(args.prompt, 10), N = parseInt(args.decode, 10), R = parseInt(args.runs, 10);
const threads = parseInt(args.threads, 10);
if (!(P > 0 && N > 0 && R > 0 && threads >= 0)) {
    console.error(`--prompt, --decode and --runs must be > 0, --threads >= 0\n${USAGE}`);
    process.exit(2);
}
const kv = kvType(args.kv);

const nlc = await importLlamaCpp();
const tLoad0 = performance.now();
const llama = await loadLlama(nlc, args.gpu);
const model = await llama.loadModel({modelPath: args.model, gpuLayers: args.gpu === "vulkan" ? "max" : 0});
const loadS = (performance.now() - tLoad0) / 1e3;

const md = model.fileInfo.metadata;
const tokTypes = md?.tokenizer?.ggml?.token_type ?? [];
const normal = [];
tokTypes.forEach((t, i) => { if (t === 1) normal.push(i); });
let prompt;
if (args.tokens) {
    prompt = readI32(args.tokens).slice(0, P);
    if (prompt.length < P) {
        console.error(`${args.tokens} has only ${prompt.length} tokens, need ${P}`);
        process.exit(2);
    }
} else {
    if (normal.length === 0) {
        console.error("model has no NORMAL tokens to build a prompt from");
        process.exit(1);
    }
    let s = 12345;
    prompt = [];
    for (let i = 0; i < P; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        prompt.push(normal[(s >>> 8) % normal.length]);
    }
}

const context = await model.createContext({
    contextSize: Math.ceil((P + N + 2) / 256) * 256,
    batchSize: P,
    sequences: 1,
    flashAttention: args.flash,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
    threads: threads > 0 ? {ideal: threads, min: threads} : 0,
});
const seq = context.getSequence();

async function oneRun() {
    await seq.clearHistory();
    const t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    const t1 = performance.now();
    // decode: the first next() evaluates `first` and samples; each later next() evaluates the previous
    // sampled token, so N next() calls = N single-token llama_decode calls.
    // The iterator ends when the model emits an end-of-generation token; then a fresh iterator is
    // started from an ordinary token, so every counted step is still one single-token llama_decode.
    const first = normal.length ? normal[0] : prompt[0];
    let it = seq.evaluate([first], {temperature: 0});
    let produced = 0, restarts = 0;
    const t2 = performance.now();
    while (produced < N) {
        const r = await it.next();
        if (r.done) {
            if (++restarts > N)
                throw new Error("decode keeps ending immediately");
            it = seq.evaluate([first], {temperature: 0});
            continue;
        }
        produced++;
    }
    const t3 = performance.now();
    await it.return();
    return {prefill: P / ((t1 - t0) / 1e3), decode: N / ((t3 - t2) / 1e3)};
}

const median = (a) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x) => Math.round(x * 100) / 100;

await oneRun(); // warm-up (graph allocation, Vulkan pipeline compilation)
const pre = [], dec = [];
for (let r = 0; r < R; r++) {
    const x = await oneRun();
    pre.push(x.prefill);
    dec.push(x.decode);
}

const pkg = JSON.parse(fs.readFileSync(`${NODE_DIR}/node_modules/node-llama-cpp/package.json`, "utf8"));
console.log(JSON.stringify({
    model: args.model,
    model_bytes: fs.statSync(args.model).size,
    build: args.gpu === "vulkan" ? "vulkan" : "cpu",
    gpu_device: args.gpu === "vulkan" ? (await llama.getGpuDeviceNames()).join(", ") : null,
    node_llama_cpp: pkg.version,
    threads, kv: kv.toLowerCase(), flash_attention: args.flash,
    prompt_tokens: P, decode_tokens: N, runs: R,
    load_s: round(loadS),
    prefill_tok_s: round(median(pre)),
    decode_tok_s: round(median(dec)),
    prefill_samples: pre.map(round),
    decode_samples: dec.map(round),
}, null, 2));
await context.dispose();
await model.dispose();
await llama.dispose();
