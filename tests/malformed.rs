//! Malformed notes, keys, checkpoints, tile paths, bundles and over-long entries: each
//! gets its own typed error, never a panic, and the store stays as it was.

use std::sync::Arc;

use tempfile::TempDir;
use vouch::log::{Log, LogConfig, LogError, Submission};
use vouch::note::{self, Checkpoint, KeyName, NoteError, Signer, Verifier};
use vouch::store::{SledOptions, SledStore, Store};
use vouch::tiles::{self, TileError, TilePath, MAX_ENTRY_LEN};

const VERIFIER: &str =
    "vouch.example/vn-apparel+c1c236a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const SIGNER: &str =
    "PRIVATE+KEY+vouch.example/vn-apparel+c1c236a3+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";

/// An input and a test of the error it must give.
type Case<E> = (&'static str, fn(&E) -> bool);

fn verifier() -> Verifier {
    Verifier::parse(VERIFIER).unwrap()
}

fn signed(text: &str) -> String {
    note::sign(text, &[&Signer::parse(SIGNER).unwrap()]).unwrap()
}

#[test]
fn malformed_verifier_keys_are_refused() {
    // Go's sumdb/note accepts upper-case key ids; so does vouch.
    assert!(Verifier::parse(&VERIFIER.replace("c1c236a3", "C1C236A3")).is_ok());
    use NoteError::*;
    let cases: &[Case<NoteError>] = &[
        ("", |e| {
            matches!(e, InvalidName(_) | MalformedVerifierKey(_))
        }),
        ("name+c1c236a3", |e| matches!(e, MalformedVerifierKey(_))),
        (
            "bad name+c1c236a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
            |e| matches!(e, InvalidName(_)),
        ),
        (
            "vouch.example/vn-apparel+c1c236ag+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
            |e| matches!(e, MalformedVerifierKey(_)),
        ),
        (
            "vouch.example/vn-apparel+c1c236a+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
            |e| matches!(e, MalformedVerifierKey(_)),
        ),
        (
            "vouch.example/vn-apparel+c1c236a4+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
            |e| matches!(e, KeyIdMismatch { .. }),
        ),
        (
            "other+c1c236a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
            |e| matches!(e, KeyIdMismatch { .. }),
        ),
        // Algorithm byte 0x02 instead of 0x01.
        (
            "vouch.example/vn-apparel+c1c236a3+AgOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
            |e| matches!(e, MalformedVerifierKey(_)),
        ),
        // Truncated key, missing padding, not base64.
        (
            "vouch.example/vn-apparel+c1c236a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG",
            |e| matches!(e, MalformedVerifierKey(_)),
        ),
        (
            "vouch.example/vn-apparel+c1c236a3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQS",
            |e| matches!(e, MalformedVerifierKey(_)),
        ),
        ("vouch.example/vn-apparel+c1c236a3+!!!!", |e| {
            matches!(e, MalformedVerifierKey(_))
        }),
    ];
    for (input, ok) in cases {
        let err = Verifier::parse(input).unwrap_err();
        assert!(ok(&err), "{input:?} gave {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn malformed_signer_keys_are_refused() {
    for input in [
        "",
        "PRIVATE+KEY+name",
        "PUBLIC+KEY+vouch.example/vn-apparel+c1c236a3+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
        "PRIVATE+KEY+vouch.example/vn-apparel+c1c236a4+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
        "PRIVATE+KEY+vouch.example/vn-apparel+c1c236a3+AgABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
        "PRIVATE+KEY+vouch.example/vn-apparel+c1c236a3+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhsc",
        "PRIVATE+KEY+ +c1c236a3+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
    ] {
        let err = Signer::parse(input).unwrap_err();
        assert!(
            matches!(
                err,
                NoteError::MalformedSignerKey(_) | NoteError::KeyIdMismatch { .. } | NoteError::InvalidName(_)
            ),
            "{input:?} gave {err:?}"
        );
    }
    for name in ["", "a b", "a+b", "tab\tname", "new\nline"] {
        assert!(
            matches!(KeyName::new(name), Err(NoteError::InvalidName(_))),
            "{name:?}"
        );
    }
}

#[test]
fn malformed_notes_are_refused_with_a_reason() {
    let good =
        signed("vouch.example/vn-apparel\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    assert!(note::open(good.as_bytes(), &[verifier()]).is_ok());
    let sig_line = good.split("\n\n").nth(1).unwrap();
    let flipped = {
        // Change one signature character (still valid base64) so it no longer verifies.
        let mut s = good.clone().into_bytes();
        let at = s.len() - 10;
        s[at] = if s[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(s).unwrap()
    };
    let cases: Vec<(String, &str)> = vec![
        (good.replacen("\n\n", "\n", 1), "no blank line"),
        (good.trim_end().to_string(), "no final newline"),
        (good.replace('\u{2014}', "-"), "ASCII dash"),
        (good.replace("\u{2014} ", "\u{2014}  "), "two spaces"),
        (
            good.replace("vouch.example/vn-apparel wc", "vouch.example/vn-apparelwc"),
            "no space",
        ),
        (
            good.replace("=\n\n", "=\n\n\n"),
            "blank line inside the signature block",
        ),
        (
            format!("{}\n\u{2014} x !!!!\n", good.trim_end()),
            "bad base64 on an unknown line",
        ),
        (
            good.replace(sig_line, &sig_line.replace('=', "")),
            "missing padding",
        ),
        (
            format!("{}\n\u{2014} x AAAA\n", good.trim_end()),
            "too short",
        ),
        (good.replace("\n1\n", "\n1\u{7}\n"), "control character"),
        ("\u{2014} x\n\n".to_string(), "empty text"),
        (
            String::from_utf8_lossy(&[0xff, b'\n', b'\n']).into_owned(),
            "invalid UTF-8 stand-in",
        ),
        (flipped, "bad signature by the trusted key"),
        (
            signed("other text\n"),
            "signed by trusted key but fine; control",
        ),
    ];
    let mut saw_invalid_signature = false;
    for (input, what) in &cases[..cases.len() - 1] {
        let err = note::open(input.as_bytes(), &[verifier()]).unwrap_err();
        saw_invalid_signature |= matches!(err, NoteError::InvalidSignature { .. });
        assert!(!err.to_string().is_empty(), "{what}");
    }
    assert!(saw_invalid_signature);
    assert!(note::open(cases.last().unwrap().0.as_bytes(), &[verifier()]).is_ok());
    assert_eq!(
        note::open(&[0xff, b'\n', b'\n', b'x'], &[verifier()]).unwrap_err(),
        NoteError::Malformed("not UTF-8")
    );
    let huge = "a\n".repeat(note::MAX_NOTE_LEN);
    assert_eq!(
        note::open(huge.as_bytes(), &[verifier()]).unwrap_err(),
        NoteError::TooLarge
    );
    let many = format!(
        "{}{}",
        good,
        "\u{2014} x AAAAAAAA\n".repeat(note::MAX_SIGNATURES + 1)
    );
    assert_eq!(
        note::open(many.as_bytes(), &[verifier()]).unwrap_err(),
        NoteError::TooManySignatures
    );
    for text in ["", "no newline", "bell\u{7}\n"] {
        assert_eq!(
            note::sign(text, &[&Signer::parse(SIGNER).unwrap()]).unwrap_err(),
            NoteError::MalformedText
        );
    }
}

#[test]
fn malformed_checkpoints_are_refused() {
    let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    for text in [
        format!("origin\n01\n{root}\n"),
        format!("origin\n-1\n{root}\n"),
        format!("origin\n1.0\n{root}\n"),
        format!("origin\n18446744073709551616\n{root}\n"),
        format!("origin\n\n{root}\n"),
        "origin\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n".to_string(),
        "origin\n1\nAAAA\n".to_string(),
        format!("\n1\n{root}\n"),
        format!("origin\n1\n{root}"),
        "origin\n1\n".to_string(),
    ] {
        assert!(
            matches!(
                Checkpoint::parse(&text),
                Err(NoteError::MalformedCheckpoint(_))
            ),
            "{text:?}"
        );
    }
    // A checkpoint signed by the log key but for another origin.
    let other = Signer::from_seed(KeyName::new("vouch.example/vn-apparel").unwrap(), [0; 32]);
    let msg = note::sign(&format!("another/origin\n0\n{root}\n"), &[&other]).unwrap();
    assert!(matches!(
        Checkpoint::open(msg.as_bytes(), other.verifier()),
        Err(NoteError::MalformedCheckpoint(_))
    ));
}

#[test]
fn malformed_tile_paths_are_refused() {
    use TileError::*;
    let cases: &[Case<TileError>] = &[
        ("0/000", |e| *e == NotATilePath),
        ("tile/", |e| matches!(e, BadLevel(_))),
        ("tile/64/000", |e| matches!(e, BadLevel(_))),
        ("tile/01/000", |e| matches!(e, BadLevel(_))),
        ("tile/-1/000", |e| matches!(e, BadLevel(_))),
        ("tile/a/000", |e| matches!(e, BadLevel(_))),
        ("tile/0/00", |e| matches!(e, BadSegment(_))),
        ("tile/0/0000", |e| matches!(e, BadSegment(_))),
        ("tile/0/x1a/000", |e| matches!(e, BadSegment(_))),
        ("tile/0/001/002", |e| matches!(e, BadSegment(_))),
        ("tile/0/x001", |e| matches!(e, BadSegment(_))),
        ("tile/0/x000/001", |e| *e == NonCanonicalIndex),
        ("tile/0/000.p/0", |e| matches!(e, BadWidth(_))),
        ("tile/0/000.p/256", |e| matches!(e, BadWidth(_))),
        ("tile/0/000.p/007", |e| matches!(e, BadWidth(_))),
        ("tile/0/000.p/", |e| matches!(e, BadWidth(_))),
        ("tile/0/x999/x999/x999/x999/x999/x999/999", |e| {
            *e == IndexTooLarge
        }),
        ("tile/0/x018/x446/x744/x073/x709/x551/615", |e| {
            *e == IndexTooLarge
        }),
        ("tile/entries/", |e| matches!(e, BadSegment(_))),
        ("tile/entries/000.p/1/", |e| matches!(e, BadWidth(_))),
    ];
    for (path, ok) in cases {
        let err = TilePath::parse(path).unwrap_err();
        assert!(ok(&err), "{path:?} gave {err:?}");
    }
    assert_eq!(TilePath::parse(&"x".repeat(200)).unwrap_err(), PathTooLong);
}

#[test]
fn malformed_bundles_are_refused() {
    let good = tiles::encode_bundle(&[b"ab".as_slice(), b"c"]).unwrap();
    assert_eq!(
        tiles::decode_bundle(&good, 2).unwrap(),
        vec![b"ab".as_slice(), b"c"]
    );
    assert_eq!(
        tiles::decode_bundle(&good, 3).unwrap_err(),
        TileError::BundleCount { got: 2, want: 3 }
    );
    assert_eq!(
        tiles::decode_bundle(&good[..good.len() - 1], 2).unwrap_err(),
        TileError::TruncatedBundle
    );
    assert_eq!(
        tiles::decode_bundle(&[0], 1).unwrap_err(),
        TileError::TruncatedBundle
    );
    let mut extra = good.clone();
    extra.push(0);
    assert_eq!(
        tiles::decode_bundle(&extra, 2).unwrap_err(),
        TileError::TruncatedBundle
    );
    assert_eq!(
        tiles::parse_hash_tile(&[0; 33]).unwrap_err(),
        TileError::TruncatedBundle
    );
    let big = vec![0u8; MAX_ENTRY_LEN + 1];
    assert_eq!(
        tiles::encode_bundle(&[big]).unwrap_err(),
        TileError::EntryTooLong(MAX_ENTRY_LEN + 1)
    );
}

/// Everything a reader can observe of a log.
fn snapshot(log: &Log) -> (String, Vec<Vec<u8>>, Vec<Option<String>>) {
    let size = log.head().size();
    (
        log.head().signed.clone(),
        (0..size).map(|i| log.view().entry(i).unwrap()).collect(),
        (0..=size + 1)
            .map(|s| log.view().checkpoint_at(s).unwrap())
            .collect(),
    )
}

#[test]
fn over_long_entries_and_bad_subjects_are_refused_and_nothing_is_stored() {
    let dir = TempDir::new().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap());
    let signer = Signer::parse(SIGNER).unwrap();
    Log::create(store.clone(), &signer).unwrap();
    let log = Log::open(store.clone(), Some(signer), LogConfig::default()).unwrap();
    for i in 0..3u8 {
        log.append_blocking(Submission {
            entry: vec![i; 100],
            subject: None,
        })
        .unwrap();
    }
    let before = snapshot(&log);
    let err = log
        .append_blocking(Submission {
            entry: vec![1; MAX_ENTRY_LEN + 1],
            subject: None,
        })
        .unwrap_err();
    assert_eq!(
        err,
        LogError::Tile(TileError::EntryTooLong(MAX_ENTRY_LEN + 1))
    );
    for subject in [String::new(), "s".repeat(256)] {
        let err = log
            .append_blocking(Submission {
                entry: vec![9],
                subject: Some(subject),
            })
            .unwrap_err();
        assert!(matches!(
            err,
            LogError::Store(vouch::store::StoreError::BadSubject(_))
        ));
    }
    // The largest entry that fits is accepted.
    assert_eq!(snapshot(&log), before);
    assert_eq!(store.tree_size().unwrap(), 3);
    let r = log
        .append_blocking(Submission {
            entry: vec![2; MAX_ENTRY_LEN],
            subject: None,
        })
        .unwrap();
    assert_eq!(r.index, 3);
}
