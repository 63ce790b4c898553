// llamacpp_tok.mjs — tokenizes the test corpus with llama.cpp itself (the
// prebuilt CPU library of npm node-llama-cpp, installed by bench/node), as a
// second reference next to the JS tokenizer.
//
//   node llamacpp_tok.mjs NODE_LLAMA_CPP_DIR MODEL.gguf DIR NAME...
//
// MODEL.gguf is make_gguf.js --llama-hparams output (loaded vocab-only; the
// "failed to load model" lines node-llama-cpp prints come from its memory
// estimate, which tries a full load). For each NAME, reads DIR/NAME.bin
// (NUL-separated texts) and writes DIR/NAME_llama_special.txt (parse_special
// = true) and DIR/NAME_llama_plain.txt (parse_special = false), one line of
// ids per text. No BOS/EOS is added (Qwen's add_bos_token is false).
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const [nlcDir, modelPath, dir, ...names] = process.argv.slice(2);
if (!nlcDir || !modelPath || !dir || !names.length) {
    console.error("usage: node llamacpp_tok.mjs NODE_LLAMA_CPP_DIR MODEL.gguf DIR NAME...");
    process.exit(2);
}
const nlc = await import(pathToFileURL(path.join(nlcDir, "dist", "index.js")).href);
const llama = await nlc.getLlama({
    gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
    progressLogs: false, logLevel: nlc.LlamaLogLevel.error,
});
const model = await llama.loadModel({modelPath, vocabOnly: true});
const version = JSON.parse(fs.readFileSync(path.join(nlcDir, "package.json"), "utf8")).version;
for (const name of names) {
    const texts = fs.readFileSync(path.join(dir, `${name}.bin`), "utf8").split("\0");
    for (const [mode, special] of [["special", true], ["plain", false]]) {
        const lines = texts.map((s) => Array.from(model.tokenize(s, special)).join(" "));
        fs.writeFileSync(path.join(dir, `${name}_llama_${mode}.txt`), lines.join("\n") + "\n");
    }
    console.log(`llama.cpp (node-llama-cpp ${version}): tokenized corpus ${name}, ${texts.length} strings`);
}
// Optional: DIR/pieces_moevk.txt ("id type HEX0 HEX1" from `moevk tokenize
// --dump-pieces`): compare every token's text with llama.cpp's detokenize of
// that single token, without and with special rendering. Pieces that are not
// whole UTF-8 (byte tokens) cannot pass through a JS string and are skipped.
const piecesFile = path.join(dir, "pieces_moevk.txt");
if (fs.existsSync(piecesFile)) {
    let cmp = 0, same = 0, skipped = 0;
    const bad = [];
    for (const line of fs.readFileSync(piecesFile, "utf8").trim().split("\n")) {
        const [id, , h0, h1] = line.split(" ");
        for (const [special, hex] of [[false, h0], [true, h1]]) {
            const buf = Buffer.from(hex === "-" ? "" : hex, "hex");
            if (!Buffer.from(buf.toString("utf8"), "utf8").equals(buf)) { skipped++; continue; }
            cmp++;
            const ref = model.detokenize([+id], special);
            if (ref === buf.toString("utf8")) same++;
            else bad.push(`token ${id} (special ${special}): moevk ${JSON.stringify(buf.toString("utf8"))}, llama.cpp ${JSON.stringify(ref)}`);
        }
    }
    for (const b of bad.slice(0, 5)) console.log(`  differs: ${b}`);
    console.log(`token pieces: moevk vs llama.cpp: ${same}/${cmp} identical (${skipped} partial-UTF-8 byte pieces skipped)`);
    fs.writeFileSync(path.join(dir, "pieces_result.txt"), bad.length ? "FAIL\n" : "OK\n");
}
await model.dispose();
await llama.dispose();
