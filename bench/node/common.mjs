// Shared helpers for bench/llama_ref.mjs and bench/llama_bench.mjs.
//
// node-llama-cpp lives in bench/node/node_modules (pinned in bench/node/package.json);
// the scripts one directory up cannot resolve it by bare name, so it is imported by path.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

export const NODE_DIR = path.dirname(fileURLToPath(import.meta.url));

// The UV_THREADPOOL_SIZE trap: node-llama-cpp runs model loading and every batch
// evaluation as libuv thread-pool work, and ggml spawns its own compute threads on
// top of that. The thread-pool size is fixed when libuv first uses the pool (any
// async fs call during module loading), so it must be in the environment before
// node starts; setting process.env inside the script is too late. We therefore
// re-exec ourselves once with UV_THREADPOOL_SIZE=1 (and, for the Vulkan build on
// lavapipe, GGML_VK_VISIBLE_DEVICES=0) when they are missing.
export function ensureEnv(extra = {}) {
    const want = {UV_THREADPOOL_SIZE: "1", ...extra};
    const missing = Object.entries(want).filter(([k]) => process.env[k] === undefined);
    if (missing.length === 0 || process.env.MOEVK_LLAMA_REEXEC === "1")
        return;
    const env = {...process.env, MOEVK_LLAMA_REEXEC: "1"};
    for (const [k, v] of missing)
        env[k] = v;
    const r = spawnSync(process.execPath, process.argv.slice(1), {stdio: "inherit", env});
    if (r.error) {
        console.error(`re-exec failed: ${r.error.message}`);
        process.exit(1);
    }
    process.exit(r.status ?? 1);
}

export async function importLlamaCpp() {
    const entry = path.join(NODE_DIR, "node_modules", "node-llama-cpp", "dist", "index.js");
    if (!fs.existsSync(entry)) {
        console.error(`node-llama-cpp is not installed (${entry} missing); run: (cd ${NODE_DIR} && npm ci)`);
        process.exit(3);
    }
    return import(pathToFileURL(entry).href);
}

// getLlama for a backend: "false"/"cpu" -> CPU build, "vulkan" -> Vulkan build. Never builds from source.
export async function loadLlama(nlc, gpu) {
    const useGpu = gpu === "vulkan" ? "vulkan" : false;
    return nlc.getLlama({
        gpu: useGpu,
        build: "never",
        skipDownload: true,
        usePrebuiltBinaries: true,
        progressLogs: false,
        logLevel: nlc.LlamaLogLevel.error,
    });
}

export function parseArgs(argv, spec) {
    // spec: {name: default}; booleans given as false default take no value.
    const out = {...spec};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("--"))
            throw new Error(`unexpected argument ${a}`);
        const key = a.slice(2);
        if (!(key in spec))
            throw new Error(`unknown option ${a}`);
        if (typeof spec[key] === "boolean") {
            out[key] = true;
            continue;
        }
        if (i + 1 >= argv.length)
            throw new Error(`option ${a} needs a value`);
        out[key] = argv[++i];
    }
    return out;
}

export function readI32(file) {
    const b = fs.readFileSync(file);
    if (b.length % 4 !== 0)
        throw new Error(`${file}: size ${b.length} is not a multiple of 4`);
    const a = new Int32Array(b.length / 4);
    for (let i = 0; i < a.length; i++)
        a[i] = b.readInt32LE(i * 4);
    return Array.from(a);
}

export function writeI32(file, arr) {
    const b = Buffer.alloc(arr.length * 4);
    arr.forEach((v, i) => b.writeInt32LE(v, i * 4));
    fs.writeFileSync(file, b);
}

export function writeF32(file, f32) {
    if (os.endianness() === "LE") {
        fs.writeFileSync(file, Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
        return;
    }
    const b = Buffer.alloc(f32.length * 4);
    for (let i = 0; i < f32.length; i++)
        b.writeFloatLE(f32[i], i * 4);
    fs.writeFileSync(file, b);
}

export function kvType(name) {
    const t = String(name).toUpperCase();
    if (t !== "F16" && t !== "F32")
        throw new Error(`--kv must be f16 or f32, got ${name}`);
    return t;
}
