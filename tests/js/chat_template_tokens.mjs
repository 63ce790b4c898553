// chat_template_tokens.mjs — a chat template rendered and tokenized by references that are not moevk's:
// the template (a .jinja file, e.g. llama.cpp's models/templates/Qwen3.5-4B.jinja) rendered with
// @huggingface/jinja (the Jinja engine node-llama-cpp renders GGUF chat templates with), the text
// tokenized by llama.cpp itself (node-llama-cpp's CPU library, special tokens parsed, no BOS).
//
//   node chat_template_tokens.mjs NODE_DIR TEMPLATE.jinja MODEL.gguf OUT.json CASES.json
//
// CASES.json: [{"name": ..., "messages": [{role, content}], "enable_thinking": true|false|null}, ...]
// (null: the variable is left undefined), or {"name", "text"}: that text tokenized. Writes OUT.json: {name: {"text": rendered, "ids": [..]}}, plus
// {"detok": {"IDS": text}} for every "detok" list of ids a case holds (llama.cpp's detokenize, no
// special rendering).
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const [nodeDir, templatePath, modelPath, outPath, casesPath] = process.argv.slice(2);
if (!casesPath) {
    console.error("usage: node chat_template_tokens.mjs NODE_DIR TEMPLATE.jinja MODEL.gguf OUT.json CASES.json");
    process.exit(2);
}
const mod = (p) => import(pathToFileURL(path.join(nodeDir, "node_modules", p)).href);
const {Template} = await mod("@huggingface/jinja/dist/index.js");
const nlc = await mod("node-llama-cpp/dist/index.js");
const llama = await nlc.getLlama({
    gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
    progressLogs: false, logLevel: nlc.LlamaLogLevel.error,
});
const model = await llama.loadModel({modelPath, vocabOnly: true});
const tmpl = new Template(fs.readFileSync(templatePath, "utf8"));
const out = {detok: {}};
for (const c of JSON.parse(fs.readFileSync(casesPath, "utf8"))) {
    if (c.messages) {
        const vars = {messages: c.messages, add_generation_prompt: true, bos_token: "", eos_token: ""};
        if (c.enable_thinking !== null && c.enable_thinking !== undefined) vars.enable_thinking = c.enable_thinking;
        const text = tmpl.render(vars);
        out[c.name] = {text, ids: Array.from(model.tokenize(text, true))};
    }
    if (c.text !== undefined) out[c.name] = {text: c.text, ids: Array.from(model.tokenize(c.text, true))};
    for (const ids of c.detok || []) out.detok[ids.join(" ")] = model.detokenize(ids, false);
}
fs.writeFileSync(outPath, JSON.stringify(out));
await model.dispose();
