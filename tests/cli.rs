//! The `vouch` binary, as a user runs it.

mod common;

use std::process::Output;

use common::*;
use vouch::statement::Kind;

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let printed = ok(&vouch(dir.path(), &["keygen", "auditor.example/kiwa"]));
    let key = dir.path().join("keys/auditor.example_kiwa.key");
    let public = std::fs::read_to_string(dir.path().join("keys/auditor.example_kiwa.pub")).unwrap();
    assert_eq!(printed, public);
    vouch::note::Verifier::parse(public.trim()).unwrap();
    vouch::keyfile::read_signer(&key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        fails(&vouch(dir.path(), &["keygen", "auditor.example/kiwa"]))
            .contains("refusing to overwrite")
    );
    assert!(fails(&vouch(dir.path(), &["keygen", "bad name"])).contains("invalid"));
}

#[test]
fn a_ledger_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&vouch(d, &["init", "--origin", "cli.example/ledger"]));
    ok(&vouch(d, &["keygen", "kiwa"]));
    let r = ok(&vouch(
        d,
        &[
            "participant",
            "register",
            "--gov-key",
            "keys/platform.key",
            "--id",
            "kiwa",
            "--name",
            "Kiwa",
            "--role",
            "auditor",
            "--key",
            "keys/kiwa.pub",
        ],
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r).unwrap()["index"],
        1
    );
    ok(&vouch(
        d,
        &[
            "attest",
            "--key",
            "keys/kiwa.key",
            "--kind",
            "audit",
            "--supplier-id",
            FACTORY,
            "--supplier-name",
            "Song Hong",
            "--topic",
            "working_hours",
            "--status",
            "conformant",
            "--score",
            "88",
            "--out",
            "audit.json",
        ],
    ));
    let first: serde_json::Value =
        serde_json::from_str(&ok(&vouch(d, &["submit", "audit.json"]))).unwrap();
    assert_eq!(first["index"], 2);
    let again: serde_json::Value =
        serde_json::from_str(&ok(&vouch(d, &["submit", "audit.json"]))).unwrap();
    assert_eq!(
        (again["index"].clone(), again["duplicate"].clone()),
        (first["index"].clone(), true.into())
    );
    let err = fails(&vouch(
        d,
        &[
            "attest",
            "--key",
            "keys/kiwa.key",
            "--kind",
            "audit",
            "--supplier-id",
            "VN1",
        ],
    ));
    assert!(err.contains("OS ID"), "{err}");
    // An unregistered key cannot sign: refused.
    ok(&vouch(d, &["keygen", "stranger"]));
    ok(&vouch(
        d,
        &[
            "attest",
            "--key",
            "keys/stranger.key",
            "--kind",
            "audit",
            "--supplier-id",
            FACTORY,
            "--supplier-name",
            "S",
            "--out",
            "x.json",
        ],
    ));
    assert!(fails(&vouch(d, &["submit", "x.json"])).contains("not registered"));
    let proof: serde_json::Value =
        serde_json::from_str(&ok(&vouch(d, &["log", "prove", "--index", "2"]))).unwrap();
    assert_eq!(proof["tree_size"], 3);
    let revoke = ok(&vouch(
        d,
        &[
            "participant",
            "revoke-key",
            "--gov-key",
            "keys/platform.key",
            "--id",
            "kiwa",
            "--key-id",
            &format!(
                "{:08x}",
                vouch::keyfile::read_signer(&d.join("keys/kiwa.key"))
                    .unwrap()
                    .key_id()
            ),
        ],
    ));
    assert!(revoke.contains("\"index\": 3"), "{revoke}");
}

#[test]
fn a_raw_log_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&vouch(d, &["log", "init", "--origin", "raw.example/log"]));
    std::fs::write(d.join("a"), b"first").unwrap();
    std::fs::write(d.join("b"), b"second").unwrap();
    ok(&vouch(d, &["log", "append", "a", "b"]));
    let cp = ok(&vouch(d, &["log", "checkpoint"]));
    let key = vouch::keyfile::read_verifier(&d.join("keys/raw.example_log.pub")).unwrap();
    let (checkpoint, _) = vouch::note::Checkpoint::open(cp.as_bytes(), &key).unwrap();
    assert_eq!(checkpoint.size(), 2);
    let p: serde_json::Value =
        serde_json::from_str(&ok(&vouch(d, &["log", "prove", "--index", "1"]))).unwrap();
    let proof: Vec<_> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| vouch::entry::decode_hash(h.as_str().unwrap()).unwrap())
        .collect();
    let leaf = vouch::merkle::leaf_hash(b"second");
    vouch::merkle::verify_inclusion(&leaf, 1, 2, &proof, checkpoint.root()).unwrap();
    std::fs::write(d.join("big"), vec![0u8; 70_000]).unwrap();
    assert!(fails(&vouch(d, &["log", "append", "big"])).contains("65535"));
    assert!(
        fails(&vouch(d, &["log", "init", "--origin", "raw.example/log"]))
            .contains("already holds a log")
    );
}

#[test]
fn verify_and_history_against_a_server() {
    let ledger = Ledger::new(1);
    let audit = ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "to verify"),
            &ledger.cast.auditor,
        )
        .unwrap();
    let url = serve(ledger.log.clone());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("log.pub"),
        ledger.cast.log_key.verifier().to_string(),
    )
    .unwrap();
    let bundle = ureq::get(&format!("{url}/v1/entries/{}", audit.index))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    std::fs::write(d.join("bundle.json"), &bundle).unwrap();
    let report = ok(&vouch(
        d,
        &[
            "verify",
            "bundle.json",
            "--log-key",
            "log.pub",
            "--url",
            &url,
        ],
    ));
    assert!(report.contains(": valid"), "{report}");
    let json: serde_json::Value = serde_json::from_str(&ok(&vouch(
        d,
        &["verify", "bundle.json", "--log-key", "log.pub", "--json"],
    )))
    .unwrap();
    assert_eq!(json["verdict"], "valid");
    // Another entry's bytes under this bundle's proof: not valid, non-zero exit.
    let mut tampered: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    tampered["index"] = (audit.index - 1).into();
    std::fs::write(d.join("tampered.json"), tampered.to_string()).unwrap();
    fails(&vouch(
        d,
        &["verify", "tampered.json", "--log-key", "log.pub"],
    ));
    let table = ok(&vouch(
        d,
        &["history", FACTORY, "--url", &url, "--log-key", "log.pub"],
    ));
    assert!(
        table.contains(&format!("{FACTORY}: valid, 1 entries (complete)")),
        "{table}"
    );
    assert!(table.contains("audit"), "{table}");
    // A factory with no records: proven absent, said in words.
    let none = ok(&vouch(
        d,
        &[
            "history",
            "VN0000000XXXXXX",
            "--url",
            &url,
            "--log-key",
            "log.pub",
        ],
    ));
    assert!(
        none.contains("VN0000000XXXXXX: no records as of checkpoint")
            && none.contains("proves it has none"),
        "{none}"
    );
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited")
}

#[test]
fn fsck_reports_repairs_and_names_what_is_lost() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    for i in 0..40 {
        std::fs::write(d.join(format!("e{i:02}")), format!("entry {i}")).unwrap();
    }
    ok(&vouch(
        d,
        &[
            "log",
            "init",
            "--data",
            "data",
            "--origin",
            "fsck.example/log",
        ],
    ));
    let files: Vec<String> = (0..40).map(|i| format!("e{i:02}")).collect();
    let mut args = vec!["log", "append", "--data", "data"];
    args.extend(files.iter().map(String::as_str));
    ok(&vouch(d, &args));

    let out = vouch(d, &["fsck", "--data", "data"]);
    let text = ok(&out);
    assert!(
        text.contains("40 entries") && text.contains("clean"),
        "{text}"
    );

    // A damaged index: found (2), repaired (1), then clean (0).
    std::fs::remove_dir_all(d.join("data/index")).unwrap();
    let out = vouch(d, &["fsck", "--data", "data"]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        !d.join("data/index").exists(),
        "fsck without --repair changes nothing"
    );
    let out = vouch(d, &["fsck", "--data", "data", "--repair"]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rebuilt the index"));
    assert_eq!(code(&vouch(d, &["fsck", "--data", "data"])), 0);

    // A damaged entry in the journal: named, never repaired away. The newest entry, so
    // that the damage is in the last record, which opening checks (how the batches
    // fell decides which record holds an older one; fsck and every proven read find
    // damage anywhere: tests/faults.rs).
    let journal = d.join("data/journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    let at = bytes.windows(8).position(|w| w == b"entry 39").unwrap();
    bytes[at + 6] ^= 1;
    std::fs::write(&journal, &bytes).unwrap();
    for args in [
        &["fsck", "--data", "data"][..],
        &["fsck", "--data", "data", "--repair"],
    ] {
        let out = vouch(d, args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(code(&out), 3, "{text}");
        assert!(
            text.contains("LOST") && text.contains("are lost or altered"),
            "{text}"
        );
    }
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        bytes,
        "the journal is kept as it is"
    );
    // The server refuses to start on it, saying why.
    let err = fails(&vouch(d, &["log", "checkpoint", "--data", "data"]));
    assert!(err.contains("damaged"), "{err}");
}
