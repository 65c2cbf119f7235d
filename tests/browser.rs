//! The explorer in a real browser: Debian's Chromium, headless, driven over WebDriver
//! (Debian's chromedriver) by fantoccini, against a server on the demo ledger.
//!
//! Every page renders its content (checked by its text), the browser reports no console
//! error (a script or style refused by the Content-Security-Policy would be one), the
//! language switch changes the page and is remembered on the next, and screenshots of
//! the home, a factory and a record page in both languages are written under
//! `target/screenshots/` for a reviewer to look at.
//!
//! `.ci/run` installs `chromium` and `chromium-driver` and sets
//! `VOUCH_REQUIRE_BROWSER=1`, so that there a missing browser fails the test; elsewhere
//! the test says it was skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use vouch::log::{Log, LogConfig};
use vouch::store::{SledOptions, SledStore, Store};

const FACTORY: &str = "VN2019303BQ3FZ9";

/// chromedriver and Chromium, if both are installed.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| names.iter().map(PathBuf::from).find(|p| p.is_file());
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let chromium = find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
    match (driver, chromium) {
        (Some(d), Some(c)) => Some((d, c)),
        _ => {
            let msg = "Chromium and chromedriver (Debian: chromium, chromium-driver) are needed for the browser test";
            assert!(std::env::var_os("VOUCH_REQUIRE_BROWSER").is_none(), "{msg}");
            eprintln!("SKIPPED: {msg}; .ci/run installs them");
            None
        }
    }
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_driver(path: &Path) -> (Driver, String) {
    let port = common::free_port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

/// The browser's console messages since the last call (chromedriver's log endpoint).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.into()),
        )
    }
}

async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of the first element `css` selects.
async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Opens `url`, checks that the page says each of `texts` and that the browser logged
/// no error; returns the page's text.
async fn visit(c: &Client, url: &str, texts: &[&str]) -> String {
    c.goto(url).await.unwrap();
    // A page the browser checks has its say once the check ends.
    checked(c).await;
    let body = text_of(c, "body").await;
    for t in texts {
        assert!(body.contains(t), "{url} does not say {t:?}:\n{body}");
    }
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "{url}: console errors {errors:?}");
    body
}

async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// A ledger made by `vouch serve --demo`, with its two witnesses, served on a free
/// port once both have cosigned its checkpoint.
fn demo() -> (tempfile::TempDir, Arc<Log>, String) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SledStore::open(&dir.path().join("data"), &SledOptions::default()).unwrap());
    let keys = dir.path().join("keys");
    let key = vouch::cli::demo::prepare(store.clone(), &keys).unwrap();
    let log =
        Arc::new(Log::open(store as Arc<dyn Store>, Some(key), LogConfig::default()).unwrap());
    let mut targets = Vec::new();
    for (n, name) in vouch::cli::demo::WITNESSES.iter().enumerate() {
        let signer = vouch::cli::demo::witness_signer(&keys, name).unwrap();
        let witness_key = signer.verifier().clone();
        let witness = vouch::witness::Witness::open(
            signer,
            vec![log.verifier().clone()],
            &dir.path().join(format!("witness-{n}")),
        )
        .unwrap();
        let url = common::serve_app(vouch::witness::router(Arc::new(witness)));
        targets.push(vouch::log::WitnessTarget {
            url,
            key: witness_key,
        });
    }
    log.start_witnessing(targets);
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.cosigners(log.head().size(), &log.head().signed).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the demo's witnesses did not cosign"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = common::serve(log.clone());
    (dir, log, url)
}

/// A WebDriver session with headless Chromium, its profile in `profile`.
async fn session(driver_url: &str, chromium: &Path, profile: &Path) -> Client {
    session_as(driver_url, chromium, profile, None).await
}

/// [`session`], as a phone of that width (CSS pixels) when asked: Chromium's mobile
/// emulation (a desktop window cannot be narrower than about 500 pixels).
async fn session_as(
    driver_url: &str,
    chromium: &Path,
    profile: &Path,
    phone: Option<u32>,
) -> Client {
    let mut caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1280,2000",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    if let Some(width) = phone {
        caps["goog:chromeOptions"]["mobileEmulation"] = serde_json::json!({
            "deviceMetrics": { "width": width, "height": 844, "pixelRatio": 2.0, "touch": true },
        });
    }
    // chromedriver on loopback speaks plain HTTP: no TLS stack needed.
    let http = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(http)
        .capabilities(caps.as_object().unwrap().clone())
        .connect(driver_url)
        .await
        .unwrap()
}

/// Waits for the page's check in the browser to end; returns its state (`verified` or
/// `failed`) and what it says.
async fn checked(c: &Client) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = c
            .execute(
                "const b = document.getElementById('in-browser'); return b ? (b.dataset.state || '') : 'none'",
                vec![],
            )
            .await
            .unwrap();
        let state = state.as_str().unwrap_or_default().to_owned();
        if state == "verified" || state == "failed" || state == "none" {
            let said = if state == "none" {
                String::new()
            } else {
                text_of(c, "#in-browser").await
            };
            return (state, said);
        }
        assert!(
            Instant::now() < deadline,
            "the check in the browser did not end: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn pages_render_in_chromium_in_both_languages_without_console_errors() {
    let Some((driver_path, chromium)) = browser() else {
        return;
    };
    let (_dir, _log, url) = demo();
    let (_driver, driver_url) = start_driver(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = session(&driver_url, &chromium, profile.path()).await;

        // English, the default for a browser that asks for nothing else.
        visit(
            &c,
            &format!("{url}/"),
            &["Latest checkpoint", "Newest records", "Factories"],
        )
        .await;
        shoot(&c, "home-en").await;
        visit(
            &c,
            &format!("{url}/factories"),
            &["11 factories found", "Song Hong Garment JSC"],
        )
        .await;
        let factory = visit(
            &c,
            &format!("{url}/factories/{FACTORY}"),
            &[
                "Standing by topic",
                "Figures over time",
                "Every record, newest first",
            ],
        )
        .await;
        assert!(factory.contains("valid"));
        let (state, said) = checked(&c).await;
        assert_eq!(state, "verified", "{said}");
        assert!(
            said.contains(&format!("Verified in this browser: the complete history of {FACTORY}"))
                && said.contains("pinned the log's key on first use")
                && said.contains("The checkpoint is cosigned by witness-")
                && said.contains("witness-ngo.demo.vouch.example/w1")
                && said.contains("witness-buyers.demo.vouch.example/w2"),
            "{said}"
        );
        shoot(&c, "factory-en").await;
        // Follow the newest record from the timeline, as a reader would.
        let first = c.find(Locator::Css(".timeline .head a")).await.unwrap();
        first.click().await.unwrap();
        let record = text_of(&c, "main").await;
        assert!(
            record.contains("What the record says") && record.contains("Its place in the log"),
            "{record}"
        );
        let (state, said) = checked(&c).await;
        assert_eq!(state, "verified", "{said}");
        assert!(said.contains("Verified in this browser: this record is") && said.contains("Checked against the log key this browser pinned"), "{said}");
        assert!(console_errors(&c).await.is_empty());
        let record_url = c.current_url().await.unwrap().to_string();
        shoot(&c, "record-en").await;
        visit(&c, &format!("{url}/participants"), &["APSCA", "Key id"]).await;
        visit(
            &c,
            &format!("{url}/factories/{FACTORY}/summary"),
            &["How the figures moved", "vouch summary"],
        )
        .await;
        shoot(&c, "summary-en").await;
        visit(
            &c,
            &format!("{url}/verify"),
            &["The log's public key", "vouch history"],
        )
        .await;

        // The keyboard: the first Tab reaches the skip link, which leads to the content.
        c.goto(&format!("{url}/factories/{FACTORY}")).await.unwrap();
        c.find(Locator::Css("body"))
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
        let focused = c
            .execute("return document.activeElement.className + ' ' + document.activeElement.getAttribute('href')", vec![])
            .await
            .unwrap();
        assert_eq!(focused.as_str(), Some("skip #main"), "{focused}");

        // The switch: Vietnamese on this page, and on the next without asking again.
        c.goto(&format!("{url}/")).await.unwrap();
        c.find(Locator::LinkText("Tiếng Việt"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let lang = c
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap();
        assert_eq!(lang.as_deref(), Some("vi"));
        visit(
            &c,
            &format!("{url}/"),
            &["Điểm kiểm tra mới nhất", "Bản ghi mới nhất"],
        )
        .await;
        shoot(&c, "home-vi").await;
        visit(
            &c,
            &format!("{url}/factories/{FACTORY}"),
            &["Tình trạng theo chủ đề", "Tất cả bản ghi, mới nhất trước"],
        )
        .await;
        let (state, said) = checked(&c).await;
        assert_eq!(state, "verified", "{said}");
        assert!(
            said.contains("Đã xác minh trong trình duyệt này")
                && said.contains("Điểm kiểm tra được đồng ký bởi witness-"),
            "{said}"
        );
        shoot(&c, "factory-vi").await;
        visit(
            &c,
            &record_url,
            &["Nội dung bản ghi", "Vị trí trong sổ cái"],
        )
        .await;
        let (state, said) = checked(&c).await;
        assert_eq!(state, "verified", "{said}");
        shoot(&c, "record-vi").await;
        // And back.
        c.find(Locator::LinkText("English"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let body = text_of(&c, "main").await;
        assert!(body.contains("What the record says"), "{body}");

        // On a phone (390 CSS pixels wide): the factory page fits the screen's width,
        // and checks itself as on a desktop.
        let phone_profile = tempfile::tempdir().unwrap();
        let phone = session_as(&driver_url, &chromium, phone_profile.path(), Some(390)).await;
        for path in [
            "/",
            "/factories",
            &format!("/factories/{FACTORY}"),
            &format!("/factories/{FACTORY}/summary"),
            "/participants",
            "/verify",
        ] {
            phone.goto(&format!("{url}{path}")).await.unwrap();
            let (state, said) = checked(&phone).await;
            assert!(state == "none" || state == "verified", "{path}: {said}");
            let widths = phone
                .execute(
                    "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
                    vec![],
                )
                .await
                .unwrap();
            let w: Vec<u64> = serde_json::from_value(widths).unwrap();
            if w[0] > w[1] {
                let wide = phone
                    .execute(
                        "const W = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > W + 1 || (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible')).slice(0, 12).map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth + ' ' + (e.textContent || '').slice(0, 40))",
                        vec![],
                    )
                    .await
                    .unwrap();
                panic!("{path} is {} pixels wide on a {} pixel phone: {wide}", w[0], w[1]);
            }
        }
        phone.goto(&format!("{url}/factories/{FACTORY}?lang=vi")).await.unwrap();
        checked(&phone).await;
        shoot(&phone, "factory-phone-vi").await;
        phone.close().await.unwrap();

        // An error page is a page too (the browser logs the 404 status itself).
        c.goto(&format!("{url}/factories/VN2099999ZZZZZZ"))
            .await
            .unwrap();
        let body = text_of(&c, "main").await;
        assert!(
            body.contains("Not found") && body.contains("Back to the home page"),
            "{body}"
        );
        c.close().await.unwrap();
    });
}

/// How the test's dishonest server lies, on top of the honest one.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    None,
    /// One byte of the newest entry of a history changed.
    ChangeAByte,
    /// A history's newest entry left out.
    HideNewest,
    /// Histories under a checkpoint signed by another key of the log's name.
    OtherKeysCheckpoint,
    /// As `OtherKeysCheckpoint`, and the pages name that other key: a log that
    /// changed its key, to a reader who pinned the first.
    NewKey,
    /// A record page showing another statement than the one signed (its issued_at).
    ChangeShownStatement,
    /// No history at the page's tree size (a 404), the log not having grown.
    RefuseTheSize,
}

struct Liar {
    upstream: String,
    lie: std::sync::Mutex<Lie>,
    other: vouch::note::Signer,
    honest_key: String,
    client: reqwest::Client,
}

impl Liar {
    fn tamper(&self, lie: Lie, path: &str, body: Vec<u8>) -> Vec<u8> {
        if lie == Lie::ChangeShownStatement && path.starts_with("/records/") {
            let page = String::from_utf8(body).unwrap();
            let at = page.find("id=\"signed-statement\"").unwrap();
            let (head, tail) = page.split_at(at);
            let tail = tail.replacen(
                "&quot;issued_at&quot;: &quot;2",
                "&quot;issued_at&quot;: &quot;1",
                1,
            );
            assert_ne!(tail, page[at..], "the record page shows its statement");
            return format!("{head}{tail}").into_bytes();
        }
        use base64::Engine as _;
        use vouch::note::BASE64;
        if path.starts_with("/v1/suppliers/") && path.contains("/history") {
            let mut h: serde_json::Value = serde_json::from_slice(&body).unwrap();
            match lie {
                Lie::ChangeAByte => {
                    let e = &mut h["entries"][0]["entry"];
                    let mut bytes = BASE64.decode(e.as_str().unwrap()).unwrap();
                    let at = bytes.len() / 2;
                    bytes[at] ^= 0x01;
                    *e = BASE64.encode(bytes).into();
                }
                Lie::HideNewest => {
                    h["entries"].as_array_mut().unwrap().remove(0);
                }
                Lie::OtherKeysCheckpoint | Lie::NewKey => {
                    let signed = h["checkpoint"].as_str().unwrap();
                    let text = &signed[..signed.find("\n\n").unwrap() + 1];
                    h["checkpoint"] = vouch::note::sign(text, &[&self.other]).unwrap().into();
                }
                Lie::None | Lie::ChangeShownStatement | Lie::RefuseTheSize => {}
            }
            return serde_json::to_vec(&h).unwrap();
        }
        if lie == Lie::NewKey {
            let page = String::from_utf8(body).unwrap();
            let other = self.other.verifier().to_string();
            return page.replace(&self.honest_key, &other).into_bytes();
        }
        body
    }
}

async fn lie(
    axum::extract::State(liar): axum::extract::State<Arc<Liar>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::header;
    let lie = *liar.lie.lock().unwrap();
    let path = req.uri().path().to_owned();
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut up = liar.client.get(format!("{}{target}", liar.upstream));
    for h in [header::ACCEPT, header::ACCEPT_LANGUAGE, header::COOKIE] {
        if let Some(v) = req.headers().get(&h) {
            up = up.header(h, v.clone());
        }
    }
    if lie == Lie::RefuseTheSize && target.contains("/history?") && target.contains("size=") {
        let mut r = axum::response::Response::new(axum::body::Body::from("{}"));
        *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
        return r;
    }
    let answer = up.send().await.unwrap();
    let (status, mut headers) = (answer.status(), answer.headers().clone());
    let body = liar.tamper(lie, &path, answer.bytes().await.unwrap().to_vec());
    headers.remove(header::CONTENT_LENGTH);
    let mut r = axum::response::Response::new(axum::body::Body::from(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// Against a server that lies (a changed byte, a hidden record, a checkpoint signed by
/// another key, a log key that changed), the page names the check that failed, in red,
/// and never says "verified"; the same pages served honestly verify.
#[test]
fn a_dishonest_server_is_caught_in_the_browser() {
    let Some((driver_path, chromium)) = browser() else {
        return;
    };
    let (_dir, log, upstream) = demo();
    let liar = Arc::new(Liar {
        upstream,
        lie: std::sync::Mutex::new(Lie::None),
        other: common::key(log.origin(), 99),
        honest_key: log.verifier().to_string(),
        client: reqwest::Client::new(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(lie).with_state(liar.clone());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (_driver, driver_url) = start_driver(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let c = session(&driver_url, &chromium, profile.path()).await;
        let factory = format!("{url}/factories/{FACTORY}");
        let record = {
            c.goto(&factory).await.unwrap();
            let (state, said) = checked(&c).await;
            assert_eq!(state, "verified", "honest: {said}");
            let href = c
                .find(Locator::Css(".timeline .head a"))
                .await
                .unwrap()
                .attr("href")
                .await
                .unwrap()
                .unwrap();
            format!("{url}{href}")
        };
        for (lie, check, names) in [
            (Lie::ChangeAByte, "complete", "its bytes were changed"),
            (Lie::HideNewest, "complete", "newer entries are left out"),
            (Lie::OtherKeysCheckpoint, "checkpoint", "not signed by the trusted log key"),
            (Lie::NewKey, "checkpoint", "not signed by the trusted log key"),
            (Lie::ChangeShownStatement, "page", "is not the one signed"),
            (Lie::RefuseTheSize, "request", "answered 404"),
        ] {
            *liar.lie.lock().unwrap() = lie;
            let pages = if lie == Lie::ChangeShownStatement {
                vec![&record]
            } else {
                vec![&factory, &record]
            };
            for page in pages {
                c.goto(page).await.unwrap();
                let (state, said) = checked(&c).await;
                assert_eq!(state, "failed", "{lie:?} on {page}: {said}");
                assert!(
                    said.contains(&format!("The check “{check}” failed")) && said.contains(names),
                    "{lie:?} on {page}: {said}"
                );
                assert!(!said.contains("Verified in this browser"), "{said}");
                let red = c
                    .execute(
                        "return getComputedStyle(document.querySelector('#in-browser .status')).color",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert_eq!(red.as_str(), Some("rgb(161, 22, 28)"), "{lie:?}: {red}");
                let alarm = c.find(Locator::Css("#in-browser .alarm")).await.is_ok();
                assert_eq!(alarm, lie == Lie::NewKey, "{lie:?}: {said}");
            }
            shoot(&c, &format!("dishonest-{lie:?}")).await;
        }
        // The same pages told honestly verify again: the pinned key is the first one.
        *liar.lie.lock().unwrap() = Lie::None;
        for page in [&factory, &record] {
            c.goto(page).await.unwrap();
            let (state, said) = checked(&c).await;
            assert_eq!(state, "verified", "honest again on {page}: {said}");
        }
        c.close().await.unwrap();
    });
}
