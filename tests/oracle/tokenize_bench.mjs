// llama.cpp's tokenization speed (node-llama-cpp, vocabulary-only load) for
// bench/bench_tokenizer.c: node tokenize_bench.mjs VOCAB.gguf TEXTFILE -> "MB/s X".
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [vocab, file] = process.argv.slice(2);
const bytes = readFileSync(file);
const text = bytes.toString("utf8");
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: vocab, vocabOnly: true});
let best = Infinity;
for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    model.tokenize(text, false);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
}
console.log(`MB/s ${(bytes.length / 1e6 / best).toFixed(3)}`);
await model.dispose();
