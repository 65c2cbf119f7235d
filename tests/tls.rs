//! The client over HTTPS (rustls): `vouch history --url https://…` against a server
//! behind a TLS terminator with a certificate from a private CA, trusted with `--ca`;
//! refused without it, with a message that says what to do. And `--url HOST:PORT`.

mod common;

use std::sync::Arc;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vouch::statement::Kind;

/// A CA (its PEM) and a certificate it issued for `localhost`, with its key.
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "vouch test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (
        ca.pem(),
        leaf.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
}

/// Terminates TLS on a free port of 127.0.0.1 and forwards each connection to
/// `backend` (a `host:port`), as a reverse proxy would; returns the port.
fn tls_terminator(
    backend: String,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut upstream = tokio::net::TcpStream::connect(backend).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// A ledger with one record about FACTORY saying `text`, served over HTTP; its URL,
/// and a directory holding the log's public key file (`log.pub`).
struct Served {
    _ledger: Ledger,
    url: String,
    dir: tempfile::TempDir,
}

impl Served {
    fn new(text: &str) -> Self {
        let ledger = Ledger::new(1);
        ledger
            .submit(&statement(Kind::Audit, FACTORY, text), &ledger.cast.auditor)
            .unwrap();
        let url = serve(ledger.log.clone());
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(
            dir.path().join("log.pub"),
            ledger.cast.log_key.verifier().to_string(),
        )
        .unwrap();
        Served {
            _ledger: ledger,
            url,
            dir,
        }
    }

    fn log_pub(&self) -> std::path::PathBuf {
        self.dir.path().join("log.pub")
    }
}

#[test]
fn history_over_https_with_a_private_ca() {
    let served = Served::new("over TLS");
    let (ca, cert, key) = certificates();
    let port = tls_terminator(
        served.url.trim_start_matches("http://").to_owned(),
        cert,
        key,
    );
    let dir = served.dir.path();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let log_pub = served.log_pub();
    let https = format!("https://localhost:{port}");
    let (ca_file, log_pub) = (ca_file.to_str().unwrap(), log_pub.to_str().unwrap());

    let out = vouch_cli(&[
        "history",
        FACTORY,
        "--url",
        &https,
        "--log-key",
        log_pub,
        "--ca",
        ca_file,
    ]);
    assert!(out.status.success(), "{}", printed(&out));
    assert!(printed(&out).contains("over TLS"), "{}", printed(&out));

    let out = vouch_cli(&["history", FACTORY, "--url", &https, "--log-key", log_pub]);
    assert!(!out.status.success());
    assert!(
        printed(&out).contains("give its CA with --ca FILE"),
        "{}",
        printed(&out)
    );

    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let out = vouch_cli(&[
        "history",
        FACTORY,
        "--url",
        &https,
        "--log-key",
        log_pub,
        "--ca",
        empty.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        printed(&out).contains("holds no PEM certificate"),
        "{}",
        printed(&out)
    );
}

#[test]
fn url_takes_host_and_port_and_says_what_it_expects() {
    let served = Served::new("by host and port");
    let log_pub = served.log_pub();
    let log_pub = log_pub.to_str().unwrap();
    let host_port = served.url.trim_start_matches("http://");
    let out = vouch_cli(&["history", FACTORY, "--url", host_port, "--log-key", log_pub]);
    assert!(out.status.success(), "{}", printed(&out));
    for bad in [
        "ftp://ledger.example",
        "ledger example:80",
        "host:port",
        ":8080",
    ] {
        let out = vouch_cli(&["history", FACTORY, "--url", bad, "--log-key", log_pub]);
        assert!(!out.status.success(), "{bad}");
        assert!(
            printed(&out).contains("is not a server's address: give a URL"),
            "{bad}: {}",
            printed(&out)
        );
    }
}
