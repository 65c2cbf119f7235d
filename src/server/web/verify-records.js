// What a vouch record may say, read as the Rust code reads it, so that the in-browser
// verifier accepts exactly what the Rust `verify` module accepts:
//
// - entries (src/entry.rs) and DSSE envelopes (src/envelope.rs);
// - statements and registry statements with every rule they are checked against on
//   their own (src/statement.rs);
// - times as the `time` crate reads RFC 3339 and dates.
//
// The JSON comes from verify-core.js's `parseJson`, and is read into records by serde's
// rules for the Rust types: unknown fields and repeated fields are refused; an `Option`
// may be left out or null; a field with a default may be left out; a struct may also be
// written as an array of its fields in order; a unit enum variant is its name, or an
// object of its name and null.

import * as c from "./verify-core.js";

export const STATEMENT_TYPE = "application/vnd.vouch.statement+json";
export const REGISTRY_TYPE = "application/vnd.vouch.registry+json";
export const REGISTRY_SUBJECT = "registry";
const MAX_STATEMENT_LEN = 40 * 1024;
const MAX_NAME = 200;
const MAX_PROVINCE = 100;
const MAX_ADDRESS = 300;
const MAX_TEXT = 2000;
const MAX_URI = 1000;
const MAX_LIST = 100;
const MAX_EVIDENCE = 20;
const MAX_REFS = 20;
const MAX_IDENTIFIERS = 10;
export const DEFAULT_DISPUTE_WINDOW_DAYS = 30;
const MAX_DISPUTE_WINDOW_DAYS = 366;
const MAX_KEYS = 10;
const MAX_ENVELOPE_SIGNATURES = 16;

const bytesOf = new TextEncoder();

// serde's rules, one reader per Rust type. A reader takes a JSON value and the field's
// name, and returns the record or throws naming the field.

const bad = (field, why) => new Error(`\`${field}\`: ${why}`);

function str(v, field) {
  if (typeof v !== "string") throw bad(field, "expected a string");
  return v;
}

function unsigned(bits) {
  const max = 1n << BigInt(bits);
  return (v, field) => {
    if (typeof v !== "bigint" || v < 0n || v >= max) throw bad(field, `expected an integer from 0 to ${max - 1n}`);
    return v;
  };
}
const u64 = unsigned(64);
const u32 = unsigned(32);

function bool(v, field) {
  if (typeof v !== "boolean") throw bad(field, "expected a boolean");
  return v;
}

function f64(v, field) {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) throw bad(field, "expected a number");
  return n;
}

function vec(item) {
  return (v, field) => {
    if (!Array.isArray(v)) throw bad(field, "expected a list");
    return v.map((x, i) => item(x, `${field}[${i}]`));
  };
}

function map(v, field) {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad(field, "expected an object");
  return new Map(Object.entries(v).map(([k, x]) => [k, str(x, `${field}.${k}`)]));
}

function option(read) {
  return (v, field) => (v === null ? null : read(v, field));
}

/**
 * A unit variant of an enum whose variants are `names`: its name, or an object of its
 * name and null; inside a registry statement (which serde reads through its buffered
 * `Content`, for the `type` tag) also an object of its name and `{}`.
 */
function unitEnum(names, buffered = false) {
  return (v, field) => {
    let name = v;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const unit = (x) => x === null || (buffered && x !== null && typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0);
      if (keys.length !== 1 || !unit(v[keys[0]]) || v[c.REPEATED]) throw bad(field, "expected one of " + names.join(", "));
      name = keys[0];
    }
    if (typeof name !== "string" || !names.includes(name)) throw bad(field, "expected one of " + names.join(", "));
    return name;
  };
}

/**
 * A struct of `fields`: `[name, reader, how]`, where `how` is "required", "option" (an
 * `Option` with no default: may be left out of an object, not of an array) or a
 * function giving the default (`#[serde(default)]`).
 */
function struct(fields) {
  return (v, field) => {
    const out = {};
    const at = (name) => (field ? `${field}.${name}` : name);
    if (Array.isArray(v)) {
      if (v.length > fields.length) throw bad(field || "record", `expected at most ${fields.length} elements`);
      fields.forEach(([name, read, how], i) => {
        const optional = how === "option" || (typeof how === "function" && how.option);
        if (i < v.length) out[name] = optional ? option(read)(v[i], at(name)) : read(v[i], at(name));
        else if (typeof how === "function") out[name] = how();
        else throw bad(field || "record", `expected ${fields.length} elements`);
      });
      return out;
    }
    if (v === null || typeof v !== "object") throw bad(field || "record", "expected an object");
    if (v[c.REPEATED]) throw bad(field || "record", "a field is given twice");
    for (const k of Object.keys(v)) {
      if (!fields.some(([name]) => name === k)) throw bad(at(k), "unknown field");
    }
    for (const [name, read, how] of fields) {
      const optional = how === "option" || (typeof how === "function" && how.option);
      if (Object.prototype.hasOwnProperty.call(v, name)) {
        out[name] = optional ? option(read)(v[name], at(name)) : read(v[name], at(name));
      } else if (typeof how === "function") out[name] = how();
      else if (how === "option") out[name] = null;
      else throw bad(at(name), "missing field");
    }
    return out;
  };
}

/** `#[serde(default)]` on an `Option`: left out or null, it is none. */
const none = Object.assign(() => null, { option: true });
const empty = () => [];

// Times, as the `time` crate reads them, in nanoseconds since the Unix epoch (BigInt).

function daysInMonth(y, m) {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/** Days from 1970-01-01 to a proleptic Gregorian date. */
function dayNumber(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const NS_PER_DAY = 86_400_000_000_000n;
const RFC3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[\x00-\x7f]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z$/;

/** An RFC 3339 time in UTC written with Z (`parse_utc`). */
export function parseUtc(field, s) {
  const m = RFC3339.exec(s);
  const fail = () => bad(field, `${JSON.stringify(s)} is not an RFC 3339 time in UTC, written with Z`);
  if (!m) throw fail();
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) throw fail();
  let ns = BigInt(((m[7] || "0") + "00000000").slice(0, 9));
  let s2 = sec;
  if (sec === 60) {
    // A leap second stands for the nanosecond before it, and only at a month's end.
    if (h !== 23 || mi !== 59 || d !== daysInMonth(y, mo)) throw fail();
    s2 = 59;
    ns = 999_999_999n;
  }
  return BigInt(dayNumber(y, mo, d)) * NS_PER_DAY + BigInt(h * 3600 + mi * 60 + s2) * 1_000_000_000n + ns;
}

/** A date, `[+-]YYYY-MM-DD` (`parse_date`), as its day number. */
function parseDate(field, s) {
  const m = /^([+-]?)([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  const fail = () => bad(field, `${JSON.stringify(s)} is not a date (YYYY-MM-DD)`);
  if (!m) throw fail();
  const y = (m[1] === "-" ? -1 : 1) * Number(m[2]);
  const [mo, d] = [Number(m[3]), Number(m[4])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) throw fail();
  return dayNumber(y, mo, d);
}

/** The end of `valid_until`: the end of its day for a date, else the time itself. */
export function parseUntil(s) {
  if (bytesOf.encode(s).length === 10) {
    const day = parseDate("valid_until", s);
    // Date::next_day of 9999-12-31 is none, and the day itself is used.
    const next = s === "9999-12-31" ? day : day + 1;
    return BigInt(next) * NS_PER_DAY;
  }
  return parseUtc("valid_until", s);
}

// Text fields (`text` and `list` in src/statement.rs).

function text(field, s, max, required) {
  if (required && /^\p{White_Space}*$/u.test(s)) throw bad(field, "must not be empty");
  if ([...s].length > max) throw bad(field, `longer than ${max} characters`);
  if (/[\p{Cc}]/u.test(s.replaceAll("\n", ""))) throw bad(field, "holds control characters");
}

function list(field, l, max) {
  if (l.length > max) throw bad(field, `more than ${max} items`);
}

/** A hash as the log writes it: canonical base64 of 32 bytes (`decode_hash`). */
export function decodeHash(s) {
  const b = c.fromBase64(s);
  if (b.length !== 32) throw new Error("not base64 of a 32-byte hash");
  return b;
}

// Entries and envelopes.

const envelopeSignature = struct([
  ["keyid", str, "required"],
  ["sig", str, "required"],
]);
const envelope = struct([
  ["payloadType", str, "required"],
  ["payload", str, "required"],
  ["signatures", vec(envelopeSignature), "required"],
]);
const prev = struct([
  ["index", u64, "required"],
  ["leaf_hash", str, "required"],
]);
const entry = struct([
  ["v", u32, "required"],
  ["logged_at", str, "required"],
  ["subject", str, "required"],
  ["prev", prev, "option"],
  ["envelope", envelope, "required"],
]);

/** A version 1 vouch entry (`Entry::parse`). */
export function parseEntry(bytes) {
  let e;
  try {
    e = entry(c.parseJsonBytes(bytes), "");
  } catch (err) {
    throw new Error(`not a vouch entry: ${err.message}`);
  }
  if (e.v !== 1n) throw new Error(`entry version ${e.v} is not 1`);
  return e;
}

/** The `prev` link: `{index, leaf}` or null (`Entry::prev_link`). */
export function prevLink(e) {
  return e.prev === null ? null : { index: e.prev.index, leaf: decodeHash(e.prev.leaf_hash) };
}

/**
 * An envelope decoded (`Envelope::open`): its payload, the PAE it was signed as, and its
 * signatures as `{keyId (8 lowercase hex), sig (64 bytes)}`; nothing here checks who
 * signed.
 */
export function openEnvelope(env) {
  let body;
  try {
    body = c.fromBase64(env.payload);
  } catch {
    throw new Error("payload is not canonical base64");
  }
  if (env.signatures.length === 0) throw new Error("envelope has no signatures");
  if (env.signatures.length > MAX_ENVELOPE_SIGNATURES) throw new Error(`envelope has more than ${MAX_ENVELOPE_SIGNATURES} signatures`);
  const signatures = [];
  env.signatures.forEach((s, i) => {
    if (!/^[0-9a-f]{8}$/.test(s.keyid)) throw new Error(`signature ${i}: keyid must be 8 lowercase hex digits (the signer's key id)`);
    if (signatures.some((x) => x.keyId === s.keyid)) throw new Error(`key ${s.keyid} signed twice`);
    let sig;
    try {
      sig = c.fromBase64(s.sig);
    } catch {
      sig = null;
    }
    if (!sig || sig.length !== 64) throw new Error(`signature ${i}: sig is not canonical base64 of 64 bytes`);
    signatures.push({ keyId: s.keyid, sig });
  });
  return { payloadType: env.payloadType, body, pae: c.pae(env.payloadType, body), signatures };
}

// Statements (src/statement.rs).

export const KINDS = ["audit", "metric", "corrective_action", "remediation", "rating", "incentive", "response", "retraction", "correction", "dispute", "resolution", "purchasing_practice", "profile", "alias"];
const OUTCOMES = ["upheld", "amended", "withdrawn"];
const TOPICS = ["wages", "working_hours", "health_safety", "freedom_of_association", "worker_dialogue", "child_forced_labour", "grievance", "energy", "ghg", "water", "wastewater", "chemicals", "waste", "management_systems", "other", "air_emissions", "recruitment", "termination", "worker_treatment", "discrimination", "forecasting", "design_development", "price_negotiation", "lead_time", "order_changes", "payment_terms", "partnership"];
const PURCHASING = ["forecasting", "design_development", "price_negotiation", "lead_time", "order_changes", "payment_terms", "partnership"];
const STATUSES = ["conformant", "partially_conformant", "non_conformant", "open", "in_progress", "completed", "verified"];
const SEVERITIES = ["minor", "major", "critical", "zero_tolerance"];
const ROLES = ["auditor", "buyer", "supplier", "ngo", "governance"];

/** Kinds that answer or act on earlier entries, and so must reference them. */
const needsRefs = (kind) => ["corrective_action", "remediation", "response", "retraction", "correction", "dispute", "resolution"].includes(kind);
/** Kinds that withdraw or replace the entries they reference. */
export const amends = (kind) => kind === "retraction" || kind === "correction";

/** An Open Supply Hub OS ID (`SupplierId::new`). */
function supplierId(v, field) {
  const s = str(v, field);
  if (!/^[A-Z]{2}[0-9]{7}[A-Z0-9]{6}$/.test(s)) throw bad(field, `${JSON.stringify(s)} is not an Open Supply Hub OS ID (two letters, seven digits, six letters or digits)`);
  return s;
}

const COUNTRIES = new Set(
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW".split(" "),
);

const statement = struct([
  ["kind", unitEnum(KINDS), "required"],
  [
    "supplier",
    struct([
      ["id", supplierId, "required"],
      ["name", str, "required"],
      ["country", str, "required"],
      ["identifiers", map, () => new Map()],
      ["province", str, none],
      ["address", str, none],
    ]),
    "required",
  ],
  ["topic", unitEnum(TOPICS), "required"],
  ["framework", struct([["name", str, "required"], ["version", str, none]]), none],
  ["period", struct([["from", str, "required"], ["to", str, "required"]]), none],
  ["issued_at", str, "required"],
  ["valid_until", str, none],
  [
    "result",
    struct([
      ["status", unitEnum(STATUSES), none],
      ["score", f64, none],
      ["grade", str, none],
      ["metrics", vec(struct([["name", str, "required"], ["value", f64, "required"], ["unit", str, "required"], ["unit_code", str, none]])), empty],
    ]),
    none,
  ],
  ["findings", vec(struct([["code", str, "required"], ["severity", unitEnum(SEVERITIES), "required"], ["text", str, "required"]])), empty],
  ["evidence", vec(struct([["uri", str, "required"], ["sha256", str, "required"]])), empty],
  ["refs", vec(struct([["index", u64, "required"], ["leaf_hash", str, "required"]])), empty],
  ["text", struct([["lang", str, "required"], ["body", str, "required"]]), none],
  ["actions", vec(struct([["id", str, "required"], ["text", str, "required"], ["owner", str, "required"], ["due", str, "required"]])), empty],
  ["closes", vec(str), empty],
  ["disputes", vec(str), empty],
  ["outcome", unitEnum(OUTCOMES), none],
  ["buyer", str, none],
  [
    "profile",
    struct([
      ["location", struct([["lat", f64, "required"], ["lng", f64, "required"]]), none],
      ["sector", vec(str), empty],
      ["product_type", vec(str), empty],
      ["facility_type", vec(str), empty],
      ["processing_type", vec(str), empty],
      ["number_of_workers", u32, none],
      ["parent_company", str, none],
      ["other_names", vec(str), empty],
    ]),
    none,
  ],
  ["alias_of", supplierId, none],
  ["v", u32, none],
  ["assessor_level", unitEnum(["Self", "Commercial", "Buyer", "Membership", "Unspecified", "3rdParty"]), none],
  ["assessment_level", unitEnum(["GovtApproval", "GlobalMRA", "Accredited", "Verified", "Validated", "Unspecified"]), none],
  ["attestation_type", unitEnum(["certification", "declaration", "inspection", "testing", "verification", "validation", "calibration"]), none],
  [
    "scheme",
    struct([
      ["id", str, "required"],
      ["name", str, "required"],
      ["description", str, "required"],
      ["version", str, "required"],
      ["valid_from", str, "required"],
      ["owner", struct([["id", str, "required"], ["name", str, "required"]]), "required"],
    ]),
    none,
  ],
  ["criteria", vec(struct([["id", str, "required"], ["name", str, "required"], ["description", str, none], ["conformance", bool, none]])), empty],
]);

/** Item ids of a corrective action plan: the form, and each once (`check_item_ids`). */
function checkItemIds(field, ids) {
  const seen = new Set();
  ids.forEach((id, i) => {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(id)) throw bad(`${field}[${i}]`, `${JSON.stringify(id)} is not an item id (1-32 of A-Z a-z 0-9 . _ -)`);
    if (seen.has(id)) throw bad(`${field}[${i}]`, `${id} is given twice`);
    seen.add(id);
  });
}

/** A dispute names findings and says why; a resolution gives an outcome and says why (`validate_dispute`). */
function validateDispute(s) {
  const dispute = s.kind === "dispute";
  const resolution = s.kind === "resolution";
  if (s.disputes.length > 0 && !dispute) throw bad("disputes", "only a dispute names disputed findings");
  if (s.outcome !== null && !resolution) throw bad("outcome", "only a resolution gives an outcome");
  if (!dispute && !resolution) return;
  if (s.refs.length > 1) throw bad("refs", `a ${s.kind} refers to exactly one entry`);
  if (!s.text) throw bad("text", `a ${s.kind} says why, in \`text\``);
  if (dispute) {
    if (s.disputes.length === 0) throw bad("disputes", "a dispute names the codes of the findings it disputes");
    list("disputes", s.disputes, MAX_LIST);
    const seen = new Set();
    s.disputes.forEach((code, i) => {
      text(`disputes[${i}]`, code, 64, true);
      if (seen.has(code)) throw bad(`disputes[${i}]`, `${code} is given twice`);
      seen.add(code);
    });
    return;
  }
  if (s.outcome === null) throw bad("outcome", "a resolution gives an outcome: upheld, amended or withdrawn");
  if (s.outcome === "amended" && s.findings.length === 0) throw bad("findings", "an amended outcome restates the disputed findings as amended");
  if (s.outcome !== "amended" && s.findings.length > 0) throw bad("findings", `a resolution restates findings only when it amends them, not when ${s.outcome}`);
}

/** A statement about a buyer names it and speaks of purchasing practices (`validate_buyer`). */
function validateBuyer(s) {
  const practice = s.kind === "purchasing_practice";
  if (s.buyer === null) {
    if (practice) throw bad("buyer", "a purchasing_practice names the buyer it is about");
    return;
  }
  participantId("buyer", s.buyer);
  if (!practice && !["response", "retraction", "correction"].includes(s.kind)) throw bad("buyer", `a ${s.kind} is about a supplier, not a buyer`);
  if (practice && !PURCHASING.includes(s.topic)) {
    throw bad("topic", "a purchasing_practice is on forecasting, design_development, price_negotiation, lead_time, order_changes, payment_terms or partnership");
  }
  if (practice && !s.result && s.findings.length === 0 && !s.text) throw bad("result", "a purchasing_practice gives a result, findings or text");
}

/** Only a profile describes the facility and only an alias names another OS ID (`validate_profile`). */
function validateProfile(s) {
  const only = (field, kind, present) => {
    if (present !== (s.kind === kind)) throw bad(field, present ? `only a ${kind} gives \`${field}\`` : `a ${kind} gives \`${field}\``);
  };
  only("profile", "profile", s.profile !== null);
  only("alias_of", "alias", s.alias_of !== null);
  const p = s.profile;
  if (p) {
    if (p.location) {
      const { lat, lng } = p.location;
      if (!(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180)) throw bad("profile.location", "latitude is from -90 to 90 and longitude from -180 to 180");
    }
    for (const [field, items] of [
      ["profile.sector", p.sector],
      ["profile.product_type", p.product_type],
      ["profile.facility_type", p.facility_type],
      ["profile.processing_type", p.processing_type],
      ["profile.other_names", p.other_names],
    ]) {
      list(field, items, MAX_IDENTIFIERS * 2);
      items.forEach((item, i) => text(`${field}[${i}]`, item, MAX_NAME, true));
    }
    if (p.parent_company !== null) text("profile.parent_company", p.parent_company, MAX_NAME, true);
  }
  if (s.alias_of !== null && s.alias_of === s.supplier.id) throw bad("alias_of", "an OS ID is not an alias of itself");
}

/** The first version 2 field a statement gives (`v2_field`). */
function v2Field(s) {
  const codes = s.result !== null && s.result.metrics.some((m) => m.unit_code !== null);
  const given = [
    ["assessor_level", s.assessor_level !== null],
    ["assessment_level", s.assessment_level !== null],
    ["attestation_type", s.attestation_type !== null],
    ["scheme", s.scheme !== null],
    ["criteria", s.criteria.length > 0],
    ["result.metrics.unit_code", codes],
  ].find(([, g]) => g);
  return given ? given[0] : null;
}

/** An absolute URI (`uri`). */
function uri(field, s) {
  const ok = /^[A-Za-z][A-Za-z0-9+.-]*:./su.test(s) && !/[\s\p{Cc}]/u.test(s) && bytesOf.encode(s).length <= MAX_URI;
  if (!ok) throw bad(field, `${JSON.stringify(s)} is not an absolute URI`);
}

/** The version 2 fields only in a version 2 statement, each well formed (`validate_v2`). */
function validateV2(s) {
  if (s.v !== null && s.v !== 1n && s.v !== 2n) throw bad("v", `${s.v} is not a statement version (1 or 2)`);
  const v2 = s.v === 2n;
  const field = v2Field(s);
  if (field !== null && !v2) throw bad(field, 'is a version 2 field: the statement says "v": 2');
  (s.result ? s.result.metrics : []).forEach((m, i) => {
    if (m.unit_code !== null && !/^[A-Z0-9]{2,3}$/.test(m.unit_code)) {
      throw bad(`result.metrics[${i}].unit_code`, `${JSON.stringify(m.unit_code)} is not a UN/CEFACT Rec 20 unit code (2 or 3 of A-Z 0-9: KWH, MTQ, HUR)`);
    }
  });
  const sc = s.scheme;
  if (sc) {
    uri("scheme.id", sc.id);
    text("scheme.name", sc.name, MAX_NAME, true);
    text("scheme.description", sc.description, MAX_TEXT, true);
    text("scheme.version", sc.version, 64, true);
    parseDate("scheme.valid_from", sc.valid_from);
    uri("scheme.owner.id", sc.owner.id);
    text("scheme.owner.name", sc.owner.name, MAX_NAME, true);
  }
  list("criteria", s.criteria, MAX_LIST);
  s.criteria.forEach((c, i) => {
    text(`criteria[${i}].id`, c.id, MAX_NAME, true);
    text(`criteria[${i}].name`, c.name, MAX_NAME, true);
    if (c.description !== null) text(`criteria[${i}].description`, c.description, MAX_TEXT, true);
  });
}

/** The subject a statement is filed under (`Statement::subject`). */
export const subjectOf = (s) => (s.buyer !== null ? `buyer:${s.buyer}` : s.supplier.id);

/** Whether `tag` has the form of a BCP 47 language tag (`is_language_tag`). */
function isLanguageTag(tag) {
  const [lang, ...rest] = tag.split("-");
  return tag.length <= 35 && /^[a-z]{2,3}$/.test(lang) && rest.every((p) => /^[A-Za-z0-9]{1,8}$/.test(p));
}

function parsePayload(bytes, read) {
  if (bytes.length > MAX_STATEMENT_LEN) throw new Error(`statement is ${bytes.length} bytes; the limit is ${MAX_STATEMENT_LEN}`);
  try {
    return read(c.parseJsonBytes(bytes), "");
  } catch (e) {
    throw new Error(`statement is not valid JSON for its schema: ${e.message}`);
  }
}

/** An attestation statement, with every rule of `Statement::validate`. */
export function parseStatement(bytes) {
  const s = parsePayload(bytes, statement);
  const sup = s.supplier;
  text("supplier.name", sup.name, MAX_NAME, true);
  if (!(sup.country.length === 2 && COUNTRIES.has(sup.country))) throw bad("supplier.country", `${JSON.stringify(sup.country)} is not an ISO 3166-1 alpha-2 code`);
  if (sup.identifiers.size > MAX_IDENTIFIERS) throw bad("supplier.identifiers", `more than ${MAX_IDENTIFIERS} items`);
  for (const [k, v] of [...sup.identifiers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    text("supplier.identifiers", k, 64, true);
    text(`supplier.identifiers.${k}`, v, MAX_NAME, true);
  }
  if (sup.province !== null) text("supplier.province", sup.province, MAX_PROVINCE, true);
  if (sup.address !== null) text("supplier.address", sup.address, MAX_ADDRESS, true);
  if (s.framework) {
    text("framework.name", s.framework.name, MAX_NAME, true);
    if (s.framework.version !== null) text("framework.version", s.framework.version, 64, true);
  }
  if (s.period) {
    const from = parseDate("period.from", s.period.from);
    const to = parseDate("period.to", s.period.to);
    if (from > to) throw bad("period", "`from` is after `to`");
  }
  const issued = parseUtc("issued_at", s.issued_at);
  if (s.valid_until !== null && parseUntil(s.valid_until) <= issued) throw bad("valid_until", "must be after issued_at");
  const r = s.result;
  if (r) {
    if (r.score !== null && !(r.score >= 0 && r.score <= 100)) throw bad("result.score", "must be from 0 to 100");
    if (r.grade !== null) text("result.grade", r.grade, 16, true);
    list("result.metrics", r.metrics, MAX_LIST);
    r.metrics.forEach((m, i) => {
      text(`result.metrics[${i}].name`, m.name, MAX_NAME, true);
      text(`result.metrics[${i}].unit`, m.unit, 32, true);
    });
  }
  list("findings", s.findings, MAX_LIST);
  s.findings.forEach((f, i) => {
    text(`findings[${i}].code`, f.code, 64, true);
    text(`findings[${i}].text`, f.text, MAX_TEXT, true);
  });
  list("evidence", s.evidence, MAX_EVIDENCE);
  s.evidence.forEach((e, i) => {
    text(`evidence[${i}].uri`, e.uri, MAX_URI, true);
    if (!/^[0-9a-f]{64}$/.test(e.sha256)) throw bad(`evidence[${i}].sha256`, "must be 64 lowercase hex digits");
  });
  list("refs", s.refs, MAX_REFS);
  s.refs.forEach((ref, i) => {
    try {
      decodeHash(ref.leaf_hash);
    } catch {
      throw bad(`refs[${i}].leaf_hash`, "must be base64 of 32 bytes");
    }
  });
  if (s.actions.length > 0 && s.kind !== "corrective_action") throw bad("actions", "only a corrective_action lists action items");
  list("actions", s.actions, MAX_LIST);
  checkItemIds("actions.id", s.actions.map((a) => a.id));
  s.actions.forEach((a, i) => {
    text(`actions[${i}].text`, a.text, MAX_TEXT, true);
    text(`actions[${i}].owner`, a.owner, MAX_NAME, true);
    parseDate(`actions[${i}].due`, a.due);
  });
  if (s.closes.length > 0 && s.kind !== "remediation") throw bad("closes", "only a remediation closes action items");
  list("closes", s.closes, MAX_LIST);
  checkItemIds("closes", s.closes);
  validateDispute(s);
  validateBuyer(s);
  validateProfile(s);
  validateV2(s);
  if (s.text) {
    if (!isLanguageTag(s.text.lang)) throw bad("text.lang", `${JSON.stringify(s.text.lang)} is not a BCP 47 language tag (vi, en, en-GB)`);
    text("text.body", s.text.body, MAX_TEXT, true);
  }
  if (needsRefs(s.kind) && s.refs.length === 0) throw bad("refs", `a ${s.kind} must reference the entries it is about`);
  if (s.kind === "metric" && (!r || r.metrics.length === 0)) throw bad("result.metrics", "a metric statement carries at least one metric");
  if (s.kind === "rating" && (!r || (r.score === null && r.grade === null))) throw bad("result", "a rating gives a score or a grade");
  return s;
}

// Registry statements (src/statement.rs, `RegistryStatement`).

const accreditation = struct([
  ["body", str, "required"],
  ["reference", str, "required"],
]);
const participantSpec = struct([
  ["id", str, "required"],
  ["name", str, "required"],
  ["roles", vec(unitEnum(ROLES, true)), "required"],
  ["supplier_ids", vec(supplierId), empty],
  ["keys", vec(str), "required"],
  ["accreditation", accreditation, none],
]);

/** `Since`: a log index, or a time. */
function since(v, field) {
  if (typeof v === "bigint") return u64(v, field);
  if (typeof v === "string") return v;
  throw bad(field, "expected a log index or a time");
}

const VARIANTS = {
  genesis: struct([
    ["threshold", u32, "required"],
    ["participants", vec(participantSpec), "required"],
    ["issued_at", str, "required"],
  ]),
  register: struct([
    ["participant", participantSpec, "required"],
    ["issued_at", str, "required"],
  ]),
  add_key: struct([
    ["participant", str, "required"],
    ["key", str, "required"],
    ["issued_at", str, "required"],
  ]),
  revoke_key: struct([
    ["participant", str, "required"],
    ["key_id", str, "required"],
    ["compromised_since", since, none],
    ["issued_at", str, "required"],
  ]),
  remove: struct([
    ["participant", str, "required"],
    ["issued_at", str, "required"],
  ]),
  set_threshold: struct([
    ["threshold", u32, "required"],
    ["issued_at", str, "required"],
  ]),
  set_dispute_window: struct([
    ["days", u32, "required"],
    ["issued_at", str, "required"],
  ]),
};
const VARIANT_NAMES = Object.keys(VARIANTS);

/** An internally tagged registry statement: `type` names the variant (a string). */
function registryStatement(v) {
  let tag;
  let rest;
  if (Array.isArray(v)) {
    if (v.length === 0) throw bad("type", "missing field");
    [tag, ...rest] = v;
  } else if (v !== null && typeof v === "object") {
    if (v[c.REPEATED]) throw bad("record", "a field is given twice");
    if (!Object.prototype.hasOwnProperty.call(v, "type")) throw bad("type", "missing field");
    tag = v.type;
    rest = Object.create(null);
    for (const k of Object.keys(v)) if (k !== "type") rest[k] = v[k];
  } else throw bad("record", "expected an object");
  let type = null;
  if (typeof tag === "string" && VARIANT_NAMES.includes(tag)) type = tag;
  if (type === null) throw bad("type", "expected one of " + VARIANT_NAMES.join(", "));
  return { type, ...VARIANTS[type](rest, "") };
}

/** Whether `id` is a participant id: 2 to 64 of a-z 0-9 . - _, from a letter or digit. */
export function isParticipantId(id) {
  return /^[a-z0-9][a-z0-9._-]{1,63}$/.test(id);
}

function participantId(field, id) {
  if (!isParticipantId(id)) throw bad(field, `${JSON.stringify(id)} is not a participant id (2-64 of a-z 0-9 . - _)`);
}

async function verifierKey(field, k) {
  try {
    await c.parseVerifierKey(k);
  } catch (e) {
    throw bad(field, e.message);
  }
}

async function checkSpec(field, p) {
  participantId(`${field}.id`, p.id);
  text(`${field}.name`, p.name, MAX_NAME, true);
  if (p.roles.length === 0) throw bad(`${field}.roles`, "at least one role");
  if (p.roles.includes("supplier") === (p.supplier_ids.length === 0)) {
    throw bad(`${field}.supplier_ids`, "a participant with the supplier role names its supplier ids, and only it");
  }
  list(`${field}.supplier_ids`, p.supplier_ids, MAX_LIST);
  if (p.keys.length === 0) throw bad(`${field}.keys`, "at least one key");
  list(`${field}.keys`, p.keys, MAX_KEYS);
  for (const [i, k] of p.keys.entries()) await verifierKey(`${field}.keys[${i}]`, k);
  if (p.accreditation) {
    text(`${field}.accreditation.body`, p.accreditation.body, MAX_NAME, true);
    text(`${field}.accreditation.reference`, p.accreditation.reference, MAX_NAME, true);
  }
}

/** A registry statement, with every rule of `RegistryStatement::validate`. */
export async function parseRegistryStatement(bytes) {
  const s = parsePayload(bytes, registryStatement);
  parseUtc("issued_at", s.issued_at);
  switch (s.type) {
    case "genesis": {
      list("participants", s.participants, MAX_LIST);
      for (const [i, p] of s.participants.entries()) await checkSpec(`participants[${i}]`, p);
      const members = s.participants.filter((p) => p.roles.includes("governance")).length;
      if (s.threshold === 0n || s.threshold > BigInt(members)) throw bad("threshold", `must be from 1 to the ${members} governance participants`);
      break;
    }
    case "register":
      await checkSpec("participant", s.participant);
      break;
    case "add_key":
      participantId("participant", s.participant);
      await verifierKey("key", s.key);
      break;
    case "revoke_key":
      participantId("participant", s.participant);
      if (!/^[0-9a-f]{8}$/.test(s.key_id)) throw bad("key_id", "must be 8 lowercase hex digits");
      if (typeof s.compromised_since === "string") parseUtc("compromised_since", s.compromised_since);
      break;
    case "remove":
      participantId("participant", s.participant);
      break;
    case "set_threshold":
      if (s.threshold === 0n || s.threshold > BigInt(MAX_LIST)) throw bad("threshold", `must be from 1 to ${MAX_LIST}`);
      break;
    case "set_dispute_window":
      if (s.days === 0n || s.days > BigInt(MAX_DISPUTE_WINDOW_DAYS)) throw bad("days", `must be from 1 to ${MAX_DISPUTE_WINDOW_DAYS}`);
      break;
  }
  return s;
}

/** The participant a registry change is about (null for the genesis statement and changes of the rules). */
export function participantOf(s) {
  if (s.type === "genesis" || s.type === "set_threshold" || s.type === "set_dispute_window") return null;
  if (s.type === "register") return s.participant.id;
  return s.participant;
}

/** serde's rules, for the readers of served JSON (verify-history.js). */
export const serde = { struct, str, u64, vec, option, none, empty };
