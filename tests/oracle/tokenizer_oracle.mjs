// hearth's tokenizer against llama.cpp's (node-llama-cpp, vocabulary-only loads) on
// seeded random texts: ids with and without special-token parsing, and the
// detokenized text of llama.cpp's ids.
//
//   node tokenizer_oracle.mjs HEARTH VOCAB.gguf... [--count N] [--seed S]
import {execFileSync} from "node:child_process";
import {basename} from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const args = process.argv.slice(2);
const hearth = args.shift();
let count = 300, seed = 1234;
const vocabs = [];
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--count") count = Number(args[++i]);
    else if (args[i] === "--seed") seed = Number(args[++i]);
    else vocabs.push(args[i]);
}

function mulberry32(a) {
    return () => {
        a |= 0;
        a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const words = ["the", "Hello", "world", "LLaMA", "tokenizer", "quick", "BROWN", "fox", "don't", "can't", "I'm",
    "we'LL", "they'Ve", "it's", "naïve", "café", "Ångström", "über", "señor", "Привет", "мир", "γειά", "σου",
    "مرحبا", "שלום", "नमस्ते", "ไทย", "Việt", "tiếng", "x", "a", "I", "http://example.com/a?b=c&d=e"];
const spaces = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2009", "\u0085", "\v",
    "\f", "    ", "\n\n\n"];
const punct = [".", ",", "!", "?", ";", ":", "'", "\"", "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "|", "@",
    "#", "$", "%", "^", "&", "*", "-", "_", "+", "=", "~", "`", "...", "'s", "'LL", "'ve", "n't", "'D", "--", "=>",
    "!=", "```", "…", "—", "«", "»", "¿", "¡"];
const specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "<pad>", "<|begin_of_text|>",
    "<|eot_id|>", "<|start_header_id|>", "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<|end|>",
    "<|user|>", "<|assistant|>", "<|turn>", "<turn|>", "<mask>", "<|im_start", "<s", "</s >", "<|fim_prefix|>",
    "<think>", "</think>", "<tool_call>"];
const emoji = ["🦙", "👍🏽", "👨‍👩‍👧", "❤️", "😀", "🎉", "🔥", "🙈", "✅", "☕", "🇫🇷", "©", "™", "∑", "√", "∞"];
const code = ["def f(x):\n    return x * 2\n", "if (a && b) { c++; }", "    indented", "for i in range(10):",
    "#include <stdio.h>", "x = [1, 2, 3]", "</div>", "SELECT * FROM t;", "a_b_c", "camelCaseWord", "snake_case_2"];

function randomText(rnd) {
    const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
    const cp = (lo, hi) => String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
    let s = "";
    const n = 1 + Math.floor(rnd() * 12);
    for (let i = 0; i < n; i++) {
        const r = rnd();
        if (r < 0.22) s += pick(words);
        else if (r < 0.34) s += pick(spaces);
        else if (r < 0.44) s += pick(punct);
        else if (r < 0.50) s += String(Math.floor(rnd() * 10 ** (1 + Math.floor(rnd() * 8))));
        else if (r < 0.58) { for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) s += pick([cp(0x4e00, 0x9fa5), cp(0x3041, 0x3096), cp(0xac00, 0xd7a3)]); }
        else if (r < 0.64) s += pick(emoji);
        else if (r < 0.70) s += pick(["e\u0301", "a\u0308", "n\u0303", "ệ", "ǅ", "ﬁ", "Ⅻ", "²", "½", "٣"]);
        else if (r < 0.78) s += pick(specials);
        else if (r < 0.84) s += pick(code);
        else if (r < 0.88) s += cp(0x20, 0x7e);
        else if (r < 0.90) s += pick(["\ud800", "\udfff", "\0", "\u0007", "\u200b", "\ufeff"]);
        else s += " " + pick(words);
    }
    return s;
}

function runHearth(sub, model, extra, input) {
    const from = sub === "tokenize" ? ["-"] : [];
    return execFileSync(hearth, [sub, "-m", model, ...extra, "--batch", ...from],
        {input, maxBuffer: 1 << 28}).toString("utf8").split("\n").slice(0, -1);
}

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
let failures = 0, checks = 0;
for (const path of vocabs) {
    const name = basename(path);
    const model = await llama.loadModel({modelPath: path, vocabOnly: true});
    const rnd = mulberry32(seed);
    const texts = Array.from({length: count}, () => randomText(rnd));
    // llama.cpp receives the JS string as UTF-8, where a lone surrogate becomes U+FFFD.
    const input = texts.map((t) => JSON.stringify(t.toWellFormed())).join("\n") + "\n";
    const report = (what, i, want, got) => {
        failures++;
        if (failures <= 12) console.log(`${name} ${what} text ${i} ${JSON.stringify(texts[i])}\n  llama.cpp: ${want}\n  hearth:    ${got}`);
    };
    // Vocabulary facts: special ids, flags, end-of-generation set, attribute bits of every token.
    const info = JSON.parse(execFileSync(hearth, ["tokenize", "-m", path, "--vocab-info"], {maxBuffer: 1 << 28}).toString());
    const fact = (what, want, got) => {
        checks++;
        if (JSON.stringify(want) !== JSON.stringify(got)) {
            failures++;
            console.log(`${name} ${what}: llama.cpp ${JSON.stringify(want)?.slice(0, 300)}, hearth ${JSON.stringify(got)?.slice(0, 300)}`);
        }
    };
    fact("bos", model.tokens.bos ?? -1, info.bos);
    fact("eos", model.tokens.eos ?? -1, info.eos);
    fact("eot", model.tokens.eot ?? -1, info.eot);
    fact("add_bos", model.tokens.shouldPrependBosToken, info.add_bos);
    const eog = [], attrDiff = [];
    for (let id = 0; id < info.n_vocab; id++) {
        if (model._model.isEogToken(id)) eog.push(id);
        const a = model._model.getTokenAttributes(id);
        if (a !== info.attr[id]) attrDiff.push([id, a, info.attr[id]]);
    }
    fact("eog ids", eog, info.eog);
    fact("token attributes (id, llama.cpp, hearth)", [], attrDiff.slice(0, 10));
    for (const special of [false, true]) {
        const got = runHearth("tokenize", path, special ? ["--special"] : [], input);
        const wants = texts.map((t) => Array.from(model.tokenize(t, special)));
        texts.forEach((t, i) => {
            checks++;
            const want = JSON.stringify(wants[i]);
            if (got[i] !== want) report(special ? "tokenize --special" : "tokenize", i, want, got[i]);
        });
        // Detokenize llama.cpp's ids both ways and compare the bytes.
        const detok = runHearth("detokenize", path, special ? ["--special"] : [],
            wants.map((w) => JSON.stringify(w)).join("\n") + "\n");
        wants.forEach((w, i) => {
            checks++;
            const want = Buffer.from(model.detokenize(w, special), "utf8").toString("hex");
            const mine = Buffer.from(Buffer.from(detok[i] ?? "", "hex").toString("utf8"), "utf8").toString("hex");
            if (mine !== want) report(special ? "detokenize --special" : "detokenize", i, want, mine);
        });
    }
    await model.dispose();
}
console.log(`tokenizer oracle: ${checks} checks over ${vocabs.length} vocabularies, ${failures} mismatches`);
process.exit(failures ? 1 : 0);
