// Renders templates with @huggingface/jinja 0.5.11 and with `hearth template`,
// and compares them byte for byte (or the error message when one raises).
//   node compare.mjs HEARTH CASES.json TEMPLATE.jinja...      every template x every case
//   node compare.mjs HEARTH --features FEATURES.json          {name, template, context} items;
//                                                             their stored output/error must be HF's too
//   node compare.mjs - --fill FEATURES.json                   stores HF's output/error in each item
// strftime_now is pinned to 2026-11-24 12:00 UTC on both sides.
import { Template } from "@huggingface/jinja";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const FIXED = Date.UTC(2026, 10, 24, 12, 0, 0);
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...a) {
    if (a.length === 0) super(FIXED);
    else super(...a);
  }
  static now() {
    return FIXED;
  }
};
process.env.TZ = "UTC";

const [hearth, ...rest] = process.argv.slice(2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-jinja-"));

// What Node writes out: lone surrogates become U+FFFD.
const bytesAsWritten = (s) => Buffer.from(s, "utf8").toString("utf8");

function hf(src, ctx) {
  try {
    return { output: bytesAsWritten(new Template(src).render(ctx)) };
  } catch (e) {
    return { error: bytesAsWritten(e.message) };
  }
}

function ours(file, ctx) {
  const cf = path.join(tmp, "ctx.json");
  fs.writeFileSync(cf, JSON.stringify(ctx));
  const r = spawnSync(hearth, ["template", "--file", file, "--context", cf, "--now", String(FIXED / 1000), "--utc"]);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

let total = 0, bad = 0;
function check(label, file, src, ctx) {
  total++;
  const want = hf(src, ctx), got = ours(file, ctx);
  let ok;
  if ("error" in want) ok = got.status === 1 && got.stderr.trimEnd().endsWith(want.error.trimEnd());
  else ok = got.status === 0 && Buffer.compare(got.stdout, Buffer.from(want.output, "utf8")) === 0;
  if (!ok) {
    bad++;
    console.log(`DIFF ${label}`);
    console.log(`  hf:     ${JSON.stringify(want).slice(0, 400)}`);
    console.log(`  hearth: ${JSON.stringify(got.status === 0 ? got.stdout.toString() : got.stderr).slice(0, 400)}`);
  }
}

if (rest[0] === "--fill") {
  const items = JSON.parse(fs.readFileSync(rest[1]));
  for (const f of items) {
    delete f.output;
    delete f.error;
    Object.assign(f, hf(f.template, f.context ?? {}));
  }
  fs.writeFileSync(rest[1], JSON.stringify(items, null, 1) + "\n");
  process.exit(0);
}
if (rest[0] === "--features") {
  for (const f of JSON.parse(fs.readFileSync(rest[1]))) {
    const file = path.join(tmp, "t.jinja");
    fs.writeFileSync(file, f.template);
    check(f.name, file, f.template, f.context ?? {});
    const want = hf(f.template, f.context ?? {});
    if (want.output !== f.output || want.error !== f.error) {
      bad++;
      console.log(`STALE ${f.name}: the stored expectation is not what @huggingface/jinja renders`);
    }
  }
} else {
  const cases = JSON.parse(fs.readFileSync(rest[0]));
  for (const t of rest.slice(1)) {
    const src = fs.readFileSync(t, "utf8");
    for (const c of cases) check(`${path.basename(t)} / ${c.name}`, t, src, c.context);
  }
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${total - bad}/${total} renders agree with @huggingface/jinja`);
process.exit(bad ? 1 : 0);
