// Loads each GGUF file given on the command line with llama.cpp (node-llama-cpp)
// and evaluates a few tokens: proves llama.cpp accepts the file and computes
// finite next-token probabilities from it (one thread: spinning workers make
// tiny models slow on a busy machine). Prints one line per file.
import {getLlama} from "node-llama-cpp";

const files = process.argv.slice(2);
if (files.length === 0) {
    console.error("usage: node load_gguf.mjs FILE.gguf...");
    process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
let failed = 0;
for (const modelPath of files) {
    try {
        const model = await llama.loadModel({modelPath});
        const ctx = await model.createContext({contextSize: 64, batchSize: 64, threads: 1, flashAttention: false});
        const seq = ctx.getSequence();
        const tokens = model.tokenize("the capital of France is", false);
        let n = 0, finite = true, top = -1;
        for await (const r of seq.evaluateWithMetadata(tokens, {probabilities: true}, {temperature: 0})) {
            for (const p of r.probabilities.values()) if (!Number.isFinite(p)) finite = false;
            top = r.token;
            if (++n >= 2) break;
        }
        if (!finite || n < 1) throw new Error(`non-finite probabilities or no tokens (${n})`);
        console.log(`${modelPath}: loaded, ${tokens.length} prompt tokens, generated ${n} tokens (last ${top})`);
        await ctx.dispose();
        await model.dispose();
    } catch (e) {
        failed++;
        console.log(`${modelPath}: FAILED: ${e.message}`);
    }
}
process.exit(failed ? 1 : 0);
