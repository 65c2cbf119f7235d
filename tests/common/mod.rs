//! A ledger with a cast of participants, for the integration tests.
#![allow(dead_code)]

pub mod forge;
pub mod go;
pub mod pg;

use std::sync::Arc;

use tempfile::TempDir;
use time::OffsetDateTime;
use vouch::envelope;
use vouch::log::{timestamp, Log, LogConfig, LogError, Receipt, Signed};
use vouch::note::{KeyName, Signer};
use vouch::statement::{
    Accreditation, DisputeOutcome, EntryRef, Kind, Metric, Outcome, ParticipantSpec,
    RegistryStatement, Role, Statement, StatementText, Status, Supplier, SupplierId, Topic,
    REGISTRY_TYPE, STATEMENT_TYPE,
};
use vouch::store::{SledOptions, SledStore, Store};

pub const FACTORY: &str = "VN2019303BQ3FZ9";
pub const OTHER_FACTORY: &str = "VN2024164XQ3F74";
/// The three governance members, one key each (`Cast::gov`).
pub const GOVERNANCE: [&str; 3] = ["platform-a", "platform-b", "platform-c"];

pub fn key(name: &str, seed: u8) -> Signer {
    Signer::from_seed(KeyName::new(name).unwrap(), [seed; 32])
}

pub struct Cast {
    pub log_key: Signer,
    pub gov: Vec<Signer>,
    pub auditor: Signer,
    pub buyer: Signer,
    pub supplier: Signer,
    pub ngo: Signer,
}

impl Cast {
    pub fn new() -> Self {
        Cast {
            log_key: key("test.example/ledger", 1),
            gov: vec![
                key("platform-a", 2),
                key("platform-b", 3),
                key("platform-c", 4),
            ],
            auditor: key("kiwa", 5),
            buyer: key("brand", 6),
            supplier: key("songhong", 7),
            ngo: key("watch", 8),
        }
    }

    pub fn signer_for(&self, role: &str) -> &Signer {
        match role {
            "auditor" => &self.auditor,
            "buyer" => &self.buyer,
            "supplier" => &self.supplier,
            "ngo" => &self.ngo,
            "governance" => &self.gov[0],
            other => panic!("no signer for {other}"),
        }
    }
}

pub fn now() -> String {
    timestamp(OffsetDateTime::now_utc() - time::Duration::seconds(1))
}

pub fn spec(id: &str, roles: &[Role], key: &Signer, suppliers: &[&str]) -> ParticipantSpec {
    ParticipantSpec {
        id: id.into(),
        name: format!("{id} (test)"),
        roles: roles.to_vec(),
        supplier_ids: suppliers
            .iter()
            .map(|s| SupplierId::new(s).unwrap())
            .collect(),
        keys: vec![key.verifier().to_string()],
        accreditation: roles.contains(&Role::Auditor).then(|| Accreditation {
            body: "APSCA".into(),
            reference: "21700123".into(),
        }),
    }
}

pub fn sign_registry(change: &RegistryStatement, signers: &[&Signer]) -> Vec<u8> {
    let body = serde_json::to_vec(change).unwrap();
    envelope::sign(REGISTRY_TYPE, &body, signers).to_json()
}

pub fn sign_statement(statement: &Statement, signer: &Signer) -> Vec<u8> {
    let body = serde_json::to_vec(statement).unwrap();
    envelope::sign(STATEMENT_TYPE, &body, &[signer]).to_json()
}

pub fn statement(kind: Kind, supplier: &str, note: &str) -> Statement {
    let result = match kind {
        Kind::Audit => Some(Outcome {
            status: Some(Status::PartiallyConformant),
            score: Some(78.0),
            ..Outcome::default()
        }),
        Kind::Metric => Some(Outcome {
            metrics: vec![Metric {
                name: "water_m3_per_1000_pieces".into(),
                value: 41.5,
                unit: "m3".into(),
                unit_code: None,
            }],
            ..Outcome::default()
        }),
        Kind::Rating => Some(Outcome {
            grade: Some("A".into()),
            ..Outcome::default()
        }),
        _ => None,
    };
    let mut s = Statement {
        result,
        findings: vec![vouch::statement::Finding {
            code: "T-1".into(),
            severity: vouch::statement::Severity::Minor,
            text: note.into(),
        }],
        ..Statement::new(
            kind,
            Supplier {
                id: SupplierId::new(supplier).unwrap(),
                name: "Song Hong Garment JSC".into(),
                country: "VN".into(),
                identifiers: Default::default(),
                province: None,
                address: None,
            },
            Topic::WorkingHours,
            now(),
        )
    };
    // A dispute names the finding it disputes and a resolution its outcome, each with
    // its reasons (refs are the caller's).
    match kind {
        Kind::Dispute => {
            s.findings.clear();
            s.disputes = vec!["T-1".into()];
            s.text = Some(StatementText {
                lang: "en".into(),
                body: note.into(),
            });
        }
        Kind::Resolution => {
            s.findings.clear();
            s.outcome = Some(DisputeOutcome::Upheld);
            s.text = Some(StatementText {
                lang: "en".into(),
                body: note.into(),
            });
        }
        Kind::Profile => {
            s.findings.clear();
            s.profile = Some(vouch::statement::FacilityProfile {
                sector: vec!["Apparel".into()],
                number_of_workers: Some(1200),
                ..Default::default()
            });
        }
        // Joins OTHER_FACTORY's history to this one's.
        Kind::Alias => {
            s.findings.clear();
            s.alias_of = Some(SupplierId::new(OTHER_FACTORY).unwrap());
        }
        // About the ledger's buyer, on how it pays.
        Kind::PurchasingPractice => {
            s.buyer = Some("brand".into());
            s.topic = Topic::PaymentTerms;
        }
        _ => {}
    }
    s
}

pub fn refer(r: &Receipt) -> EntryRef {
    EntryRef {
        index: r.index,
        leaf_hash: vouch::entry::encode_hash(&r.leaf_hash),
    }
}

pub struct Ledger {
    pub dir: TempDir,
    /// The log's store, as a `SledStore` when it is one.
    pub sled: Option<Arc<SledStore>>,
    pub log: Arc<Log>,
    pub cast: Cast,
}

impl Ledger {
    /// Genesis with three governance keys (threshold `k`), then auditor, buyer,
    /// supplier (bound to FACTORY) and NGO registered by `k` governance signatures.
    pub fn new(k: u32) -> Self {
        let dir = TempDir::new().unwrap();
        let sled = Arc::new(SledStore::open(dir.path(), &SledOptions::default()).unwrap());
        Self::on(k, dir, sled.clone(), Some(sled))
    }

    /// [`Ledger::new`] in `store` (`sled`: the same store, when it is one).
    pub fn on(k: u32, dir: TempDir, store: Arc<dyn Store>, sled: Option<Arc<SledStore>>) -> Self {
        let cast = Cast::new();
        let genesis = RegistryStatement::Genesis {
            threshold: k,
            participants: cast
                .gov
                .iter()
                .zip(GOVERNANCE)
                .map(|(key, id)| spec(id, &[Role::Governance], key, &[]))
                .collect(),
            issued_at: now(),
        };
        let gov: Vec<&Signer> = cast.gov.iter().collect();
        let signed = Signed::parse(&sign_registry(&genesis, &gov)).unwrap();
        Log::create_ledger(
            store.clone(),
            &cast.log_key,
            &signed,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        let log =
            Arc::new(Log::open(store, Some(cast.log_key.clone()), LogConfig::default()).unwrap());
        let ledger = Ledger {
            dir,
            sled,
            log,
            cast,
        };
        let c = &ledger.cast;
        for p in [
            spec("kiwa", &[Role::Auditor], &c.auditor, &[]),
            spec("brand", &[Role::Buyer], &c.buyer, &[]),
            spec("songhong", &[Role::Supplier], &c.supplier, &[FACTORY]),
            spec("watch", &[Role::Ngo], &c.ngo, &[]),
        ] {
            ledger
                .registry(&RegistryStatement::Register {
                    participant: p,
                    issued_at: now(),
                })
                .unwrap();
        }
        ledger
    }

    /// Submits a registry change signed by the first `threshold` governance keys.
    pub fn registry(&self, change: &RegistryStatement) -> Result<Receipt, LogError> {
        let k = self.log.registry().unwrap().threshold as usize;
        let gov: Vec<&Signer> = self.cast.gov.iter().take(k).collect();
        self.log.submit_blocking(&sign_registry(change, &gov))
    }

    pub fn submit(&self, statement: &Statement, signer: &Signer) -> Result<Receipt, LogError> {
        self.log.submit_blocking(&sign_statement(statement, signer))
    }

    /// What the data directory holds: every file but the index's byte for byte, and
    /// the index's keys and values (sled may rewrite its files without a change).
    pub fn disk_state(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(p: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut items: Vec<_> = std::fs::read_dir(p).unwrap().flatten().collect();
            items.sort_by_key(|e| e.path());
            for e in items {
                if e.file_name() == "index" {
                    continue;
                } else if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    let bytes = std::fs::read(e.path()).unwrap();
                    let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes).to_vec();
                    out.push((e.path().display().to_string(), digest));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        let sled = self.sled.as_ref().expect("a ledger in sled");
        out.push(("index".into(), sled.state_digest().unwrap().to_vec()));
        out
    }
}

/// Serves `log` on 127.0.0.1 (a free port) from a thread of its own; returns the base URL.
pub fn serve(log: Arc<Log>) -> String {
    serve_until(log, std::future::pending()).0
}

/// [`serve`] until `shutdown` resolves; the thread ends once the server has stopped.
pub fn serve_until(
    log: Arc<Log>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (String, std::thread::JoinHandle<()>) {
    serve_with(log, vouch::server::ServerConfig::default(), shutdown)
}

/// [`serve_until`] with `config`'s limits.
pub fn serve_with(
    log: Arc<Log>,
    config: vouch::server::ServerConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (String, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            vouch::server::serve_with(listener, log, config, shutdown)
                .await
                .unwrap();
        });
    });
    (format!("http://{}", rx.recv().unwrap()), thread)
}

/// Serves `app` on 127.0.0.1 (a free port) from a thread of its own; returns the base URL.
#[allow(dead_code)]
pub fn serve_app(app: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// A TCP port free on 127.0.0.1 now (for a process that binds it itself).
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the `vouch` binary in `dir`, as a user would.
pub fn vouch(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// The standard output of a run that must succeed.
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The standard error of a run that must fail.
pub fn fails(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `GET url`: status, content type and body, whatever the status.
pub fn get(url: &str) -> (u16, String, String) {
    match ureq::get(url).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (
            r.status(),
            r.content_type().to_owned(),
            r.into_string().unwrap(),
        ),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// Whether `e` is a policy error that `want` picks.
pub fn is_policy(e: &LogError, want: fn(&vouch::policy::PolicyError) -> bool) -> bool {
    matches!(e, LogError::Policy(p) if want(p))
}

/// Whether `e` refuses the statement for its field `name`.
pub fn is_field(e: &LogError, name: &str) -> bool {
    matches!(e, LogError::Statement(vouch::statement::StatementError::Invalid { field, .. }) if field == name)
}

/// `POST {url}/v1/attestations` with `envelope` (JSON), whatever the status.
pub fn post_attestation(url: &str, envelope: Vec<u8>) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{url}/v1/attestations"))
        .header("content-type", "application/json")
        .body(envelope)
        .send()
        .unwrap()
}

/// Asserts that `r` is a `status` problem whose detail says `says`.
pub fn assert_problem(r: reqwest::blocking::Response, status: u16, says: &str) {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().unwrap();
    assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
}

/// Runs the `vouch` binary with `args`.
pub fn vouch_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .output()
        .unwrap()
}

/// What a command printed, stdout then stderr, for assertions and their messages.
pub fn printed(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
