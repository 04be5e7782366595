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
import {mkdirSync, readFileSync, renameSync, writeFileSync} from "node:fs";
import {homedir} from "node:os";
import {join} from "node:path";
import {promisify} from "node:util";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const run = promisify(execFile);
export const STEPS = 64;
// ~20 fixed ids below 4096 (the tiny models' vocabulary), starting with BOS.
export const PROMPT = [1, 450, 496, 1735, 1701, 2991, 432, 1720, 975, 278, 1736, 1120, 2988, 13, 1576, 748, 310,
    3444, 338, 3681];

const LIMITS = {
    f32: {maxDp: 1e-3, agree: 1.0},
    half: {maxDp: 3e-3},
    quant: {agree: 0.99, meanKl: 1e-3},
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

// llama.cpp: greedy generation from PROMPT, the full distribution at each step.
async function oracle(llama, path) {
    const model = await llama.loadModel({modelPath: path});
    let nVocab = 0;
    const ctx = await model.createContext({
        contextSize: 256, batchSize: 256, threads: 2, flashAttention: false,
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
            const logits = new Float64Array(nVocab);
            for (const [id, v] of map) logits[id] = v;
            const p = softmax(Float32Array.from(logits));
            const tok = argmax(p);
            tokens.push(tok);
            dists.push(p);
            logitsAll.push(logits);
            input = [tok];
        }
        return {nVocab, tokens, dists, logits: logitsAll};
    } finally {
        await ctx.dispose();
        await model.dispose();
    }
}

// The oracle's answer depends only on the file's bytes, the prompt and the step
// count, so it is cached under that hash (HEARTH_ORACLE_CACHE, default
// ~/.cache/hearth/oracle): reruns during development pay only for hearth's side.
// The cache holds llama.cpp's own logits as float32, as llama.cpp produced them.
const CACHE_DIR = process.env.HEARTH_ORACLE_CACHE || join(homedir(), ".cache", "hearth", "oracle");

function cacheKey(path) {
    const h = createHash("sha256");
    h.update(readFileSync(path));
    h.update(JSON.stringify({PROMPT, STEPS, v: 1}));
    return h.digest("hex");
}

async function cachedOracle(llama, path) {
    const file = join(CACHE_DIR, cacheKey(path) + ".bin");
    try {
        const buf = readFileSync(file);
        const nVocab = buf.readUInt32LE(0);
        const tokens = [], dists = [];
        for (let s = 0; s < STEPS; s++) {
            const off = 4 + s * nVocab * 4;
            const logits = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + nVocab * 4));
            const p = softmax(logits);
            tokens.push(argmax(p));
            dists.push(p);
        }
        return {nVocab, tokens, dists};
    } catch {
        const ref = await oracle(llama, path);
        const buf = Buffer.alloc(4 + STEPS * ref.nVocab * 4);
        buf.writeUInt32LE(ref.nVocab, 0);
        ref.logits.forEach((l, s) => Buffer.from(Float32Array.from(l).buffer).copy(buf, 4 + s * ref.nVocab * 4));
        mkdirSync(CACHE_DIR, {recursive: true});
        writeFileSync(file + ".tmp", buf);
        renameSync(file + ".tmp", file);
        return ref;
    }
}

// hearth's JSON lines: one object per step with "probs", either a dense array
// of n_vocab probabilities or [[id, p], ...] pairs.
function parseHearth(stdout, nVocab) {
    const dists = [];
    for (const line of stdout.split("\n")) {
        if (!line.trim().startsWith("{")) continue;
        const o = JSON.parse(line);
        if (!o.probs) continue;
        const p = new Float64Array(nVocab);
        if (o.probs.length && Array.isArray(o.probs[0])) for (const [id, v] of o.probs) p[id] = v;
        else for (let i = 0; i < nVocab; i++) p[i] = o.probs[i];
        dists.push(p);
    }
    return dists;
}

async function hearth(bin, path, forced, nVocab) {
    const args = ["run", "-m", path, "--ids", PROMPT.join(","), "--force-ids", forced.join(","), "--json",
        "--probs", String(nVocab), "--cache-type", "f32", "-t", "2", "-n", String(forced.length)];
    const {stdout} = await run(bin, args, {maxBuffer: 1 << 30});
    return parseHearth(stdout, nVocab);
}

function compare(ref, got) {
    let maxDp = 0, agree = 0, klSum = 0, maxKl = 0;
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
        if (argmax(q) === ref.tokens[s]) agree++;
    }
    const n = ref.dists.length;
    return {maxDp, agree: agree / n, meanKl: klSum / n, maxKl};
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
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
    let failed = 0;
    for (const c of cases) {
        const t0 = Date.now();
        const ref = await cachedOracle(llama, c.path);
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
            line += ` max|dp|=${r.maxDp.toExponential(2)} top1=${(100 * r.agree).toFixed(1)}%` +
                ` meanKL=${r.meanKl.toExponential(2)} maxKL=${r.maxKl.toExponential(2)}`;
            if (lim.maxDp !== undefined && r.maxDp > lim.maxDp) bad.push(`max|dp| > ${lim.maxDp}`);
            if (lim.agree !== undefined && r.agree < lim.agree) bad.push(`top-1 agreement < ${100 * lim.agree}%`);
            if (lim.meanKl !== undefined && r.meanKl > lim.meanKl) bad.push(`mean KL > ${lim.meanKl}`);
        }
        line += ` (${((Date.now() - t0) / 1000).toFixed(1)}s)`;
        console.log(bad.length ? `FAIL ${line}: ${bad.join("; ")}` : `ok   ${line}`);
        if (bad.length) failed++;
    }
    await llama.dispose();
    if (failed) {
        console.log(`${failed} of ${cases.length} oracle cases failed`);
        process.exit(1);
    }
    console.log(`all ${cases.length} oracle cases within tolerance`);
}

await main();
