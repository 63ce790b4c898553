#!/usr/bin/env node
// llama.cpp reference runner (through npm node-llama-cpp, pinned in bench/node/package.json).
//
//   node bench/llama_ref.mjs --model TEXT.gguf --tokens PROMPT.i32 [--gpu vulkan|false] [--kv f16|f32]
//        --out-logits LOGITS.f32 [--greedy N --out-tokens GREEDY.i32] [--out-greedy-logits GL.f32] [--threads T]
//
// Evaluates the given token ids as-is (no BOS added, no tokenization) in one sequence and writes
//   LOGITS.f32        float32 LE [n_prompt][n_vocab]: raw logits at every prompt position
//   GREEDY.i32        int32 LE [N]: greedy (argmax) continuation
//   GL.f32            float32 LE [N][n_vocab]: the logits that produced each greedy token (row 0 = last prompt pos)
//
//   node bench/llama_ref.mjs --batch JOBS.txt [--gpu ...] [--kv ...] [--threads T]
//
// runs many prompt-logits jobs in one process (one node start and one binding check instead of one per
// model): each non-empty line of JOBS.txt is "MODEL.gguf PROMPT.i32 LOGITS.f32" (no greedy tokens).
//
// API used: LlamaContextSequence.controlledEvaluate(), with every input item given as
// [token, {generateNext: {logits: true}}]; node-llama-cpp then asks llama.cpp for the logits of every
// batch position and returns them (unmodified raw logits, as a Map token -> logit) per input index.
// Greedy decoding takes the argmax of those logits ourselves (ties -> lowest id) and feeds the token back
// with another controlledEvaluate call, so no sampler is involved.
// --threads defaults to 1: on a busy 2-core machine ggml's spin-waiting worker threads made a 58-token
// prompt on the 64-wide golden model take seconds instead of milliseconds (results are the same).
import fs from "node:fs";
import {ensureEnv, importLlamaCpp, kvType, loadLlama, parseArgs, readI32, writeF32, writeI32} from "./node/common.mjs";

const USAGE = "usage: node llama_ref.mjs --model TEXT.gguf --tokens FILE.i32 [--gpu vulkan|false] [--kv f16|f32] " +
    "--out-logits FILE.f32 [--greedy N --out-tokens FILE.i32] [--out-greedy-logits FILE.f32] [--threads T]\n" +
    "   or: node llama_ref.mjs --batch JOBS.txt [--gpu vulkan|false] [--kv f16|f32] [--threads T]";

let args;
try {
    args = parseArgs(process.argv.slice(2), {
        model: "", tokens: "", gpu: "false", kv: "f32", "out-logits": "", greedy: "0", "out-tokens": "",
        "out-greedy-logits": "", threads: "1", batch: "", help: false,
    });
} catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    process.exit(2);
}
if (args.help || (!args.batch && (!args.model || !args.tokens || !args["out-logits"]))) {
    console.error(USAGE);
    process.exit(args.help ? 0 : 2);
}
ensureEnv(args.gpu === "vulkan" ? {GGML_VK_VISIBLE_DEVICES: "0"} : {});

const nGreedy = parseInt(args.greedy, 10);
if (!(nGreedy >= 0) || (nGreedy > 0 && !args["out-tokens"])) {
    console.error(`--greedy N needs N >= 0 and --out-tokens\n${USAGE}`);
    process.exit(2);
}
const kv = kvType(args.kv);
const threads = parseInt(args.threads, 10);
let jobs = [{model: args.model, tokens: args.tokens, out: args["out-logits"]}];
if (args.batch) {
    if (nGreedy > 0) {
        console.error(`--batch takes no --greedy\n${USAGE}`);
        process.exit(2);
    }
    jobs = fs.readFileSync(args.batch, "utf8").split("\n").filter((l) => l.trim()).map((l) => {
        const [model, tokens, out, extra] = l.trim().split(/\s+/);
        if (!out || extra !== undefined) {
            console.error(`${args.batch}: expected "MODEL TOKENS OUT_LOGITS", got "${l}"`);
            process.exit(2);
        }
        return {model, tokens, out};
    });
}

const nlc = await importLlamaCpp();
const llama = await loadLlama(nlc, args.gpu);
for (const job of jobs)
    await runJob(job);
await llama.dispose();

async function runJob(job) {
    const tokens = readI32(job.tokens);
    if (tokens.length === 0) {
        console.error(`${job.tokens}: no tokens`);
        process.exit(2);
    }
    const model = await llama.loadModel({modelPath: job.model, gpuLayers: args.gpu === "vulkan" ? "max" : 0});
    const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
    if (!nVocab) {
        console.error("cannot determine n_vocab from tokenizer.ggml.tokens");
        process.exit(1);
    }
    for (const t of tokens)
        if (t < 0 || t >= nVocab) {
            console.error(`token id ${t} out of range [0, ${nVocab})`);
            process.exit(2);
        }

    const nTotal = tokens.length + nGreedy;
    const ctxSize = Math.max(64, Math.ceil((nTotal + 1) / 64) * 64);
    const context = await model.createContext({
        contextSize: ctxSize,
        batchSize: Math.max(tokens.length, 1),
        sequences: 1,
        flashAttention: false,
        experimentalKvCacheKeyType: kv,
        experimentalKvCacheValueType: kv,
        threads: threads > 0 ? {ideal: threads, min: threads} : 0,
    });
    const seq = context.getSequence();

    function logitsRow(mapLogits, dst, row) {
        if (!mapLogits || mapLogits.size !== nVocab)
            throw new Error(`expected ${nVocab} logits, got ${mapLogits ? mapLogits.size : "none"}`);
        const off = row * nVocab;
        for (const [tok, v] of mapLogits)
            dst[off + tok] = v;
    }

    function argmax(f32, row) {
        const off = row * nVocab;
        let best = 0;
        for (let i = 1; i < nVocab; i++)
            if (f32[off + i] > f32[off + best])
                best = i;
        return best;
    }

    const withLogits = (t) => [t, {generateNext: {logits: true}}];
    const res = await seq.controlledEvaluate(tokens.map(withLogits));
    const logits = new Float32Array(tokens.length * nVocab);
    for (let i = 0; i < tokens.length; i++)
        logitsRow(res[i]?.next?.logits, logits, i);
    writeF32(job.out, logits);

    if (nGreedy > 0) {
        const greedyLogits = new Float32Array(nGreedy * nVocab);
        greedyLogits.set(logits.subarray((tokens.length - 1) * nVocab));
        const out = [argmax(greedyLogits, 0)];
        for (let k = 1; k < nGreedy; k++) {
            const r = await seq.controlledEvaluate([withLogits(out[k - 1])]);
            logitsRow(r[0]?.next?.logits, greedyLogits, k);
            out.push(argmax(greedyLogits, k));
        }
        writeI32(args["out-tokens"], out);
        if (args["out-greedy-logits"])
            writeF32(args["out-greedy-logits"], greedyLogits);
    }

    console.error(`llama_ref: ${tokens.length} prompt tokens, n_vocab ${nVocab}, gpu=${args.gpu}, kv=${kv}, ` +
        `greedy ${nGreedy} -> ${job.out}${nGreedy ? " " + args["out-tokens"] : ""}`);
    await context.dispose();
    await model.dispose();
}
