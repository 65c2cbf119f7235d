//! The explorer: pages for people, served by the same process as the API, from the
//! same read path (views of the published head, [`Log::supplier_file`]).
//!
//! Rendered on the server with [maud](https://maud.lambda.xyz): templates are Rust
//! code, checked when vouch compiles, and every value is escaped unless marked
//! otherwise. Every asset is embedded in the binary; pages carry a strict
//! Content-Security-Policy and fetch nothing from elsewhere. English and Vietnamese:
//! `?lang=` switches and is remembered in a cookie; otherwise the browser's
//! `Accept-Language` decides.

mod chart;
mod i18n;
mod pages;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use maud::Markup;
use serde::Deserialize;

use super::read::{blocking, parse_index, Params};
use super::tiles::with_type;
use super::{AppState, Problem};
use crate::log::{Log, LogError};
use crate::note::BASE64;
use crate::registry::Registry;
use crate::statement::{Role, Statement, SupplierId, Topic, STATEMENT_TYPE};
use crate::words::Lang;
use pages::Frame;

/// The stylesheet's path: its content's version in the query, so that it can be cached
/// for good.
pub const STYLE_PATH: &str = concat!("/assets/style.css?v=", env!("CARGO_PKG_VERSION"));
const STYLE: &str = include_str!("style.css");
/// The site's icon (also answered at `/favicon.ico`, where browsers look by default).
pub const ICON_PATH: &str = concat!("/assets/icon.svg?v=", env!("CARGO_PKG_VERSION"));
const ICON: &str = include_str!("icon.svg");

/// Factories per directory page.
const PER_PAGE: usize = 25;
/// Records on the home page.
const NEWEST: u64 = 8;

/// Nothing is loaded from elsewhere, nothing inline: styles and (later) scripts come
/// from this server's own `/assets/`.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/factories", get(directory))
        .route("/factories/{id}", get(factory))
        .route("/factories/{id}/summary", get(factory_summary))
        .route("/buyers/{id}", get(buyer))
        .route("/records/{index}", get(record))
        .route("/participants", get(participants))
        .route("/verify", get(verify_page))
        .route("/assets/style.css", get(style))
        .route("/assets/icon.svg", get(icon))
        .route("/assets/{script}", get(script))
        .route("/favicon.ico", get(icon))
}

async fn style() -> Response {
    asset(
        STYLE,
        "text/css; charset=utf-8",
        "public, max-age=31536000, immutable",
    )
}

/// The in-browser verifier, as ES modules that import each other by relative path.
pub const EXPLORER_PATH: &str = "/assets/explorer.js";
const SCRIPTS: [(&str, &str); 5] = [
    ("explorer.js", include_str!("explorer.js")),
    ("verify-core.js", include_str!("verify-core.js")),
    ("verify-records.js", include_str!("verify-records.js")),
    ("verify-registry.js", include_str!("verify-registry.js")),
    ("verify-history.js", include_str!("verify-history.js")),
];

async fn script(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    match SCRIPTS.iter().find(|(n, _)| *n == name) {
        // Short-lived: the modules import each other by unversioned paths, so that a
        // new release must not meet an old module in the cache for long.
        Some((_, body)) => asset(
            body,
            "text/javascript; charset=utf-8",
            "public, max-age=300",
        ),
        None => not_found(State(s), req).await,
    }
}

async fn icon() -> Response {
    // Also at /favicon.ico, whose address carries no version.
    asset(ICON, "image/svg+xml", "public, max-age=86400")
}

fn asset(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = with_type(body, content_type, cache);
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Who is asking and how they want it: the language, the page they are on (for the
/// language switch) and whether they read HTML.
struct Reader {
    lang: Lang,
    /// The language was chosen with `?lang=` on this request: remember it.
    chosen: bool,
    here: String,
    html: bool,
}

impl Reader {
    /// The reader of a request, and what is wrong with its `lang`, if anything.
    fn of(headers: &HeaderMap, uri: &Uri) -> (Reader, Option<Problem>) {
        let mut chosen = None;
        let mut wrong = None;
        let mut kept = Vec::new();
        for pair in uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.strip_prefix("lang=") {
                Some(tag) => match Lang::parse(tag).filter(|_| tag.len() == 2) {
                    Some(l) => chosen = Some(l),
                    None => {
                        wrong = Some(Problem::bad_request(
                            "bad-parameter",
                            "Bad parameter",
                            format!("{tag:?} is not a language of this site (en, vi)"),
                        ));
                    }
                },
                None => kept.push(pair),
            }
        }
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix("lang=").and_then(Lang::parse));
        // The first language the browser accepts (a `q=0` refuses one).
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',').find_map(|l| {
                    let mut parts = l.split(';');
                    let lang = Lang::parse(parts.next()?)?;
                    let refused = parts.any(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.trim().parse::<f64>().ok())
                            .is_some_and(|q| q <= 0.0)
                    });
                    (!refused).then_some(lang)
                })
            });
        // The switch links to this page by its query alone (`?q=...&lang=vi`): a
        // link relative to the page, so that a path like `//elsewhere.example/` can
        // never make it lead off the site.
        let here = if kept.is_empty() {
            "?".to_owned()
        } else {
            format!("?{}&", kept.join("&"))
        };
        // Browsers ask for HTML by name; programs (curl's `*/*`, none at all) get
        // problems, as from the API.
        let html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        let reader = Reader {
            lang: chosen.or(cookie).or(accepted).unwrap_or_default(),
            chosen: chosen.is_some(),
            here,
            html,
        };
        (reader, wrong)
    }

    fn frame<'a>(&'a self, log: &'a Log) -> Frame<'a> {
        Frame {
            lang: self.lang,
            here: &self.here,
            origin: log.origin(),
            tree_size: log.view().size(),
            log_key: log.verifier().to_string(),
            witness_keys: log.witness_keys().iter().map(ToString::to_string).collect(),
        }
    }

    /// The page, or the problem as a page (or as `application/problem+json` to a
    /// client that does not read HTML).
    fn respond(&self, log: &Log, page: Result<Markup, Problem>) -> Response {
        let (status, markup) = match page {
            Ok(m) => (StatusCode::OK, m),
            Err(p) if !self.html => return p.into_response(),
            Err(p) => {
                let t = i18n::text(self.lang);
                let title = match p.status {
                    StatusCode::NOT_FOUND => t.not_found,
                    s if s.is_client_error() => t.bad_request,
                    _ => t.error_title,
                };
                (p.status, pages::error(&self.frame(log), title, &p.detail))
            }
        };
        let mut r = (status, markup.into_string()).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // Pages follow the log as it grows; the language is part of the page.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(
            header::VARY,
            HeaderValue::from_static("Cookie, Accept-Language, Accept"),
        );
        if self.chosen {
            let cookie = format!(
                "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
                self.lang.tag()
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.insert(header::SET_COOKIE, v);
            }
        }
        r
    }
}

/// Runs `render` off the async threads and answers with its page.
async fn render(
    s: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    render: impl FnOnce(&Log, &Frame<'_>) -> Result<Markup, Problem> + Send + 'static,
) -> Response {
    let (reader, wrong) = Reader::of(&headers, &uri);
    if let Some(p) = wrong {
        return reader.respond(&s.log, Err(p));
    }
    let log = s.log.clone();
    let done = blocking(move || {
        let page = render(&log, &reader.frame(&log));
        Ok::<_, LogError>(reader.respond(&log, page))
    })
    .await;
    done.unwrap_or_else(IntoResponse::into_response)
}

/// [`render`] a page that may verify a history: under one of the server's permits for
/// expensive work (or a 503 that asks the reader to come back), held until the page is
/// done.
async fn render_expensive(
    s: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    page: impl FnOnce(&Log, &Frame<'_>, usize) -> Result<Markup, Problem> + Send + 'static,
) -> Response {
    let cap = s.config.max_verify_entries;
    let permit = match s.expensive() {
        Ok(p) => p,
        Err(p) => {
            // Busy: a page that says so to a browser, a problem to a program.
            let (reader, _) = Reader::of(&headers, &uri);
            let retry = p.retry_after;
            let mut r = reader.respond(&s.log, Err(p));
            if let Some(seconds) = retry {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return r;
        }
    };
    render(s, headers, uri, move |log, frame| {
        let _permit = permit;
        page(log, frame, cap)
    })
    .await
}

/// A page for anything no route serves: HTML to a browser, a problem to others.
pub(super) async fn not_found(State(s): State<Arc<AppState>>, req: Request) -> Response {
    let (headers, uri) = (req.headers().clone(), req.uri().clone());
    let (reader, _) = Reader::of(&headers, &uri);
    if reader.html {
        let t = i18n::text(reader.lang);
        let detail = format!("{}: {}", t.not_found, uri.path());
        reader.respond(&s.log, Err(Problem::not_found(detail)))
    } else {
        Problem::not_found("no such route").into_response()
    }
}

fn registry(log: &Log) -> Result<Arc<Registry>, Problem> {
    log.registry().map_err(Problem::from)
}

async fn home(State(s): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    render(s, headers, uri, |log, frame| {
        let view = log.view();
        let registry = registry(log)?;
        let count = |role| {
            registry
                .participants
                .values()
                .filter(|p| p.has_role(role))
                .count() as u64
        };
        let size = view.size();
        let indexes: Vec<u64> = (size.saturating_sub(NEWEST)..size).rev().collect();
        let newest = view
            .proven_entries(&indexes)?
            .into_iter()
            .filter_map(|p| {
                let d = p.decoded?;
                let s = (d.payload_type == STATEMENT_TYPE)
                    .then(|| Statement::parse(d.statement.get().as_bytes()).ok())
                    .flatten();
                Some((p.index, d, s))
            })
            .collect::<Vec<_>>();
        let verifier = log.verifier();
        let h = pages::Home {
            checkpoint_origin: view.head().checkpoint.origin(),
            root_b64: BASE64.encode(view.head().checkpoint.root()),
            signer: format!("{:08x}", verifier.key_id()),
            newest_logged: newest.first().map(|(_, d, _)| d.logged_at.clone()),
            factories: log.supplier_summaries(&view)?.len() as u64,
            auditors: count(Role::Auditor),
            buyers: count(Role::Buyer),
            newest,
            cosigners: log.cosigners(view.size(), &view.head().signed),
        };
        Ok(pages::home(frame, &h))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryQuery {
    q: Option<String>,
    province: Option<String>,
    topic: Option<String>,
    standing: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    #[allow(dead_code)]
    lang: Option<String>,
}

async fn directory(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Params<DirectoryQuery>, Problem>,
) -> Response {
    let shared = s.log.clone();
    render_expensive(s, headers, uri, move |log, frame, cap| {
        let Params(q) = q?;
        let bad = |detail: String| Problem::bad_request("bad-parameter", "Bad parameter", detail);
        let topic = match q.topic.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(Topic::parse(t).ok_or_else(|| bad(format!("{t:?} is not a topic")))?),
        };
        let standing = match q.standing.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(s) if pages::STANDINGS.contains(&s) => Some(s.to_owned()),
            Some(s) => {
                return Err(bad(format!(
                    "{s:?} is not a standing ({})",
                    pages::STANDINGS.join(", ")
                )))
            }
        };
        let sort = q
            .sort
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "id".into());
        if !["id", "name", "records", "newest"].contains(&sort.as_str()) {
            return Err(bad(format!(
                "{sort:?} is not a sort order (id, name, records, newest)"
            )));
        }
        let page = match q.page.as_deref() {
            None => 1,
            Some(p) => usize::try_from(parse_index(p)?)
                .ok()
                .filter(|&p| p >= 1)
                .ok_or_else(|| bad(format!("{p:?} is not a page number")))?,
        };
        let province = q.province.clone().filter(|p| !p.is_empty());
        if province.as_ref().is_some_and(|p| p.chars().count() > 100) {
            return Err(bad("a province is at most 100 characters".into()));
        }
        let search = pages::Search {
            q: q.q.clone().unwrap_or_default().trim().to_owned(),
            province,
            topic,
            standing,
            sort,
            page,
        };
        if search.q.chars().count() > 100 {
            return Err(bad("a search is at most 100 characters".into()));
        }
        let view = log.view();
        let needle = search.q.to_lowercase();
        let all = log.supplier_summaries(&view)?;
        let mut provinces: Vec<String> = all.iter().filter_map(|s| s.province.clone()).collect();
        provinces.sort();
        provinces.dedup();
        let mut found: Vec<_> = all
            .into_iter()
            .filter(|s| needle.is_empty() || s.matches(&needle))
            .filter(|s| {
                search
                    .province
                    .as_ref()
                    .is_none_or(|p| s.province.as_ref() == Some(p))
            })
            .collect();
        // Filters on standing need every candidate's brief (kept per supplier until
        // its history changes or the day does).
        if search.topic.is_some() || search.standing.is_some() {
            let mut kept = Vec::with_capacity(found.len());
            for mut s in found {
                s.standing = log.supplier_brief(&view, &s, cap)?;
                if s.standing.as_ref().is_some_and(|b| {
                    pages::matches_standing(b, search.topic, search.standing.as_deref())
                }) {
                    kept.push(s);
                }
            }
            found = kept;
        }
        match search.sort.as_str() {
            "name" => found.sort_by_key(|s| s.name.to_lowercase()),
            "records" => found.sort_by(|a, b| b.records.cmp(&a.records).then(a.id.cmp(&b.id))),
            "newest" => found.sort_by_key(|s| std::cmp::Reverse(s.newest_index)),
            _ => {}
        }
        let total = found.len();
        let pages_n = total.div_ceil(PER_PAGE).max(1);
        if search.page > pages_n {
            return Err(Problem::not_found(format!("there are {pages_n} pages")));
        }
        let filtered = search.topic.is_some() || search.standing.is_some();
        let page: Vec<_> = found
            .into_iter()
            .skip((search.page - 1) * PER_PAGE)
            .take(PER_PAGE)
            .collect();
        // Briefs already drawn are shown; the others are drawn on a thread of their own
        // (each verifies a whole history), so that the page does not wait for them.
        let mut later = Vec::new();
        let rows: Vec<_> = page
            .into_iter()
            .map(|s| {
                let brief = if filtered {
                    pages::Brief::of(s.standing.clone())
                } else {
                    match log.cached_supplier_brief(&view, &s) {
                        Some(b) => pages::Brief::of(b),
                        None => {
                            later.push(s.clone());
                            pages::Brief::Pending
                        }
                    }
                };
                (s, brief)
            })
            .collect();
        shared.draw_briefs_later(later, cap);
        Ok(pages::directory(
            frame, &search, &provinces, total, &rows, pages_n,
        ))
    })
    .await
}

/// The verified file of the factory `id` for a page: a problem for a bad id, an OS ID
/// with no records, or a history too long to draw here.
fn factory_file(
    log: &Log,
    frame: &pages::Frame<'_>,
    id: &str,
    cap: usize,
) -> Result<Arc<crate::log::SupplierFile>, Problem> {
    let id = SupplierId::new(id)
        .map_err(|e| Problem::bad_request("bad-supplier-id", "Bad supplier id", e.to_string()))?;
    let t = i18n::text(frame.lang);
    subject_file(log, t, id.as_str(), t.unknown_factory, cap)
}

/// The verified file of `subject` for a page; `unknown` says there is none.
fn subject_file(
    log: &Log,
    t: &i18n::Text,
    subject: &str,
    unknown: &str,
    cap: usize,
) -> Result<Arc<crate::log::SupplierFile>, Problem> {
    match log.supplier_file(&log.view(), subject, cap) {
        Ok(Some(file)) => Ok(file),
        Ok(None) => Err(Problem::not_found(format!(
            "{unknown} {}",
            crate::statement::buyer_of_subject(subject).unwrap_or(subject)
        ))),
        Err(LogError::TooManyRecords { supplier, max, .. }) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "history-too-large",
            "History too large to show here",
            format!("{} ({supplier}: more than {max})", t.too_many_records),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn factory(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    render_expensive(s, headers, uri, move |log, frame, cap| {
        let file = factory_file(log, frame, &id, cap)?;
        Ok(pages::factory(frame, &file))
    })
    .await
}

async fn factory_summary(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    render_expensive(s, headers, uri, move |log, frame, cap| {
        let summary = factory_file(log, frame, &id, cap)?.summary()?;
        Ok(pages::summary(frame, &summary))
    })
    .await
}

async fn buyer(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    render_expensive(s, headers, uri, move |log, frame, cap| {
        let id = super::read::buyer_id(&id)?;
        let t = i18n::text(frame.lang);
        let subject = crate::statement::buyer_subject(&id);
        let file = subject_file(log, t, &subject, t.unknown_buyer, cap)?;
        let registry = registry(log)?;
        let name = registry.participants.get(&id).map(|p| p.name.as_str());
        Ok(pages::buyer(frame, &file, &id, name))
    })
    .await
}

async fn record(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    Path(raw): Path<String>,
) -> Response {
    render_expensive(s, headers, uri, move |log, frame, cap| {
        let index = parse_index(&raw)?;
        let view = log.view();
        let proven = view
            .proven_entries(&[index])?
            .pop()
            .ok_or_else(|| Problem::not_found(format!("entry {index} is not in the log")))?;
        let bytes = BASE64.decode(&proven.entry).unwrap_or_default();
        let leaf_hash = BASE64.encode(crate::merkle::leaf_hash(&bytes));
        let decoded = proven.decoded.as_ref();
        // A statement about a supplier or a buyer: its verdict and neighbours come from
        // the subject's verified history. Anything else: from its own bundle.
        let subject = decoded
            .filter(|d| d.payload_type == STATEMENT_TYPE)
            .map(|d| d.subject.as_str())
            .filter(|s| {
                SupplierId::new(s).is_ok() || crate::statement::buyer_of_subject(s).is_some()
            });
        let file = match subject {
            Some(id) => match log.supplier_file(&view, id, cap) {
                Ok(f) => f,
                Err(LogError::TooManyRecords { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let from_bundle;
        let (report, referred_by) = match &file {
            Some(f) => (
                f.report.entries.iter().find(|r| r.index == index),
                f.report
                    .entries
                    .iter()
                    .filter_map(|r| {
                        let s = r.statement.as_ref()?;
                        s.refs
                            .iter()
                            .any(|e| e.index == index)
                            .then_some((r.index, s.kind))
                    })
                    .collect(),
            ),
            None => {
                let bundle = view.bundle(index)?;
                from_bundle = crate::verify::verify_bundle(
                    &bundle,
                    log.verifier(),
                    time::OffsetDateTime::now_utc(),
                );
                (Some(&from_bundle), Vec::new())
            }
        };
        Ok(pages::record(
            frame,
            &pages::RecordPage {
                index,
                decoded,
                leaf_hash,
                report,
                referred_by,
                history_size: file.as_ref().map(|f| f.history.tree_size),
            },
        ))
    })
    .await
}

async fn participants(State(s): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    render(s, headers, uri, |log, frame| {
        let registry = registry(log)?;
        Ok(pages::participants(frame, &registry))
    })
    .await
}

async fn verify_page(State(s): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    // The commands name this server as the reader reached it.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1:8080")
        .to_owned();
    render(s, headers, uri, move |log, frame| {
        use sha2::Digest as _;
        let key = log.verifier().to_string();
        let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        let fingerprint = digest
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
        let example = log
            .supplier_summaries(&log.view())?
            .first()
            .map(|s| s.id.clone());
        let url = format!("http://{host}");
        Ok(pages::verify(
            frame,
            &key,
            &fingerprint,
            example.as_deref(),
            &url,
        ))
    })
    .await
}
