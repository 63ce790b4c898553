// openai_client.mjs BASE_URL IMAGE Q1 Q2 N IMAGE2 — drives `moevk serve` with the official openai package (unchanged
// client code, as a user would write it) and prints one JSON object with what it got, for
// tests/server_openai.sh to check against `moevk caption` / `moevk chat`.
import fs from 'node:fs';
import OpenAI from 'openai';

const [base, imagePath, q1, q2, nStr, image2Path] = process.argv.slice(2);
const n = Number(nStr);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: process.env.MOEVK_TEST_KEY || 'none', maxRetries: 0 });
const dataUri = 'data:image/png;base64,' + fs.readFileSync(imagePath).toString('base64');
const out = {};
const dataUri2 = 'data:image/png;base64,' + fs.readFileSync(image2Path).toString('base64');
const userImage = (q, uri = dataUri) => ({ role: 'user', content: [{ type: 'image_url', image_url: { url: uri } }, { type: 'text', text: q }] });

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

// one question about the image, greedy
const r1 = await client.chat.completions.create({ model: out.models[0], messages: [userImage(q1)], max_tokens: n, temperature: 0 });
out.a1 = r1.choices[0].message.content;
out.finish1 = r1.choices[0].finish_reason;
out.usage1 = r1.usage;
out.timings1 = r1.timings;

// the same, streamed
const s = await client.chat.completions.create({ model: out.models[0], messages: [userImage(q1)], max_tokens: n, temperature: 0,
  stream: true, stream_options: { include_usage: true } });
let text = '', finish = null, chunks = 0, usage = null;
for await (const c of s) {
  chunks++;
  if (c.usage) usage = c.usage;
  for (const ch of c.choices) {
    if (ch.delta && ch.delta.content) text += ch.delta.content;
    if (ch.finish_reason) finish = ch.finish_reason;
  }
}
out.stream = { text, finish, chunks, usage };

// a follow-up: the client sends the history back; the server continues from its KV cache
const r2 = await client.chat.completions.create({ model: out.models[0], max_tokens: n, temperature: 0,
  messages: [userImage(q1), { role: 'assistant', content: out.a1 }, { role: 'user', content: q2 }] });
out.a2 = r2.choices[0].message.content;
out.timings2 = r2.timings;
out.usage2 = r2.usage;

// the routing of every token (SGLang's field), on a fresh conversation
const r3 = await client.chat.completions.create({ model: out.models[0], messages: [userImage(q1)], max_tokens: n, temperature: 0,
  return_routed_experts: true });
out.routing = { b64_len: (r3.routed_experts || '').length, moevk: r3.moevk_routing && { ...r3.moevk_routing, weights: undefined },
  bytes: Buffer.from(r3.routed_experts || '', 'base64').toString('base64') === r3.routed_experts ? Buffer.from(r3.routed_experts, 'base64').length : -1 };
const raw = Buffer.from(r3.routed_experts, 'base64'); // may sit inside Node's shared buffer pool: copy out its bytes
const ids = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
out.routing.max_id = Math.max(...ids);
out.routing.min_id = Math.min(...ids);

// a follow-up that brings a second image: the cache holds the first exchange, only the new image is encoded
const r4 = await client.chat.completions.create({ model: out.models[0], max_tokens: n, temperature: 0,
  messages: [userImage(q1), { role: 'assistant', content: out.a1 }, userImage(q2, dataUri2)] });
out.a4 = r4.choices[0].message.content;
out.timings4 = r4.timings;

// two images in one message, with the routing: both images' tokens are in the prompt
const r5 = await client.chat.completions.create({ model: out.models[0], max_tokens: n, temperature: 0, return_routed_experts: true,
  messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUri } }, { type: 'image_url', image_url: { url: dataUri2 } },
    { type: 'text', text: q1 }] }] });
out.a5 = r5.choices[0].message.content;
out.timings5 = r5.timings;
out.usage5 = r5.usage;
out.kinds5 = r5.moevk_routing && r5.moevk_routing.kinds;

// a context overflow is a 400 with code context_length_exceeded
try {
  await client.chat.completions.create({ model: out.models[0], messages: [{ role: 'user', content: 'word '.repeat(20000) }], max_tokens: 4 });
  out.overflow = 'no error';
} catch (e) {
  out.overflow = { status: e.status, code: e.code };
}
console.log(JSON.stringify(out));
