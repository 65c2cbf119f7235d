#!/usr/bin/env python3
"""Independent verifier for the supplier index test vectors.

Written from docs/index.md alone (no look at the Rust sources): it recomputes the
index root of docs/index-vectors.json by the recursive definition of section 3,
verifies every proof by the algorithm of section 5 with K = SHA-256(subject), and
builds and verifies its own membership and non-membership proofs.

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


def sha256(b):
    return hashlib.sha256(b).digest()


EMPTY = sha256(b"\x02")


def b64(s):
    """Standard base64 with padding, strictly (RFC 4648 section 4); hashes are 32 bytes."""
    raw = base64.b64decode(s, validate=True)
    if len(raw) != 32 or base64.b64encode(raw).decode() != s:
        raise ValueError("not a canonical base64 32-byte hash: %r" % s)
    return raw


def u64(n):
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 2**64:
        raise ValueError("not an unsigned 64-bit integer: %r" % n)
    return n.to_bytes(8, "big")


def leaf_hash(key, count, newest_index, newest_leaf_hash):
    return sha256(b"\x00" + key + u64(count) + u64(newest_index) + newest_leaf_hash)


def inner(left, right):
    return sha256(b"\x01" + left + right)


def bit(key, d):
    return (key[d // 8] >> (7 - d % 8)) & 1


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


# Leaves are kept as tuples (key, count, newest_index, newest_leaf_hash), all bytes/int.
def node_hash(L, d=0):
    """Section 3: the hash of node(L, d)."""
    if not L:
        return EMPTY
    if len(L) == 1:
        return leaf_hash(*L[0])
    return inner(node_hash([l for l in L if bit(l[0], d) == 0], d + 1),
                 node_hash([l for l in L if bit(l[0], d) == 1], d + 1))


def prove(L, K):
    """Section 5: the node where K's path ends, and siblings from the end up to the root."""
    siblings, d = [], 0
    while len(L) > 1:
        near = [l for l in L if bit(l[0], d) == bit(K, d)]
        far = [l for l in L if bit(l[0], d) != bit(K, d)]
        siblings.append(node_hash(far, d + 1))
        L, d = near, d + 1
    leaf = None
    if L:
        k, c, i, h = L[0]
        leaf = {"key": base64.b64encode(k).decode(), "count": c, "newest_index": i,
                "newest_leaf_hash": base64.b64encode(h).decode()}
    return {"leaf": leaf, "siblings": [base64.b64encode(s).decode() for s in reversed(siblings)]}


def verify(proof, K, R):
    """Section 5: returns ("absent", None) or ("present", leaf tuple); None means reject."""
    try:
        siblings = [b64(s) for s in proof["siblings"]]
        D = len(siblings)
        if D > 256:
            return None
        leaf = proof["leaf"]
        if leaf is None:
            h, result = EMPTY, ("absent", None)
        else:
            t = (b64(leaf["key"]), leaf["count"], leaf["newest_index"], b64(leaf["newest_leaf_hash"]))
            h = leaf_hash(*t)
            if t[0] == K:
                result = ("present", t)
            else:
                if any(bit(t[0], d) != bit(K, d) for d in range(D)):
                    return None
                result = ("absent", None)
        for i in range(D):
            d = D - 1 - i
            h = inner(h, siblings[i]) if bit(K, d) == 0 else inner(siblings[i], h)
        return result if h == R else None
    except (KeyError, TypeError, ValueError) as e:
        print("  (malformed proof: %s)" % e)
        return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "docs", "index-vectors.json")
    with open(path) as f:
        v = json.load(f)

    # (a) empty root and root
    if EMPTY.hex() != EMPTY_HEX or b64(v["empty_root"]) != EMPTY or node_hash([]) != EMPTY:
        fail("empty root: SHA-256(0x02) = %s, file says %s" % (EMPTY.hex(), b64(v["empty_root"]).hex()))
    print("empty root: ok")
    by_subject = {}
    for l in v["leaves"]:
        key = sha256(l["subject"].encode("utf-8"))
        by_subject[l["subject"]] = (key, l["count"], l["newest_index"], b64(l["newest_leaf_hash"]))
    L = list(by_subject.values())
    if len(L) != len(v["leaves"]) or len({l[0] for l in L}) != len(L):
        fail("duplicate subjects or keys among the leaves")
    R = node_hash(L)
    if R != b64(v["root"]):
        fail("root: computed %s, file says %s" % (base64.b64encode(R).decode(), v["root"]))
    print("root over %d leaves: ok" % len(L))

    # (b) the proofs in the file
    counts = {}
    for n, p in enumerate(v["proofs"]):
        subject, want = p["subject"], p["result"]
        got = verify(p["proof"], sha256(subject.encode("utf-8")), R)
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
        counts[want] = counts.get(want, 0) + 1
    print("file proofs: ok (%s)" % ", ".join("%d %s" % (c, r) for r, c in sorted(counts.items())))

    # (c) own proofs: membership for every leaf, non-membership for made-up subjects
    for subject, t in by_subject.items():
        p = json.loads(json.dumps(prove(L, t[0])))
        if verify(p, t[0], R) != ("present", t):
            fail("own membership proof for %s does not verify" % subject)
        other = sha256(b"not " + subject.encode())  # absent: may at most prove ABSENT
        if verify(p, other, R) not in (None, ("absent", None)):
            fail("membership proof for %s verified as present for another key" % subject)
    print("own membership proofs: ok (%d)" % len(by_subject))
    kinds = {"empty subtree": 0, "other leaf": 0}
    for n in range(40):
        subject = "VN2099%03dQQ%04d" % (n, n)
        K = sha256(subject.encode())
        p = json.loads(json.dumps(prove(L, K)))
        if verify(p, K, R) != ("absent", None):
            fail("own non-membership proof for %s does not verify" % subject)
        kinds["empty subtree" if p["leaf"] is None else "other leaf"] += 1
    if not all(kinds.values()):
        fail("made-up subjects did not cover both kinds of non-membership: %r" % kinds)
    print("own non-membership proofs: ok (%d ending in an empty subtree, %d in another leaf)"
          % (kinds["empty subtree"], kinds["other leaf"]))
    print("ok")


if __name__ == "__main__":
    main()
