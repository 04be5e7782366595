// Loads two vocabulary GGUF files in llama.cpp (node-llama-cpp, vocabOnly) and
// checks they tokenize the same texts identically: the texts given after the
// files, plus every test text of an optional NAME.gguf.inp file.
//   node gguf_same_tokens.mjs ORIGINAL.gguf REWRITTEN.gguf [--inp FILE] [TEXT...]
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const args = process.argv.slice(2);
const [origPath, copyPath] = args;
const texts = [];
for (let i = 2; i < args.length; i++) {
  if (args[i] === "--inp") {
    const parts = readFileSync(args[++i], "utf8").split("\n__ggml_vocab_test__\n");
    for (const p of parts) if (p.length) texts.push(p);
  } else {
    texts.push(args[i]);
  }
}

// llama.cpp logs a benign "missing tensor" error even for vocabulary-only loads,
// so its log is shown only when a load fails.
const log = [];
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error,
                              logger: (level, message) => log.push(message.trimEnd())});
async function load(modelPath) {
  try {
    return await llama.loadModel({modelPath, vocabOnly: true});
  } catch (e) {
    console.error(log.join("\n"));
    console.error(`llama.cpp cannot load ${modelPath}: ${e.message}`);
    process.exit(1);
  }
}
const orig = await load(origPath);
const copy = await load(copyPath);

let bad = 0;
for (const text of texts) {
  for (const special of [false, true]) {
    const a = Array.from(orig.tokenize(text, special));
    const b = Array.from(copy.tokenize(text, special));
    if (a.length === 0 && text.trim().length > 0) { console.error(`no tokens for ${JSON.stringify(text)}`); bad++; }
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      console.error(`differs for ${JSON.stringify(text)} (special=${special}): ${a} vs ${b}`);
      bad++;
    }
  }
}
const first = Array.from(copy.tokenize(texts[0]));
console.log(`${copyPath}: ${texts.length} texts tokenize identically; ${JSON.stringify(texts[0])} -> [${first}]`);
await orig.dispose();
await copy.dispose();
process.exit(bad ? 1 : 0);
