//! Governance with k of n members: a removed member's signature never counts, a
//! threshold change takes effect at its log position only (for the log and for its
//! readers), and members sign changes on their own machines and submit them to a
//! running server (`vouch registry sign`, `vouch submit --url`).

mod common;

use std::process::{Child, Command};

use common::*;
use vouch::log::LogError;
use vouch::policy::PolicyError;
use vouch::registry::RegistryError;
use vouch::statement::{Kind, RegistryStatement, Role};
use vouch::verify::{verify_history, Verdict};

fn auditor_change(id: &str, seed: u8) -> RegistryStatement {
    RegistryStatement::Register {
        participant: spec(id, &[Role::Auditor], &key(id, seed), &[]),
        issued_at: now(),
    }
}

fn not_enough(r: Result<vouch::log::Receipt, LogError>, have: usize, need: u32) {
    match r {
        Err(LogError::Policy(PolicyError::NotEnoughGovernance { have: h, need: n })) => {
            assert_eq!((h, n), (have, need));
        }
        other => panic!("expected {have} of {need} signatures refused, got {other:?}"),
    }
}

#[test]
fn a_removed_members_signature_does_not_count() {
    let ledger = Ledger::new(2);
    let [a, b, c] = [
        &ledger.cast.gov[0],
        &ledger.cast.gov[1],
        &ledger.cast.gov[2],
    ];
    let remove = RegistryStatement::Remove {
        participant: GOVERNANCE[2].into(),
        issued_at: now(),
    };
    ledger
        .log
        .submit_blocking(&sign_registry(&remove, &[a, b]))
        .unwrap();
    // The removed member's signature never counts: beside one member's, the change
    // is refused, and so it is beside two.
    let change = auditor_change("bureau", 30);
    for signers in [&[a, c][..], &[a, b, c]] {
        let r = ledger.log.submit_blocking(&sign_registry(&change, signers));
        assert!(
            matches!(r, Err(LogError::Policy(PolicyError::KeyNotActive(_)))),
            "{r:?}"
        );
    }
    ledger
        .log
        .submit_blocking(&sign_registry(&change, &[a, b]))
        .unwrap();
}

#[test]
fn a_threshold_change_takes_effect_at_its_position_only() {
    let ledger = Ledger::new(2);
    let [a, b, c] = [
        &ledger.cast.gov[0],
        &ledger.cast.gov[1],
        &ledger.cast.gov[2],
    ];
    let to = |threshold| RegistryStatement::SetThreshold {
        threshold,
        issued_at: now(),
    };
    // A threshold above the members who can sign is refused; one signature is not
    // enough to change it.
    let four = ledger
        .log
        .submit_blocking(&sign_registry(&to(4), &[a, b, c]));
    assert!(
        matches!(
            four,
            Err(LogError::Registry(RegistryError::BelowThreshold {
                left: 3,
                threshold: 4
            }))
        ),
        "{four:?}"
    );
    not_enough(
        ledger.log.submit_blocking(&sign_registry(&to(3), &[a])),
        1,
        2,
    );
    // Raised to 3 by two signatures (the threshold before the change)...
    ledger
        .log
        .submit_blocking(&sign_registry(&to(3), &[a, b]))
        .unwrap();
    // ...after which two are not enough and three are.
    not_enough(
        ledger
            .log
            .submit_blocking(&sign_registry(&auditor_change("bureau", 30), &[a, b])),
        2,
        3,
    );
    ledger
        .log
        .submit_blocking(&sign_registry(&auditor_change("bureau", 30), &[a, b, c]))
        .unwrap();
    // Lowered to 1 by three; then one member alone registers an auditor.
    ledger
        .log
        .submit_blocking(&sign_registry(&to(1), &[a, b, c]))
        .unwrap();
    let late = key("late-auditor", 31);
    ledger
        .log
        .submit_blocking(&sign_registry(
            &RegistryStatement::Register {
                participant: spec("late-auditor", &[Role::Auditor], &late, &[]),
                issued_at: now(),
            },
            &[c],
        ))
        .unwrap();
    assert_eq!(ledger.log.registry().unwrap().threshold, 1);
    // Readers replay the registry with each change's threshold at its position: the
    // whole registry verifies, and so does a history signed by the late auditor.
    assert_eq!(ledger.log.view().verify_registry().unwrap(), 9);
    ledger
        .submit(
            &statement(Kind::Audit, FACTORY, "by the late auditor"),
            &late,
        )
        .unwrap();
    let h = ledger.log.view().history(FACTORY, None, 100).unwrap();
    let report = verify_history(
        &h,
        FACTORY,
        ledger.cast.log_key.verifier(),
        time::OffsetDateTime::now_utc(),
    );
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.checks);
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The whole ceremony from the command line: three members' keys, a genesis each signs
/// on their own, a ledger served, and registry changes signed by two members while
/// the server runs, submitted over HTTP.
#[test]
fn members_sign_on_their_own_machines_and_submit_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for m in ["gov-a", "gov-b", "gov-c"] {
        ok(&vouch(d, &["keygen", m]));
    }
    let origin = "gov.example/ledger";
    // Without private keys, init writes the genesis statement for the members.
    let said = fails(&vouch(
        d,
        &[
            "init",
            "--origin",
            origin,
            "--governance",
            "keys/gov-a.pub,keys/gov-b.pub,keys/gov-c.pub",
            "--threshold",
            "2",
        ],
    ));
    assert!(said.contains("--out"), "{said}");
    ok(&vouch(
        d,
        &[
            "init",
            "--origin",
            origin,
            "--governance",
            "keys/gov-a.pub,keys/gov-b.pub,keys/gov-c.pub",
            "--threshold",
            "2",
            "--out",
            "genesis.json",
        ],
    ));
    ok(&vouch(
        d,
        &[
            "registry",
            "sign",
            "genesis.json",
            "--key",
            "keys/gov-a.key",
            "--out",
            "genesis.dsse",
        ],
    ));
    // One signature of two: no ledger, and no log key left behind.
    assert!(fails(&vouch(
        d,
        &["init", "--origin", origin, "--genesis", "genesis.dsse"]
    ))
    .contains("governance"));
    assert!(!d.join("keys/gov.example_ledger.key").exists());
    ok(&vouch(
        d,
        &[
            "registry",
            "sign",
            "genesis.dsse",
            "--key",
            "keys/gov-b.key",
        ],
    ));
    ok(&vouch(
        d,
        &["init", "--origin", origin, "--genesis", "genesis.dsse"],
    ));

    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(d)
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reqwest::blocking::get(format!("{url}/checkpoint")).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    ok(&vouch(d, &["keygen", "kiwa"]));
    // Member a drafts and signs the change; b adds a signature; b and c sign a copy.
    ok(&vouch(
        d,
        &[
            "participant",
            "register",
            "--gov-key",
            "keys/gov-a.key",
            "--out",
            "kiwa-a.dsse",
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
    // One of three signatures: refused over HTTP, nothing stored.
    assert!(fails(&vouch(d, &["submit", "kiwa-a.dsse", "--url", &url])).contains("403"));
    ok(&vouch(
        d,
        &[
            "registry",
            "sign",
            "kiwa-a.dsse",
            "--key",
            "keys/gov-b.key",
            "--out",
            "kiwa-ab.dsse",
        ],
    ));
    assert!(fails(&vouch(
        d,
        &[
            "registry",
            "sign",
            "kiwa-ab.dsse",
            "--key",
            "keys/gov-b.key"
        ]
    ))
    .contains("already"));
    let receipt = ok(&vouch(d, &["submit", "kiwa-ab.dsse", "--url", &url]));
    assert!(receipt.contains("\"index\": 1"), "{receipt}");
    // A threshold change, with signatures gathered separately and combined.
    ok(&vouch(
        d,
        &[
            "participant",
            "set-threshold",
            "--threshold",
            "3",
            "--gov-key",
            "keys/gov-a.key",
            "--out",
            "t-a.dsse",
        ],
    ));
    std::fs::copy(d.join("t-a.dsse"), d.join("t-c.dsse")).unwrap();
    ok(&vouch(
        d,
        &["registry", "sign", "t-c.dsse", "--key", "keys/gov-c.key"],
    ));
    let combined = ok(&vouch(d, &["registry", "combine", "t-a.dsse", "t-c.dsse"]));
    std::fs::write(d.join("t.dsse"), &combined).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&combined).unwrap()["signatures"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    ok(&vouch(d, &["submit", "t.dsse", "--url", &url]));
    // Now two members are not enough, over HTTP too.
    let out = vouch(
        d,
        &[
            "participant",
            "remove",
            "--id",
            "kiwa",
            "--gov-key",
            "keys/gov-a.key",
            "--gov-key",
            "keys/gov-b.key",
            "--url",
            &url,
        ],
    );
    assert!(fails(&out).contains("403"));
    let registry: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/participants"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(registry["threshold"], 3, "{registry}");
}
