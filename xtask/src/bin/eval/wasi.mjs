// Runs the NLU measurements built for wasm32-wasip1 (`cargo xtask eval --wasm`) in Node's WASI.
//
//   node --no-turbo-fast-api-calls wasi.mjs <eval.wasm> <datasets folder> [eval arguments...]
//
// The guest sees the datasets folder as /data and nothing else of the file system. It is told
// which engine runs it, so that every timing it prints says "wasm, node N".
//
// Why the V8 flag: Node's fast-call path for WASI functions keeps using the guest's memory as it
// was before a `memory.grow`, and the process dies with SIGSEGV soon after (nodejs/node#53087,
// seen here with Node 20.20). The slow path costs a fraction of a microsecond per call, and the
// timed code makes no WASI calls but the two clock reads around it.

import { readFile } from "node:fs/promises";
import process from "node:process";
import { WASI } from "node:wasi";

const [wasmPath, dataDir, ...rest] = process.argv.slice(2);
if (!wasmPath || !dataDir) {
  console.error("usage: node --no-turbo-fast-api-calls wasi.mjs <eval.wasm> <datasets folder> [eval arguments...]");
  process.exit(2);
}
if (!process.execArgv.includes("--no-turbo-fast-api-calls")) {
  console.error("run node with --no-turbo-fast-api-calls: WASI fast calls crash after the guest's memory grows");
  process.exit(2);
}

const wasi = new WASI({
  version: "preview1",
  args: ["eval", "--data", "/data", "--platform", `wasm, node ${process.versions.node}`, ...rest],
  preopens: { "/data": dataDir },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
