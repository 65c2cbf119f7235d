//! The explorer's pages on the demo ledger, read as a person reads them: by their text,
//! in English and Vietnamese; and every bad address or parameter answered with a clear
//! error that changes nothing.

mod common;

use std::sync::Arc;

use vouch::log::{Log, LogConfig};
use vouch::store::{SledOptions, SledStore, Store};

struct Page {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

fn fetch(url: &str, accept: &str, cookie: Option<&str>) -> Page {
    let mut req = ureq::get(url).set("Accept", accept);
    if let Some(c) = cookie {
        req = req.set("Cookie", c);
    }
    match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => Page {
            status: r.status(),
            content_type: r.content_type().to_owned(),
            headers: r
                .headers_names()
                .into_iter()
                .map(|n| {
                    let v = r.header(&n).unwrap_or_default().to_owned();
                    (n, v)
                })
                .collect(),
            body: r.into_string().unwrap(),
        },
        Err(e) => panic!("GET {url}: {e}"),
    }
}

fn page(url: &str) -> Page {
    fetch(url, "text/html,application/xhtml+xml", None)
}

fn found_page(u: &str, id: &str) -> Page {
    let p = page(&format!("{u}/factories/{id}"));
    assert_eq!(p.status, 200, "{id}");
    p
}

struct Demo {
    url: String,
    store: Arc<SledStore>,
    _dir: tempfile::TempDir,
}

fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SledStore::open(&dir.path().join("data"), &SledOptions::default()).unwrap());
    let key = vouch::cli::demo::prepare(store.clone(), &dir.path().join("keys")).unwrap();
    let log = Arc::new(
        Log::open(
            store.clone() as Arc<dyn Store>,
            Some(key),
            LogConfig::default(),
        )
        .unwrap(),
    );
    Demo {
        url: common::serve(log),
        store,
        _dir: dir,
    }
}

const FACTORY: &str = "VN2019303BQ3FZ9";

#[test]
fn every_page_renders_its_content_in_both_languages() {
    let d = demo();
    let u = &d.url;

    let home = page(&format!("{u}/"));
    assert_eq!(home.status, 200);
    assert!(
        home.content_type.starts_with("text/html"),
        "{}",
        home.content_type
    );
    assert!(home.has("<html lang=\"en\""));
    for text in [
        "Latest checkpoint",
        "Newest records",
        "Factories",
        "Auditors",
        "Search factories by name or OS ID",
    ] {
        assert!(home.has(text), "home lacks {text:?}");
    }
    let csp = home.header("content-security-policy").expect("a CSP");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(
        !home.has("<script>") && !home.has("style=\""),
        "nothing inline"
    );

    let dir = page(&format!("{u}/factories"));
    assert_eq!(dir.status, 200);
    assert!(
        dir.has("11</strong> factories found"),
        "the demo has ten factories, and Song Hong's duplicate OS ID (joined to it by an alias record)"
    );
    for (_, name, os_id, _) in vouch::cli::demo::FACTORIES {
        assert!(
            dir.has(&name.replace('&', "&amp;")) && dir.has(os_id),
            "directory lacks {name}"
        );
    }

    let f = page(&format!("{u}/factories/{FACTORY}"));
    assert_eq!(f.status, 200);
    // The one script is the verifier, from this server's own assets; nothing inline.
    let script = r#"<script type="module" src="/assets/explorer.js"></script>"#;
    assert!(
        f.body.matches("<script").count() == 1 && f.has(script) && !f.has("style=\""),
        "nothing inline on a page with charts"
    );
    for module in [
        "explorer.js",
        "verify-core.js",
        "verify-records.js",
        "verify-registry.js",
        "verify-history.js",
    ] {
        let r = reqwest::blocking::get(format!("{u}/assets/{module}")).unwrap();
        assert_eq!(r.status(), 200, "{module}");
        assert_eq!(
            r.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{module}"
        );
        assert!(r.text().unwrap().contains("export") || module == "explorer.js");
    }
    let r = reqwest::blocking::get(format!("{u}/assets/other.js")).unwrap();
    assert_eq!(r.status(), 404);
    for text in [
        "Song Hong Garment JSC",
        "Standing by topic",
        "Every record, newest first",
        "<svg",
        "Figures over time",
    ] {
        assert!(f.has(text), "factory page lacks {text:?}");
    }
    assert!(
        f.has("verdict valid"),
        "records are marked with their verdict"
    );

    // A record of that factory: what it says, who signed it, its place in the log.
    let index = f
        .body
        .split("href=\"/records/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let r = page(&format!("{u}/records/{index}"));
    assert_eq!(r.status, 200);
    for text in [
        "What the record says",
        "Signed by",
        "Its place in the log",
        "Leaf hash",
        "Proof bundle",
    ] {
        assert!(r.has(text), "record page lacks {text:?}");
    }

    let p = page(&format!("{u}/participants"));
    assert_eq!(p.status, 200);
    assert!(p.has("APSCA") && p.has("Governance") && p.has("Key id"));

    let v = page(&format!("{u}/verify"));
    assert_eq!(v.status, 200);
    assert!(v.has("The log&#39;s public key") || v.has("The log's public key"));
    assert!(v.has("vouch history "));

    let css = fetch(&format!("{u}/assets/style.css"), "text/css", None);
    assert_eq!(css.status, 200);
    assert!(css.content_type.starts_with("text/css"));
    assert!(css.header("cache-control").unwrap().contains("immutable"));

    // Vietnamese, chosen once and remembered.
    let vi = page(&format!("{u}/factories/{FACTORY}?lang=vi"));
    assert_eq!(vi.status, 200);
    assert!(vi.has("<html lang=\"vi\""));
    assert!(vi.has("Tình trạng theo chủ đề") && vi.has("Tất cả bản ghi"));
    let cookie = vi.header("set-cookie").expect("the choice is remembered");
    assert!(cookie.starts_with("lang=vi"), "{cookie}");
    let again = fetch(&format!("{u}/"), "text/html", Some("lang=vi"));
    assert!(again.has("<html lang=\"vi\"") && again.has("Điểm kiểm tra mới nhất"));
    // The browser's languages, in order; `q=0` refuses one.
    let asked = |accept: &str| {
        let r = ureq::get(&format!("{u}/"))
            .set("Accept", "text/html")
            .set("Accept-Language", accept)
            .call()
            .unwrap();
        r.into_string().unwrap()
    };
    assert!(asked("vi-VN,vi;q=0.9,en;q=0.8").contains("<html lang=\"vi\""));
    assert!(asked("vi;q=0, en").contains("<html lang=\"en\""));
    assert!(asked("fr, vi").contains("<html lang=\"vi\""));
    // The switch on a page keeps the page and its query.
    let dir_vi = fetch(
        &format!("{u}/factories?sort=name"),
        "text/html",
        Some("lang=vi"),
    );
    assert!(
        dir_vi.has("href=\"?sort=name&amp;lang=en\""),
        "switch keeps the page"
    );
    // A path that would make a link off the site keeps the switch on it.
    let odd = fetch(&format!("{u}//elsewhere.example/x"), "text/html", None);
    assert_eq!(odd.status, 404);
    assert!(
        odd.has("href=\"?lang=vi\"") && !odd.has("href=\"//elsewhere"),
        "{}",
        odd.body
    );
}

#[test]
fn the_directory_searches_filters_sorts_and_pages() {
    let d = demo();
    let u = &d.url;
    let found = |q: &str| {
        let p = page(&format!("{u}/factories?{q}"));
        assert_eq!(p.status, 200, "{q}: {}", p.body);
        p
    };
    // Each brief verifies a whole history: a page shows those already drawn and has the
    // rest drawn in the background, for a later visit.
    let first = found("");
    assert!(first.has("being verified: shown when you come back"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let p = found("");
        if !p.has("being verified") {
            assert!(p.has("class=\"badge "), "briefs drawn: {}", p.body);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "briefs never drawn");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let by_id = found("q=VN2019303");
    assert!(by_id.has("<strong>1</strong> factories found") && by_id.has("Song Hong"));
    let by_name = found("q=footwear");
    assert!(by_name.has("Hai Phong Footwear"));
    assert!(!by_name.has("Song Hong Garment"));
    let none = found("q=nothing-like-this");
    assert!(none.has("No factory matches."));

    // A province, as the records name it: offered in the filter, and it keeps only the
    // factories there; the page and the API agree.
    let all_page = found("");
    assert!(all_page.has("<option value=\"Nam Định\">Nam Định</option>"));
    let nam_dinh = found("province=Nam%20%C4%90%E1%BB%8Bnh");
    assert!(
        nam_dinh.has("<strong>2</strong> factories found")
            && nam_dinh.has("Song Hong Garment")
            && nam_dinh.has("Nam Định, Viet Nam"),
        "{}",
        nam_dinh.body
    );
    assert!(found("province=Atlantis").has("No factory matches."));
    let api: serde_json::Value = reqwest::blocking::get(format!(
        "{u}/v1/suppliers?province=B%C3%ACnh%20D%C6%B0%C6%A1ng"
    ))
    .unwrap()
    .json()
    .unwrap();
    let ids: Vec<&str> = api["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["VN2020114KD2M9D"], "{api}");
    let empty = reqwest::blocking::get(format!("{u}/v1/suppliers?province=")).unwrap();
    assert_eq!(empty.status(), 400);
    assert_eq!(empty.headers()["content-type"], "application/problem+json");
    assert!(found_page(u, FACTORY).has("Nam Định, Viet Nam"));

    // Sorted by name: alphabetical.
    let sorted = found("sort=name");
    let a = sorted.body.find("An Phuoc Textile").unwrap();
    let s = sorted.body.find("Song Hong Garment").unwrap();
    assert!(a < s);

    // A topic filter keeps only factories with something current on it.
    let all = found("");
    let chemicals = found("topic=chemicals");
    let count = |p: &Page| {
        p.body
            .split("<strong>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap()
    };
    assert!(count(&chemicals) > 0 && count(&chemicals) <= count(&all));
    let open = found("standing=open_actions");
    assert!(count(&open) <= count(&all));
    // Each factory a filter keeps has what it asks for on its own page.
    let kept: Vec<String> = chemicals
        .body
        .split("href=\"/factories/")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(kept.len() as u32, count(&chemicals));
    for id in kept {
        let f = found_page(u, &id);
        assert!(
            f.has("id=\"topic-chemicals\""),
            "{id} has nothing on chemicals"
        );
    }
}

#[test]
fn bad_addresses_and_parameters_get_clear_errors_and_change_nothing() {
    let d = demo();
    let u = &d.url;
    let before = d.store.state_digest().unwrap();
    for (path, status) in [
        ("/factories?topic=nope", 400),
        ("/factories?standing=great", 400),
        ("/factories?sort=colour", 400),
        ("/factories?page=0", 400),
        ("/factories?page=01", 400),
        ("/factories?page=99", 404),
        ("/factories?unknown=1", 400),
        ("/factories?q=a&q=b", 400),
        ("/factories?province=a&province=b", 400),
        ("/factories/not-an-id", 400),
        ("/factories/VN2099999ZZZZZZ", 404),
        ("/records/abc", 400),
        ("/records/+1", 400),
        ("/records/99999999", 404),
        ("/?lang=fr", 400),
        ("/no/such/page", 404),
    ] {
        let html = page(&format!("{u}{path}"));
        assert_eq!(html.status, status, "{path}: {}", html.body);
        assert!(
            html.content_type.starts_with("text/html"),
            "{path}: a page for a browser"
        );
        assert!(html.has("Back to the home page"), "{path}");
        let api = fetch(&format!("{u}{path}"), "application/json", None);
        assert_eq!(api.status, status, "{path}");
        assert_eq!(
            api.content_type, "application/problem+json",
            "{path}: a problem for a program"
        );
    }
    assert_eq!(
        d.store.state_digest().unwrap(),
        before,
        "bad requests stored nothing"
    );
}

#[test]
fn what_a_signer_writes_is_shown_as_text_never_as_markup() {
    use vouch::statement::Kind;
    let l = common::Ledger::new(1);
    let mut s = common::statement(Kind::Audit, common::FACTORY, "hostile");
    s.supplier.name = "<script>alert(1)</script> Garment".into();
    s.findings[0].text = "\"><img src=x onerror=alert(2)> & more".into();
    l.submit(&s, &l.cast.auditor).unwrap();
    let u = common::serve(l.log.clone());
    for path in [
        format!("/factories/{}", common::FACTORY),
        "/factories".into(),
        "/".into(),
    ] {
        let p = page(&format!("{u}{path}"));
        assert_eq!(p.status, 200, "{path}");
        assert!(
            !p.has("<script>alert") && !p.has("<img src=x"),
            "{path}: markup from a signer"
        );
        assert!(
            p.has("&lt;script&gt;alert(1)&lt;/script&gt; Garment"),
            "{path}: the name, escaped"
        );
    }
    let f = page(&format!("{u}/factories/{}", common::FACTORY));
    assert!(f.has("&quot;&gt;&lt;img src=x onerror=alert(2)&gt; &amp; more"));
}
