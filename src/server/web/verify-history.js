// A supplier's history, checked in the reader's browser as the Rust `verify` module
// checks it (src/verify.rs, `verify_history`), check by check and with the same names
// and the same rules:
//
// - `checkpoint`: signed by the log key the reader pins, for the log of that key;
// - `request`: the history of the supplier asked about, at the checkpoint's size;
// - `registry`: the registry entries that decide the signers' authority, each in the
//   tree, every chain proven whole by the supplier index, replayed from the genesis
//   entry, each change signed by enough governance keys of the registry before it;
// - `complete`: the supplier index proves the chain head (or that there is none), and
//   the entries run from it down the `prev` links to the first, as many as it counts;
// - per entry: `inclusion`, `statement`, `subject`, `signers` (each envelope signature
//   by a key registered and active at the entry, of a participant allowed to sign that
//   kind), `key standing`, and `references`;
// - `entries`: every entry verifies.
//
// Verdicts as in Rust: valid, retracted, superseded, expired, suspect or invalid.

import * as c from "./verify-core.js";
import * as r from "./verify-records.js";
import { authorise, checkBuyer, checkGovernance, hasRole, isSupplier, participantSubject, Registry } from "./verify-registry.js";

// The served JSON, read by serde's rules for the Rust types (src/bundle.rs, src/index.rs).

const any = (v) => v;
const { struct, str, u64, vec, option, none, empty } = r.serde;

const proofJson = struct([
  ["leaf", struct([["key", str, "required"], ["count", u64, "required"], ["newest_index", u64, "required"], ["newest_leaf_hash", str, "required"]]), "option"],
  ["siblings", vec(option(str)), "required"],
]);
const decoded = struct([
  ["logged_at", str, "required"],
  ["subject", str, "required"],
  ["prev", u64, "option"],
  ["payload_type", str, "required"],
  ["statement", any, "required"],
]);
const provenEntry = struct([
  ["index", u64, "required"],
  ["entry", str, "required"],
  ["inclusion_proof", vec(str), "required"],
  ["decoded", decoded, none],
]);
const subjectProof = struct([
  ["subject", str, "required"],
  ["proof", proofJson, "required"],
]);
const historyRecord = struct([
  ["supplier", str, "required"],
  ["tree_size", u64, "required"],
  ["checkpoint", str, "required"],
  ["index_proof", proofJson, none],
  ["entries", vec(provenEntry), "required"],
  ["next_before", u64, none],
  ["registry", vec(provenEntry), empty],
  ["registry_proofs", vec(subjectProof), empty],
]);

/** A history (`GET /v1/suppliers/{id}/history`) from the JSON text the server sent. */
export function readHistory(text) {
  return historyRecord(c.parseJson(text), "");
}

/**
 * Every page of `supplier`'s history from the server at `base` (as the CLI's
 * `fetch_history`), at tree size `size` (null: the newest): pages after the first at
 * the first page's tree size, their entries appended, their registry chains merged.
 */
export async function fetchHistory(base, supplier, size = null, fetchImpl = fetch) {
  const get = async (url) => {
    const res = await fetchImpl(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!res.ok) throw new Error(`the server answered ${res.status} for ${url}`);
    // As Rust reads it: UTF-8 or nothing, a byte-order mark kept (and refused).
    return readHistory(c.utf8Text(new Uint8Array(await res.arrayBuffer())));
  };
  // A buyer's records (`buyer:<id>`) have a route of their own.
  const route = supplier.startsWith("buyer:") ? `buyers/${encodeURIComponent(supplier.slice(6))}` : `suppliers/${encodeURIComponent(supplier)}`;
  const path = `${base}/v1/${route}/history?limit=500`;
  const history = await get(size === null ? path : `${path}&size=${size}`);
  while (history.next_before !== null) {
    const before = history.next_before;
    history.next_before = null;
    const page = await get(`${path}&size=${history.tree_size}&before=${before}`);
    // Cosignatures may arrive between pages: the checkpoints' bodies must agree.
    const body = (note) => note.split("\n\n")[0];
    if (body(page.checkpoint) !== body(history.checkpoint) || (page.next_before !== null && page.next_before >= before)) {
      throw new Error(`the server answered the page before entry ${before} of ${supplier} with another checkpoint or page`);
    }
    history.entries.push(...page.entries);
    history.next_before = page.next_before;
    for (const e of page.registry) if (!history.registry.some((h) => h.index === e.index)) history.registry.push(e);
    for (const p of page.registry_proofs) if (!history.registry_proofs.some((h) => h.subject === p.subject)) history.registry_proofs.push(p);
    history.registry.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
  }
  return history;
}

class Checks {
  constructor() {
    this.list = [];
  }
  /** Records the outcome of `f` (its reason, or the error's message) as check `name`. */
  async add(name, f) {
    try {
      this.list.push({ name, ok: true, reason: await f() });
      return true;
    } catch (e) {
      this.list.push({ name, ok: false, reason: e.message });
      return false;
    }
  }
  allOk() {
    return this.list.every((k) => k.ok);
  }
}

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** The bytes and leaf hash of a proven entry, once its inclusion under `cp` is checked. */
async function proven(p, cp) {
  let bytes;
  try {
    bytes = c.fromBase64(p.entry);
  } catch {
    throw new Error(`entry ${p.index} is not base64`);
  }
  const leaf = await c.leafHash(bytes);
  const proof = p.inclusion_proof.map((h) => {
    try {
      return r.decodeHash(h);
    } catch {
      throw new Error(`proof hash ${JSON.stringify(h)} is not base64 of 32 bytes`);
    }
  });
  if (!(await c.verifyInclusion(leaf, p.index, cp.size, proof, cp.root))) {
    throw new Error(`entry ${p.index} is not in the checkpoint's tree`);
  }
  if (p.decoded !== null && !decodedMatches(p.decoded, bytes)) {
    throw new Error(`the decoded copy beside entry ${p.index} is not what its signed bytes say`);
  }
  return { bytes, leaf };
}

/** Integers beyond 64 bits are floats to serde_json's `Value`. */
function jsonNumber(v) {
  return typeof v === "bigint" && (v < -(2n ** 63n) || v >= 2n ** 64n) ? Number(v) : v;
}

/** Whether two JSON values (from parseJson) are the same `serde_json::Value`. */
export function sameJson(a, b) {
  a = jsonNumber(a);
  b = jsonNumber(b);
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
}

/** Whether the decoded copy beside an entry says what its bytes say (`Decoded::of`). */
function decodedMatches(d, bytes) {
  let e;
  let statement;
  try {
    e = r.parseEntry(bytes);
    statement = c.parseJsonBytes(c.fromBase64(e.envelope.payload));
  } catch {
    return false;
  }
  return (
    d.logged_at === e.logged_at &&
    d.subject === e.subject &&
    d.prev === (e.prev === null ? null : e.prev.index) &&
    d.payload_type === e.envelope.payloadType &&
    sameJson(d.statement, statement)
  );
}

async function openCheckpoint(signed, logKey, checks) {
  let cp = null;
  await checks.add("checkpoint", async () => {
    let verifier;
    try {
      verifier = await c.parseVerifierKey(logKey);
      cp = c.parseCheckpoint(await c.openNote(signed, verifier));
      if (cp.origin !== verifier.name) throw new Error(`the checkpoint is of ${cp.origin}, not of ${verifier.name}`);
    } catch (e) {
      cp = null;
      throw new Error(`not signed by the trusted log key: ${e.message}`);
    }
    return `signed by ${verifier.name} for tree size ${cp.size}`;
  });
  return cp;
}

// The registry chain (`RegistryChain` in src/verify.rs).

async function checkRegistrySignatures(envelope, registry, position) {
  const opened = r.openEnvelope(envelope);
  for (const s of opened.signatures) {
    const signer = registry.signerAt(s.keyId, position);
    if (!signer) throw new Error(`key ${s.keyId} could not sign registry entry ${position}`);
    if (!(await c.ed25519VerifyStrict(signer.publicKey, opened.pae, s.sig))) throw new Error(`a signature on registry entry ${position} does not verify`);
  }
  try {
    checkGovernance(registry, opened.signatures.map((s) => s.keyId), position);
  } catch (e) {
    throw new Error(`registry entry ${position}: ${e.message}`);
  }
}

function walkRegistryChain(subject, head, entries) {
  if (head === null) {
    for (const e of entries.values()) {
      if (e.entry.subject === subject) throw new Error(`the supplier index proves ${subject} has no entry, yet the bundle holds one`);
    }
    return;
  }
  let next = { index: head.newestIndex, leaf: head.newestLeafHash };
  let count = 0n;
  while (next !== null) {
    const e = entries.get(next.index);
    if (!e || !c.equal(e.leaf, next.leaf)) throw new Error(`registry entry ${next.index} of ${subject} is left out: the chain is not whole`);
    if (e.entry.subject !== subject) throw new Error(`registry entry ${next.index} is not about ${subject}`);
    count++;
    try {
      next = r.prevLink(e.entry);
    } catch (err) {
      throw new Error(`registry entry ${next.index}: ${err.message}`);
    }
  }
  if (count !== head.count) throw new Error(`the supplier index counts ${head.count} registry entries of ${subject}, the chain holds ${count}`);
}

async function verifyIndexProof(proof, subject, root) {
  return c.verifyIndexProof(proof, await c.indexKey(subject), root);
}

/** `RegistryChain::verify`: `[[index, registry after it], ...]`, oldest first. */
async function registryChain(chain, proofs, cp) {
  const entries = new Map();
  for (const p of chain) {
    const { bytes, leaf } = await proven(p, cp);
    let entry;
    let statement;
    try {
      entry = r.parseEntry(bytes);
      if (entry.envelope.payloadType !== r.REGISTRY_TYPE) throw new Error("not a registry statement");
      let body;
      try {
        body = c.fromBase64(entry.envelope.payload);
      } catch {
        throw new Error("payload is not base64");
      }
      statement = await r.parseRegistryStatement(body);
    } catch (e) {
      throw new Error(`registry entry ${p.index}: ${e.message}`);
    }
    if (entries.has(p.index)) throw new Error(`registry entry ${p.index} is given twice`);
    entries.set(p.index, { entry, leaf, statement });
  }
  const root = c.indexRoot(cp);
  if (root !== null) {
    if (!proofs.some((p) => p.subject === r.REGISTRY_SUBJECT)) throw new Error("the governance chain comes without its index proof");
    for (const sp of proofs) {
      if (sp.subject !== r.REGISTRY_SUBJECT && !sp.subject.startsWith(`${r.REGISTRY_SUBJECT}:`)) throw new Error(`${sp.subject} is not a registry chain`);
      let head;
      try {
        head = await verifyIndexProof(sp.proof, sp.subject, root);
      } catch (e) {
        throw new Error(`the index proof of ${sp.subject} fails: ${e.message}`);
      }
      if (sp.subject === r.REGISTRY_SUBJECT) {
        const named = c.registryHead(cp);
        const same = named !== null && head !== null && named.index === head.newestIndex && c.equal(named.leaf, head.newestLeafHash);
        if (named !== null && !same) throw new Error("the checkpoint's registry head is not the head the index proves");
      }
      walkRegistryChain(sp.subject, head, entries);
    }
    for (const [i, e] of [...entries].sort(([a], [b]) => cmp(a, b))) {
      if (!proofs.some((p) => p.subject === e.entry.subject)) throw new Error(`registry entry ${i} (${e.entry.subject}) is not in a chain proven complete`);
    }
  } else {
    const named = c.registryHead(cp);
    if (named === null) throw new Error("the checkpoint names no registry head: not a vouch ledger checkpoint");
    walkRegistryChain(r.REGISTRY_SUBJECT, { count: BigInt(entries.size), newestIndex: named.index, newestLeafHash: named.leaf }, entries);
  }
  const states = [];
  for (const [index, e] of [...entries].sort(([a], [b]) => cmp(a, b))) {
    let next;
    if (states.length === 0) {
      if (index !== 0n) throw new Error("the registry chain does not start at the genesis entry");
      try {
        next = await Registry.genesis(e.statement);
      } catch (err) {
        throw new Error(`genesis: ${err.message}`);
      }
      await checkRegistrySignatures(e.entry.envelope, next, 0n);
    } else {
      const before = states[states.length - 1][1];
      // A participant's chain holds only changes about that participant, never about
      // a governance member.
      if (e.entry.subject !== r.REGISTRY_SUBJECT && before.subjectOf(e.statement) !== e.entry.subject) {
        throw new Error(`registry entry ${index} is filed under ${e.entry.subject}, not where the log files it`);
      }
      await checkRegistrySignatures(e.entry.envelope, before, index);
      next = before.clone();
      try {
        await next.apply(e.statement, index);
      } catch (err) {
        throw new Error(`registry entry ${index}: ${err.message}`);
      }
    }
    states.push([index, next]);
  }
  if (states.length > 0 && root !== null) {
    for (const p of states[states.length - 1][1].participants.values()) {
      const subject = participantSubject(p.id);
      if (hasRole(p, "governance") && !proofs.some((sp) => sp.subject === subject)) {
        throw new Error(`no index proof for ${subject}: a governance member's changes could hide there`);
      }
    }
  }
  if (states.length === 0) throw new Error("no registry entries");
  return {
    states,
    /** The registry after every change before `position` (or all, for null). */
    at(position) {
      if (position === null) return states[states.length - 1][1];
      let upto = states.findIndex(([i]) => i >= position);
      if (upto < 0) upto = states.length;
      return states[Math.max(upto, 1) - 1][1];
    },
  };
}

// One entry (`verify_entry`).

async function signerCheck(opened, statement, chain, position, loggedAt) {
  const then = chain.at(position);
  const latest = chain.at(null);
  const signers = [];
  let suspect = false;
  let own = false;
  for (const s of opened.signatures) {
    const found = then.signerAt(s.keyId, position);
    if (!found) throw new Error(`key ${s.keyId} was not registered and active at entry ${position}`);
    if (!(await c.ed25519VerifyStrict(found.publicKey, opened.pae, s.sig))) throw new Error(`signature by key ${s.keyId} does not verify`);
    const p = found.participant;
    if (!r.amends(statement.kind)) authorise(p, statement);
    suspect ||= latest.isSuspect(s.keyId, position, loggedAt);
    // Signed by its subject: the supplier, or the buyer a record is about.
    own ||= statement.buyer === null ? isSupplier(p, statement.supplier.id) : statement.buyer === p.id;
    signers.push({ id: p.id, name: p.name, roles: p.roles, accreditation: p.accreditation });
  }
  checkBuyer(then, statement, position);
  return { signers, suspect, own };
}

function newReport(index) {
  return {
    verdict: "invalid",
    index,
    subject: null,
    kind: null,
    issuedAt: null,
    signers: [],
    signedBy: [],
    statement: null,
    selfReported: false,
    checks: [],
    standing: { retractedBy: [], supersededBy: [], answeredBy: [], expired: false },
  };
}

async function verifyEntry(p, cp, chain, now, checks) {
  const report = newReport(p.index);
  let suspect = false;
  let parsed = null;
  let bytes = null;
  const included = await checks.add("inclusion", async () => {
    bytes = (await proven(p, cp)).bytes;
    return `entry ${p.index} is in the tree of size ${cp.size}`;
  });
  if (included) {
    let e;
    let statement;
    const ok = await checks.add("statement", async () => {
      e = r.parseEntry(bytes);
      if (e.envelope.payloadType !== r.STATEMENT_TYPE) throw new Error(`payload type ${e.envelope.payloadType} is not a statement`);
      let body;
      try {
        body = c.fromBase64(e.envelope.payload);
      } catch {
        throw new Error("payload is not base64");
      }
      statement = r.parseStatement(body);
      return `a valid ${statement.kind} statement about ${statement.supplier.id}`;
    });
    if (ok) {
      report.subject = e.subject;
      report.kind = statement.kind;
      report.issuedAt = statement.issued_at;
      await checks.add("subject", async () => {
        if (e.subject !== r.subjectOf(statement)) throw new Error(`filed under ${e.subject}, but the statement is about ${r.subjectOf(statement)}`);
        return `the entry is filed under ${e.subject}`;
      });
      if (chain === null) {
        await checks.add("signers", async () => {
          throw new Error("no verified registry to check the signers against");
        });
      } else {
        let found = null;
        await checks.add("signers", async () => {
          found = await signerCheck(r.openEnvelope(e.envelope), statement, chain, p.index, e.logged_at);
          return `signed by ${found.signers.map((s) => s.id).join(", ")} with keys registered for this kind at entry ${p.index}`;
        });
        if (found) {
          report.signedBy = found.signers;
          report.selfReported = found.own;
          report.signers = found.signers.map((s) => s.id);
          suspect = found.suspect;
          await checks.add("key standing", async () =>
            suspect
              ? "a signing key was later revoked as compromised from before this entry: suspect"
              : "no signing key is known to be compromised at this entry",
          );
        }
      }
      report.standing.expired = statement.valid_until !== null && r.parseUntil(statement.valid_until) < now;
      report.statement = statement;
      parsed = statement;
    }
  }
  report.verdict = !checks.allOk() ? "invalid" : suspect ? "suspect" : "valid";
  report.checks = checks.list;
  return { report, statement: parsed };
}

/** Turns `valid` into what later records and time make of it (`Report::settle`). */
function settle(report) {
  if (report.verdict !== "valid") return;
  const s = report.standing;
  report.verdict = s.retractedBy.length ? "retracted" : s.supersededBy.length ? "superseded" : s.expired ? "expired" : "valid";
}

/** Records that state findings, not answers, disputes or amendments (`policy::disputable`). */
const disputable = (kind) => !["response", "retraction", "correction", "dispute", "resolution"].includes(kind);

/** Entry `index` as the log's policy sees a referenced entry (`Known::target`). */
function refTarget(known, index, depth) {
  const statement = known.parsed.get(index) ?? null;
  const report = known.reports.find((e) => e.index === index);
  const loggedAt = known.logged.get(index);
  if (!report || loggedAt === undefined) return null;
  let disputedSigners = [];
  if (statement && statement.kind === "dispute" && depth === 0 && statement.refs.length > 0) {
    const t = refTarget(known, statement.refs[0].index, 1);
    if (t) disputedSigners = t.signers;
  }
  return {
    index,
    signers: report.signers,
    loggedAt,
    kind: statement ? statement.kind : null,
    findings: statement ? statement.findings.map((f) => f.code) : [],
    disputedSigners,
  };
}

/** Why a dispute logged at `loggedAt` may not dispute `target` (`policy::dispute_problem`). */
function disputeProblem(statement, signers, target, loggedAt, windowDays) {
  const not = (why) => `entry ${target.index} cannot be disputed: ${why}`;
  if (target.kind === null) return not("it is a registry change");
  if (!disputable(target.kind)) return not(`it is a ${target.kind}, not a record of findings`);
  if (target.signers.some((s) => signers.includes(s))) return not("a signer cannot dispute its own record");
  const missing = statement.disputes.find((code) => !target.findings.includes(code));
  if (missing !== undefined) return not(`it has no finding ${missing}`);
  let then;
  try {
    then = r.parseUtc("logged_at", target.loggedAt);
  } catch {
    return null;
  }
  if (loggedAt > then + windowDays * 86_400_000_000_000n) {
    return `entry ${target.index} was logged at ${target.loggedAt}: the ${windowDays}-day window to dispute it has closed`;
  }
  return null;
}

/** Why `signers` may not resolve `target` (`policy::resolution_problem`). */
function resolutionProblem(signers, registry, target) {
  if (target.kind !== "dispute") return `entry ${target.index} is not a dispute, so there is nothing to resolve`;
  const allowed = signers.every((s) => (registry.participants.has(s) && hasRole(registry.participants.get(s), "governance")) || target.disputedSigners.includes(s));
  return allowed ? null : `the dispute at entry ${target.index} can only be resolved by the signer of the disputed entry or by governance`;
}

/** What is wrong with the references of the statement at `index`, if anything. */
function refProblem(index, statement, known, chain) {
  const { leaves, reports } = known;
  const own = reports.find((e) => e.index === index);
  if (!own) return null;
  for (const ref of statement.refs) {
    const leaf = leaves.get(ref.index);
    if (!leaf) return `entry ${ref.index} that it refers to is not in this history`;
    let named;
    try {
      named = r.decodeHash(ref.leaf_hash);
    } catch {
      named = null;
    }
    if (!named || !c.equal(named, leaf)) return `entry ${ref.index} has another leaf hash than the reference names`;
    if (r.amends(statement.kind)) {
      const target = reports.find((e) => e.index === ref.index);
      if (!target || chain === null) return null;
      const registry = chain.at(index);
      const allowed = own.signers.every((s) => target.signers.includes(s) || (registry.participants.has(s) && hasRole(registry.participants.get(s), "governance")));
      if (!allowed) return `${statement.kind === "retraction" ? "retract" : "correct"}s entry ${ref.index} without being its signer or governance`;
    }
    if (statement.kind === "dispute" || statement.kind === "resolution") {
      if (chain === null) return null;
      const registry = chain.at(index);
      const target = refTarget(known, ref.index, 0);
      if (target === null) return null;
      let problem;
      if (statement.kind === "dispute") {
        let loggedAt;
        try {
          loggedAt = r.parseUtc("logged_at", known.logged.get(index));
        } catch {
          return null;
        }
        problem = disputeProblem(statement, own.signers, target, loggedAt, registry.disputeWindowDaysOrDefault());
      } else {
        const who = own.signers.filter((s) => registry.participants.has(s));
        problem = resolutionProblem(who, registry, target);
      }
      if (problem !== null) return problem;
    }
  }
  return null;
}

/**
 * Checks `history` (from readHistory or fetchHistory) of `supplier` against the log key
 * `logKey` (a C2SP verifier key string) at `now` (nanoseconds since the epoch, BigInt).
 * Returns the report: `{verdict, supplier, treeSize, checks, entries}`, each entry with
 * its verdict, checks and standing.
 */
export async function verifyHistory(history, supplier, logKey, now = BigInt(Date.now()) * 1_000_000n) {
  const checks = new Checks();
  const report = { verdict: "invalid", supplier, treeSize: history.tree_size, checks: checks.list, entries: [] };
  const cp = await openCheckpoint(history.checkpoint, logKey, checks);
  if (cp === null) return report;
  const asked = await checks.add("request", async () => {
    if (history.supplier !== supplier) throw new Error(`asked for ${supplier}, got a history of ${history.supplier}`);
    if (history.tree_size !== cp.size) throw new Error(`the history says tree size ${history.tree_size}, its checkpoint ${cp.size}`);
    return `the history of ${supplier} at tree size ${cp.size}`;
  });
  if (!asked) return report;
  let chain = null;
  await checks.add("registry", async () => {
    chain = await registryChain(history.registry, history.registry_proofs, cp);
    return `${chain.states.length} registry entries that decide the signers' authority, every chain whole, replayed from the genesis entry`;
  });
  await checks.add("complete", () => completeness(history, supplier, cp));
  const parsed = [];
  for (const p of history.entries) {
    const { report: e, statement } = await verifyEntry(p, cp, chain, now, new Checks());
    if (statement) parsed.push([p.index, statement]);
    report.entries.push(e);
  }
  // References, now that every entry of the supplier is at hand.
  const leaves = new Map();
  for (const p of history.entries) {
    try {
      leaves.set(p.index, await c.leafHash(c.fromBase64(p.entry)));
    } catch {
      // Not base64: its own report says so.
    }
  }
  parsed.sort(([a], [b]) => cmp(a, b));
  // One statement per index, the last given (as a BTreeMap keeps it).
  const unique = parsed.filter(([i], n) => n === parsed.length - 1 || parsed[n + 1][0] !== i);
  const logged = new Map();
  for (const p of history.entries) {
    try {
      logged.set(p.index, r.parseEntry(c.fromBase64(p.entry)).logged_at);
    } catch {
      // Not an entry: its own report says so.
    }
  }
  const known = { leaves, logged, parsed: new Map(unique), reports: report.entries };
  const problems = unique.map(([index, statement]) => refProblem(index, statement, known, chain));
  for (const [n, [index, statement]] of unique.entries()) {
    const problem = problems[n];
    if (problem !== null) {
      const e = report.entries.find((e) => e.index === index);
      e.verdict = "invalid";
      e.checks.push({ name: "references", ok: false, reason: problem });
      continue;
    }
    if (!report.entries.some((e) => e.index === index && e.verdict !== "invalid")) continue;
    for (const ref of statement.refs) {
      const target = report.entries.find((e) => e.index === ref.index);
      if (!target) continue;
      if (statement.kind === "retraction") target.standing.retractedBy.push(index);
      if (statement.kind === "correction") target.standing.supersededBy.push(index);
      if (statement.kind === "response") target.standing.answeredBy.push(index);
    }
  }
  report.entries.forEach(settle);
  await checks.add("entries", async () => {
    if (history.entries.length === 0) return "no entries to verify";
    if (report.entries.every((e) => e.verdict !== "invalid")) return "every entry verifies";
    throw new Error("at least one entry does not verify: see its report");
  });
  report.verdict = checks.allOk() ? "valid" : "invalid";
  return report;
}

/** The OS IDs the valid alias records of a verified history join to it, oldest first (`joined_ids`). */
export function joinedIds(report) {
  const ids = [];
  for (const e of [...report.entries].reverse()) {
    const s = e.statement;
    if (e.verdict === "valid" && s && s.kind === "alias" && s.alias_of !== null && !ids.includes(s.alias_of)) ids.push(s.alias_of);
  }
  return ids;
}

/**
 * Verifies the history of `supplier` and the histories of the OS IDs its valid alias
 * records join to it, at one checkpoint, as one history (`verify_joined`).
 */
export async function verifyJoined(history, joined, supplier, logKey, now = BigInt(Date.now()) * 1_000_000n) {
  return join(await verifyHistory(history, supplier, logKey, now), history, joined, logKey, now);
}

/** `verify::join`: a verified history's report with its joined histories. */
export async function join(report, history, joined, logKey, now) {
  const ids = report.verdict === "valid" ? joinedIds(report) : [];
  if (ids.length === 0 && joined.length === 0) return report;
  const body = (note) => note.split("\n\n")[0];
  let problem = null;
  const counts = [];
  for (const h of joined) {
    if (!ids.includes(h.supplier)) problem ??= `${h.supplier} is not joined to ${report.supplier} by a valid alias record`;
  }
  for (const id of ids) {
    const h = joined.find((x) => x.supplier === id);
    if (!h) {
      problem ??= `the history of ${id}, which an alias record joins, is missing`;
      continue;
    }
    if (h.tree_size !== history.tree_size || body(h.checkpoint) !== body(history.checkpoint)) {
      problem ??= `the history of ${id} is at another checkpoint than ${report.supplier}'s`;
      continue;
    }
    const r = await verifyHistory(h, id, logKey, now);
    if (r.verdict !== "valid") {
      const k = r.checks.find((k) => !k.ok);
      problem ??= `the history of ${id} does not verify (${k ? `${k.name}: ${k.reason}` : ""})`;
    }
    counts.push(`${id} (${r.entries.length} records)`);
    report.entries.push(...r.entries);
  }
  report.entries.sort((a, b) => (a.index > b.index ? -1 : a.index < b.index ? 1 : 0));
  const ok = problem === null;
  report.checks.push({
    name: "joined",
    ok,
    reason: ok ? `joined by alias records: the complete histories of ${counts.join(", ")}, at tree size ${history.tree_size}` : problem,
  });
  if (!ok) report.verdict = "invalid";
  return report;
}

/** Whether the history holds every entry about `supplier` in the checkpoint's tree. */
async function completeness(history, supplier, cp) {
  const root = c.indexRoot(cp);
  if (!root) throw new Error("the checkpoint commits to no supplier index, so the history cannot be proven complete");
  if (!history.index_proof) throw new Error("the history carries no supplier index proof, so it cannot be proven complete");
  let head;
  try {
    head = await verifyIndexProof(history.index_proof, supplier, root);
  } catch (e) {
    throw new Error(`the supplier index proof fails: ${e.message}`);
  }
  const n = history.entries.length;
  if (head === null) {
    if (n === 0) return `the supplier index proves that no entry is about ${supplier} as of tree size ${cp.size}`;
    throw new Error(`the supplier index proves that no entry is about ${supplier}, yet the history shows ${n}`);
  }
  let expect = { index: head.newestIndex, leaf: head.newestLeafHash };
  for (const [i, p] of history.entries.entries()) {
    let bytes;
    try {
      bytes = c.fromBase64(p.entry);
    } catch {
      throw new Error(`entry ${p.index} is not base64`);
    }
    if (expect === null) throw new Error(`entry ${p.index} comes after the supplier's first entry: the history has more entries than its chain`);
    if (p.index !== expect.index || !c.equal(await c.leafHash(bytes), expect.leaf)) {
      throw new Error(
        p.index === expect.index
          ? `entry ${p.index} is not the entry ${i === 0 ? "the supplier index names as the newest" : "the one after it links to"}: its bytes were changed`
          : i === 0
          ? `the supplier index names entry ${expect.index} as the newest about ${supplier}, but the history starts at entry ${p.index}: newer entries are left out`
          : `the entry before this one in the chain is entry ${expect.index}, but the history shows entry ${p.index}`,
      );
    }
    let e;
    try {
      e = r.parseEntry(bytes);
      if (e.subject !== supplier) throw new Error(`is about ${e.subject}, not ${supplier}`);
      expect = r.prevLink(e);
    } catch (err) {
      throw new Error(`entry ${p.index}: ${err.message}`);
    }
  }
  if (expect !== null) throw new Error(`the history ends before entry ${expect.index}, which its last entry links to: earlier entries are left out`);
  if (BigInt(n) !== head.count) throw new Error(`the supplier index counts ${head.count} entries about ${supplier}, but its chain holds ${n}: entries outside the chain`);
  return `all ${head.count} entries about ${supplier}, from the newest (entry ${head.newestIndex}) back to the first, as the supplier index at tree size ${cp.size} proves`;
}
