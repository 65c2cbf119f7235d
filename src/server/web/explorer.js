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
//    with its verdict (a record page: its record and verdict);
// 4. says, in the page's language, "verified in this browser ..." or which check
//    failed, in red.

import { sha256, toHex } from "./verify-core.js";
import { fetchHistory, verifyHistory } from "./verify-history.js";

const PIN = "vouch.log-key";

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

/** Whether the page shows exactly the verified records, each with its verdict. */
function pageCheck(box, report, grown) {
  const verified = new Map(report.entries.map((e) => [String(e.index), e.verdict]));
  const record = box.dataset.index;
  const shown = record !== undefined
    ? [[record, box.dataset.verdict]]
    : [...document.querySelectorAll("ol.timeline > li[data-index]")].map((li) => [li.dataset.index, li.dataset.verdict]);
  const size = BigInt(box.dataset.treeSize);
  for (const [index, verdict] of shown) {
    if (!verified.has(index)) return { ok: false, reason: `the page shows record ${index}, which the verified history does not hold` };
    if (!grown && verified.get(index) !== verdict) {
      return { ok: false, reason: `the page shows record ${index} as ${verdict}; verified, it is ${verified.get(index)}` };
    }
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
    box.classList.remove("checking", "verified", "failed");
    box.classList.add(name);
    box.dataset.state = name;
  };
  for (const old of box.querySelectorAll(".key, .alarm, details, .grown")) old.remove();
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
  let grown = false;
  try {
    let history;
    try {
      history = await fetchHistory(location.origin, supplier, size);
    } catch {
      // The page's checkpoint is no longer among the server's recent ones: check the
      // newest, and compare only which records the page shows.
      history = await fetchHistory(location.origin, supplier, null);
      grown = history.tree_size !== size;
    }
    const t = performance.now();
    report = await verifyHistory(history, supplier, pinned);
    box.dataset.verifyMs = String(Math.round(performance.now() - t));
    if (report.verdict === "valid") page = pageCheck(box, report, grown);
  } catch (e) {
    report = { verdict: "invalid", checks: [{ name: "request", ok: false, reason: e.message }], entries: [] };
  }

  const record = box.dataset.index === undefined ? null : report.entries.find((e) => String(e.index) === box.dataset.index);
  const verified = !changed && report.verdict === "valid" && page !== null && page.ok;
  if (verified) {
    state("verified");
    status.textContent = record
      ? fill(words.verified_record, { verdict: words.verdicts[record.verdict], supplier, n: report.treeSize })
      : fill(words.verified_history, { supplier, n: report.treeSize, count: report.entries.length });
  } else {
    state("failed");
    const k = firstFailure(report, page) ?? { name: "checkpoint", reason: "the log key changed" };
    status.textContent = fill(words.failed, { check: k.name, reason: k.reason });
  }
  if (grown) box.append(element("p", "grown", words.grown));

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
