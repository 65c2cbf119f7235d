// The explorer's check in the reader's browser. On a factory page or a record page the
// server draws a section (#in-browser) naming the supplier, the tree size the page was
// drawn at, the log's key and the words to speak in. This script:
//
// 1. pins the log key: the first key a page names is remembered (localStorage); a page
//    that later names another is answered with a loud warning, and everything is still
//    checked against the pinned key, so that nothing verifies under a key the reader
//    has not accepted;
// 2. fetches the supplier's complete history at the page's tree size (every page of it)
//    and checks it as the Rust verifier does (verify-history.js);
// 3. checks that the page shows what was verified: every record of the history, each
//    with its verdict (a record page: its record, its verdict, and the statement as
//    signed); a verdict may differ only by expiry, for a record whose valid_until
//    falls between the page's drawing and now;
// 4. says, in the page's language, "verified in this browser ..." or which check
//    failed, in red; and which witnesses cosigned the checkpoint it verified, checked
//    against the witness keys this browser pinned with the log key (the first set a
//    page named).

import { cosignatures, fromBase64, parseJson, parseJsonBytes, parseVerifierKey, sha256, toHex } from "./verify-core.js";
import { parseEntry, parseUntil, parseUtc } from "./verify-records.js";
import { fetchHistory, join, joinedIds, sameJson, verifyHistory } from "./verify-history.js";

const PIN = "vouch.log-key";
const WITNESS_PIN = "vouch.witness-keys";

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));

/** The fingerprint the Verify page shows: SHA-256 of the key, in hex groups of four. */
async function fingerprint(key) {
  const hex = toHex(await sha256(new TextEncoder().encode(key)));
  return hex.match(/.{4}/g).join(" ");
}

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function readPin() {
  try {
    return localStorage.getItem(PIN);
  } catch {
    return null;
  }
}

function writePin(key) {
  try {
    localStorage.setItem(PIN, key);
  } catch {
    // Storage refused (a private window): the key is pinned for this page only.
  }
}

/**
 * The witness keys this browser pinned: the first set a page named (with the log key),
 * kept; a page cannot swap in witnesses of its own.
 */
function witnessKeys(box) {
  let pinned = null;
  try {
    pinned = localStorage.getItem(WITNESS_PIN);
  } catch {
    pinned = null;
  }
  const named = box.dataset.witnessKeys || "[]";
  if (pinned === null || pinned === "[]") {
    try {
      localStorage.setItem(WITNESS_PIN, named);
    } catch {
      // Storage refused: pinned for this page only.
    }
    pinned = named;
  }
  return JSON.parse(pinned);
}

/** The names of the pinned witnesses that cosigned `note`, or a reason it is not known. */
async function cosigners(box, note) {
  const keys = [];
  for (const k of witnessKeys(box)) keys.push(await parseVerifierKey(k, 4));
  if (keys.length === 0) return [];
  return (await cosignatures(note, keys)).map((c) => c.name);
}

/** Whether a record crossed its `valid_until` between the page's drawing and now. */
function expiredBetween(entry, drawnAt, now) {
  const until = entry.statement && entry.statement.valid_until;
  if (!until) return false;
  const t = parseUntil(until);
  const [a, b] = drawnAt < now ? [drawnAt, now] : [now, drawnAt];
  return a <= t && t < b;
}

/** The statement a proven entry carries, as JSON. */
function signedStatement(history, index) {
  const p = history.entries.find((e) => String(e.index) === index);
  return parseJsonBytes(fromBase64(parseEntry(fromBase64(p.entry)).envelope.payload));
}

/**
 * Whether the page shows exactly the verified records, each with its verdict (and on a
 * record page, the statement as signed).
 */
function pageCheck(box, report, history, now) {
  const verified = new Map(report.entries.map((e) => [String(e.index), e]));
  const drawnAt = parseUtc("data-drawn-at", box.dataset.drawnAt);
  const record = box.dataset.index;
  const shown = record !== undefined
    ? [[record, box.dataset.verdict]]
    : [...document.querySelectorAll("ol.timeline > li[data-index]")].map((li) => [li.dataset.index, li.dataset.verdict]);
  const size = BigInt(box.dataset.treeSize);
  for (const [index, verdict] of shown) {
    const e = verified.get(index);
    if (!e) return { ok: false, reason: `the page shows record ${index}, which the verified history does not hold` };
    const expiry = [verdict, e.verdict].sort().join() === "expired,valid" && expiredBetween(e, drawnAt, now);
    if (e.verdict !== verdict && !expiry) {
      return { ok: false, reason: `the page shows record ${index} as ${verdict}; verified, it is ${e.verdict}` };
    }
  }
  if (record !== undefined) {
    const shownJson = document.getElementById("signed-statement");
    let same = false;
    try {
      same = shownJson !== null && sameJson(parseJson(shownJson.textContent), signedStatement(history, record));
    } catch {
      same = false;
    }
    if (!same) return { ok: false, reason: `the statement the page shows for record ${record} is not the one signed` };
  }
  if (record === undefined) {
    const onPage = new Set(shown.map(([i]) => i));
    for (const e of report.entries) {
      if (e.index < size && !onPage.has(String(e.index))) return { ok: false, reason: `the page leaves out record ${e.index}` };
    }
  }
  return {
    ok: true,
    reason: record !== undefined ? `the page shows record ${record} as verified` : `the page shows all ${shown.length} verified records, each with its verdict`,
  };
}

/** The first check that failed: the history's own, else the first failing entry's. */
function firstFailure(report, page) {
  const own = report.checks.find((k) => !k.ok && k.name !== "entries");
  if (own) return own;
  for (const e of report.entries) {
    const k = e.checks.find((k) => !k.ok);
    if (k) return { name: `${k.name} (record ${e.index})`, reason: k.reason };
  }
  if (page && !page.ok) return { name: "page", reason: page.reason };
  return report.checks.find((k) => !k.ok) ?? null;
}

async function run(box) {
  const words = JSON.parse(box.dataset.words);
  const status = box.querySelector(".status");
  const started = performance.now();
  const state = (name) => {
    box.classList.remove("checking", "verified", "failed", "stale");
    box.classList.add(name);
    box.dataset.state = name;
  };
  for (const old of box.querySelectorAll(".key, .alarm, details, .cosigned")) old.remove();
  state("checking");
  status.textContent = words.checking;

  const served = box.dataset.logKey;
  let pinned = readPin();
  let changed = false;
  if (pinned === null) {
    pinned = served;
    writePin(served);
    box.append(element("p", "key", fill(words.key_first, { fp: await fingerprint(served) })));
  } else if (pinned !== served) {
    changed = true;
    const alarm = element("div", "alarm");
    alarm.setAttribute("role", "alert");
    alarm.append(element("p", "", fill(words.key_changed, { old: await fingerprint(pinned), new: await fingerprint(served) })));
    const button = element("button", "", words.pin_new);
    button.type = "button";
    button.addEventListener("click", () => {
      writePin(served);
      run(box);
    });
    alarm.append(button);
    box.insertBefore(alarm, status);
  } else {
    box.append(element("p", "key", fill(words.key_pinned, { fp: await fingerprint(pinned) })));
  }

  const supplier = box.dataset.supplier;
  const size = BigInt(box.dataset.treeSize);
  let report;
  let page = null;
  let stale = false;
  let cosigned = null;
  try {
    let history;
    try {
      history = await fetchHistory(location.origin, supplier, size);
    } catch (e) {
      // The page's checkpoint may be gone from the server's recent ones: if the log
      // has grown past it, the page is only out of date, and is not checked.
      const latest = await fetchHistory(location.origin, supplier, null);
      if (latest.tree_size <= size) throw e;
      stale = true;
    }
    if (!stale) {
      const now = BigInt(Date.now()) * 1_000_000n;
      const t = performance.now();
      report = await verifyHistory(history, supplier, pinned, now);
      // The OS IDs its alias records join to it, at the same checkpoint.
      const ids = joinedIds(report);
      if (ids.length > 0) {
        const joined = [];
        for (const id of ids) joined.push(await fetchHistory(location.origin, id, history.tree_size));
        report = await join(report, history, joined, pinned, now);
      }
      box.dataset.verifyMs = String(Math.round(performance.now() - t));
      if (report.verdict === "valid") page = pageCheck(box, report, history, now);
      if (report.verdict === "valid") {
        try {
          cosigned = await cosigners(box, history.checkpoint);
        } catch (e) {
          page = { ok: false, reason: e.message };
        }
      }
    }
  } catch (e) {
    report = { verdict: "invalid", checks: [{ name: "request", ok: false, reason: e.message }], entries: [] };
  }
  if (stale) {
    state("stale");
    status.textContent = words.stale;
    box.dataset.ms = String(Math.round(performance.now() - started));
    return;
  }

  const record = box.dataset.index === undefined ? null : report.entries.find((e) => String(e.index) === box.dataset.index);
  const verified = !changed && report.verdict === "valid" && page !== null && page.ok;
  if (verified) {
    state("verified");
    status.textContent = record
      ? fill(words.verified_record, { verdict: words.verdicts[record.verdict], supplier, n: report.treeSize })
      : fill(words.verified_history, { supplier, n: report.treeSize, count: report.entries.length });
    if (cosigned && witnessKeys(box).length > 0) {
      const p = element("p", "cosigned", cosigned.length > 0 ? fill(words.cosigned, { witnesses: cosigned.join(", ") }) : words.not_cosigned);
      box.insertBefore(p, status.nextSibling);
    }
  } else {
    state("failed");
    const k = firstFailure(report, page) ?? { name: "checkpoint", reason: "the log key changed" };
    status.textContent = fill(words.failed, { check: k.name, reason: k.reason });
  }

  const details = element("details");
  details.append(element("summary", "", words.checks));
  const list = element("ul", "checks");
  const checks = [...report.checks, ...(page ? [{ name: "page", ...page }] : [])];
  for (const k of checks) {
    const li = element("li", k.ok ? "ok" : "failed");
    li.append(element("strong", "", k.name), `: ${k.reason}`);
    list.append(li);
  }
  for (const e of report.entries) {
    for (const k of e.checks.filter((k) => !k.ok)) {
      const li = element("li", "failed");
      li.append(element("strong", "", `${k.name} (record ${e.index})`), `: ${k.reason}`);
      list.append(li);
    }
  }
  details.append(list);
  box.append(details);
  box.dataset.ms = String(Math.round(performance.now() - started));
}

const box = document.getElementById("in-browser");
if (box && box.dataset.supplier) {
  run(box).catch((e) => {
    box.classList.add("failed");
    box.dataset.state = "failed";
    box.querySelector(".status").textContent = e.message;
  });
}
