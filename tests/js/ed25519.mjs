// Reads a JSON list of Ed25519 cases `{key, sig, msg}` (hex, hex, text) and prints
// whether the in-browser verifier accepts each: the key as parseVerifierKey reads keys
// (a point of the curve, canonically written), the signature as ed25519VerifyStrict
// checks it (tests/js_agree.rs compares with vouch's Rust rule).

import { readFileSync } from "node:fs";
import { ed25519VerifyStrict, fromHex, isCanonical, onCurve } from "../../src/server/web/verify-core.js";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = [];
for (const c of cases) {
  const key = fromHex(c.key);
  const ok = onCurve(key) && isCanonical(key) && (await ed25519VerifyStrict(key, new TextEncoder().encode(c.msg), fromHex(c.sig)));
  out.push(ok);
}
process.stdout.write(JSON.stringify(out));
