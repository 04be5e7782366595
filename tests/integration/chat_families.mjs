// HTTP checks of tests/integration/chat_families.sh against a running hearth serve.
//   prompts B DIR SYS Q OPENS: greedy answers equal hearth run on the rendered prompts
//   forced  B DIR SYS Q REASON ANSWER RAW N_END: thinking separated, stop at the end of turn
import fs from "node:fs";

const [mode, B, dir, sys, q, ...rest] = process.argv.slice(2);
const msgs = [{ role: "system", content: sys }, { role: "user", content: q }];
const read = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
const nIds = (v) => read(`ids-${v}`).trim().split(",").length;
const runText = (v) => JSON.parse(read(`run-${v}.json`)).text;
// The APIs' trimming of the thinking: ASCII white space at both ends.
const trim = (s) => s.replace(/^[ \n\t\r]+|[ \n\t\r]+$/g, "");

function eq(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

async function post(path, body) {
  const r = await fetch(B + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const t = await r.text();
  if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}: ${t}`);
  return t;
}
const openai = async (extra) => JSON.parse(await post("/v1/chat/completions", { model: "m", messages: msgs, ...extra }));
async function openaiStream(extra) {
  const t = await post("/v1/chat/completions", { model: "m", messages: msgs, stream: true, stream_options: { include_usage: true }, ...extra });
  if (!t.endsWith("data: [DONE]\n\n")) throw new Error("SSE must end with [DONE]");
  const chunks = t.split("\n\n").slice(0, -2).map((e) => JSON.parse(e.slice(6)));
  let reasoning = "", content = "", finish = null, usage = null, sawContent = false;
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    const ch = c.choices[0];
    if (!ch) continue;
    if (ch.finish_reason) finish = ch.finish_reason;
    const d = ch.delta;
    if (d.reasoning_content !== undefined && d.content) throw new Error("a delta with both reasoning and content");
    if (d.reasoning_content !== undefined) {
      if (sawContent) throw new Error("reasoning after content");
      reasoning += d.reasoning_content;
    }
    if (d.content) (sawContent = true), (content += d.content);
  }
  return { reasoning, content, finish, usage };
}
const ollama = async (path, extra) => {
  const body = { model: "m", stream: false, options: { temperature: 0, repeat_penalty: 1, num_predict: 8 }, ...extra };
  if (path === "/api/chat") body.messages = msgs;
  else Object.assign(body, { system: sys, prompt: q });
  const t = await post(path, body);
  return body.stream === false ? JSON.parse(t) : t.trimEnd().split("\n").map((l) => JSON.parse(l));
};

if (mode === "prompts") {
  const [opens] = rest;
  const greedy = { temperature: 0, max_tokens: 8 };
  for (const [v, kw] of [["default", undefined], ["true", { enable_thinking: true }], ["false", { enable_thinking: false }]]) {
    const r = await openai({ ...greedy, reasoning_format: "none", chat_template_kwargs: kw });
    eq(r.choices[0].message.content, runText(v), `openai content (${v})`);
    eq(r.usage.prompt_tokens, nIds(v), `openai prompt_tokens (${v})`);
  }
  // Separated by default: all thinking when the generation prompt opened it, else all answer.
  const r = await openai(greedy);
  const s = await openaiStream(greedy);
  const text = runText("default");
  const want = opens === "1" ? { reasoning: trim(text), content: "" } : { reasoning: undefined, content: text };
  eq(r.choices[0].message.reasoning_content, want.reasoning, "openai reasoning_content (default)");
  eq(r.choices[0].message.content, want.content, "openai content (default)");
  eq(s.reasoning, want.reasoning ?? "", "streamed reasoning_content (default)");
  eq(s.content, want.content, "streamed content (default)");
  // Ollama: think false renders with enable_thinking false and returns the text as is.
  const c = await ollama("/api/chat", { think: false });
  eq(c.message.content, runText("false"), "ollama chat content (think false)");
  eq(c.message.thinking, undefined, "ollama chat thinking (think false)");
  eq(c.prompt_eval_count, nIds("false"), "ollama prompt_eval_count (think false)");
  const g = await ollama("/api/generate", { think: false });
  eq(g.response, runText("false"), "ollama generate response (think false)");
  const t = await ollama("/api/chat", { think: true });
  eq(t.prompt_eval_count, nIds("true"), "ollama prompt_eval_count (think true)");
  eq(JSON.stringify(JSON.parse(await post("/api/show", { model: "m" })).capabilities), '["completion","thinking"]', "ollama show capabilities");
  const d = await ollama("/api/chat", {});
  eq(d.message.content, runText("default"), "ollama chat content (think absent)");
  eq(d.prompt_eval_count, nIds("default"), "ollama prompt_eval_count (think absent)");
} else if (mode === "forced") {
  const [reason, answer, raw, nEndS] = rest;
  const nEnd = Number(nEndS);
  const long = { max_tokens: 64 };
  const r = await openai(long);
  eq(r.choices[0].message.reasoning_content, reason, "openai reasoning_content");
  eq(r.choices[0].message.content, answer, "openai content");
  eq(r.choices[0].finish_reason, "stop", "openai finish_reason");
  eq(r.usage.completion_tokens, nEnd, "openai completion_tokens (stops at the end of turn)");
  const s = await openaiStream(long);
  eq(s.reasoning, reason, "streamed reasoning_content");
  eq(s.content, answer, "streamed content");
  eq(s.finish, "stop", "streamed finish_reason");
  eq(s.usage.completion_tokens, nEnd, "streamed completion_tokens");
  const n = await openai({ ...long, reasoning_format: "none" });
  eq(n.choices[0].message.content, raw, "openai content (reasoning_format none)");
  eq(n.choices[0].message.reasoning_content, undefined, "openai reasoning_content (reasoning_format none)");
  const opts = { options: { num_predict: 64 } };
  const c = await ollama("/api/chat", { think: true, ...opts });
  eq(c.message.thinking, reason, "ollama chat thinking");
  eq(c.message.content, answer, "ollama chat content");
  eq(c.done_reason, "stop", "ollama done_reason");
  eq(c.eval_count, nEnd, "ollama eval_count");
  const lines = await ollama("/api/chat", { think: true, stream: true, ...opts });
  eq(lines.map((l) => l.message.thinking ?? "").join(""), reason, "ollama streamed thinking");
  eq(lines.map((l) => l.message.content).join(""), answer, "ollama streamed content");
  eq(lines.at(-1).done, true, "ollama last line done");
  const g = await ollama("/api/generate", { think: true, ...opts });
  eq(g.thinking, reason, "ollama generate thinking");
  eq(g.response, answer, "ollama generate response");
  for (const think of [undefined, false]) {
    const p = await ollama("/api/chat", { think, ...opts });
    eq(p.message.content, raw, `ollama chat content (think ${think})`);
    eq(p.message.thinking, undefined, `ollama chat thinking (think ${think})`);
  }
} else {
  throw new Error("mode?");
}
