// Reads a JSON list of 32-byte hex strings and prints, for each, whether the in-browser
// verifier takes it for an Ed25519 public key, for one of small order, and for its
// canonical encoding
// (tests/js_agree.rs compares with curve25519-dalek).

import { readFileSync } from "node:fs";
import { fromHex, isCanonical, isWeakKey, onCurve } from "../../src/server/web/verify-core.js";

const points = JSON.parse(readFileSync(process.argv[2], "utf8")).map(fromHex);
const out = points.map((p) => {
  const on = onCurve(p);
  return { on_curve: on, weak: on && isWeakKey(p), canonical: on && isCanonical(p) };
});
process.stdout.write(JSON.stringify(out));
