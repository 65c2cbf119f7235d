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

function exactly(obj, fields) {
  return (
    obj !== null &&
    typeof obj === "object" &&
    !Array.isArray(obj) &&
    Object.keys(obj).sort().join() === [...fields].sort().join()
  );
}

/**
 * An entry's bytes and what they say (docs/design.md §5), with the fields vouch's
 * `Entry::parse` requires and no others. (JSON.parse keeps the last of duplicated keys,
 * where Rust refuses them: a difference still to close.)
 */
function parseEntry(p) {
  const bytes = c.fromBase64(p.entry);
  const bad = (why) => new Error(`entry ${p.index} is not a version 1 vouch entry: ${why}`);
  let entry;
  try {
    entry = JSON.parse(utf8.decode(bytes));
  } catch (e) {
    throw bad(e.message);
  }
  if (!exactly(entry, ["v", "logged_at", "subject", "prev", "envelope"])) throw bad("its fields");
  if (entry.v !== 1 || typeof entry.logged_at !== "string" || typeof entry.subject !== "string") throw bad("v, logged_at or subject");
  if (entry.prev !== null) {
    if (!exactly(entry.prev, ["index", "leaf_hash"]) || !Number.isSafeInteger(entry.prev.index) || entry.prev.index < 0) throw bad("prev");
    const h = c.fromBase64(entry.prev.leaf_hash);
    if (h.length !== 32) throw bad("prev.leaf_hash");
  }
  const env = entry.envelope;
  if (!exactly(env, ["payloadType", "payload", "signatures"]) || typeof env.payloadType !== "string" || typeof env.payload !== "string" || !Array.isArray(env.signatures)) {
    throw bad("envelope");
  }
  for (const sig of env.signatures) {
    if (!exactly(sig, ["keyid", "sig"]) || typeof sig.keyid !== "string" || typeof sig.sig !== "string") throw bad("envelope signature");
  }
  return { bytes, entry };
}

/** Whether two JSON values are the same value. */
function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
}

/**
 * Whether the decoded copy beside an entry says what its signed bytes say (as Rust's
 * `Decoded::of`): logged_at, subject, prev's index, payload type and the statement.
 */
function decodedMatches(decoded, bytes) {
  let entry;
  let statement;
  try {
    entry = JSON.parse(utf8.decode(bytes));
    statement = JSON.parse(utf8.decode(c.fromBase64(entry.envelope.payload)));
  } catch {
    return false;
  }
  return (
    exactly(decoded, ["logged_at", "subject", "prev", "payload_type", "statement"]) &&
    decoded.logged_at === entry.logged_at &&
    decoded.subject === entry.subject &&
    decoded.prev === (entry.prev === null ? null : entry.prev.index) &&
    decoded.payload_type === entry.envelope.payloadType &&
    sameJson(decoded.statement, statement)
  );
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
    if (!Number.isSafeInteger(history.tree_size) || BigInt(history.tree_size) !== cp.size) throw new Error(`the history says tree size ${history.tree_size}, its checkpoint ${cp.size}`);
    return `the history of ${supplier} at tree size ${cp.size}`;
  });
  if (!asked) return { ok: false, checks };
  await check(checks, "complete", () => completeness(history, supplier, cp));
  await check(checks, "inclusion", async () => {
    for (const p of history.entries) {
      const proof = p.inclusion_proof.map((h) => c.fromBase64(h));
      if (proof.some((h) => h.length !== 32)) throw new Error(`entry ${p.index}'s inclusion proof holds a hash that is not 32 bytes`);
      const bytes = c.fromBase64(p.entry);
      const leaf = await c.leafHash(bytes);
      if (!(await c.verifyInclusion(leaf, p.index, Number(cp.size), proof, cp.root))) {
        throw new Error(`entry ${p.index} is not in the checkpoint's tree`);
      }
      if (p.decoded !== undefined && p.decoded !== null && !decodedMatches(p.decoded, bytes)) {
        throw new Error(`the decoded copy beside entry ${p.index} is not what its signed bytes say`);
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
