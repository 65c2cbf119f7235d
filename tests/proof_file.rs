//! Portable proofs (C2SP tlog-proof): `vouch proof` writes one under the newest
//! cosigned checkpoint; `vouch verify` checks it offline (the log key, the witnesses
//! required, the entry's inclusion) and refuses a changed entry, a wrong index, a
//! missing cosignature and a malformed file, each with a clear reason.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vouch::log::WitnessTarget;
use vouch::note::{Alg, KeyName, Signer};
use vouch::proof::TlogProof;
use vouch::statement::Kind;

fn vouch(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_proof_travels_and_is_checked_offline() {
    let l = Ledger::new(1);
    let dir = tempfile::tempdir().unwrap();
    let w = Signer::from_seed_as(
        Alg::CosignatureV1,
        KeyName::new("witness.example/p1").unwrap(),
        [61; 32],
    );
    let witness = vouch::witness::Witness::open(
        w.clone(),
        vec![l.cast.log_key.verifier().clone()],
        &dir.path().join("w"),
    )
    .unwrap();
    let wurl = serve_app(vouch::witness::router(Arc::new(witness)));
    l.log.start_witnessing(vec![WitnessTarget {
        url: wurl,
        key: w.verifier().clone(),
    }]);
    let url = serve(l.log.clone());
    let audit = l
        .submit(
            &statement(Kind::Audit, FACTORY, "the audit"),
            &l.cast.auditor,
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while l
        .log
        .newest_cosigned()
        .is_none_or(|n| !n.contains(&format!("\n{}\n", l.log.head().size())))
    {
        assert!(Instant::now() < deadline, "never cosigned");
        std::thread::sleep(Duration::from_millis(20));
    }
    let p = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(p("log.pub"), l.cast.log_key.verifier().to_string()).unwrap();
    std::fs::write(p("w.pub"), w.verifier().to_string()).unwrap();
    let index = audit.index.to_string();
    let (code, out, err) = vouch(&[
        "proof",
        &index,
        "--url",
        &url,
        "--log-key",
        &p("log.pub"),
        "--out",
        &p("a.tlog-proof"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 other signature line"), "{out}");
    let text = std::fs::read_to_string(p("a.tlog-proof")).unwrap();
    let proof = TlogProof::parse(&text).unwrap();
    assert_eq!(proof.to_text(), text, "the text round-trips");
    assert_eq!(proof.index, audit.index);

    let verify = |file: &str, extra: &[&str]| {
        let mut args = vec!["verify", file, "--log-key"];
        let key = p("log.pub");
        args.push(&key);
        args.extend_from_slice(extra);
        vouch(&args)
    };
    let wpub = p("w.pub");
    let (code, out, err) = verify(&p("a.tlog-proof"), &["--witness", &wpub]);
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        "[ok] checkpoint",
        "[ok] inclusion",
        "[ok] statement",
        "[ok] witnesses",
        "no registry",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    // Offline: the server is not needed (the proof names no URL, and verify takes none).

    // A changed entry, another index, a witness that did not cosign: invalid (exit 2).
    let mut changed = proof.clone();
    changed.extra.as_mut().unwrap()[10] ^= 1;
    let mut moved = proof.clone();
    moved.index += 1;
    let stranger = Signer::from_seed_as(
        Alg::CosignatureV1,
        KeyName::new("witness.example/x").unwrap(),
        [62; 32],
    );
    std::fs::write(p("x.pub"), stranger.verifier().to_string()).unwrap();
    let xpub = p("x.pub");
    for (name, file, extra, want) in [
        (
            "changed entry",
            changed.to_text(),
            vec![],
            "[FAIL] inclusion",
        ),
        ("moved index", moved.to_text(), vec![], "[FAIL] inclusion"),
        (
            "other witness",
            text.clone(),
            vec!["--witness", xpub.as_str()],
            "[FAIL] witnesses",
        ),
    ] {
        std::fs::write(p("b.tlog-proof"), file).unwrap();
        let (code, out, _) = verify(&p("b.tlog-proof"), &extra);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(out.contains(want), "{name}: {out}");
    }
    // Malformed files: a clear error, exit 1.
    for (bad, want) in [
        ("c2sp.org/tlog-proof@v1\nindex 01\n\nx\n", "leading zeros"),
        (
            "c2sp.org/tlog-proof@v1\nindex 1\nnot a hash\n\nx\n",
            "32-byte hash",
        ),
        ("c2sp.org/tlog-proof@v1\nindex 1\n", "blank line"),
    ] {
        std::fs::write(p("c.tlog-proof"), bad).unwrap();
        let (code, _, err) = verify(&p("c.tlog-proof"), &[]);
        assert_eq!(code, 1, "{bad:?}");
        assert!(err.contains(want), "{bad:?}: {err}");
    }
}
