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
 * A C2SP verifier key, `<name>+<key id, 8 hex>+<base64(0x01 || Ed25519 public key)>`:
 * its name, key id and public key, once the key id is checked against the key.
 */
export async function parseVerifierKey(vkey) {
  // The key's base64 may itself hold "+": split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-fA-F]{8})\+(\S+)$/.exec(vkey.trim());
  if (!m) throw new Error("a verifier key is <name>+<key id, 8 hex>+<key>");
  const [, name, idHex, b64] = m;
  const key = fromBase64(b64);
  if (key.length !== 33 || key[0] !== 1) throw new Error("not an Ed25519 verifier key");
  const id = await keyId(name, key);
  if (toHex(id) !== idHex.toLowerCase()) throw new Error("the key id does not match the key");
  return { name, keyId: id, publicKey: key.slice(1) };
}

/** C2SP signed-note key id: the first 4 bytes of SHA-256(name || "\n" || 0x01 || key). */
async function keyId(name, algAndKey) {
  return (await sha256(concat(utf8.encode(name + "\n"), algAndKey))).slice(0, 4);
}

/** Whether `signature` is `publicKey`'s Ed25519 signature of `message` (WebCrypto). */
export async function ed25519Verify(publicKey, message, signature) {
  if (signature.length !== 64) return false;
  const key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return subtle.verify({ name: "Ed25519" }, key, signature, message);
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
    if (name === "" || name.includes("+") || /\s/.test(name)) throw new Error("bad key name in a signature line");
    const raw = fromBase64(rest.slice(space + 1));
    if (raw.length < 5) throw new Error("signature too short");
    if (name !== verifier.name || !equal(raw.slice(0, 4), verifier.keyId)) continue;
    if (!(await ed25519Verify(verifier.publicKey, utf8.encode(text), raw.slice(4)))) {
      throw new Error("the note's signature by " + verifier.name + " does not verify");
    }
    verified = true;
  }
  if (!verified) throw new Error("the note carries no signature by " + verifier.name);
  return text;
}

/**
 * A checkpoint's text (C2SP tlog-checkpoint): origin, tree size, root hash, then
 * extension lines.
 */
export function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || lines[lines.length - 1] !== "") throw new Error("not a checkpoint");
  const [origin, size, root, ...rest] = lines.slice(0, -1);
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Error("bad tree size");
  const hash = fromBase64(root);
  if (hash.length !== 32) throw new Error("bad root hash");
  return { origin, size: BigInt(size), root: hash, extensions: rest };
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

function count(n, what) {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new Error(`${what} is not an unsigned integer`);
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

/** The `vouch-index` root a checkpoint commits to, or null. */
export function indexRoot(checkpoint) {
  const line = checkpoint.extensions.find((l) => l.startsWith("vouch-index "));
  return line ? hash32(line.slice("vouch-index ".length), "the index root") : null;
}
