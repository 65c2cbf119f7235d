//! The HTTP service over real TCP: every route, receipts and bundles that verify with
//! `verify`, histories after interleaved submissions, and bad input answered with the
//! right status and problem type while the store stays as it was.

mod common;

use common::*;
use serde_json::{json, Value};
use time::OffsetDateTime;
use vouch::bundle::{Bundle, History, Receipt};
use vouch::entry::decode_hash;
use vouch::merkle;
use vouch::note::Checkpoint;
use vouch::statement::{Kind, RegistryStatement, Role};
use vouch::tiles;
use vouch::verify::{self, Verdict};

fn get(url: &str) -> ureq::Response {
    match ureq::get(url).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

fn post(url: &str, content_type: &str, body: &[u8]) -> ureq::Response {
    let mut req = ureq::post(url);
    if !content_type.is_empty() {
        req = req.set("Content-Type", content_type);
    }
    match req.send_bytes(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    }
}

fn json_of(r: ureq::Response) -> Value {
    serde_json::from_reader(r.into_reader()).unwrap()
}

#[test]
fn every_route_answers_and_what_it_returns_verifies() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    let key = ledger.cast.log_key.verifier().clone();

    // Submissions: 201 with a receipt whose proof verifies against its checkpoint.
    let envelope = sign_statement(
        &statement(Kind::Audit, FACTORY, "http"),
        &ledger.cast.auditor,
    );
    let r = post(
        &format!("{url}/v1/attestations"),
        "application/json",
        &envelope,
    );
    assert_eq!(r.status(), 201);
    let receipt: Receipt = serde_json::from_reader(r.into_reader()).unwrap();
    let (cp, _) = Checkpoint::open(receipt.checkpoint.as_bytes(), &key).unwrap();
    let proof: Vec<_> = receipt
        .inclusion_proof
        .iter()
        .map(|p| decode_hash(p).unwrap())
        .collect();
    merkle::verify_inclusion(
        &decode_hash(&receipt.leaf_hash).unwrap(),
        receipt.index,
        cp.size(),
        &proof,
        cp.root(),
    )
    .unwrap();
    // The same envelope again: the same receipt, 200.
    let again = post(
        &format!("{url}/v1/attestations"),
        "application/json",
        &envelope,
    );
    assert_eq!(again.status(), 200);
    let again: Receipt = serde_json::from_reader(again.into_reader()).unwrap();
    assert_eq!((again.index, again.duplicate), (receipt.index, true));
    let change = RegistryStatement::Register {
        participant: spec("second-buyer", &[Role::Buyer], &key_of("buyer2", 30), &[]),
        issued_at: now(),
    };
    let r = post(
        &format!("{url}/v1/registry"),
        "application/json",
        &sign_registry(&change, &[&ledger.cast.gov[0]]),
    );
    assert_eq!(r.status(), 201);

    // Interleaved submissions about two factories from several threads.
    std::thread::scope(|s| {
        for t in 0..4 {
            let (url, ledger) = (&url, &ledger);
            s.spawn(move || {
                for i in 0..10 {
                    let f = if (t + i) % 2 == 0 {
                        FACTORY
                    } else {
                        OTHER_FACTORY
                    };
                    let e = sign_statement(
                        &statement(Kind::Metric, f, &format!("{t}/{i}")),
                        &ledger.cast.auditor,
                    );
                    assert_eq!(
                        post(&format!("{url}/v1/attestations"), "application/json", &e).status(),
                        201
                    );
                }
            });
        }
    });

    // The checkpoint.
    let r = get(&format!("{url}/checkpoint"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert!(r.header("Cache-Control").unwrap().contains("max-age"));
    let text = r.into_string().unwrap();
    let (cp, _) = Checkpoint::open(text.as_bytes(), &key).unwrap();
    let size = cp.size();
    assert_eq!(size, ledger.log.head().size());

    // Tiles and entry bundles.
    let path = format!("tile/0/000.p/{size}");
    let r = get(&format!("{url}/{path}"));
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.header("Cache-Control"), Some("public, max-age=2"));
    let mut hashes = Vec::new();
    r.into_reader().read_to_end(&mut hashes).unwrap();
    let hashes = tiles::parse_hash_tile(&hashes).unwrap();
    let mut bundle = Vec::new();
    get(&format!("{url}/tile/entries/000.p/{size}"))
        .into_reader()
        .read_to_end(&mut bundle)
        .unwrap();
    let entries = tiles::decode_bundle(&bundle, size as usize).unwrap();
    let mut tree = merkle::MemoryTree::new();
    for (e, h) in entries.iter().zip(&hashes) {
        assert_eq!(merkle::leaf_hash(e), *h);
        tree.push(*h);
    }
    assert_eq!(tree.root(), *cp.root());

    // A bundle, verified offline and by the server.
    let b: Bundle =
        serde_json::from_reader(get(&format!("{url}/v1/entries/{}", receipt.index)).into_reader())
            .unwrap();
    let report = verify::verify_bundle(&b, &key, OffsetDateTime::now_utc());
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
    assert_eq!(report.signers, vec!["kiwa".to_string()]);
    let r = json_of(post(
        &format!("{url}/v1/verify"),
        "application/json",
        &serde_json::to_vec(&json!({"bundle": b})).unwrap(),
    ));
    assert_eq!(r["verdict"], "valid");

    // Proofs.
    let p = json_of(get(&format!(
        "{url}/v1/proofs/inclusion?index={}&size={size}",
        receipt.index
    )));
    let proof: Vec<_> = p["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| decode_hash(h.as_str().unwrap()).unwrap())
        .collect();
    merkle::verify_inclusion(
        &decode_hash(&receipt.leaf_hash).unwrap(),
        receipt.index,
        size,
        &proof,
        cp.root(),
    )
    .unwrap();
    let old = Checkpoint::open(receipt.checkpoint.as_bytes(), &key)
        .unwrap()
        .0;
    let c = json_of(get(&format!(
        "{url}/v1/proofs/consistency?from={}&to={size}",
        old.size()
    )));
    let proof: Vec<_> = c["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| decode_hash(h.as_str().unwrap()).unwrap())
        .collect();
    merkle::verify_consistency(old.size(), size, &proof, old.root(), cp.root()).unwrap();

    // Histories: whole, verified; and paginated.
    let h: History = serde_json::from_reader(
        get(&format!("{url}/v1/suppliers/{FACTORY}/history")).into_reader(),
    )
    .unwrap();
    assert_eq!(h.entries.len(), 21);
    let report = verify::verify_history(&h, FACTORY, &key, OffsetDateTime::now_utc());
    assert_eq!(report.verdict, Verdict::Valid, "{:#?}", report.checks);
    let page: History = serde_json::from_reader(
        get(&format!("{url}/v1/suppliers/{FACTORY}/history?limit=5")).into_reader(),
    )
    .unwrap();
    assert_eq!(page.entries.len(), 5);
    assert_eq!(page.entries, h.entries[..5]);
    assert_eq!(page.next_before, Some(h.entries[4].index));
    assert!(page.index_proof.is_some() && !page.registry.is_empty());
    // The next page: the five before, against the same checkpoint, without the proof.
    let next: History = serde_json::from_reader(
        get(&format!(
            "{url}/v1/suppliers/{FACTORY}/history?limit=5&size={}&before={}",
            page.tree_size,
            page.next_before.unwrap()
        ))
        .into_reader(),
    )
    .unwrap();
    assert_eq!(next.entries, h.entries[5..10]);
    assert_eq!(next.checkpoint, page.checkpoint);
    // Later pages: no index proof, no governance chain; only their signers' chains.
    assert!(next.index_proof.is_none());
    assert!(!next.registry.iter().any(|p| p.index == 0));
    assert!(next
        .registry_proofs
        .iter()
        .all(|p| p.subject.starts_with("registry:")));
    let r = json_of(post(
        &format!("{url}/v1/verify"),
        "application/json",
        format!(r#"{{"supplier":"{FACTORY}"}}"#).as_bytes(),
    ));
    assert_eq!(r["verdict"], "valid");

    // The registry, the log, operations.
    let ps = json_of(get(&format!("{url}/v1/participants")));
    assert_eq!(ps["participants"].as_array().unwrap().len(), 8);
    assert_eq!(
        json_of(get(&format!("{url}/v1/participants/kiwa")))["roles"],
        json!(["auditor"])
    );
    let info = json_of(get(&format!("{url}/v1/log")));
    assert_eq!(info["verifier_key"], key.to_string());
    assert_eq!(get(&format!("{url}/healthz")).status(), 200);
    let metrics = get(&format!("{url}/metrics")).into_string().unwrap();
    assert!(
        metrics.contains("vouch_submissions_total{outcome=\"accepted\"} 42"),
        "{metrics}"
    );
    assert!(metrics.contains("vouch_submissions_total{outcome=\"duplicate\"} 1"));
}

fn key_of(name: &str, seed: u8) -> vouch::note::Signer {
    key(name, seed)
}

#[test]
fn full_tiles_are_immutable() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    std::thread::scope(|s| {
        for t in 0..8 {
            let ledger = &ledger;
            s.spawn(move || {
                for i in 0..33 {
                    ledger
                        .submit(
                            &statement(Kind::Metric, FACTORY, &format!("{t}-{i}")),
                            &ledger.cast.auditor,
                        )
                        .unwrap();
                }
            });
        }
    });
    for path in ["tile/0/000", "tile/entries/000"] {
        let r = get(&format!("{url}/{path}"));
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.header("Cache-Control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    assert_eq!(get(&format!("{url}/tile/1/000.p/1")).status(), 200);
}

#[test]
fn bad_input_gets_a_problem_and_changes_nothing() {
    let ledger = Ledger::new(1);
    let url = serve(ledger.log.clone());
    let c = &ledger.cast;
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "stored"), &c.auditor)
        .unwrap();
    // A revoked key, for one of the cases.
    let revoked = key("revoked-auditor", 40);
    ledger
        .registry(&RegistryStatement::Register {
            participant: spec("old-auditor", &[Role::Auditor], &revoked, &[]),
            issued_at: now(),
        })
        .unwrap();
    ledger
        .registry(&RegistryStatement::RevokeKey {
            participant: "old-auditor".into(),
            key_id: format!("{:08x}", revoked.key_id()),
            compromised_since: None,
            issued_at: now(),
        })
        .unwrap();
    let size = ledger.log.head().size();
    let disk = ledger.disk_state();

    let good = sign_statement(&statement(Kind::Audit, FACTORY, "good"), &c.auditor);
    let mut bad_sig: Value = serde_json::from_slice(&good).unwrap();
    bad_sig["signatures"][0]["sig"] =
        json!(base64::Engine::encode(&vouch::note::BASE64, [7u8; 64]));
    let mut future = statement(Kind::Audit, FACTORY, "future");
    future.issued_at = vouch::log::timestamp(OffsetDateTime::now_utc() + time::Duration::hours(2));
    let mut missing_ref = statement(Kind::CorrectiveAction, FACTORY, "plan");
    missing_ref.refs = vec![vouch::statement::EntryRef {
        index: 9999,
        leaf_hash: refer(&audit).leaf_hash,
    }];
    let mut bad_id: Value = serde_json::to_value(statement(Kind::Audit, FACTORY, "x")).unwrap();
    bad_id["supplier"]["id"] = json!("VN-1");
    let bad_id_env = vouch::envelope::sign(
        vouch::statement::STATEMENT_TYPE,
        &serde_json::to_vec(&bad_id).unwrap(),
        &[&c.auditor],
    )
    .to_json();
    let register_again = RegistryStatement::Register {
        participant: spec("kiwa", &[Role::Auditor], &key("kiwa2", 41), &[]),
        issued_at: now(),
    };
    let by_auditor = sign_registry(
        &RegistryStatement::Remove {
            participant: "brand".into(),
            issued_at: now(),
        },
        &[&c.auditor],
    );

    let a = format!("{url}/v1/attestations");
    let reg = format!("{url}/v1/registry");
    let json = "application/json";
    type Case = (&'static str, ureq::Response, u16, &'static str);
    let cases: Vec<Case> = vec![
        (
            "text/plain body",
            post(&a, "text/plain", &good),
            415,
            "unsupported-media-type",
        ),
        (
            "no content type",
            post(&a, "", &good),
            415,
            "unsupported-media-type",
        ),
        (
            "body over 64 KiB",
            post(&a, json, &vec![b' '; 70_000]),
            413,
            "payload-too-large",
        ),
        (
            "invalid JSON",
            post(&a, json, b"{\"payloadType\":"),
            400,
            "malformed-envelope",
        ),
        ("empty body", post(&a, json, b""), 400, "malformed-envelope"),
        (
            "bad signature",
            post(&a, json, &serde_json::to_vec(&bad_sig).unwrap()),
            400,
            "bad-signature",
        ),
        (
            "unknown key",
            post(
                &a,
                json,
                &sign_statement(&statement(Kind::Audit, FACTORY, "u"), &key("nobody", 42)),
            ),
            403,
            "unknown-key",
        ),
        (
            "revoked key",
            post(
                &a,
                json,
                &sign_statement(&statement(Kind::Audit, FACTORY, "r"), &revoked),
            ),
            403,
            "key-not-active",
        ),
        (
            "wrong role",
            post(
                &a,
                json,
                &sign_statement(&statement(Kind::Audit, FACTORY, "w"), &c.buyer),
            ),
            403,
            "not-authorised",
        ),
        (
            "registry change to attestations",
            post(&a, json, &sign_registry(&register_again, &[&c.gov[0]])),
            400,
            "wrong-payload-type",
        ),
        (
            "attestation to registry",
            post(&reg, json, &good),
            400,
            "wrong-payload-type",
        ),
        (
            "invalid statement",
            post(&a, json, &bad_id_env),
            422,
            "invalid-statement",
        ),
        (
            "issued in the future",
            post(&a, json, &sign_statement(&future, &c.auditor)),
            422,
            "issued-in-future",
        ),
        (
            "missing reference",
            post(&a, json, &sign_statement(&missing_ref, &c.auditor)),
            422,
            "bad-reference",
        ),
        (
            "registry change without governance",
            post(&reg, json, &by_auditor),
            403,
            "not-authorised",
        ),
        (
            "registry conflict",
            post(&reg, json, &sign_registry(&register_again, &[&c.gov[0]])),
            409,
            "registry-conflict",
        ),
        (
            "tile segment too short",
            get(&format!("{url}/tile/0/00")),
            400,
            "bad-tile-path",
        ),
        (
            "tile level too high",
            get(&format!("{url}/tile/64/000")),
            400,
            "bad-tile-path",
        ),
        (
            "non-canonical tile index",
            get(&format!("{url}/tile/0/x000/001")),
            400,
            "bad-tile-path",
        ),
        (
            "tile past the tree",
            get(&format!("{url}/tile/0/005")),
            404,
            "not-found",
        ),
        (
            "bundle wider than the tree",
            get(&format!("{url}/tile/entries/000.p/200")),
            404,
            "not-found",
        ),
        (
            "index past the tree",
            get(&format!("{url}/v1/entries/999999")),
            404,
            "not-found",
        ),
        (
            "index not a number",
            get(&format!("{url}/v1/entries/abc")),
            400,
            "bad-parameter",
        ),
        (
            "inclusion: index not below size",
            get(&format!("{url}/v1/proofs/inclusion?index=5&size=2")),
            404,
            "not-found",
        ),
        (
            "inclusion: no index",
            get(&format!("{url}/v1/proofs/inclusion")),
            400,
            "bad-parameter",
        ),
        (
            "consistency from > to",
            get(&format!("{url}/v1/proofs/consistency?from=5&to=2")),
            400,
            "bad-range",
        ),
        (
            "consistency past the tree",
            get(&format!("{url}/v1/proofs/consistency?from=1&to=999999")),
            404,
            "not-found",
        ),
        (
            "bad supplier id",
            get(&format!("{url}/v1/suppliers/not-an-id/history")),
            400,
            "bad-supplier-id",
        ),
        (
            "history limit 0",
            get(&format!("{url}/v1/suppliers/{FACTORY}/history?limit=0")),
            400,
            "bad-parameter",
        ),
        (
            "unknown participant",
            get(&format!("{url}/v1/participants/nobody")),
            404,
            "not-found",
        ),
        (
            "verify with neither",
            post(&format!("{url}/v1/verify"), json, b"{}"),
            400,
            "malformed-request",
        ),
        (
            "verify as text",
            post(&format!("{url}/v1/verify"), "text/plain", b"{}"),
            415,
            "unsupported-media-type",
        ),
        (
            "unknown route",
            get(&format!("{url}/v2/everything")),
            404,
            "not-found",
        ),
        ("wrong method", get(&a), 405, "method-not-allowed"),
    ];
    assert!(cases.len() >= 25);
    for (what, r, status, slug) in cases {
        assert_eq!(r.status(), status, "{what}");
        assert_eq!(
            r.header("Content-Type"),
            Some("application/problem+json"),
            "{what}"
        );
        let p: Value = serde_json::from_reader(r.into_reader()).unwrap();
        assert_eq!(p["type"], format!("/problems/{slug}"), "{what}: {p}");
        assert_eq!(p["status"], status, "{what}");
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{what}");
    }
    assert_eq!(ledger.log.head().size(), size);
    assert_eq!(
        ledger.disk_state(),
        disk,
        "bad input changed the data directory"
    );
    assert_eq!(post(&a, json, &good).status(), 201);
}

#[test]
fn openapi_document_describes_exactly_the_served_routes() {
    let ledger = Ledger::new(1);
    let audit = ledger
        .submit(&statement(Kind::Audit, FACTORY, "o"), &ledger.cast.auditor)
        .unwrap();
    let url = serve(ledger.log.clone());
    let doc = json_of(get(&format!("{url}/openapi.json")));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = [
        ("GET", "/checkpoint"),
        ("GET", "/v1/checkpoint/cosigned"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/v1/entries/{index}"),
        ("GET", "/v1/log"),
        ("GET", "/v1/participants"),
        ("GET", "/v1/participants/{id}"),
        ("GET", "/v1/proofs/consistency"),
        ("GET", "/v1/proofs/inclusion"),
        ("GET", "/v1/suppliers/{id}/history"),
        ("GET", "/v1/suppliers/{id}/standing"),
        ("GET", "/v1/suppliers/{id}/summary"),
        ("GET", "/v1/buyers/{id}/history"),
        ("GET", "/v1/buyers/{id}/standing"),
        ("GET", "/v1/suppliers"),
        ("GET", "/v1/export"),
        ("POST", "/v1/attestations"),
        ("POST", "/v1/registry"),
        ("POST", "/v1/verify"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    expected.sort();
    assert_eq!(documented, expected);
    // Every documented route is served (not the fallback, not another method).
    for (method, path) in &documented {
        let concrete = path
            .replace("{index}", &audit.index.to_string())
            .replace("/participants/{id}", "/participants/kiwa")
            .replace("/buyers/{id}", "/buyers/brand")
            .replace("{id}", FACTORY);
        let query = match path.as_str() {
            "/v1/proofs/inclusion" => "?index=0",
            "/v1/proofs/consistency" => "?from=1",
            _ => "",
        };
        let full = format!("{url}{concrete}{query}");
        let r = if method == "GET" {
            get(&full)
        } else {
            post(&full, "application/json", b"{}")
        };
        assert_ne!(r.status(), 405, "{method} {path}");
        let status = r.status();
        let body = r.into_string().unwrap();
        assert!(
            !body.contains("no such route"),
            "{method} {path}: {status} {body}"
        );
        if path == "/v1/checkpoint/cosigned" {
            // This log has no witnesses (tests/witnessed.rs serves one that has).
            assert_eq!(status, 404, "{body}");
            assert!(
                body.contains("sends its checkpoints to no witness"),
                "{body}"
            );
        } else if method == "GET" {
            assert_eq!(status, 200, "{method} {path}: {body}");
        }
    }
}

#[test]
fn graceful_shutdown_loses_nothing_acknowledged() {
    let ledger = Ledger::new(1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (url, server) = serve_until(ledger.log.clone(), async {
        let _ = stopped.await;
    });
    let acked = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..8 {
            let (url, ledger, acked) = (&url, &ledger, &acked);
            s.spawn(move || {
                for i in 0..200 {
                    let e = sign_statement(
                        &statement(Kind::Metric, FACTORY, &format!("{t}/{i}")),
                        &ledger.cast.auditor,
                    );
                    let r = match ureq::post(&format!("{url}/v1/attestations"))
                        .set("Content-Type", "application/json")
                        .send_bytes(&e)
                    {
                        Ok(r) => r,
                        Err(_) => return, // the server stopped taking requests
                    };
                    let receipt: Receipt = serde_json::from_reader(r.into_reader()).unwrap();
                    acked
                        .lock()
                        .unwrap()
                        .push((receipt.index, receipt.leaf_hash));
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(150));
        stop.send(()).unwrap();
    });
    server.join().unwrap();
    let acked = acked.into_inner().unwrap();
    assert!(!acked.is_empty());
    let Ledger {
        dir,
        sled,
        log,
        cast,
    } = ledger;
    drop((log, sled));
    let store: std::sync::Arc<dyn vouch::store::Store> = std::sync::Arc::new(
        vouch::store::SledStore::open(dir.path(), &Default::default()).unwrap(),
    );
    let log = vouch::log::Log::open(store, Some(cast.log_key.clone()), Default::default()).unwrap();
    for (index, leaf) in &acked {
        assert_eq!(
            vouch::entry::encode_hash(&log.view().leaf_hash(*index).unwrap()),
            *leaf,
            "entry {index}"
        );
    }
}
