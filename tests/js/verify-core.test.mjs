// The in-browser verifier's core (src/server/web/verify-core.js) against the public
// vectors the Rust code is tested with: RFC 6962 roots and inclusion proofs (Go's
// sumdb/tlog), C2SP signed notes (Go's sumdb/note), a DSSE envelope (Python's
// securesystemslib). Run by .ci/run with `node --test tests/js/`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import * as v from "../../src/server/web/verify-core.js";

const vectors = (name) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), "utf8"));

test("leaf hashes and inclusion proofs agree with Go's tlog", async () => {
  const sets = vectors("merkle-rfc6962.json");
  let checked = 0;
  for (const set of sets) {
    if (set.leaves_hex) {
      for (const [i, hex] of set.leaves_hex.entries()) {
        assert.equal(v.toHex(await v.leafHash(v.fromHex(hex))), set.leaf_hashes[i]);
      }
    }
    for (const c of set.inclusion) {
      const proof = c.proof.map(v.fromHex);
      const [leaf, root] = [v.fromHex(c.leaf_hash), v.fromHex(c.root)];
      assert.ok(await v.verifyInclusion(leaf, c.index, c.tree_size, proof, root), JSON.stringify(c));
      checked++;
      // Altered: another leaf, another index, a proof cut short or lengthened.
      const other = leaf.slice();
      other[0] ^= 1;
      assert.ok(!(await v.verifyInclusion(other, c.index, c.tree_size, proof, root)));
      if (c.tree_size > 1) {
        assert.ok(!(await v.verifyInclusion(leaf, (c.index + 1) % c.tree_size, c.tree_size, proof, root)));
      }
      if (proof.length > 0) {
        assert.ok(!(await v.verifyInclusion(leaf, c.index, c.tree_size, proof.slice(1), root)));
      }
      assert.ok(!(await v.verifyInclusion(leaf, c.index, c.tree_size, [...proof, root], root)));
      assert.ok(!(await v.verifyInclusion(leaf, c.tree_size, c.tree_size, proof, root)));
    }
  }
  assert.ok(checked > 100, `only ${checked} proofs`);
});

test("checkpoints signed by Go's sumdb/note verify, and nothing else does", async () => {
  const n = vectors("signed-note.json");
  const key = await v.parseVerifierKey(n.verifier_key);
  assert.equal(v.toHex(key.keyId), n.key_id_hex);
  for (const note of n.notes) {
    const text = await v.openNote(note.signed_note, key);
    assert.equal(text, note.text);
    const cp = v.parseCheckpoint(text);
    assert.equal(cp.origin, "vouch.example/vn-apparel");
    // One changed byte of the text, or of the signature, and it fails.
    const forged = note.signed_note.replace("\n", "x\n");
    await assert.rejects(v.openNote(forged, key));
    const sigAt = note.signed_note.lastIndexOf(" ") + 10;
    const c = note.signed_note[sigAt] === "A" ? "B" : "A";
    const badSig = note.signed_note.slice(0, sigAt) + c + note.signed_note.slice(sigAt + 1);
    await assert.rejects(v.openNote(badSig, key));
  }
  // Malformed signature lines are refused, even of other keys; so is a signature by
  // the trusted key of the wrong length.
  const note = n.notes[0].signed_note;
  await assert.rejects(v.openNote(note + "\u2014 other !!!!\n", key));
  await assert.rejects(v.openNote(note.replace("\u2014 ", "- "), key));
  const [head, sig] = note.slice(0, -1).split(" ").slice(-2);
  const short = v.toBase64(v.fromBase64(sig).slice(0, 40));
  await assert.rejects(v.openNote(note.replace(sig, short), key));
  await assert.rejects(v.openNote(note.replace("\n", "\t\n"), key));
  assert.ok(head);
  // A key whose id does not match, or another name, is refused.
  await assert.rejects(v.parseVerifierKey(n.verifier_key.replace("+c1c236a3+", "+c1c236a4+")));
  const other = { ...key, name: "someone.else/log" };
  await assert.rejects(v.openNote(n.notes[0].signed_note, other));
});

test("DSSE: the PAE and the envelope signature match securesystemslib's", async () => {
  const d = vectors("dsse.json");
  const payload = new TextEncoder().encode(d.payload_utf8);
  assert.equal(v.toHex(v.pae(d.payload_type, payload)), d.pae_hex);
  const env = d.envelope;
  const sig = v.fromBase64(env.signatures[0].sig);
  const pub = v.fromHex(d.public_key_hex);
  const body = v.fromBase64(env.payload);
  assert.ok(await v.ed25519Verify(pub, v.pae(env.payloadType, body), sig));
  const tampered = body.slice();
  tampered[5] ^= 1;
  assert.ok(!(await v.ed25519Verify(pub, v.pae(env.payloadType, tampered), sig)));
  assert.ok(!(await v.ed25519Verify(pub, v.pae("text/plain", body), sig)));
});

test("base64 and hex refuse what they are not", () => {
  assert.throws(() => v.fromBase64("not base64!"));
  assert.throws(() => v.fromHex("abc"));
  assert.deepEqual(v.fromBase64(v.toBase64(Uint8Array.of(0, 255, 7))), Uint8Array.of(0, 255, 7));
  // Only canonical standard base64, as vouch writes it.
  for (const bad of ["-_8=", "+/8", "YR==", "YQ", "YQ==="]) assert.throws(() => v.fromBase64(bad), bad);
  assert.deepEqual(v.fromBase64("+/8="), Uint8Array.of(0xfb, 0xff));
});

test("index proofs: present, absent and rejected as docs/index-vectors.json says", async () => {
  // Read as the verifier reads served JSON: counts and indexes are BigInts.
  const d = v.parseJson(readFileSync(new URL("../../docs/index-vectors.json", import.meta.url), "utf8"));
  const root = v.fromBase64(d.root);
  assert.equal(v.toBase64(await v.emptyHash()), d.empty_root);
  const seen = { present: 0, absent: 0, reject: 0 };
  for (const c of d.proofs) {
    const key = await v.indexKey(c.subject);
    seen[c.result]++;
    if (c.result === "reject") {
      await assert.rejects(v.verifyIndexProof(c.proof, key, root), c.subject);
      continue;
    }
    const got = await v.verifyIndexProof(c.proof, key, root);
    if (c.result === "absent") {
      assert.equal(got, null, c.subject);
    } else {
      const leaf = d.leaves.find((l) => l.subject === c.subject);
      assert.equal(got.count, leaf.count);
      assert.equal(got.newestIndex, leaf.newest_index);
      assert.equal(v.toBase64(got.newestLeafHash), leaf.newest_leaf_hash);
      // The same proof for another subject, or against another root, does not hold.
      await assert.rejects(v.verifyIndexProof(c.proof, key, await v.emptyHash()));
    }
  }
  assert.ok(seen.present > 0 && seen.absent > 0 && seen.reject > 0, JSON.stringify(seen));
  // Written other than exactly: an extra field, a count as a string.
  const p = d.proofs.find((c) => c.result === "present");
  const key = await v.indexKey(p.subject);
  await assert.rejects(v.verifyIndexProof({ ...p.proof, extra: 1 }, key, root));
  await assert.rejects(v.verifyIndexProof({ ...p.proof, leaf: { ...p.proof.leaf, count: "1" } }, key, root));
});

test("JSON is read as serde_json reads it", () => {
  const o = v.parseJson('{"a": 1, "b": 1.0, "c": [true, null, "x\\u00e9\\ud83d\\ude00"], "d": 18446744073709551616}');
  assert.equal(o.a, 1n);
  assert.equal(o.b, 1);
  assert.deepEqual(o.c, [true, null, "xé😀"]);
  assert.equal(o.d, 18446744073709551616n);
  assert.equal(o[v.REPEATED], undefined);
  const twice = v.parseJson('{"a": 1, "a": 2}');
  assert.equal(twice.a, 2n);
  assert.equal(twice[v.REPEATED], true);
  assert.equal(Object.getPrototypeOf(v.parseJson('{"__proto__": {"x": 1}}')), null);
  for (const bad of ["[1,]", '"\\ud800"', '"\\udc00"', "01", "1e400", '"a\tb"', "{} x", "\ufeff{}", "-", "1.", '{"a" 1}']) {
    assert.throws(() => v.parseJson(bad), undefined, bad);
  }
  let deep = "1";
  for (let i = 0; i < 200; i++) deep = `[${deep}]`;
  assert.throws(() => v.parseJson(deep));
});

test("cosignatures: the vectors vouch makes (checked by Python's cryptography too) verify, changed ones do not", async () => {
  // Read as vouch reads JSON: integers as BigInts (one time is 2^63 - 1).
  const file = v.parseJson(readFileSync(new URL("../../docs/cosignature-vectors.json", import.meta.url), "utf8"));
  assert.ok(file.cases.length >= 3);
  for (const c of file.cases) {
    const w = await v.parseVerifierKey(c.witness_vkey, 4);
    await assert.rejects(v.parseVerifierKey(c.witness_vkey), /0x01/);
    const got = await v.cosignatures(c.note, [w]);
    assert.deepEqual(got, [{ name: w.name, time: c.time }]);
    // Another body (one digit of the size): the cosignature does not verify.
    const lines = c.note.split("\n");
    lines[1] = String(Number(lines[1]) + 1);
    await assert.rejects(v.cosignatures(lines.join("\n"), [w]), /does not verify/);
    // A witness the reader does not list: its line is passed over.
    assert.deepEqual(await v.cosignatures(c.note, []), []);
  }
});
