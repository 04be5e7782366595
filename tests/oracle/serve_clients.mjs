// hearth serve driven by the official clients (openai and ollama npm SDKs).
// References come from llama.cpp (node-llama-cpp), independent of hearth: the
// prompt tokens of the ChatML text the chat template must produce, and the
// greedy continuation of those tokens, detokenized.
// env: MODEL, BASE (http://127.0.0.1:PORT), KEY, NAME (served model name)
import assert from "node:assert/strict";
import OpenAI from "openai";
import { Ollama } from "ollama";
import { getLlama } from "node-llama-cpp";

const { MODEL, BASE, KEY, NAME } = process.env;
const N = 8; // tokens per answer
const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };

const convs = [
  [{ role: "system", content: "You are terse." }, { role: "user", content: "Name a color." }],
  [{ role: "system", content: "You are terse." }, { role: "user", content: "Count to three." }],
  [{ role: "system", content: "Answer in French." }, { role: "user", content: "Hello there, how are you?" }],
  [{ role: "system", content: "You are a poet." }, { role: "user", content: "Write about the sea." }],
];
const chatml = (msgs) => msgs.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join("") + "<|im_start|>assistant\n";

const llama = await getLlama({ gpu: false, build: "never" });
const lmodel = await llama.loadModel({ modelPath: MODEL });
const lctx = await lmodel.createContext({ contextSize: 256, flashAttention: false });
const refs = [];
for (const msgs of convs) {
  const ids = Array.from(lmodel.tokenize(chatml(msgs), true));
  const seq = lctx.getSequence();
  const out = [];
  for await (const t of seq.evaluate(ids, { temperature: 0 })) {
    if (lmodel.isSpecialToken(t)) break;
    out.push(t);
    if (out.length === N) break;
  }
  seq.dispose();
  refs.push({ msgs, ids, text: lmodel.detokenize(out), n: out.length });
}
for (const r of refs) if (r.n !== N) fail(`reference stopped early (${r.n} tokens); pick another prompt`);

const openai = new OpenAI({ baseURL: `${BASE}/v1`, apiKey: KEY, maxRetries: 0 });
const ref = refs[0];

// Chat, non-streaming.
{
  const r = await openai.chat.completions.create({ model: NAME, messages: ref.msgs, max_tokens: N, temperature: 0 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(r.choices[0].message.content, ref.text, "chat content");
  assert.equal(r.choices[0].finish_reason, "length");
  assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [ref.ids.length, N, ref.ids.length + N]);
}
// Chat, streaming with usage.
{
  const s = await openai.chat.completions.create({ model: NAME, messages: ref.msgs, max_completion_tokens: N, temperature: 0,
    stream: true, stream_options: { include_usage: true } });
  let text = "", finish = null, usage = null, role = null, n = 0;
  for await (const c of s) {
    n++;
    if (c.usage) usage = c.usage;
    if (!c.choices.length) continue;
    const ch = c.choices[0];
    if (ch.delta.role) role = ch.delta.role;
    text += ch.delta.content ?? "";
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(role, "assistant");
  assert.equal(text, ref.text, "streamed content");
  assert.equal(finish, "length");
  assert.ok(n >= 3, "several chunks");
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [ref.ids.length, N]);
}
// Legacy completions on the rendered prompt give the same tokens.
{
  const r = await openai.completions.create({ model: NAME, prompt: chatml(ref.msgs), max_tokens: N, temperature: 0 });
  assert.equal(r.choices[0].text, ref.text, "completion text");
  assert.equal(r.usage.prompt_tokens, ref.ids.length);
  const s = await openai.completions.create({ model: NAME, prompt: ref.ids, max_tokens: N, temperature: 0, stream: true });
  let t = "";
  for await (const c of s) t += c.choices[0]?.text ?? "";
  assert.equal(t, ref.text, "streamed completion from token ids");
}
// Logprobs: greedy picks the most likely token, alternatives sorted, tokens spell the text.
{
  const r = await openai.chat.completions.create({ model: NAME, messages: ref.msgs, max_tokens: N, temperature: 0,
    logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, N);
  const bytes = [];
  for (const t of lp) {
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(Math.abs(t.logprob - t.top_logprobs[0].logprob) < 1e-6, "greedy token is the most likely");
    assert.ok(t.logprob <= 0);
    for (let i = 1; i < 3; i++) assert.ok(t.top_logprobs[i].logprob <= t.top_logprobs[i - 1].logprob);
    bytes.push(...t.bytes);
  }
  assert.equal(Buffer.from(bytes).toString("utf8"), ref.text, "logprob bytes spell the content");
}
// Stop strings end the answer before the stop text.
{
  const cut = Math.floor(ref.text.length / 2);
  const stop = ref.text.slice(cut, cut + 2);
  const want = ref.text.slice(0, ref.text.indexOf(stop));
  if (stop.trim().length) {
    const r = await openai.chat.completions.create({ model: NAME, messages: ref.msgs, max_tokens: N, temperature: 0, stop: [stop] });
    assert.equal(r.choices[0].message.content, want, "stop string");
    assert.equal(r.choices[0].finish_reason, "stop");
  }
}
// Seeds reproduce sampled answers.
{
  const ask = () => openai.chat.completions.create({ model: NAME, messages: ref.msgs, max_tokens: N, temperature: 1, seed: 7 });
  const [a, b] = [await ask(), await ask()];
  assert.equal(a.choices[0].message.content, b.choices[0].message.content, "same seed, same answer");
}
// Models list; errors come back as the SDK's typed errors.
{
  const models = await openai.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [NAME]);
  const bad = new OpenAI({ baseURL: `${BASE}/v1`, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: NAME, messages: ref.msgs }), (e) => e.status === 401);
  await assert.rejects(openai.chat.completions.create({ model: "nope", messages: ref.msgs }), (e) => e.status === 404 && e.code === "model_not_found");
  await assert.rejects(openai.chat.completions.create({ model: NAME, messages: ref.msgs, n: 2 }), (e) => e.status === 400);
  await assert.rejects(openai.chat.completions.create({ model: NAME, messages: ref.msgs,
    tools: [{ type: "function", function: { name: "f", parameters: {} } }] }), (e) => e.status === 400 && /tools/.test(e.message));
}

// Ollama client.
{
  const ol = new Ollama({ host: BASE, headers: { Authorization: `Bearer ${KEY}` } });
  const opts = { num_predict: N, temperature: 0, seed: 1, repeat_penalty: 1, top_k: 40, top_p: 1 };
  const r = await ol.chat({ model: NAME, messages: ref.msgs, stream: false, options: opts });
  assert.equal(r.message.content, ref.text, "ollama chat");
  assert.equal(r.done, true);
  assert.equal(r.done_reason, "length");
  assert.deepEqual([r.prompt_eval_count, r.eval_count], [ref.ids.length, N]);
  let text = "", last = null;
  for await (const p of await ol.chat({ model: NAME, messages: ref.msgs, stream: true, options: opts })) {
    text += p.message.content;
    last = p;
  }
  assert.equal(text, ref.text, "ollama streamed chat");
  assert.equal(last.done, true);
  const g = await ol.generate({ model: NAME, prompt: chatml(ref.msgs), raw: true, stream: false, options: opts });
  assert.equal(g.response, ref.text, "ollama raw generate");
  let gt = "";
  for await (const p of await ol.generate({ model: `${NAME}:latest`, prompt: chatml(ref.msgs), raw: true, stream: true, options: opts })) gt += p.response;
  assert.equal(gt, ref.text, "ollama streamed generate");
  const tags = await ol.list();
  assert.deepEqual(tags.models.map((m) => m.name), [NAME]);
  const ps = await ol.ps();
  assert.equal(ps.models[0].name, NAME);
  const show = await ol.show({ model: NAME });
  assert.equal(show.details.format, "gguf");
  assert.equal(typeof (await ol.version()).version, "string");
  await assert.rejects(ol.chat({ model: "nope", messages: ref.msgs, stream: false }), (e) => e.status_code === 404);
}

// 16 concurrent streaming clients: every answer complete and equal to the single-client greedy answer,
// with the same logprobs (decoded one at a time before, in one batch per step now).
{
  const single = [];
  for (const r of refs) {
    const a = await openai.chat.completions.create({ model: NAME, messages: r.msgs, max_tokens: N, temperature: 0, logprobs: true });
    assert.equal(a.choices[0].message.content, r.text, "single client");
    single.push(a.choices[0].logprobs.content.map((t) => t.logprob));
  }
  const t0 = Date.now();
  const jobs = Array.from({ length: 16 }, async (_, i) => {
    const r = refs[i % refs.length];
    const s = await openai.chat.completions.create({ model: NAME, messages: r.msgs, max_tokens: N, temperature: 0, stream: true,
      stream_options: { include_usage: true }, logprobs: true });
    let text = "", finish = null, usage = null;
    const lps = [];
    for await (const c of s) {
      if (c.usage) usage = c.usage;
      if (!c.choices.length) continue;
      text += c.choices[0].delta.content ?? "";
      finish = c.choices[0].finish_reason ?? finish;
      for (const t of c.choices[0].logprobs?.content ?? []) lps.push(t.logprob);
    }
    const want = single[i % refs.length];
    assert.equal(lps.length, want.length, `client ${i}: logprob count`);
    lps.forEach((v, k) => assert.ok(Math.abs(v - want[k]) <= 1e-5, `client ${i}: logprob ${k} ${v} vs ${want[k]}`));
    assert.equal(text, r.text, `client ${i}: content`);
    assert.equal(finish, "length", `client ${i}: finish_reason`);
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [r.ids.length, N], `client ${i}: usage`);
  });
  await Promise.all(jobs);
  console.log(`16 concurrent streams OK in ${Date.now() - t0} ms`);
}
await lctx.dispose();
await lmodel.dispose();
console.log("serve clients: all checks passed");
