#!/usr/bin/env python3
"""Independent verifier for the supplier index test vectors.

Written from docs/index.md alone (no look at the Rust sources): it recomputes the
index root of docs/index-vectors.json by the recursive definition of section 3,
verifies every proof by the algorithm of section 5 with K = SHA-256(subject), parsing
proofs strictly as section 5 demands (a sibling is JSON null for an empty subtree, or
canonical base64 of a 32-byte hash other than EMPTY), builds and verifies its own
membership and non-membership proofs (empty siblings written as null), and checks that
changed and malformed proofs are rejected.

Usage: index_verify.py [path/to/index-vectors.json]
Standard library only. Prints one line per check group, then "ok"; exits 1 on any
mismatch.
"""
import base64
import hashlib
import json
import os
import sys

EMPTY_HEX = "dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986"  # section 2
MAX_DEPTH = 256  # section 5: at most 256 siblings
U64_LIMIT = 2**64


def sha256(b):
    return hashlib.sha256(b).digest()


EMPTY = sha256(b"\x02")


def enc(raw):
    return base64.b64encode(raw).decode("ascii")


def b64(s):
    """Standard base64 with padding, strictly (RFC 4648 section 4); hashes are 32 bytes."""
    if not isinstance(s, str):
        raise ValueError("a hash must be a base64 string, not %r" % (s,))
    raw = base64.b64decode(s, validate=True)
    if len(raw) != 32 or enc(raw) != s:
        raise ValueError("not canonical base64 of a 32-byte hash: %r" % s)
    return raw


def u64(n):
    """A JSON integer from 0 to 2^64 - 1 (never a float, never a boolean)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < U64_LIMIT:
        raise ValueError("not an unsigned 64-bit integer: %r" % (n,))
    return n


def be64(n):
    return u64(n).to_bytes(8, "big")


def leaf_hash(key, count, newest_index, newest_leaf_hash):
    return sha256(b"\x00" + key + be64(count) + be64(newest_index) + newest_leaf_hash)


def inner(left, right):
    return sha256(b"\x01" + left + right)


def bit(key, d):
    return (key[d // 8] >> (7 - d % 8)) & 1


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def _no_duplicate_keys(pairs):
    obj = {}
    for k, val in pairs:
        if k in obj:
            raise ValueError("duplicate JSON field %r" % k)
        obj[k] = val
    return obj


def _no_constant(name):
    raise ValueError("not JSON: %s" % name)


def strict_json(text):
    """JSON as RFC 8259 has it: no duplicate fields, no NaN/Infinity."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)


# Leaves are kept as tuples (key, count, newest_index, newest_leaf_hash), all bytes/int.
def node_hash(L, d=0):
    """Section 3: the hash of node(L, d)."""
    if not L:
        return EMPTY
    if len(L) == 1:
        return leaf_hash(*L[0])
    return inner(node_hash([l for l in L if bit(l[0], d) == 0], d + 1),
                 node_hash([l for l in L if bit(l[0], d) == 1], d + 1))


def leaf_json(t):
    k, c, i, h = t
    return {"key": enc(k), "count": c, "newest_index": i, "newest_leaf_hash": enc(h)}


def prove(L, K):
    """Section 5: the node where K's path ends, and siblings from the end up to the root;
    a sibling that is an empty subtree is written as null, never as EMPTY."""
    siblings, d = [], 0
    while len(L) > 1:
        near = [l for l in L if bit(l[0], d) == bit(K, d)]
        far = [l for l in L if bit(l[0], d) != bit(K, d)]
        siblings.append(enc(node_hash(far, d + 1)) if far else None)
        L, d = near, d + 1
    return {"leaf": leaf_json(L[0]) if L else None, "siblings": list(reversed(siblings))}


def parse_proof(proof):
    """Section 5, "Parse strictly and reject anything else". Returns (leaf tuple or None,
    list of sibling hashes with EMPTY for null); raises ValueError on anything else."""
    if not isinstance(proof, dict) or set(proof) != {"leaf", "siblings"}:
        raise ValueError("a proof is an object with exactly the fields leaf and siblings: %r"
                         % (sorted(proof) if isinstance(proof, dict) else proof,))
    siblings = proof["siblings"]
    if not isinstance(siblings, list):
        raise ValueError("siblings is not an array")
    if len(siblings) > MAX_DEPTH:
        raise ValueError("%d siblings, more than %d" % (len(siblings), MAX_DEPTH))
    hashes = []
    for s in siblings:
        if s is None:
            hashes.append(EMPTY)
            continue
        h = b64(s)
        if h == EMPTY:
            raise ValueError("an empty sibling written as EMPTY instead of null")
        hashes.append(h)
    leaf = proof["leaf"]
    if leaf is None:
        return None, hashes
    if not isinstance(leaf, dict) or set(leaf) != {"key", "count", "newest_index", "newest_leaf_hash"}:
        raise ValueError("leaf is neither null nor an object with exactly the four fields: %r" % (leaf,))
    t = (b64(leaf["key"]), u64(leaf["count"]), u64(leaf["newest_index"]), b64(leaf["newest_leaf_hash"]))
    return t, hashes


def verify(proof, K, R, quiet=False):
    """Section 5: returns ("absent", None) or ("present", leaf tuple); None means reject."""
    try:
        leaf, siblings = parse_proof(proof)
    except (KeyError, TypeError, ValueError) as e:
        if not quiet:
            print("  (malformed proof: %s)" % e)
        return None
    D = len(siblings)
    if D > MAX_DEPTH:
        return None
    if leaf is None:
        h, result = EMPTY, ("absent", None)
    elif leaf[0] == K:
        h, result = leaf_hash(*leaf), ("present", leaf)
    else:
        if any(bit(leaf[0], d) != bit(K, d) for d in range(D)):
            return None
        h, result = leaf_hash(*leaf), ("absent", None)
    for i in range(D):
        d = D - 1 - i
        s = siblings[i]  # EMPTY where the proof has null
        h = inner(h, s) if bit(K, d) == 0 else inner(s, h)
    return result if h == R else None


def lax_root(proof, K):
    """The root the section 5 loop computes, with no parsing rules at all (a sibling
    that is EMPTY in base64 taken as it is): used to show that a rejected re-encoding
    is refused by the parsing rule, not by a hash mismatch."""
    leaf = proof["leaf"]
    h = EMPTY if leaf is None else leaf_hash(base64.b64decode(leaf["key"]), leaf["count"],
                                             leaf["newest_index"], base64.b64decode(leaf["newest_leaf_hash"]))
    D = len(proof["siblings"])
    for i, s in enumerate(proof["siblings"]):
        s = EMPTY if s is None else base64.b64decode(s)
        h = inner(h, s) if bit(K, D - 1 - i) == 0 else inner(s, h)
    return h


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def padding_bits_set(s):
    """The same 32 bytes in non-canonical base64: 43 characters carry 258 bits, so the
    last character before '=' has 2 unused low bits; set one of them."""
    c = ALPHABET.index(s[42])
    return s[:42] + ALPHABET[c | 1 if c & 1 == 0 else c | 2] + "="


def roundtrip(p):
    return strict_json(json.dumps(p))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "docs", "index-vectors.json")
    with open(path) as f:
        v = strict_json(f.read())

    # (a) empty root and root
    if EMPTY.hex() != EMPTY_HEX or b64(v["empty_root"]) != EMPTY or node_hash([]) != EMPTY:
        fail("empty root: SHA-256(0x02) = %s, file says %s" % (EMPTY.hex(), b64(v["empty_root"]).hex()))
    print("empty root: ok")
    by_subject = {}
    for l in v["leaves"]:
        key = sha256(l["subject"].encode("utf-8"))
        by_subject[l["subject"]] = (key, u64(l["count"]), u64(l["newest_index"]), b64(l["newest_leaf_hash"]))
    L = list(by_subject.values())
    if len(L) != len(v["leaves"]) or len({l[0] for l in L}) != len(L):
        fail("duplicate subjects or keys among the leaves")
    R = node_hash(L)
    if R != b64(v["root"]):
        fail("root: computed %s, file says %s" % (enc(R), v["root"]))
    print("root over %d leaves: ok" % len(L))

    # (b) the proofs in the file; a proof that verifies must be exactly the one this
    # script generates (each proof has one encoding), so null siblings are where
    # the empty subtrees are and nowhere else
    counts, absent_kinds, null_siblings = {}, {"empty subtree": 0, "other leaf": 0}, 0
    for n, p in enumerate(v["proofs"]):
        subject, want = p["subject"], p["result"]
        K = sha256(subject.encode("utf-8"))
        got = verify(p["proof"], K, R)
        if want == "present":
            ok = got is not None and got[0] == "present" and got[1] == by_subject.get(subject)
        elif want == "absent":
            ok = got is not None and got[0] == "absent" and subject not in by_subject
        elif want == "reject":
            ok = got is None
        else:
            fail("proof %d: unknown result %r" % (n, want))
        if not ok:
            fail("proof %d (%s): expected %s, got %r" % (n, subject, want, got))
        if want != "reject":
            if p["proof"] != prove(L, K):
                fail("proof %d (%s) verifies but is not the canonical proof %r"
                     % (n, subject, prove(L, K)))
            null_siblings += p["proof"]["siblings"].count(None)
        if want == "absent":
            absent_kinds["empty subtree" if p["proof"]["leaf"] is None else "other leaf"] += 1
        counts[want] = counts.get(want, 0) + 1
    if (absent_kinds["empty subtree"], absent_kinds["other leaf"]) != (1, 3):
        fail("section 8 says one absent path ends in an empty subtree and three in another leaf: %r"
             % absent_kinds)
    print("file proofs: ok (%s; %d null siblings in the proofs that verify)"
          % (", ".join("%d %s" % (c, r) for r, c in sorted(counts.items())), null_siblings))

    # (c) own proofs: membership for every leaf, non-membership for made-up subjects
    own_nulls = 0
    for subject, t in by_subject.items():
        p = roundtrip(prove(L, t[0]))
        if verify(p, t[0], R) != ("present", t):
            fail("own membership proof for %s does not verify" % subject)
        if any(s is not None and b64(s) == EMPTY for s in p["siblings"]):
            fail("own proof for %s writes EMPTY instead of null" % subject)
        own_nulls += p["siblings"].count(None)
        other = sha256(b"not " + subject.encode())  # absent: may at most prove ABSENT
        if verify(p, other, R, quiet=True) not in (None, ("absent", None)):
            fail("membership proof for %s verified as present for another key" % subject)
    if own_nulls == 0:
        fail("no own membership proof has a null sibling: the null encoding is not exercised")
    print("own membership proofs: ok (%d, %d null siblings)" % (len(by_subject), own_nulls))
    kinds = {"empty subtree": 0, "other leaf": 0}
    absent_proofs = []
    for n in range(40):
        subject = "VN2099%03dQQ%04d" % (n, n)
        K = sha256(subject.encode())
        p = roundtrip(prove(L, K))
        if verify(p, K, R) != ("absent", None):
            fail("own non-membership proof for %s does not verify" % subject)
        kinds["empty subtree" if p["leaf"] is None else "other leaf"] += 1
        absent_proofs.append((subject, K, p))
    if not all(kinds.values()):
        fail("made-up subjects did not cover both kinds of non-membership: %r" % kinds)
    print("own non-membership proofs: ok (%d ending in an empty subtree, %d in another leaf)"
          % (kinds["empty subtree"], kinds["other leaf"]))

    # (d) changed proofs: every flipped bit of a hash, count or index must be rejected
    flipped = 0
    samples = [(s, t[0], roundtrip(prove(L, t[0]))) for s, t in list(by_subject.items())[:8]]
    samples += absent_proofs[:8]
    for subject, K, p in samples:
        want = verify(p, K, R, quiet=True)
        for i, s in enumerate(p["siblings"]):
            if s is None:
                continue
            for b in (0, 100, 255):
                raw = bytearray(b64(s))
                raw[b // 8] ^= 1 << (b % 8)
                q = json.loads(json.dumps(p))
                q["siblings"][i] = enc(bytes(raw))
                if verify(q, K, R, quiet=True) is not None:
                    fail("%s: flipped bit %d of sibling %d accepted" % (subject, b, i))
                flipped += 1
        if p["leaf"] is not None:
            for field in ("key", "newest_leaf_hash"):
                raw = bytearray(b64(p["leaf"][field]))
                raw[31] ^= 1
                q = json.loads(json.dumps(p))
                q["leaf"][field] = enc(bytes(raw))
                if verify(q, K, R, quiet=True) is not None:
                    fail("%s: flipped bit of leaf.%s accepted" % (subject, field))
                flipped += 1
            for field in ("count", "newest_index"):
                q = json.loads(json.dumps(p))
                q["leaf"][field] ^= 1
                if verify(q, K, R, quiet=True) is not None:
                    fail("%s: changed leaf.%s accepted" % (subject, field))
                flipped += 1
        # a dropped or added sibling moves the path's end: rejected
        for q in ({"leaf": p["leaf"], "siblings": p["siblings"][1:]},
                  {"leaf": p["leaf"], "siblings": [None] + p["siblings"]}):
            if p["siblings"] and verify(q, K, R, quiet=True) is not None:
                fail("%s: proof with a sibling dropped or added accepted" % subject)
            flipped += 1
        if want is None:
            fail("%s: sample proof does not verify" % subject)
    # a leaf whose key leaves K's path within the first D bits proves nothing about K: on a
    # crafted root R' = inner(h, h), h = leaf(X), the proof {X, [h]} reaches R' for any key,
    # so only the prefix rule of section 5 rejects it for a key whose bit 0 differs from X's
    X = L[0]
    h = leaf_hash(*X)
    R2 = inner(h, h)
    q = {"leaf": leaf_json(X), "siblings": [enc(h)]}
    off = next(k for k in (sha256(b"off path %d" % n) for n in range(64)) if bit(k, 0) != bit(X[0], 0))
    on = next(k for k in (sha256(b"on path %d" % n) for n in range(64)) if bit(k, 0) == bit(X[0], 0))
    if verify(q, on, R2, quiet=True) != ("absent", None) or verify(q, X[0], R2, quiet=True) != ("present", X):
        fail("self-test: the crafted one-level proof does not verify where it should")
    if lax_root(q, off) != R2 or verify(q, off, R2, quiet=True) is not None:
        fail("a leaf off K's path (first D bits differ) accepted as non-membership")
    flipped += 1
    print("changed proofs rejected: ok (%d)" % flipped)

    # (e) an empty sibling written as the base64 of EMPTY: the section 5 loop would reach
    # the root all the same, but the proof must be rejected by the parsing rule
    empty_as_b64 = 0
    for subject, K, p in samples:
        for i, s in enumerate(p["siblings"]):
            if s is not None:
                continue
            q = json.loads(json.dumps(p))
            q["siblings"][i] = enc(EMPTY)
            if lax_root(q, K) != R:
                fail("%s: re-encoded proof does not even hash to the root" % subject)
            if verify(roundtrip(q), K, R, quiet=True) is not None:
                fail("%s: sibling %d written as EMPTY in base64 accepted" % (subject, i))
            empty_as_b64 += 1
    if empty_as_b64 == 0:
        fail("no sample proof has a null sibling to re-encode")
    # also every null sibling of the file's proofs that verify
    for n, p in enumerate(v["proofs"]):
        if p["result"] == "reject":
            continue
        K = sha256(p["subject"].encode("utf-8"))
        for i, s in enumerate(p["proof"]["siblings"]):
            if s is None:
                q = json.loads(json.dumps(p["proof"]))
                q["siblings"][i] = enc(EMPTY)
                if verify(q, K, R, quiet=True) is not None:
                    fail("file proof %d: sibling %d written as EMPTY in base64 accepted" % (n, i))
                empty_as_b64 += 1
    # and a non-empty sibling written as null is a changed sibling: rejected
    null_for_hash = 0
    for subject, K, p in samples:
        for i, s in enumerate(p["siblings"]):
            if s is not None:
                q = json.loads(json.dumps(p))
                q["siblings"][i] = None
                if verify(q, K, R, quiet=True) is not None:
                    fail("%s: non-empty sibling %d written as null accepted" % (subject, i))
                null_for_hash += 1
    print("empty siblings written as EMPTY rejected: ok (%d); hashes written as null rejected: ok (%d)"
          % (empty_as_b64, null_for_hash))

    # (f) malformed proofs, as JSON text, all rejected by the strict parsing of section 5
    subject, t = next(iter(by_subject.items()))
    K = t[0]
    good = prove(L, K)
    good_text = json.dumps(good)
    if verify(strict_json(good_text), K, R) != ("present", t):
        fail("the base proof for the malformed cases does not verify")
    sib = good["siblings"]
    first_hash = next(i for i, s in enumerate(sib) if s is not None)
    h0 = sib[first_hash]

    def with_leaf(**kw):
        q = json.loads(good_text)
        q["leaf"].update(kw)
        return json.dumps(q)

    def with_sibling(i, text):
        q = json.loads(good_text)
        q["siblings"][i] = "@@"
        return json.dumps(q).replace('"@@"', text)

    def with_leaf_raw(field, text):
        q = json.loads(good_text)
        q["leaf"][field] = "@@"
        return json.dumps(q).replace('"@@"', text)

    malformed = {
        "no leaf field": json.dumps({"siblings": sib}),
        "no siblings field": json.dumps({"leaf": good["leaf"]}),
        "extra proof field": json.dumps(dict(good, extra=1)),
        "duplicate leaf field": good_text[:-1] + ', "leaf": null}',
        "siblings not an array": json.dumps({"leaf": good["leaf"], "siblings": {"0": h0}}),
        "leaf not an object": json.dumps({"leaf": [], "siblings": sib}),
        "leaf with an extra field": with_leaf(extra=0),
        "leaf missing count": json.dumps({"leaf": {k: x for k, x in good["leaf"].items() if k != "count"},
                                          "siblings": sib}),
        "count as float": with_leaf_raw("count", "%d.0" % t[1]),
        "count in exponent form": with_leaf_raw("count", "%de0" % t[1]),
        "count as string": with_leaf(count=str(t[1])),
        "count true": with_leaf_raw("count", "true"),
        "negative count": with_leaf(count=-1),
        "newest_index 2^64": with_leaf(newest_index=2**64),
        "newest_index NaN": with_leaf_raw("newest_index", "NaN"),
        "key of 31 bytes": with_leaf(key=enc(t[0][:31])),
        "key without padding": with_leaf(key=good["leaf"]["key"].rstrip("=")),
        "key in url-safe base64": with_leaf(key=base64.urlsafe_b64encode(t[0]).decode()) if
            base64.urlsafe_b64encode(t[0]).decode() != good["leaf"]["key"] else with_leaf(key="-" * 43 + "="),
        "non-canonical key (padding bits set)": with_leaf(key=padding_bits_set(good["leaf"]["key"])),
        "newest_leaf_hash with a newline": with_leaf(newest_leaf_hash=good["leaf"]["newest_leaf_hash"][:20]
                                                     + "\n" + good["leaf"]["newest_leaf_hash"][20:]),
        "sibling of 33 bytes": with_sibling(first_hash, json.dumps(enc(b64(h0) + b"\0"))),
        "sibling as number": with_sibling(first_hash, "0"),
        "sibling as empty string": with_sibling(first_hash, '""'),
        "sibling as array": with_sibling(first_hash, json.dumps([h0])),
        "empty sibling as EMPTY in base64": with_sibling(sib.index(None), json.dumps(enc(EMPTY))),
        "257 siblings": json.dumps({"leaf": good["leaf"], "siblings": sib + [None] * (257 - len(sib))}),
        "proof not an object": json.dumps([good["leaf"], sib]),
    }
    for name, text in malformed.items():
        try:
            q = strict_json(text)
        except ValueError:
            continue  # rejected already as JSON (duplicate field, NaN)
        if verify(q, K, R, quiet=True) is not None:
            fail("malformed proof accepted: %s" % name)
    # the non-canonical key case really is the same bytes in another spelling
    nc = strict_json(malformed["non-canonical key (padding bits set)"])["leaf"]["key"]
    if base64.b64decode(nc) != t[0] or nc == good["leaf"]["key"]:
        fail("self-test: the non-canonical key case is not a re-spelling of the key")
    print("malformed proofs rejected: ok (%d)" % len(malformed))
    print("ok")


if __name__ == "__main__":
    main()
