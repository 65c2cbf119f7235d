#!/usr/bin/env python3
"""Independent verifier for the cosignature test vectors.

Written from C2SP tlog-cosignature and signed-note alone (no look at the Rust
sources): for each case of docs/cosignature-vectors.json it derives the witness key
from its seed, checks the vkey (name, key id = SHA-256(name || 0x0A || 0x04 || key)[:4],
base64 of 0x04 || key), finds the witness's signature line by name and key id, reads
the big-endian 64-bit time and the Ed25519 signature, and verifies the signature over
"cosignature/v1\\ntime <t>\\n" + the note body with Python's `cryptography`. A changed
body, time or key must fail.

Usage: cosignature_verify.py [path/to/cosignature-vectors.json]
Prints one line per case, then "ok"; exits 1 on any mismatch.
"""
import base64
import hashlib
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DASH = "\u2014 "


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def key_id(name, alg, key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + key).digest()[:4]


def verifies(pub, body, time, sig):
    msg = b"cosignature/v1\ntime " + str(time).encode() + b"\n" + body.encode()
    try:
        pub.verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "docs", "cosignature-vectors.json")
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    for n, case in enumerate(cases):
        seed = base64.b64decode(case["witness_seed"])
        priv = Ed25519PrivateKey.from_private_bytes(seed)
        pub = priv.public_key()
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        name, kid, key_b64 = case["witness_vkey"].split("+", 2)
        if base64.b64decode(key_b64) != b"\x04" + raw:
            fail(f"case {n}: the vkey is not 0x04 || the seed's public key")
        if bytes.fromhex(kid) != key_id(name, 4, raw):
            fail(f"case {n}: the vkey's key id is not SHA-256(name || 0x0A || 0x04 || key)[:4]")
        note = case["note"]
        body, sigs = note.split("\n\n", 1)
        body += "\n"
        found = 0
        for line in sigs.rstrip("\n").split("\n"):
            if not line.startswith(DASH):
                fail(f"case {n}: a signature line does not start with an em dash")
            signer, b64 = line[len(DASH):].split(" ", 1)
            blob = base64.b64decode(b64)
            if signer != name or blob[:4] != key_id(name, 4, raw):
                continue
            if len(blob) != 4 + 8 + 64:
                fail(f"case {n}: a cosignature is key id, 8-byte time, 64-byte signature")
            (time,) = struct.unpack(">Q", blob[4:12])
            if time != case["time"] or time >= 2**63:
                fail(f"case {n}: time {time}, expected {case['time']}")
            sig = blob[12:]
            if not verifies(pub, body, time, sig):
                fail(f"case {n}: the cosignature does not verify")
            if verifies(pub, body.replace("\n", "\n ", 1), time, sig):
                fail(f"case {n}: a changed body verifies")
            if verifies(pub, body, time + 1, sig):
                fail(f"case {n}: another time verifies")
            other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
            if verifies(other, body, time, sig):
                fail(f"case {n}: another key verifies")
            found += 1
        if found != 1:
            fail(f"case {n}: {found} cosignatures by {name}, expected 1")
        print(f"case {n}: {name} cosigned {body.splitlines()[1]} entries at time {case['time']}")
    print("ok")


if __name__ == "__main__":
    main()
