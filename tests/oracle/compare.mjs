// Compares hearth's next-token distributions with llama.cpp's (node-llama-cpp)
// on the same GGUF files.
//
//   node compare.mjs --hearth BIN CASE...      CASE = name:path:class
//
// class is f32, half (f16/bf16) or quant and picks the tolerance. For each
// file llama.cpp generates greedily from a fixed prompt; hearth is then run
// with the same prompt and the oracle's tokens forced (teacher forcing), so
// both see the same context at every step and their full distributions can
// be compared step by step. One llama.cpp process serves every case.
import {execFile} from "node:child_process";
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {promisify} from "node:util";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

// Cases hearth is known not to match yet (tests/oracle/known_mismatch.txt, one
// glob per line, # comments): still run and reported as KNOWN with their figures,
// but they do not fail the suite. Remove a line once its cases pass.
const KNOWN = fs.readFileSync(new URL("./known_mismatch.txt", import.meta.url), "utf8").split("\n")
    .map((l) => l.replace(/#.*/, "").trim()).filter(Boolean)
    .map((g) => new RegExp("^" + g.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$"));
const isKnown = (name) => KNOWN.some((r) => r.test(name));

const run = promisify(execFile);
export const STEPS = 64;
// ~20 fixed ids below 4096 (the tiny models' vocabulary), starting with BOS.
export const PROMPT = [1, 450, 496, 1735, 1701, 2991, 432, 1720, 975, 278, 1736, 1120, 2988, 13, 1576, 748, 310,
    3444, 338, 3681];
// HEARTH_ORACLE_PROMPT_LEN=N lengthens the prompt to N fixed ids (recurrent
// models: prompts longer than one processing chunk); HEARTH_ORACLE_BATCH=B
// has hearth process the prompt in batches of B tokens.
const PROMPT_LEN = Number(process.env.HEARTH_ORACLE_PROMPT_LEN || 0);
for (let i = PROMPT.length; i < PROMPT_LEN; i++) PROMPT.push(16 + (PROMPT[i - 20] * 7 + i * 131) % 4000);
const HEARTH_BATCH = process.env.HEARTH_ORACLE_BATCH || "";

// Quantized cases: top-1 agreement is pooled over all their steps (99% of 64
// steps would allow no miss at all). A step where hearth's top token is one the
// oracle itself ranks within NEAR_TIE nats of its own top counts as agreeing:
// rounding activations to 8 bits makes such near-ties fall either way, and
// llama.cpp's own AVX2 and AVX-512 builds, teacher-forced on these models,
// already disagree on about 1% of steps (4 of 320 measured). The strict
// agreement is printed as well.
const NEAR_TIE = 0.05;
const LIMITS = {
    f32: {maxDp: 1e-3, agree: 1.0},
    half: {maxDp: 3e-3},
    quant: {pooledAgree: 0.99, meanKl: 1e-3},
};

function softmax(logits) {
    let mx = -Infinity;
    for (const v of logits) if (v > mx) mx = v;
    const p = new Float64Array(logits.length);
    let z = 0;
    for (let i = 0; i < logits.length; i++) z += (p[i] = Math.exp(logits[i] - mx));
    for (let i = 0; i < p.length; i++) p[i] /= z;
    return p;
}

function argmax(a) {
    let best = 0;
    for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
    return best;
}

// llama.cpp's answers depend only on the file's bytes, the prompt and
// llama.cpp's version, so they are cached under that key (several worktrees
// and repeated runs share the work; HEARTH_ORACLE_CACHE=off disables it). The logits
// are stored as the float32 values llama.cpp produced, so nothing is lost.
const ORACLE_VERSION = JSON.parse(fs.readFileSync(new URL("./node_modules/node-llama-cpp/package.json",
    import.meta.url))).version;
const CACHE_DIR = process.env.HEARTH_ORACLE_CACHE || path.join(os.homedir(), ".cache", "hearth", "oracle-v2");

// The CPU builds ggml can choose from are part of the key (see install.sh).
const CPU_VARIANTS = (() => {
    try {
        const dir = new URL("./node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/", import.meta.url);
        return fs.readdirSync(dir).filter((f) => f.startsWith("libggml-cpu")).sort().join(",");
    } catch {
        return "";
    }
})();

function cacheKey(file) {
    const h = createHash("sha256");
    h.update(`${ORACLE_VERSION} ${CPU_VARIANTS} ${PROMPT.join(",")} ${STEPS}\n`);
    h.update(fs.readFileSync(file));
    return path.join(CACHE_DIR, h.digest("hex") + ".bin");
}

function cacheLoad(key) {
    if (CACHE_DIR === "off" || !fs.existsSync(key)) return null;
    const buf = fs.readFileSync(key);
    const nVocab = buf.readInt32LE(0), n = buf.readInt32LE(4);
    if (buf.length !== 8 + 4 * n + 4 * n * nVocab) return null;
    const tokens = [], dists = [];
    for (let s = 0; s < n; s++) tokens.push(buf.readInt32LE(8 + 4 * s));
    const f = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + 4 * n, buf.byteOffset + buf.length));
    for (let s = 0; s < n; s++) dists.push(softmax(f.subarray(s * nVocab, (s + 1) * nVocab)));
    return {nVocab, tokens, dists};
}

function cacheStore(key, nVocab, tokens, logits) {
    if (CACHE_DIR === "off") return;
    const buf = Buffer.alloc(8 + 4 * tokens.length + 4 * tokens.length * nVocab);
    buf.writeInt32LE(nVocab, 0);
    buf.writeInt32LE(tokens.length, 4);
    tokens.forEach((t, s) => buf.writeInt32LE(t, 8 + 4 * s));
    logits.forEach((l, s) => Buffer.from(l.buffer).copy(buf, 8 + 4 * tokens.length + 4 * s * nVocab));
    fs.mkdirSync(CACHE_DIR, {recursive: true});
    const tmp = `${key}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, buf);
    fs.renameSync(tmp, key); // atomic: concurrent runs never see half a file
}

// llama.cpp: greedy generation from PROMPT, the full distribution at each step.
async function oracle(llama, file) {
    const key = cacheKey(file);
    const cached = cacheLoad(key);
    if (cached) return cached;
    const ref = await oracleRun(await llama(), file);
    cacheStore(key, ref.nVocab, ref.tokens, ref.logits);
    return ref;
}

async function oracleRun(llama, path) {
    const model = await llama.loadModel({modelPath: path});
    let nVocab = 0;
    const ctx = await model.createContext({
        // One thread: the results do not depend on it, and spinning worker
        // threads slow everything down when tests share a loaded machine.
        contextSize: 256, batchSize: 256, threads: 1, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    });
    try {
        const seq = ctx.getSequence();
        const tokens = [], dists = [], logitsAll = [];
        let input = PROMPT;
        for (let step = 0; step < STEPS; step++) {
            const items = input.map((t, i) => (i === input.length - 1 ? [t, {generateNext: {logits: true}}] : t));
            const out = await seq.controlledEvaluate(items);
            const map = out[input.length - 1].next.logits;
            nVocab = map.size;
            const logits = new Float32Array(nVocab);
            for (const [id, v] of map) logits[id] = v;
            logitsAll.push(logits);
            const p = softmax(logits);
            const tok = argmax(p);
            tokens.push(tok);
            dists.push(p);
            input = [tok];
        }
        return {nVocab, tokens, dists, logits: logitsAll};
    } finally {
        await ctx.dispose();
        await model.dispose();
    }
}

// hearth run --json prints one object whose "top" holds, for every step, the
// --probs K most likely tokens as [id, p] pairs (K = n_vocab: all of them).
function parseHearth(stdout, nVocab) {
    const o = JSON.parse(stdout.trim().split("\n").pop());
    return (o.top ?? []).map((step) => {
        const p = new Float64Array(nVocab);
        for (const [id, v] of step) p[id] = v;
        return p;
    });
}

async function hearth(bin, path, forced, nVocab) {
    const args = ["run", "-m", path, "--ids", PROMPT.join(","), "--force-ids", forced.join(","), "--json",
        "--probs", String(nVocab), "--cache-type", "f32", "-t", "2", "-n", String(forced.length)];
    if (HEARTH_BATCH) args.push("-b", HEARTH_BATCH);
    const {stdout} = await run(bin, args, {maxBuffer: 1 << 30, timeout: 300e3, killSignal: "SIGKILL"});
    return parseHearth(stdout, nVocab);
}

function compare(ref, got) {
    let maxDp = 0, agree = 0, klSum = 0, maxKl = 0;
    const missMargins = [];
    for (let s = 0; s < ref.dists.length; s++) {
        const p = ref.dists[s], q = got[s];
        let kl = 0;
        for (let i = 0; i < p.length; i++) {
            const d = Math.abs(p[i] - q[i]);
            if (d > maxDp) maxDp = d;
            if (p[i] > 0) kl += p[i] * Math.log(p[i] / Math.max(q[i], 1e-30));
        }
        klSum += kl;
        if (kl > maxKl) maxKl = kl;
        const top = argmax(q);
        if (top === ref.tokens[s]) agree++;
        else missMargins.push(Math.log(p[ref.tokens[s]] / p[top]));
    }
    const n = ref.dists.length;
    return {maxDp, agree: agree / n, meanKl: klSum / n, maxKl, missMargins};
}

function entropy(p) {
    let h = 0;
    for (const v of p) if (v > 0) h -= v * Math.log(v);
    return h;
}

async function main() {
    const argv = process.argv.slice(2);
    let bin = null;
    const cases = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--hearth") bin = argv[++i];
        else {
            const [name, path, cls] = argv[i].split(":");
            if (!LIMITS[cls]) throw new Error(`bad case '${argv[i]}'`);
            cases.push({name, path, cls});
        }
    }
    let instance = null; // started on the first cache miss only
    const llama = async () => (instance ??= await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error}));
    let failed = 0, quantSteps = 0, quantAgree = 0, quantAgreeTies = 0;
    for (const c of cases) {
        const t0 = Date.now();
        const ref = await oracle(llama, c.path);
        const meanH = ref.dists.reduce((a, p) => a + entropy(p), 0) / ref.dists.length;
        let line = `${c.name.padEnd(18)} H=${meanH.toFixed(2)}`, bad = [];
        if (!bin) {
            console.log(`${line} oracle only: ${ref.tokens.slice(0, 12).join(" ")} ...`);
            continue;
        }
        let got;
        try {
            got = await hearth(bin, c.path, ref.tokens, ref.nVocab);
        } catch (e) {
            got = null;
            bad.push(`hearth failed: ${String(e.stderr || e.message).trim().split("\n").pop()}`);
        }
        if (got && got.length !== ref.dists.length) {
            bad.push(`hearth gave ${got.length} distributions, expected ${ref.dists.length}`);
            got = null;
        }
        if (got) {
            const r = compare(ref, got);
            const lim = LIMITS[c.cls];
            if (r.missMargins.length) line += ` misses(margin ${r.missMargins.map((m) => m.toFixed(3)).join(",")})`;
            line += ` max|dp|=${r.maxDp.toExponential(2)} top1=${(100 * r.agree).toFixed(1)}%` +
                ` meanKL=${r.meanKl.toExponential(2)} maxKL=${r.maxKl.toExponential(2)}`;
            if (lim.maxDp !== undefined && r.maxDp > lim.maxDp) bad.push(`max|dp| > ${lim.maxDp}`);
            if (lim.agree !== undefined && r.agree < lim.agree) bad.push(`top-1 agreement < ${100 * lim.agree}%`);
            if (lim.meanKl !== undefined && r.meanKl > lim.meanKl) bad.push(`mean KL > ${lim.meanKl}`);
            if (lim.pooledAgree !== undefined) {
                quantSteps += ref.dists.length;
                quantAgree += Math.round(r.agree * ref.dists.length);
                quantAgreeTies += Math.round(r.agree * ref.dists.length) +
                    r.missMargins.filter((m) => m < NEAR_TIE).length;
            }
        }
        line += ` (${((Date.now() - t0) / 1000).toFixed(1)}s)`;
        if (bad.length && isKnown(c.name)) console.log(`KNOWN ${line}: ${bad.join("; ")}`);
        else console.log(bad.length ? `FAIL ${line}: ${bad.join("; ")}` : `ok   ${line}`);
        if (bad.length && !isKnown(c.name)) failed++;
    }
    if (instance) await instance.dispose();
    if (quantSteps) {
        const a = quantAgreeTies / quantSteps, ok = a >= LIMITS.quant.pooledAgree;
        console.log(`${ok ? "ok  " : "FAIL"} quantized cases: top-1 agreement ${(100 * a).toFixed(2)}% of ` +
            `${quantSteps} steps counting near-ties (< ${NEAR_TIE} nats) as agreement, limit ` +
            `${100 * LIMITS.quant.pooledAgree}%; strict ${(100 * quantAgree / quantSteps).toFixed(2)}%`);
        if (!ok) failed++;
    }
    if (failed) {
        console.log(`${failed} of ${cases.length} oracle cases failed`);
        process.exit(1);
    }
    console.log(`all ${cases.length} oracle cases within tolerance`);
}

await main();
