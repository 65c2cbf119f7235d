// Runs the in-browser verifier's history checks (src/server/web/verify-history.js) on
// each case of a JSON file, `[{name, supplier, log_key, history}]`, and prints
// `[{name, checks: {<check>: true|false}}]`: tests/js_agree.rs compares them with what
// the Rust `verify_history` says of the same cases.

import { readFileSync } from "node:fs";
import { verifyHistory } from "../../src/server/web/verify-history.js";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = [];
for (const c of cases) {
  const r = await verifyHistory(c.history, c.supplier, c.log_key);
  out.push({ name: c.name, checks: Object.fromEntries(r.checks.map((k) => [k.name, k.ok])) });
}
process.stdout.write(JSON.stringify(out));
