//! Signed statements as [DSSE v1](https://github.com/secure-systems-lab/dsse/blob/master/envelope.md)
//! envelopes:
//!
//! ```json
//! {"payloadType": "application/vnd.vouch.statement+json",
//!  "payload": "<base64 of the statement>",
//!  "signatures": [{"keyid": "c1c236a3", "sig": "<base64 Ed25519 signature>"}]}
//! ```
//!
//! Signatures are over `PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body`.
//! The payload is signed and stored as submitted, so no JSON canonicalisation is needed.
//! vouch's `keyid` is the signer's C2SP key id in 8 lowercase hex digits.

use base64::Engine as _;
use curve25519_dalek::{EdwardsPoint, Scalar};
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use crate::merkle::Hash;
use crate::note::{Signer, BASE64};

/// The largest envelope [`Envelope::parse`] reads (the HTTP body limit).
pub const MAX_ENVELOPE_LEN: usize = 64 * 1024;
/// The most signatures an envelope may carry.
pub const MAX_SIGNATURES: usize = 16;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope is larger than {MAX_ENVELOPE_LEN} bytes")]
    TooLarge,
    #[error("envelope is not valid DSSE JSON: {0}")]
    Json(String),
    #[error("payload is not canonical base64")]
    PayloadBase64,
    #[error("envelope has no signatures")]
    NoSignatures,
    #[error("envelope has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature {0}: keyid must be 8 lowercase hex digits (the signer's key id)")]
    BadKeyId(usize),
    #[error("signature {0}: sig is not canonical base64 of 64 bytes")]
    BadSignatureEncoding(usize),
    #[error("key {0} signed twice")]
    DuplicateKey(String),
    #[error("payload type {0:?} is not one vouch accepts")]
    UnknownPayloadType(String),
    #[error("signature by key {0} does not verify")]
    BadSignature(String),
    #[error("signature {0} has no keyid vouch reads (the signer's key id, 8 lowercase hex digits), and no registered key that could sign this made it")]
    NoKeyMadeSignature(usize),
    #[error("signature {0} has no keyid vouch reads, and more than {MAX_KEY_TRIALS} registered keys could have made it: give the signer's key id (8 lowercase hex digits) as its keyid")]
    KeyIdNeeded(usize),
}

/// The most registered keys tried for one signature whose `keyid` is not vouch's.
pub const MAX_KEY_TRIALS: usize = 256;

/// Decodes base64 as DSSE allows it: the standard or the URL-safe alphabet, with or
/// without padding, each written canonically (no stray bits, no mixed alphabets).
pub fn decode_dsse_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let engine = match (s.contains(['-', '_']), s.ends_with('=')) {
        (false, true) => &BASE64,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(s).ok()
}

/// Whether `keyid` is written as vouch writes key ids.
fn is_vouch_keyid(keyid: &str) -> bool {
    keyid.len() == 8
        && keyid
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A signature as it appears in the envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// A hint at the signing key: DSSE lets a signer leave it out or write it its own
    /// way. vouch stores the signer's key id in 8 lowercase hex digits, and finds it for
    /// a submission that gives something else ([`Envelope::parse_submitted`]).
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// A DSSE envelope, checked for form (not for who signed) by [`Envelope::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// DSSE's pre-authentication encoding of a payload.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + body.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// The keyid vouch writes for a signer: its key id in 8 lowercase hex digits.
pub fn keyid(signer: &Signer) -> String {
    format!("{:08x}", signer.key_id())
}

/// Signs `body` as `payload_type` with every signer.
pub fn sign(payload_type: &str, body: &[u8], signers: &[&Signer]) -> Envelope {
    let message = pae(payload_type, body);
    Envelope {
        payload_type: payload_type.to_owned(),
        payload: BASE64.encode(body),
        signatures: signers
            .iter()
            .map(|s| EnvelopeSignature {
                keyid: keyid(s),
                sig: BASE64.encode(s.signing_key().sign(&message).to_bytes()),
            })
            .collect(),
    }
}

/// A parsed envelope: the payload bytes, the PAE they were signed as, and the
/// signatures decoded.
#[derive(Clone, Debug)]
pub struct Opened {
    pub envelope: Envelope,
    pub body: Vec<u8>,
    pub pae: Vec<u8>,
    pub signatures: Vec<(u32, Signature)>,
}

impl Envelope {
    /// What makes two submissions the same envelope: the payload type, the payload
    /// and the set of (keyid, signature) pairs, whatever their order or JSON spacing.
    pub fn dedup_key(&self) -> Hash {
        let mut sigs: Vec<(&str, &str)> = self
            .signatures
            .iter()
            .map(|s| (s.keyid.as_str(), s.sig.as_str()))
            .collect();
        sigs.sort_unstable();
        let mut h = Sha256::new();
        h.update(b"vouch envelope v1\n");
        h.update(self.payload_type.as_bytes());
        h.update(b"\n");
        h.update(self.payload.as_bytes());
        for (k, s) in sigs {
            h.update(b"\n");
            h.update(k.as_bytes());
            h.update(b" ");
            h.update(s.as_bytes());
        }
        h.finalize().into()
    }

    /// Parses an envelope and decodes its payload and signatures.
    ///
    /// # Errors
    /// [`EnvelopeError`] saying what is malformed; nothing here checks who signed.
    pub fn parse(bytes: &[u8]) -> Result<Opened, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(EnvelopeError::TooLarge);
        }
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json(e.to_string()))?;
        envelope.open()
    }

    /// Parses a submitted envelope as DSSE lets it be written and rewrites it as vouch
    /// stores it (signatures are over the payload's bytes, not its text, so they still
    /// hold): payload and signatures in standard base64 with padding, and each
    /// `keyid` the signer's key id. A `keyid` that is missing or written another way
    /// (securesystemslib writes a SHA-256) is found by trying `candidates`, the keys
    /// that could have signed, at most [`MAX_KEY_TRIALS`] of them.
    ///
    /// # Errors
    /// As [`Envelope::parse`]; [`EnvelopeError::NoKeyMadeSignature`] or
    /// [`EnvelopeError::KeyIdNeeded`] for a signature whose key is not found; what
    /// `candidates` says (a payload that does not parse).
    pub fn parse_submitted<E: From<EnvelopeError>>(
        bytes: &[u8],
        candidates: impl FnOnce(&Envelope, &[u8]) -> Result<Vec<(u32, VerifyingKey)>, E>,
    ) -> Result<Opened, E> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(EnvelopeError::TooLarge.into());
        }
        let mut envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json(e.to_string()))?;
        let body = decode_dsse_base64(&envelope.payload).ok_or(EnvelopeError::PayloadBase64)?;
        envelope.payload = BASE64.encode(&body);
        if envelope.signatures.len() > MAX_SIGNATURES {
            return Err(EnvelopeError::TooManySignatures.into());
        }
        let mut message = None;
        let mut candidates = Some(candidates);
        let mut keys: Option<Vec<(u32, VerifyingKey)>> = None;
        for i in 0..envelope.signatures.len() {
            let sig = decode_dsse_base64(&envelope.signatures[i].sig)
                .and_then(|b| Signature::from_slice(&b).ok())
                .ok_or(EnvelopeError::BadSignatureEncoding(i))?;
            envelope.signatures[i].sig = BASE64.encode(sig.to_bytes());
            if is_vouch_keyid(&envelope.signatures[i].keyid) {
                continue;
            }
            if keys.is_none() {
                let find = candidates.take().expect("called once");
                keys = Some(find(&envelope, &body)?);
            }
            let keys = keys.as_deref().unwrap_or_default();
            if keys.len() > MAX_KEY_TRIALS {
                return Err(EnvelopeError::KeyIdNeeded(i).into());
            }
            let message = message.get_or_insert_with(|| pae(&envelope.payload_type, &body));
            let (id, _) = keys
                .iter()
                .find(|(_, k)| verify_signature(message, &sig, k))
                .ok_or(EnvelopeError::NoKeyMadeSignature(i))?;
            envelope.signatures[i].keyid = format!("{id:08x}");
        }
        Ok(envelope.open_with(body)?)
    }

    /// Decodes an envelope built in code.
    ///
    /// # Errors
    /// As [`Envelope::parse`].
    pub fn open(self) -> Result<Opened, EnvelopeError> {
        let body = BASE64
            .decode(&self.payload)
            .map_err(|_| EnvelopeError::PayloadBase64)?;
        self.open_with(body)
    }

    /// [`Envelope::open`] with the payload already decoded (`body`, which `payload`
    /// encodes in standard base64).
    fn open_with(self, body: Vec<u8>) -> Result<Opened, EnvelopeError> {
        debug_assert_eq!(self.payload, BASE64.encode(&body));
        if self.signatures.is_empty() {
            return Err(EnvelopeError::NoSignatures);
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(EnvelopeError::TooManySignatures);
        }
        let mut signatures = Vec::with_capacity(self.signatures.len());
        for (i, s) in self.signatures.iter().enumerate() {
            let id = is_vouch_keyid(&s.keyid)
                .then(|| u32::from_str_radix(&s.keyid, 16).ok())
                .flatten()
                .ok_or(EnvelopeError::BadKeyId(i))?;
            if signatures.iter().any(|(k, _)| *k == id) {
                return Err(EnvelopeError::DuplicateKey(s.keyid.clone()));
            }
            let sig = BASE64
                .decode(&s.sig)
                .ok()
                .and_then(|b| Signature::from_slice(&b).ok())
                .ok_or(EnvelopeError::BadSignatureEncoding(i))?;
            signatures.push((id, sig));
        }
        let pae = pae(&self.payload_type, &body);
        Ok(Opened {
            envelope: self,
            body,
            pae,
            signatures,
        })
    }

    /// Checks that `key` made one of the signatures, whatever the `keyid`s say (DSSE
    /// keyids are hints), and returns the payload.
    ///
    /// # Errors
    /// A malformed payload, or no signature by `key`.
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<Vec<u8>, EnvelopeError> {
        let body = BASE64
            .decode(&self.payload)
            .map_err(|_| EnvelopeError::PayloadBase64)?;
        let message = pae(&self.payload_type, &body);
        let signed = self.signatures.iter().any(|s| {
            BASE64
                .decode(&s.sig)
                .ok()
                .and_then(|b| Signature::from_slice(&b).ok())
                .is_some_and(|sig| verify_signature(&message, &sig, key))
        });
        if signed {
            Ok(body)
        } else {
            Err(EnvelopeError::BadSignature(hex::encode(key.as_bytes())))
        }
    }

    /// The envelope as vouch stores it: compact JSON, fields in a fixed order.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope serializes")
    }
}

impl Opened {
    /// [`Envelope::dedup_key`] of the envelope.
    pub fn dedup_key(&self) -> Hash {
        self.envelope.dedup_key()
    }

    /// Verifies one signature with `key`.
    pub fn verify_one(&self, at: usize, key: &VerifyingKey) -> bool {
        verify_signature(&self.pae, &self.signatures[at].1, key)
    }
}

/// Verifies one Ed25519 signature by the rule every standard verifier agrees with
/// (`verify_strict`): `s` below the group order, the equation checked without the
/// cofactor against `R`'s own bytes (so `R` written any other way fails), and neither
/// `R` nor the key of small order. Go's `crypto/ed25519`, Python's `cryptography` and
/// the browsers' WebCrypto accept every signature this accepts
/// (`tests/vectors.rs` holds the 914 edge cases), so that no signer can make a
/// signature that vouch calls valid and another verifier later calls invalid, and the
/// explorer's check in the browser (`verify-core.js`, `ed25519VerifyStrict`) gives the
/// same answer.
///
/// A signature that verified is remembered for the rest of the process (a bounded
/// memo of [`SIGNATURES_KEPT`], named by SHA-256 of key, signature and message), so that
/// what the log checked when it accepted an entry, or one history check met, is not
/// checked again by the next: the registry's signatures come with every history and
/// bundle, and a supplier's file is drawn again whenever one record is added.
pub fn verify_signature(message: &[u8], signature: &Signature, key: &VerifyingKey) -> bool {
    let mut h = Sha256::new();
    h.update(b"vouch verified signature\n");
    h.update(key.as_bytes());
    h.update(signature.to_bytes());
    h.update(message);
    let name: Hash = h.finalize().into();
    if VERIFIED.get(&name).is_some() {
        return true;
    }
    let ok = signature_holds(message, signature, key);
    if ok {
        VERIFIED.insert(name, ());
    }
    ok
}

/// The rule of [`verify_signature`] alone, checked every time: ed25519-dalek's
/// `verify_strict`, step by step with its own arithmetic, less one step it need not
/// take. `verify_strict` decompresses `R` to see that it is a point not of small order;
/// here the point the equation gives is compressed and compared with `R`'s bytes (as
/// `verify_strict` does too), and only a point that matches is checked for small order.
/// A compressed point is the one canonical encoding of a point, so `R` matches only
/// when it decompresses to exactly that point: the same answer for every input (a unit
/// test compares the two on valid, altered and torsion-laden signatures; the 914 edge
/// cases of `tests/vectors.rs` go through here), for 19 µs instead of 23.
pub fn signature_holds(message: &[u8], signature: &Signature, key: &VerifyingKey) -> bool {
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes())) else {
        return false;
    };
    if key.is_weak() {
        return false;
    }
    let k: [u8; 64] = Sha512::new()
        .chain_update(signature.r_bytes())
        .chain_update(key.as_bytes())
        .chain_update(message)
        .finalize()
        .into();
    let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &Scalar::from_bytes_mod_order_wide(&k),
        &-key.to_edwards(),
        &s,
    );
    r.compress().as_bytes() == signature.r_bytes() && !r.is_small_order()
}

/// How many verified signatures [`verify_signature`] remembers (about 5 MiB).
pub const SIGNATURES_KEPT: usize = 65_536;

/// Signatures that verified, by SHA-256 of key, signature and message.
static VERIFIED: std::sync::LazyLock<quick_cache::sync::Cache<Hash, ()>> =
    std::sync::LazyLock::new(|| quick_cache::sync::Cache::new(SIGNATURES_KEPT));

/// Verifies many (message, signature, key) triples. One at a time: batch verification
/// checks the equation for a random combination of the signatures, which answers
/// differently from the strict rule for signatures with small-order components (no
/// batch is sound for an equation without the cofactor), so it cannot be a fast path
/// to the same answer.
pub fn verify_all(items: &[(&[u8], Signature, VerifyingKey)]) -> Vec<bool> {
    items
        .iter()
        .map(|(m, s, k)| verify_signature(m, s, k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::KeyName;

    #[test]
    fn a_keyless_signature_with_too_many_candidate_keys_needs_its_keyid() {
        let signer = Signer::from_seed(KeyName::new("a").unwrap(), [3; 32]);
        let e = sign("t", b"{}", &[&signer]);
        let mut json: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap();
        json["signatures"][0]["keyid"] = "".into();
        let bytes = serde_json::to_vec(&json).unwrap();
        let key = (signer.key_id(), *signer.verifier().key());
        let many = |n| move |_: &Envelope, _: &[u8]| Ok::<_, EnvelopeError>(vec![key; n]);
        assert_eq!(
            Envelope::parse_submitted(&bytes, many(MAX_KEY_TRIALS + 1)).unwrap_err(),
            EnvelopeError::KeyIdNeeded(0)
        );
        let opened = Envelope::parse_submitted(&bytes, many(MAX_KEY_TRIALS)).unwrap();
        assert_eq!(opened.envelope, e);
    }

    #[test]
    fn dsse_base64_is_either_alphabet_with_or_without_padding() {
        for (text, bytes) in [
            ("Pz8/Pj4+", &b"???>>>"[..]),
            ("Pz8_Pj4-", b"???>>>"),
            ("e30=", b"{}"),
            ("e30", b"{}"),
            ("", b""),
        ] {
            assert_eq!(decode_dsse_base64(text).as_deref(), Some(bytes), "{text}");
        }
        for bad in ["e31=", "Pz8_Pj4+", "e3=", "!!!!", "e30=="] {
            assert_eq!(decode_dsse_base64(bad), None, "{bad}");
        }
    }

    #[test]
    fn verify_all_accepts_valid_and_finds_bad_signatures() {
        let signers: Vec<Signer> = (0..8u8)
            .map(|i| Signer::from_seed(KeyName::new(&format!("k{i}")).unwrap(), [i; 32]))
            .collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 100]).collect();
        let mut items: Vec<(&[u8], Signature, VerifyingKey)> = signers
            .iter()
            .zip(&msgs)
            .map(|(s, m)| (m.as_slice(), s.signing_key().sign(m), *s.verifier().key()))
            .collect();
        assert_eq!(verify_all(&items), vec![true; 8]);
        items[3].1 = items[4].1;
        let mut want = vec![true; 8];
        want[3] = false;
        assert_eq!(verify_all(&items), want);
    }

    /// The memo of verified signatures vouches for the exact (key, signature, message)
    /// it saw, and for nothing that differs from it in any part.
    #[test]
    fn a_remembered_signature_vouches_for_nothing_else() {
        let a = Signer::from_seed(KeyName::new("a").unwrap(), [41; 32]);
        let b = Signer::from_seed(KeyName::new("b").unwrap(), [42; 32]);
        let msg = b"remember me".as_slice();
        let sig = a.signing_key().sign(msg);
        assert!(verify_signature(msg, &sig, a.verifier().key()));
        assert!(
            verify_signature(msg, &sig, a.verifier().key()),
            "again, from the memo"
        );
        assert!(!verify_signature(b"remember mE", &sig, a.verifier().key()));
        assert!(!verify_signature(msg, &sig, b.verifier().key()));
        let mut other = sig.to_bytes();
        other[63] ^= 0x10;
        assert!(!verify_signature(
            msg,
            &Signature::from_bytes(&other),
            a.verifier().key()
        ));
        assert!(!verify_signature(
            msg,
            &b.signing_key().sign(msg),
            a.verifier().key()
        ));
    }

    /// [`signature_holds`] gives `verify_strict`'s answer: on valid signatures, on
    /// signatures, keys and messages altered in one bit, on `s` written above the group
    /// order, and on signatures made to satisfy the equation without the cofactor with
    /// a key and an `R` that carry small-order parts (or are of small order), the cases
    /// where leaving out `R`'s decompression could go wrong.
    #[test]
    fn signature_holds_agrees_with_verify_strict() {
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
        use ed25519_dalek::SigningKey;
        use proptest::prelude::*;

        fn check(message: &[u8], r: [u8; 32], s: [u8; 32], key: [u8; 32]) -> bool {
            let Ok(key) = VerifyingKey::from_bytes(&key) else {
                return false;
            };
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&r);
            bytes[32..].copy_from_slice(&s);
            let sig = Signature::from_bytes(&bytes);
            let strict = key.verify_strict(message, &sig).is_ok();
            assert_eq!(
                signature_holds(message, &sig, &key),
                strict,
                "R {} s {} key {}",
                hex::encode(r),
                hex::encode(s),
                hex::encode(key.as_bytes())
            );
            strict
        }
        /// A signature by secret scalar `a` for the key `[a]B + T_t` whose `R` is
        /// `[r]B + T_u`, found by trying `u` until the equation without the cofactor
        /// holds (`T_u = -[k]T_t`: found for about 70% of tries).
        fn torsion_signature(
            a: Scalar,
            r: Scalar,
            t: usize,
            message: &[u8],
        ) -> Option<[[u8; 32]; 3]> {
            let key = (B * a + EIGHT_TORSION[t]).compress().to_bytes();
            (0..8).find_map(|u| {
                let big_r = (B * r + EIGHT_TORSION[u]).compress().to_bytes();
                let h: [u8; 64] = Sha512::new()
                    .chain_update(big_r)
                    .chain_update(key)
                    .chain_update(message)
                    .finalize()
                    .into();
                let k = Scalar::from_bytes_mod_order_wide(&h);
                let s = r + k * a;
                (B * r + EIGHT_TORSION[u] == B * s - (B * a + EIGHT_TORSION[t]) * k)
                    .then(|| [big_r, s.to_bytes(), key])
            })
        }
        /// The order of the basepoint, little-endian.
        const ORDER: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        assert_eq!(Scalar::from_bytes_mod_order(ORDER), Scalar::ZERO);
        let cases = std::cell::Cell::new(0);
        let holds = std::cell::Cell::new(0);
        let torsion = std::cell::Cell::new(0);
        proptest!(ProptestConfig::with_cases(400), |(
            seed in any::<[u8; 32]>(),
            message in proptest::collection::vec(any::<u8>(), 0..200),
            flip in 0usize..(96 * 8 + 8),
            t in 0usize..8,
            r_seed in any::<[u8; 32]>(),
        )| {
            let signing = SigningKey::from_bytes(&seed);
            let sig = signing.sign(&message);
            let (r, s, key) = (*sig.r_bytes(), *sig.s_bytes(), signing.verifying_key().to_bytes());
            cases.set(cases.get() + 1);
            holds.set(holds.get() + usize::from(check(&message, r, s, key)));
            // one bit of R, s, the key or the message's first byte turned over
            let (mut r2, mut s2, mut key2, mut m2) = (r, s, key, message.clone());
            match flip / 256 {
                0 => r2[flip % 32] ^= 1 << (flip / 32 % 8),
                1 => s2[flip % 32] ^= 1 << (flip / 32 % 8),
                2 => key2[flip % 32] ^= 1 << (flip / 32 % 8),
                _ => m2.push(flip as u8),
            }
            check(&m2, r2, s2, key2);
            // s plus the group order: the same scalar, written above the order
            let mut s_plus_l = [0u8; 32];
            let mut carry = 0u16;
            for (i, out) in s_plus_l.iter_mut().enumerate() {
                let sum = u16::from(s[i]) + u16::from(ORDER[i]) + carry;
                *out = sum as u8;
                carry = sum >> 8;
            }
            prop_assert!(!check(&message, r, s_plus_l, key));
            // R and key with small-order parts, the equation without the cofactor true
            let a = Scalar::from_bytes_mod_order(seed);
            let r_scalar = Scalar::from_bytes_mod_order(r_seed);
            if let Some([r3, s3, key3]) = torsion_signature(a, r_scalar, t, &message) {
                torsion.set(torsion.get() + 1);
                check(&message, r3, s3, key3);
            }
            // R of small order itself, and a key of small order
            if let Some([r4, s4, key4]) = torsion_signature(a, Scalar::ZERO, t, &message) {
                prop_assert!(!check(&message, r4, s4, key4));
            }
            if let Some([r5, s5, key5]) = torsion_signature(Scalar::ZERO, r_scalar, t, &message) {
                prop_assert!(!check(&message, r5, s5, key5));
            }
        });
        assert_eq!(holds.get(), cases.get(), "every valid signature verifies");
        assert!(
            torsion.get() > cases.get() / 2,
            "torsion cases were made ({})",
            torsion.get()
        );
    }
}
