// Runs the in-browser verifier (src/server/web/verify-history.js) on each case of a JSON
// file, `[{name, supplier, log_key, now_ns, history, joined?}]`, where `history` is the JSON text
// a server would send, and prints what it says of each case in the terms
// tests/js_agree.rs compares with the Rust `verify_history`: the history's checks, its
// verdict, and each entry's verdict, checks, standing, signers and whether it is
// self-reported (or `{unreadable: true}` when the text is not a history).

import { readFileSync } from "node:fs";
import { readHistory, verifyHistory, verifyJoined } from "../../src/server/web/verify-history.js";

const checks = (list) => Object.fromEntries(list.map((k) => [k.name, k.ok]));
const numbers = (l) => l.map(Number);

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = [];
for (const c of cases) {
  let history;
  try {
    history = readHistory(c.history);
  } catch {
    out.push({ name: c.name, unreadable: true });
    continue;
  }
  // With `joined` (the texts of the histories of the OS IDs joined to it), as one.
  const r = c.joined
    ? await verifyJoined(history, c.joined.map(readHistory), c.supplier, c.log_key, BigInt(c.now_ns))
    : await verifyHistory(history, c.supplier, c.log_key, BigInt(c.now_ns));
  out.push({
    name: c.name,
    verdict: r.verdict,
    checks: checks(r.checks),
    entries: r.entries.map((e) => ({
      index: Number(e.index),
      verdict: e.verdict,
      checks: checks(e.checks),
      standing: {
        retracted_by: numbers(e.standing.retractedBy),
        superseded_by: numbers(e.standing.supersededBy),
        answered_by: numbers(e.standing.answeredBy),
        expired: e.standing.expired,
      },
      signers: e.signers,
      self_reported: e.selfReported,
    })),
  });
}
process.stdout.write(JSON.stringify(out));
