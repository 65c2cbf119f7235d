// A supplier's history, checked in the reader's browser as the Rust `verify` module
// checks it (src/verify.rs, `verify_history`), check by check and with the same names:
//
// - `checkpoint`: signed by the log key the reader pins;
// - `request`: the history of the supplier asked about, at the checkpoint's size;
// - `complete`: the supplier index proves the chain head (or that there is none), the
//   entries run from it down the `prev` links to the first, as many as it counts
//   (docs/index.md §6);
// - `inclusion`: every entry is in the checkpoint's tree (RFC 9162 inclusion proofs;
//   the Rust code reports this per entry).
//
// Still to come, and so never reported as checked here: the registry that decides the
// signers' authority, the envelope signatures, and the verdicts of later records.

import * as c from "./verify-core.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Runs `f`; records its outcome as the check `name`. */
async function check(checks, name, f) {
  try {
    const reason = await f();
    checks.push({ name, ok: true, reason });
    return true;
  } catch (e) {
    checks.push({ name, ok: false, reason: e.message });
    return false;
  }
}

/** An entry's bytes and what they say (docs/design.md §5). */
function parseEntry(p) {
  const bytes = c.fromBase64(p.entry);
  const entry = JSON.parse(utf8.decode(bytes));
  if (entry.v !== 1 || typeof entry.subject !== "string") throw new Error(`entry ${p.index} is not a version 1 vouch entry`);
  return { bytes, entry };
}

/**
 * Checks `history` (the JSON of `GET /v1/suppliers/{id}/history`, one page) of
 * `supplier` against the log key `logKey` (a C2SP verifier key string). Returns
 * `{ok, checks}`: `ok` only if every check holds.
 */
export async function verifyHistory(history, supplier, logKey) {
  const checks = [];
  let cp;
  const signed = await check(checks, "checkpoint", async () => {
    const verifier = await c.parseVerifierKey(logKey);
    cp = c.parseCheckpoint(await c.openNote(history.checkpoint, verifier));
    if (cp.origin !== verifier.name) throw new Error(`the checkpoint is of ${cp.origin}, not of ${verifier.name}`);
    return `signed by ${verifier.name}, tree size ${cp.size}`;
  });
  if (!signed) return { ok: false, checks };
  const asked = await check(checks, "request", async () => {
    if (history.supplier !== supplier) throw new Error(`asked for ${supplier}, got a history of ${history.supplier}`);
    if (BigInt(history.tree_size) !== cp.size) throw new Error(`the history says tree size ${history.tree_size}, its checkpoint ${cp.size}`);
    return `the history of ${supplier} at tree size ${cp.size}`;
  });
  if (!asked) return { ok: false, checks };
  await check(checks, "complete", () => completeness(history, supplier, cp));
  await check(checks, "inclusion", async () => {
    for (const p of history.entries) {
      const proof = p.inclusion_proof.map((h) => c.fromBase64(h));
      const leaf = await c.leafHash(c.fromBase64(p.entry));
      if (!(await c.verifyInclusion(leaf, p.index, Number(cp.size), proof, cp.root))) {
        throw new Error(`entry ${p.index} is not in the checkpoint's tree`);
      }
    }
    return `all ${history.entries.length} entries are in the tree of size ${cp.size}`;
  });
  return { ok: checks.every((k) => k.ok), checks };
}

async function completeness(history, supplier, cp) {
  const root = c.indexRoot(cp);
  if (!root) throw new Error("the checkpoint commits to no supplier index, so the history cannot be proven complete");
  if (!history.index_proof) throw new Error("the history carries no supplier index proof, so it cannot be proven complete");
  let head;
  try {
    head = await c.verifyIndexProof(history.index_proof, await c.indexKey(supplier), root);
  } catch (e) {
    throw new Error(`the supplier index proof fails: ${e.message}`);
  }
  if (head === null) {
    if (history.entries.length === 0) return `the supplier index proves that no entry is about ${supplier} as of tree size ${cp.size}`;
    throw new Error(`the supplier index proves that no entry is about ${supplier}, yet the history shows ${history.entries.length}`);
  }
  let expect = { index: head.newestIndex, leaf: head.newestLeafHash };
  for (const [n, p] of history.entries.entries()) {
    const { bytes, entry } = parseEntry(p);
    if (expect === null) throw new Error(`entry ${p.index} comes after the supplier's first entry: the history has more entries than its chain`);
    if (p.index !== expect.index || !c.equal(await c.leafHash(bytes), expect.leaf)) {
      throw new Error(
        n === 0
          ? `the supplier index names entry ${expect.index} as the newest about ${supplier}, but the history starts at entry ${p.index}: newer entries are left out`
          : `the entry before this one in the chain is entry ${expect.index}, but the history shows entry ${p.index}`,
      );
    }
    if (entry.subject !== supplier) throw new Error(`entry ${p.index} is about ${entry.subject}, not ${supplier}`);
    expect = entry.prev === null ? null : { index: entry.prev.index, leaf: c.fromBase64(entry.prev.leaf_hash) };
  }
  if (expect !== null) throw new Error(`the history ends before entry ${expect.index}, which its last entry links to: earlier entries are left out`);
  if (history.entries.length !== head.count) {
    throw new Error(`the supplier index counts ${head.count} entries about ${supplier}, but its chain holds ${history.entries.length}: entries outside the chain`);
  }
  return `all ${head.count} entries about ${supplier}, from the newest (entry ${head.newestIndex}) back to the first, as the supplier index at tree size ${cp.size} proves`;
}
