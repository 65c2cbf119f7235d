// The core of the explorer's in-browser verifier: the standard formats, checked with
// WebCrypto only (SHA-256 and Ed25519; nothing from elsewhere). Pure functions over
// bytes and strings, so that the same module runs in the reader's browser and under
// Node.js's test runner against the public vectors (tests/js/).
//
// - RFC 9162 Merkle hashing and inclusion proofs (docs/design.md §3);
// - C2SP signed notes: verifier keys, key ids, and the Ed25519 signature of a note
//   (checkpoints);
// - DSSE v1: the pre-authentication encoding and an envelope signature.
//
// What vouch adds on top (the supplier index proof, chains, the registry's authority)
// builds on these.

const subtle = globalThis.crypto.subtle;
const utf8 = new TextEncoder();

/**
 * Bytes of canonical standard base64 (RFC 4648 §4, with padding), as vouch writes and
 * reads it; throws on anything else (another alphabet, missing padding, stray bits).
 */
export function fromBase64(s) {
  if (typeof s !== "string" || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new Error("not canonical base64");
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (toBase64(out) !== s) throw new Error("not canonical base64");
  return out;
}

export function toBase64(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function fromHex(s) {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error("not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

/** RFC 9162 §2.1.1: SHA-256(0x00 || entry). */
export function leafHash(entry) {
  return sha256(concat(Uint8Array.of(0), entry));
}

/** RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/**
 * RFC 9162 §2.1.3.2: whether `proof` (hashes from the leaf up) leads from `leaf` at
 * `index` to `root` in the tree of `size` leaves.
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!(index < size)) return false;
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

/**
 * A C2SP verifier key, `<name>+<key id, 8 hex>+<base64(0x01 || Ed25519 public key)>`,
 * read by the rules of vouch's `Verifier::parse`: trailing line ends dropped; a name of
 * 1 to 256 bytes with no whitespace, control character or "+"; the key id in hex (either
 * case); canonical base64 of 0x01 and a point on the curve. Returns its name, key id
 * (4 bytes), key id as 8 lowercase hex digits, and public key, once the key id is
 * checked against the key.
 */
export async function parseVerifierKey(vkey, alg = 1) {
  if (typeof vkey !== "string") throw new Error("a verifier key is a string");
  const s = vkey.replace(/[\n\r]+$/, "");
  const first = s.indexOf("+");
  const second = first < 0 ? -1 : s.indexOf("+", first + 1);
  if (second < 0) throw new Error("a verifier key is <name>+<key id>+<key>");
  const [name, idHex, b64] = [s.slice(0, first), s.slice(first + 1, second), s.slice(second + 1)];
  if (!isKeyName(name)) throw new Error(`key name ${JSON.stringify(name)} is invalid`);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new Error("key id is not 8 hex digits");
  let key;
  try {
    key = fromBase64(b64);
  } catch {
    key = null;
  }
  if (!key || key.length !== 33 || key[0] !== alg) throw new Error(`key is not base64 of 0x0${alg} and 32 bytes`);
  const publicKey = key.slice(1);
  if (!onCurve(publicKey)) throw new Error("not a valid Ed25519 public key");
  if (!isCanonical(publicKey)) throw new Error("not the canonical encoding of an Ed25519 public key");
  const id = await keyId(name, key);
  if (toHex(id) !== idHex.toLowerCase()) throw new Error("the key id does not match the key");
  return { name, keyId: id, keyIdHex: toHex(id), publicKey };
}

/** A C2SP key name as vouch's `KeyName::new` accepts it. */
export function isKeyName(name) {
  return (
    name !== "" &&
    utf8.encode(name).length <= 256 &&
    !name.includes("+") &&
    !/[\p{White_Space}\p{Cc}]/u.test(name)
  );
}

// Ed25519 points (RFC 8032 §5.1.3), as curve25519-dalek decompresses them: the y
// coordinate may be written unreduced; the point must be on the curve.
const P = 2n ** 255n - 19n;
const D = (-121665n * modPow(121666n, P - 2n)) % P;

function modPow(b, e) {
  let r = 1n;
  b = ((b % P) + P) % P;
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

function yOf(bytes) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i]);
  return (y & ((1n << 255n) - 1n)) % P;
}

/** Whether 32 bytes decompress to a point of the curve (x² = (y² − 1) / (d·y² + 1)). */
export function onCurve(bytes) {
  if (bytes.length !== 32) return false;
  const y = yOf(bytes);
  const u = (y * y - 1n + P) % P;
  const v = (D * y * y + 1n) % P;
  const x2 = (u * modPow(v, P - 2n)) % P;
  return x2 === 0n || modPow(x2, (P - 1n) / 2n) === 1n;
}

// The y coordinates of the eight points of small order: (0, ±1), (±√−1, 0) and the
// four of order 8.
const Y8 = 0x5fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n;
const SMALL_ORDER_Y = [0n, 1n, P - 1n, Y8, P - Y8];

/**
 * Whether 32 bytes of a point on the curve are its one canonical encoding: y below p,
 * and no sign bit on x = 0 (y = ±1).
 */
export function isCanonical(bytes) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i]);
  const sign = y >> 255n;
  y &= (1n << 255n) - 1n;
  return y < P && !(sign === 1n && (y === 1n || y === P - 1n));
}

/** Whether a public key (on the curve) is of small order: dalek's `is_weak`. */
export function isWeakKey(bytes) {
  return SMALL_ORDER_Y.includes(yOf(bytes));
}

/** C2SP signed-note key id: the first 4 bytes of SHA-256(name || "\n" || 0x01 || key). */
async function keyId(name, algAndKey) {
  return (await sha256(concat(utf8.encode(name + "\n"), algAndKey))).slice(0, 4);
}

/**
 * `VerifyingKey::verify_strict`, vouch's rule for every signature (notes and
 * envelopes): no key of small order, no R of small order, then the signature as
 * WebCrypto checks it (s below the group order; the equation without the cofactor,
 * against R's own bytes).
 */
export async function ed25519VerifyStrict(publicKey, message, signature) {
  // The points of small order are those of five y coordinates, all on the curve
  // whatever the sign bit, so no decompression is needed to tell them.
  if (signature.length !== 64 || isWeakKey(publicKey) || isWeakKey(signature.subarray(0, 32))) return false;
  return ed25519Verify(publicKey, message, signature);
}

const imported = new Map();

/** Whether `signature` is `publicKey`'s Ed25519 signature of `message` (WebCrypto). */
export async function ed25519Verify(publicKey, message, signature) {
  if (signature.length !== 64) return false;
  const hex = toHex(publicKey);
  if (!imported.has(hex)) imported.set(hex, subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]));
  try {
    return await subtle.verify({ name: "Ed25519" }, await imported.get(hex), signature, message);
  } catch {
    // A key WebCrypto cannot import (off the curve) verifies nothing.
    return false;
  }
}

const MAX_NOTE_LEN = 64 * 1024;
const MAX_SIGNATURES = 100;

/**
 * Verifies a C2SP signed note against `verifier` (from parseVerifierKey), by the rules
 * of vouch's `note::open`: the text (non-empty, ending in a newline, no control
 * character but newlines), a blank line, then signature lines
 * `— <name> <base64(key id || signature)>`, each well formed. Lines of other keys are
 * passed over; a signature by the verifier's key must verify. Returns the note's text;
 * throws otherwise.
 */
export async function openNote(note, verifier) {
  if (typeof note !== "string" || utf8.encode(note).length > MAX_NOTE_LEN) throw new Error("the note is too large");
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new Error("the note holds a control character");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const sigs = note.slice(split + 2);
  if (sigs === "" || !sigs.endsWith("\n")) throw new Error("the signature block must end in a newline");
  if (text === "\n" || text === "") throw new Error("the note's text is empty");
  let verified = false;
  const lines = sigs.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new Error("too many signatures");
  for (const line of lines) {
    if (!line.startsWith("\u2014 ")) throw new Error('a signature line must start with "— "');
    const rest = line.slice(2);
    const space = rest.indexOf(" ");
    if (space < 0) throw new Error("a signature line has no key name");
    const name = rest.slice(0, space);
    if (name === "" || name.includes("+") || /\p{White_Space}/u.test(name)) throw new Error("bad key name in a signature line");
    const raw = fromBase64(rest.slice(space + 1));
    if (raw.length < 5) throw new Error("signature too short");
    if (name !== verifier.name || !equal(raw.slice(0, 4), verifier.keyId)) continue;
    if (!(await ed25519VerifyStrict(verifier.publicKey, utf8.encode(text), raw.slice(4)))) {
      throw new Error("the note's signature by " + verifier.name + " does not verify");
    }
    verified = true;
  }
  if (!verified) throw new Error("the note carries no signature by " + verifier.name);
  return text;
}

/**
 * The cosignatures (C2SP tlog-cosignature, `cosignature/v1`) on a signed checkpoint of
 * the witnesses `witnesses` (from parseVerifierKey(vkey, 4)), as vouch's
 * `Note::cosignatures` checks them: a line of a listed witness (its name and key id)
 * is its key id, a big-endian 64-bit time below 2^63 and an Ed25519 signature of
 * `cosignature/v1\ntime <time>\n` and the note's text; lines of other keys are passed
 * over. Returns [{ name, time }] (time a BigInt, POSIX seconds), one per witness;
 * throws when a listed witness's line does not verify.
 */
export async function cosignatures(note, witnesses) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("no blank line before the signatures");
  const text = note.slice(0, split + 1);
  const out = [];
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line.startsWith("\u2014 ")) continue;
    const rest = line.slice(2);
    const space = rest.indexOf(" ");
    const name = rest.slice(0, space);
    const w = witnesses.find((k) => k.name === name);
    if (!w || out.some((c) => c.name === name)) continue;
    const raw = fromBase64(rest.slice(space + 1));
    if (!equal(raw.slice(0, 4), w.keyId)) continue;
    let time = 0n;
    for (const b of raw.slice(4, 12)) time = (time << 8n) | BigInt(b);
    const msg = utf8.encode(`cosignature/v1\ntime ${time}\n${text}`);
    const ok = raw.length === 76 && time < 1n << 63n && (await ed25519VerifyStrict(w.publicKey, msg, raw.slice(12)));
    if (!ok) throw new Error(`the cosignature of ${name} does not verify`);
    out.push({ name, time });
  }
  return out;
}

/**
 * A checkpoint's text (C2SP tlog-checkpoint), as vouch's `Checkpoint::parse` reads it:
 * origin, tree size (canonical decimal, at most 2^64 − 1), root hash (base64 of 32
 * bytes), then extension lines; no line empty or holding a control character.
 */
export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new Error("a checkpoint must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new Error("a checkpoint has an origin, a size and a root hash");
  const [origin, size, root, ...rest] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(size) || BigInt(size) >= 2n ** 64n) throw new Error("size is not a canonical decimal number");
  let hash;
  try {
    hash = fromBase64(root);
  } catch {
    hash = null;
  }
  if (!hash || hash.length !== 32) throw new Error("root hash is not base64 of 32 bytes");
  const lineOk = (l) => l !== "" && !/\p{Cc}/u.test(l);
  if (!lineOk(origin)) throw new Error("origin line is empty or invalid");
  if (!rest.every(lineOk)) throw new Error("extension line is empty or invalid");
  return { origin, size: BigInt(size), root: hash, extensions: rest };
}

/** A hash as vouch writes one, or null: canonical base64 of 32 bytes. */
function hashOrNull(s) {
  try {
    const b = fromBase64(s);
    return b.length === 32 ? b : null;
  } catch {
    return null;
  }
}

/**
 * The registry chain head a ledger's checkpoint names (`vouch-registry <index>
 * <hash>`): the first such line that reads whole, as `{index, leaf}`, or null.
 */
export function registryHead(checkpoint) {
  for (const line of checkpoint.extensions) {
    if (!line.startsWith("vouch-registry ")) continue;
    const rest = line.slice("vouch-registry ".length);
    const space = rest.indexOf(" ");
    if (space < 0) continue;
    const [index, hash] = [rest.slice(0, space), hashOrNull(rest.slice(space + 1))];
    if (!/^(0|[1-9][0-9]*)$/.test(index) || BigInt(index) >= 2n ** 64n || !hash) continue;
    return { index: BigInt(index), leaf: hash };
  }
  return null;
}

/** DSSE v1 pre-authentication encoding. */
export function pae(payloadType, payload) {
  const type = utf8.encode(payloadType);
  return concat(
    utf8.encode(`DSSEv1 ${type.length} `),
    type,
    utf8.encode(` ${payload.length} `),
    payload,
  );
}

// The supplier index (docs/index.md): proofs that a subject's chain head is what the
// checkpoint commits to, or that the subject has no entry.

/** EMPTY = SHA-256(0x02): the hash of an empty subtree. */
export function emptyHash() {
  return sha256(Uint8Array.of(2));
}

/** The index key of a subject: SHA-256 of its UTF-8 bytes. */
export function indexKey(subject) {
  return sha256(utf8.encode(subject));
}

function u64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function bit(key, d) {
  return (key[d >> 3] >> (7 - (d & 7))) & 1;
}

/** A hash as docs/index.md §5 writes it: canonical base64 of exactly 32 bytes. */
function hash32(s, what) {
  if (typeof s !== "string") throw new Error(`${what} is not a base64 string`);
  const b = fromBase64(s);
  if (b.length !== 32 || toBase64(b) !== s) throw new Error(`${what} is not canonical base64 of 32 bytes`);
  return b;
}

/** An unsigned 64-bit count: a BigInt (from parseJson) or a safe integer. */
function count(n, what) {
  if (typeof n === "number" && Number.isSafeInteger(n)) n = BigInt(n);
  if (typeof n !== "bigint" || n < 0n || n >= 2n ** 64n) throw new Error(`${what} is not an unsigned 64-bit integer`);
  return n;
}

function exactly(obj, fields, what) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error(`${what} is not an object`);
  const keys = Object.keys(obj).sort();
  if (keys.join() !== [...fields].sort().join()) throw new Error(`${what} must have exactly ${fields.join(", ")}`);
}

/**
 * Verifies an index proof (its JSON form, docs/index.md §5) for `key` against the index
 * `root`. Returns `{count, newestIndex, newestLeafHash}` for a membership proof, `null`
 * for a non-membership proof; throws for anything that does not verify or is not
 * written exactly as the document says.
 */
export async function verifyIndexProof(proof, key, root) {
  exactly(proof, ["leaf", "siblings"], "the index proof");
  const { leaf, siblings } = proof;
  if (!Array.isArray(siblings) || siblings.length > 256) throw new Error("siblings must be a list of at most 256");
  const empty = await emptyHash();
  const sibs = siblings.map((s, i) => {
    if (s === null) return empty;
    const h = hash32(s, `sibling ${i}`);
    if (equal(h, empty)) throw new Error(`sibling ${i} is an empty subtree written out (write null)`);
    return h;
  });
  const depth = sibs.length;
  let h;
  let result = null;
  if (leaf === null) {
    h = empty;
  } else {
    exactly(leaf, ["key", "count", "newest_index", "newest_leaf_hash"], "the proof's leaf");
    const lk = hash32(leaf.key, "the leaf's key");
    const c = count(leaf.count, "count");
    const ni = count(leaf.newest_index, "newest_index");
    const nl = hash32(leaf.newest_leaf_hash, "newest_leaf_hash");
    h = await sha256(concat(Uint8Array.of(0), lk, u64(c), u64(ni), nl));
    if (equal(lk, key)) {
      result = { count: c, newestIndex: ni, newestLeafHash: nl };
    } else {
      for (let d = 0; d < depth; d++) {
        if (bit(lk, d) !== bit(key, d)) throw new Error("the proof's leaf is off the key's path");
      }
    }
  }
  for (let i = 0; i < depth; i++) {
    const d = depth - 1 - i;
    h = bit(key, d) === 0 ? await nodeHash(h, sibs[i]) : await nodeHash(sibs[i], h);
  }
  if (!equal(h, root)) throw new Error("the index proof does not lead to the checkpoint's index root");
  return result;
}

/** The `vouch-index` root a checkpoint commits to: the first such line that reads, or null. */
export function indexRoot(checkpoint) {
  for (const line of checkpoint.extensions) {
    const h = line.startsWith("vouch-index ") ? hashOrNull(line.slice("vouch-index ".length)) : null;
    if (h) return h;
  }
  return null;
}

// JSON as serde_json reads it, so that the browser refuses and accepts what the Rust
// verifier does: integers (no fraction, no exponent) are BigInts, so that 1 and 1.0
// stay apart and no index loses precision; other numbers are Numbers and must be
// finite; strings must be valid Unicode (no lone surrogate); nesting stops at 128.
// Objects have no prototype, and one whose keys repeat is marked (REPEATED): serde
// refuses that for a struct, and keeps the last value for a map.

export const REPEATED = Symbol("repeated keys");

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

export function parseJson(text) {
  let at = 0;
  const fail = (why) => {
    throw new Error(`JSON: ${why} at character ${at}`);
  };
  const ws = () => {
    while (at < text.length && " \t\n\r".includes(text[at])) at++;
  };
  const value = (depth) => {
    if (depth > 128) fail("nested too deeply");
    ws();
    const c = text[at];
    if (c === "{") {
      at++;
      const obj = Object.create(null);
      const seen = new Set();
      ws();
      if (text[at] === "}") {
        at++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[at] !== '"') fail("expected a key");
        const k = string();
        ws();
        if (text[at] !== ":") fail("expected ':'");
        at++;
        const v = value(depth + 1);
        if (seen.has(k)) Object.defineProperty(obj, REPEATED, { value: true });
        seen.add(k);
        obj[k] = v;
        ws();
        if (text[at] === ",") at++;
        else if (text[at] === "}") {
          at++;
          return obj;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at++;
      const arr = [];
      ws();
      if (text[at] === "]") {
        at++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[at] === ",") at++;
        else if (text[at] === "]") {
          at++;
          return arr;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (!m) fail("expected a value");
    at += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const n = BigInt(m[0]);
      // serde_json reads -0 as the float -0.0, and an integer too large for an f64 as
      // out of range.
      if (n === 0n && m[0].startsWith("-")) return -0;
      if (!Number.isFinite(Number(n))) fail("number out of range");
      return n;
    }
    const n = Number(m[0]);
    if (!Number.isFinite(n)) fail("number out of range");
    return n;
  };
  const string = () => {
    at++;
    let out = "";
    for (;;) {
      const c = text[at];
      if (c === undefined) fail("unterminated string");
      if (c === '"') {
        at++;
        break;
      }
      if (c < " ") fail("control character in a string");
      if (c !== "\\") {
        const code = c.charCodeAt(0);
        if (code >= 0xd800 && code <= 0xdfff) {
          const next = text.charCodeAt(at + 1);
          if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) fail("lone surrogate");
          out += c + text[at + 1];
          at += 2;
          continue;
        }
        out += c;
        at++;
        continue;
      }
      const e = text[at + 1];
      at += 2;
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
      if (simple !== undefined) {
        out += simple;
        continue;
      }
      if (e !== "u") fail("invalid escape");
      const hex4 = () => {
        const h = text.slice(at, at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("invalid \\u escape");
        at += 4;
        return parseInt(h, 16);
      };
      const u = hex4();
      if (u >= 0xdc00 && u <= 0xdfff) fail("lone trailing surrogate");
      if (u >= 0xd800 && u <= 0xdbff) {
        if (text[at] !== "\\" || text[at + 1] !== "u") fail("lone leading surrogate");
        at += 2;
        const low = hex4();
        if (!(low >= 0xdc00 && low <= 0xdfff)) fail("lone leading surrogate");
        out += String.fromCharCode(u, low);
        continue;
      }
      out += String.fromCharCode(u);
    }
    return out;
  };
  if (typeof text !== "string") throw new Error("JSON: not text");
  const v = value(0);
  ws();
  if (at !== text.length) fail("trailing characters");
  return v;
}

/** UTF-8 bytes as text, refusing what is not UTF-8 (as Rust's `from_utf8`). */
export function utf8Text(bytes) {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}

/** JSON text's bytes, as serde_json::from_slice reads them. */
export function parseJsonBytes(bytes) {
  return parseJson(utf8Text(bytes));
}
