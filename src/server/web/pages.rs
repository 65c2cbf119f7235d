//! The explorer's pages, as functions from what the log holds to HTML. Nothing here
//! reads the store: the handlers in [`super`] gather the data through the same read
//! path as the API, and these render it.

use std::collections::BTreeMap;

use maud::{html, Markup, DOCTYPE};

use super::chart::{self, Point};
use super::i18n::{text, Text};
use crate::bundle::Decoded;
use crate::log::{SupplierFile, SupplierSummary};
use crate::registry::{Participant, Registry};
use crate::standing::{Cited, StandingSummary, TopicStanding};
use crate::statement::{Kind, Role, Since, Statement, Status, Topic};
use crate::verify::{Report, Verdict};
use crate::words::{self, number_in, Lang};

/// What every page shows around its content: the log it is about.
pub struct Frame<'a> {
    pub lang: Lang,
    /// The request's query without `lang`, ending in `?` or `&`: the language switch
    /// appends `lang=..` to it, a link relative to the page.
    pub here: &'a str,
    pub origin: &'a str,
    pub tree_size: u64,
    /// The log's verifier key, which the reader's browser pins on first use.
    pub log_key: String,
    /// The keys of the witnesses the log sends its checkpoints to (C2SP vkeys), which
    /// the reader's browser pins with the log key.
    pub witness_keys: Vec<String>,
}

/// The page around `body`.
pub fn page(f: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let t = text(f.lang);
    html! {
        (DOCTYPE)
        html lang=(f.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t.site) }
                link rel="stylesheet" href=(super::STYLE_PATH);
                link rel="icon" type="image/svg+xml" href=(super::ICON_PATH);
            }
            body {
                a.skip href="#main" { (t.skip) }
                header {
                    nav aria-label=(t.nav_label) {
                        a.brand href="/" { "vouch" }
                        ul {
                            li { a href="/" { (t.nav_home) } }
                            li { a href="/factories" { (t.nav_factories) } }
                            li { a href="/participants" { (t.nav_participants) } }
                            li { a href="/verify" { (t.nav_verify) } }
                        }
                        div.lang role="group" aria-label=(t.language) {
                            @for l in Lang::ALL {
                                @if l == f.lang {
                                    span aria-current="true" lang=(l.tag()) { (l.name()) }
                                } @else {
                                    a href=(format!("{}lang={}", f.here, l.tag())) lang=(l.tag()) hreflang=(l.tag()) { (l.name()) }
                                }
                            }
                        }
                    }
                }
                main id="main" { (body) }
                footer {
                    p {
                        (t.server_rendered) " "
                        (f.origin) " · " (t.tree_size) ": " (group(f.tree_size, f.lang)) " · "
                        a href="/verify" { (t.nav_verify) } " · "
                        a href="/openapi.json" { (t.api) }
                    }
                }
            }
        }
    }
}

/// An integer with the language's thousands separator.
pub fn group(n: u64, lang: Lang) -> String {
    let sep = match lang {
        Lang::En => ',',
        Lang::Vi => '.',
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A date or time from a record (RFC 3339 or `YYYY-MM-DD`), as the reader's language
/// writes dates, in a `<time>` element that keeps the original.
pub fn date(raw: &str, lang: Lang) -> Markup {
    let day = raw.get(..10).unwrap_or(raw);
    let shown = match (day.get(..4), day.get(5..7), day.get(8..10)) {
        (Some(y), Some(m), Some(d)) if day.len() == 10 => match lang {
            Lang::En => {
                let months = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let month = m
                    .parse::<usize>()
                    .ok()
                    .and_then(|m| months.get(m.wrapping_sub(1)))
                    .copied()
                    .unwrap_or(m);
                format!("{} {month} {y}", d.trim_start_matches('0'))
            }
            Lang::Vi => format!("{d}/{m}/{y}"),
        },
        _ => raw.to_owned(),
    };
    html! { time datetime=(raw) { (shown) } }
}

/// A country's name from its ISO 3166-1 code, for the countries the sector's records
/// name; the code itself for others.
/// Where a facility is: its province (as the records name it) and country.
fn place(province: Option<&str>, code: &str, lang: Lang) -> String {
    match province {
        Some(p) => format!("{p}, {}", country(code, lang)),
        None => country(code, lang),
    }
}

fn country(code: &str, lang: Lang) -> String {
    let name = match (code, lang) {
        ("VN", Lang::En) => "Viet Nam",
        ("VN", Lang::Vi) => "Việt Nam",
        ("KH", Lang::En) => "Cambodia",
        ("KH", Lang::Vi) => "Campuchia",
        ("BD", Lang::En) => "Bangladesh",
        ("BD", Lang::Vi) => "Bangladesh",
        ("ID", Lang::En) => "Indonesia",
        ("ID", Lang::Vi) => "Indonesia",
        _ => return code.to_owned(),
    };
    name.to_owned()
}

fn verdict_text(v: Verdict, t: &Text) -> &'static str {
    match v {
        Verdict::Valid => t.v_valid,
        Verdict::Retracted => t.v_retracted,
        Verdict::Superseded => t.v_superseded,
        Verdict::Expired => t.v_expired,
        Verdict::Suspect => t.v_suspect,
        Verdict::Invalid => t.v_invalid,
    }
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Conformant | Status::Completed | Status::Verified => "good",
        Status::PartiallyConformant | Status::InProgress => "fair",
        Status::NonConformant | Status::Open => "poor",
    }
}

/// The records a standing leaves out, counted by why.
fn left_out(l: &crate::standing::LeftOut, t: &Text) -> Markup {
    html! {
        @if l.retracted > 0 { (l.retracted) " " (t.v_retracted) "; " }
        @if l.superseded > 0 { (l.superseded) " " (t.v_superseded) "; " }
        @if l.expired > 0 { (l.expired) " " (t.v_expired) "; " }
        @if l.suspect > 0 { (l.suspect) " " (t.v_suspect) "; " }
        @if l.invalid > 0 { (l.invalid) " " (t.v_invalid) }
    }
}

fn item_state(s: crate::standing::ItemStatus, t: &Text) -> &'static str {
    match s {
        crate::standing::ItemStatus::Open => t.item_open,
        crate::standing::ItemStatus::Overdue => t.item_overdue,
        crate::standing::ItemStatus::Closed => t.item_closed,
    }
}

fn item_class(s: crate::standing::ItemStatus) -> &'static str {
    match s {
        crate::standing::ItemStatus::Open => "open",
        crate::standing::ItemStatus::Overdue => "overdue",
        crate::standing::ItemStatus::Closed => "closed",
    }
}

fn entry_link(index: u64) -> Markup {
    html! { a href=(format!("/records/{index}")) { "#" (index) } }
}

/// A search form for factories.
fn search_form(t: &Text, q: &str) -> Markup {
    html! {
        form.search role="search" action="/factories" method="get" {
            label for="q" { (t.search_label) }
            div.row {
                input id="q" name="q" type="search" value=(q) placeholder=(t.search_placeholder) autocomplete="off";
                button type="submit" { (t.search) }
            }
        }
    }
}

/// The home page's data.
pub struct Home<'a> {
    pub checkpoint_origin: &'a str,
    pub root_b64: String,
    pub signer: String,
    pub newest_logged: Option<String>,
    pub factories: u64,
    pub auditors: u64,
    pub buyers: u64,
    pub newest: Vec<(u64, Decoded, Option<Statement>)>,
    /// The witnesses that cosigned the checkpoint, and when (POSIX seconds).
    pub cosigners: Vec<(String, u64)>,
}

pub fn home(f: &Frame<'_>, h: &Home<'_>) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    page(
        f,
        t.nav_home,
        html! {
            h1 { "vouch" }
            p.lead { (t.intro) }
            p { (t.intro_more) }
            (search_form(t, ""))
            section aria-labelledby="counts" {
                h2 id="counts" class="visually-hidden" { (t.records) }
                ul.counts {
                    li { strong { (group(h.factories, lang)) } " " (t.factories) }
                    li { strong { (group(f.tree_size, lang)) } " " (t.records) }
                    li { strong { (group(h.auditors, lang)) } " " (t.auditors) }
                    li { strong { (group(h.buyers, lang)) } " " (t.buyers) }
                }
            }
            section aria-labelledby="cp" {
                h2 id="cp" { (t.latest_checkpoint) }
                dl.facts {
                    dt { (t.tree_size) } dd { (group(f.tree_size, lang)) }
                    dt { (t.root_hash) } dd { code.hash { (h.root_b64) } }
                    dt { (t.signed_by) } dd { (h.checkpoint_origin) " · " (t.key_id) " " code { (h.signer) } }
                    dt { (t.cosigned_by) }
                    dd {
                        @if h.cosigners.is_empty() {
                            (t.no_witnesses)
                        }
                        @for (n, (name, at)) in h.cosigners.iter().enumerate() {
                            @if n > 0 { ", " }
                            code { (name) }
                            @if let Ok(at) = time::OffsetDateTime::from_unix_timestamp(i64::try_from(*at).unwrap_or(i64::MAX)) {
                                @if let Ok(at) = at.format(&time::format_description::well_known::Rfc3339) {
                                    " (" (date(&at, lang)) ")"
                                }
                            }
                        }
                    }
                    @if let Some(at) = &h.newest_logged {
                        dt { (t.newest_logged) } dd { (date(at, lang)) }
                    }
                }
            }
            section aria-labelledby="newest" {
                h2 id="newest" { (t.newest_records) }
                ol.records {
                    @for (index, d, s) in &h.newest {
                        li {
                            (entry_link(*index)) " · "
                            @if let Some(s) = s {
                                a href=(format!("/factories/{}", s.supplier.id.as_str())) { (s.supplier.name) }
                                " — " (words::describe_in(s, lang).first().cloned().unwrap_or_default())
                                " · " (date(&s.issued_at, lang))
                            } @else {
                                (d.subject) " — " (d.payload_type) " · " (date(&d.logged_at, lang))
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A directory search as the reader asked for it.
pub struct Search {
    pub q: String,
    /// Exactly as the records name it.
    pub province: Option<String>,
    pub topic: Option<Topic>,
    pub standing: Option<String>,
    pub sort: String,
    pub page: usize,
}

/// The standings a directory can filter on.
pub const STANDINGS: [&str; 4] = [
    "conformant",
    "partially_conformant",
    "non_conformant",
    "open_actions",
];

fn standing_label(s: &str, t: &Text) -> &'static str {
    match s {
        "conformant" => t.standing_conformant,
        "partially_conformant" => t.standing_partial,
        "non_conformant" => t.standing_nonconformant,
        _ => t.standing_open_actions,
    }
}

/// A directory row's standing in brief.
pub enum Brief {
    Drawn(StandingSummary),
    /// More records than the server verifies in one request.
    TooLarge,
    /// Being drawn now: shown on a later visit.
    Pending,
}

impl Brief {
    /// The brief of a supplier as the log gives it (`None`: too many records).
    pub fn of(summary: Option<StandingSummary>) -> Brief {
        summary.map_or(Brief::TooLarge, Brief::Drawn)
    }
}

/// The directory page; `provinces` are those the records name, for the filter.
pub fn directory(
    f: &Frame<'_>,
    search: &Search,
    provinces: &[String],
    total: usize,
    rows: &[(SupplierSummary, Brief)],
    pages: usize,
) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    let link = |page: usize| {
        let mut q = vec![format!("page={page}")];
        if !search.q.is_empty() {
            q.push(format!("q={}", encode(&search.q)));
        }
        if let Some(p) = &search.province {
            q.push(format!("province={}", encode(p)));
        }
        if let Some(topic) = search.topic {
            q.push(format!("topic={}", topic.as_str()));
        }
        if let Some(s) = &search.standing {
            q.push(format!("standing={s}"));
        }
        q.push(format!("sort={}", search.sort));
        format!("/factories?{}", q.join("&"))
    };
    page(
        f,
        t.directory_title,
        html! {
            h1 { (t.directory_title) }
            form.filters action="/factories" method="get" {
                div.field {
                    label for="q" { (t.search_label) }
                    input id="q" name="q" type="search" value=(search.q) placeholder=(t.search_placeholder);
                }
                div.field {
                    label for="province" { (t.filter_province) }
                    select id="province" name="province" {
                        option value="" { (t.any) }
                        @for p in provinces {
                            option value=(p) selected[search.province.as_ref() == Some(p)] { (p) }
                        }
                    }
                }
                div.field {
                    label for="topic" { (t.filter_topic) }
                    select id="topic" name="topic" {
                        option value="" { (t.any) }
                        @for topic in Topic::ALL {
                            option value=(topic.as_str()) selected[search.topic == Some(topic)] { (words::topic_in(topic, lang)) }
                        }
                    }
                }
                div.field {
                    label for="standing" { (t.filter_standing) }
                    select id="standing" name="standing" {
                        option value="" { (t.any) }
                        @for s in STANDINGS {
                            option value=(s) selected[search.standing.as_deref() == Some(s)] { (standing_label(s, t)) }
                        }
                    }
                }
                div.field {
                    label for="sort" { (t.sort_by) }
                    select id="sort" name="sort" {
                        @for (value, label) in [("id", t.sort_id), ("name", t.sort_name), ("records", t.sort_records), ("newest", t.sort_newest)] {
                            option value=(value) selected[search.sort == value] { (label) }
                        }
                    }
                }
                button type="submit" { (t.apply) }
            }
            p role="status" { strong { (group(total as u64, lang)) } " " (t.found) }
            @if rows.is_empty() {
                p { (t.nothing_found) }
            } @else {
                div.table-wrap {
                    table.directory {
                        thead {
                            tr {
                                th scope="col" { (t.name) }
                                th scope="col" { (t.os_id) }
                                th scope="col" { (t.location) }
                                th scope="col" class="num" { (t.records) }
                                th scope="col" { (t.newest_record) }
                                th scope="col" { (t.standing) }
                            }
                        }
                        tbody {
                            @for (s, b) in rows {
                                tr {
                                    td { a href=(format!("/factories/{}", s.id)) { (s.name) } }
                                    td { code { (s.id) } }
                                    td { (place(s.province.as_deref(), &s.country, lang)) }
                                    td.num { (group(s.records, lang)) }
                                    td { (date(&s.newest_issued_at, lang)) }
                                    td { (brief(b, t, lang)) }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav.pager aria-label=(t.page) {
                    @if search.page > 1 { a rel="prev" href=(link(search.page - 1)) { "← " (t.previous) } }
                    span { (t.page) " " (search.page) " / " (pages) }
                    @if search.page < pages { a rel="next" href=(link(search.page + 1)) { (t.next) " →" } }
                }
            }
        },
    )
}

/// A standing in brief: each topic's newest audit status, and open actions.
fn brief(b: &Brief, t: &Text, lang: Lang) -> Markup {
    html! {
        @match b {
            Brief::TooLarge => span.muted { (t.standing_too_large) },
            Brief::Pending => span.muted { (t.standing_pending) },
            Brief::Drawn(s) => {
                ul.brief {
                    @for (topic, ts) in &s.topics {
                        @if let Some(st) = ts.audit_status {
                            li class=(format!("badge {}", status_class(st))) {
                                (words::topic_in(*topic, lang)) ": " (words::status_in(st, lang))
                            }
                        }
                    }
                    @if s.open_corrective_actions > 0 {
                        li.badge.poor { (s.open_corrective_actions) " " (t.open_actions) }
                    }
                    @if s.open_disputes > 0 {
                        li.badge.poor { (s.open_disputes) " " (t.open_disputes) }
                    }
                }
            }
        }
    }
}

/// Whether a supplier's brief matches a standing filter on a topic (any topic if none).
pub fn matches_standing(s: &StandingSummary, topic: Option<Topic>, standing: Option<&str>) -> bool {
    let topics: Vec<_> = s
        .topics
        .iter()
        .filter(|(k, _)| topic.is_none_or(|t| **k == t))
        .map(|(_, v)| v)
        .collect();
    match standing {
        None => topic.is_none() || !topics.is_empty(),
        Some("open_actions") => topics.iter().any(|t| t.open_corrective_actions > 0),
        Some(want) => topics.iter().any(|t| {
            t.audit_status.is_some_and(|s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    == Some(want.to_owned())
            })
        }),
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn signers_line(r: &Report, lang: Lang) -> String {
    r.signed_by
        .iter()
        .map(|s| words::signer_in(s, lang))
        .collect::<Vec<_>>()
        .join("; ")
}

fn cited(c: &Cited, t: &Text, lang: Lang) -> Markup {
    html! {
        p {
            @if let Some(st) = c.status {
                span class=(format!("badge {}", status_class(st))) { (words::status_in(st, lang)) }
                " "
            }
            @if let Some(score) = c.score { (number_in(score, lang)) "/100 " }
            @if let Some(g) = &c.grade { "(" (g) ") " }
            (entry_link(c.index)) " · " (date(&c.issued_at, lang))
            @if c.self_reported { " · " em { (t.self_reported) } }
        }
        @if let Some(fw) = &c.framework {
            p.muted { (fw.name) @if let Some(v) = &fw.version { " " (v) } }
        }
        @if !c.signed_by.is_empty() {
            p.muted { (c.signed_by.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ")) }
        }
        @for finding in &c.findings {
            p.finding { strong { (finding.code) } " (" (words::severity_in(finding.severity, lang)) "): " (finding.text) }
        }
        @if !c.metrics.is_empty() {
            ul {
                @for m in &c.metrics { li { (m.name) ": " strong { (number_in(m.value, lang)) " " (m.unit) } } }
            }
        }
        @if let Some(said) = &c.text {
            blockquote lang=(said.lang) { (said.body) }
        }
    }
}

/// One topic's standing as a card; `buyer` for a buyer's (what factories say of it,
/// and its replies).
fn topic_card(topic: Topic, ts: &TopicStanding, t: &Text, lang: Lang, buyer: bool) -> Markup {
    let (rated, replied) = if buyer {
        (t.factories_say, t.buyer_replies)
    } else {
        (t.ratings, t.replies)
    };
    html! {
        article.card aria-labelledby=(format!("topic-{}", topic.as_str())) {
            h3 id=(format!("topic-{}", topic.as_str())) { (capitalise(words::topic_in(topic, lang))) }
            @if let Some(a) = &ts.audit {
                h4 { (t.newest_audit) }
                (cited(a, t, lang))
            }
            @if !ts.metrics.is_empty() {
                h4 { (t.metrics) }
                ul {
                    @for m in &ts.metrics {
                        li {
                            (m.name) ": " strong { (number_in(m.value, lang)) " " (m.unit) }
                            " · " (entry_link(m.index)) " · " (date(&m.issued_at, lang))
                            @if m.self_reported { " · " em { (t.self_reported) } }
                        }
                    }
                }
            }
            @if !ts.ratings.is_empty() {
                h4 { (rated) }
                @for r in &ts.ratings { (cited(r, t, lang)) }
            }
            @if !ts.open_corrective_actions.is_empty() {
                h4 { (t.open_corrective_actions) }
                ul {
                    @for a in &ts.open_corrective_actions {
                        li.poor { (entry_link(a.plan.index)) " · " strong { (a.age_days) } " " (t.days_open)
                            @if !a.items.is_empty() {
                                ul.items {
                                    @for i in &a.items {
                                        li.(item_class(i.state)) {
                                            code { (i.id) } " " (i.text) " · " (i.owner) " · " (t.item_due) " " (i.due) " · "
                                            strong { (item_state(i.state, t)) }
                                            @if let Some(by) = i.closed_by { " " (entry_link(by)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !ts.remediations.is_empty() {
                h4 { (t.remediations) }
                @for r in &ts.remediations { (cited(r, t, lang)) }
            }
            @if !ts.replies.is_empty() {
                h4 { (replied) }
                @for r in &ts.replies { (cited(r, t, lang)) }
            }
            @if !ts.disputes.is_empty() {
                h4 { (t.disputes) }
                ul {
                    @for d in &ts.disputes {
                        li.(if d.state == crate::standing::DisputeStatus::Open { "poor" } else { "" }) {
                            (entry_link(d.index)) " " (t.dispute_of) " " (entry_link(d.record)) ": "
                            @for (n, code) in d.findings.iter().enumerate() {
                                @if n > 0 { ", " }
                                code { (code) }
                            }
                            " · " strong { (words::dispute_status_in(d.state, lang)) }
                            @if let Some(by) = d.resolved_by { " · " (t.resolved_by) " " (entry_link(by)) }
                        }
                    }
                }
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Days since 1970 of a record date, for charts.
fn day_number(raw: &str) -> Option<i64> {
    let d = time::Date::parse(
        raw.get(..10)?,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(i64::from(d.to_julian_day()))
}

/// Every metric's figures over time, from the records that still count (valid or
/// expired: an expired figure was true when it was measured).
fn series(file: &SupplierFile) -> BTreeMap<(String, String), Vec<Point>> {
    let mut out: BTreeMap<(String, String), Vec<Point>> = BTreeMap::new();
    for r in file.report.entries.iter().rev() {
        if !matches!(r.verdict, Verdict::Valid | Verdict::Expired) {
            continue;
        }
        let Some(s) = &r.statement else { continue };
        let Some(result) = &s.result else { continue };
        let when = s
            .period
            .as_ref()
            .map_or(s.issued_at.as_str(), |p| p.to.as_str());
        let Some(day) = day_number(when) else {
            continue;
        };
        for m in &result.metrics {
            out.entry((m.name.clone(), m.unit.clone()))
                .or_default()
                .push(Point {
                    day,
                    date: when.get(..10).unwrap_or(when).to_owned(),
                    value: m.value,
                    index: r.index,
                });
        }
    }
    for points in out.values_mut() {
        points.sort_by_key(|p| (p.day, p.index));
    }
    out
}

/// What the reader's browser checks on a page (src/server/web/explorer.js): a
/// supplier's complete history as of `tree_size`, and on a record page, that record's
/// verdict there.
pub struct BrowserCheck<'a> {
    pub supplier: &'a str,
    pub tree_size: u64,
    /// On a record page: the record and the verdict the page shows for it.
    pub record: Option<(u64, Verdict)>,
}

/// The section in which the reader's browser says what it verified. Without
/// JavaScript it says that it checked nothing, and where to check instead.
fn browser_check(f: &Frame<'_>, c: &BrowserCheck<'_>) -> Markup {
    let t = text(f.lang);
    let verdicts: serde_json::Map<String, serde_json::Value> = [
        Verdict::Valid,
        Verdict::Retracted,
        Verdict::Superseded,
        Verdict::Expired,
        Verdict::Suspect,
        Verdict::Invalid,
    ]
    .into_iter()
    .map(|v| (v.as_str().to_owned(), verdict_text(v, t).into()))
    .collect();
    let words = serde_json::json!({
        "checking": t.bc_checking,
        "verified_history": t.bc_verified_history,
        "verified_record": t.bc_verified_record,
        "failed": t.bc_failed,
        "key_first": t.bc_key_first,
        "key_pinned": t.bc_key_pinned,
        "key_changed": t.bc_key_changed,
        "pin_new": t.bc_pin_new,
        "stale": t.bc_stale,
        "cosigned": t.bc_cosigned,
        "not_cosigned": t.bc_not_cosigned,
        "checks": t.bc_checks,
        "verdicts": verdicts,
    });
    html! {
        section #in-browser .browser-check aria-labelledby="in-browser-title"
            data-supplier=(c.supplier) data-tree-size=(c.tree_size) data-log-key=(f.log_key)
            data-witness-keys=(serde_json::to_string(&f.witness_keys).unwrap_or_default())
            data-index=[c.record.map(|r| r.0)] data-verdict=[c.record.map(|r| r.1.as_str())]
            data-drawn-at=(crate::log::timestamp(time::OffsetDateTime::now_utc()))
            data-words=(words.to_string()) {
            h2 id="in-browser-title" { (t.bc_title) }
            p.status role="status" { (t.bc_noscript) " " a href="/verify" { (t.nav_verify) } }
            script type="module" src=(super::EXPLORER_PATH) {}
        }
    }
}

/// A factory's summary for lenders (`crate::summary`), printable: the standing a credit
/// officer reads, each line citing its records, and how to check it all.
pub fn summary(f: &Frame<'_>, s: &crate::summary::Summary) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    let name = s.name.clone().unwrap_or_else(|| s.supplier.clone());
    let area = |a: &str| match a {
        "environmental" => t.area_environmental,
        "management" => t.area_management,
        _ => t.area_social,
    };
    let who = |c: &crate::standing::Cited| {
        c.signed_by
            .iter()
            .map(|x| words::signer_in(x, lang))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let day = |d: &str| d.get(..10).unwrap_or(d).to_owned();
    let l = &s.left_out;
    let left = l.retracted + l.superseded + l.expired + l.suspect + l.invalid;
    page(
        f,
        &format!("{name}: {}", t.summary_title),
        html! {
            p.kicker { (t.summary_title) }
            h1 { (name) }
            dl.facts {
                dt { (t.os_id) } dd { code { (s.supplier) } }
                dt { (t.records) } dd { (group(s.records, lang)) " · " a href=(format!("/factories/{}", s.supplier)) { (t.factory) } }
            }
            p { (t.summary_intro) }
            @if left > 0 {
                p.muted { (t.summary_not_counted) ": " (left_out(l, t)) }
            }
            @for (n, line) in s.topics.iter().enumerate() {
                @if n == 0 || s.topics[n - 1].area != line.area {
                    h2 { (area(&line.area)) }
                }
                section.summary-topic {
                    h3 { (capitalise(words::topic_in(line.topic, lang))) }
                    ul {
                        @match &line.audit {
                            Some(a) => li {
                                (t.summary_audit) " "
                                @if let Some(st) = a.status { strong { (words::status_in(st, lang)) } }
                                @if let Some(sc) = a.score { ", " (words::number_in(sc, lang)) }
                                " · " (day(&a.issued_at)) " · " (who(a))
                                @if let Some(u) = &a.valid_until { " · " (t.summary_valid_until) " " (day(u)) }
                                " [" (entry_link(a.index)) "]"
                            },
                            None if line.figures.is_empty() => li.muted { (t.summary_no_audit) },
                            None => {}
                        }
                        @for fig in &line.figures {
                            li { (fig.name) " " strong { (words::number_in(fig.value, lang)) " " (fig.unit) } " · " (day(&fig.issued_at))
                                @if fig.self_reported { " · " (t.self_reported) }
                                " [" (entry_link(fig.index)) "]" }
                        }
                        @for a in &line.open_corrective_actions {
                            li.warn { (t.summary_open_action.replace("{}", &a.age_days.to_string())) " · " (day(&a.plan.issued_at)) " [" (entry_link(a.plan.index)) "]"
                                @if !a.items.is_empty() {
                                    " · " (a.items.len()) " " (t.items) ", " (a.overdue()) " " (item_state(crate::standing::ItemStatus::Overdue, t))
                                }
                            }
                        }
                        @if !line.remediations.is_empty() {
                            li { (line.remediations.len()) " " (t.summary_closed) " [" @for (n, i) in line.remediations.iter().enumerate() { @if n > 0 { ", " } (entry_link(*i)) } "]" }
                        }
                        @for r in &line.ratings {
                            li { (t.summary_rated) " " strong { (r.grade.as_deref().unwrap_or("-")) } " · " (who(r)) " · " (day(&r.issued_at)) " [" (entry_link(r.index)) "]" }
                        }
                        @if !line.incentives.is_empty() {
                            li { (line.incentives.len()) " " (t.summary_incentives) " [" @for (n, i) in line.incentives.iter().enumerate() { @if n > 0 { ", " } (entry_link(*i)) } "]" }
                        }
                        @for d in &line.disputes {
                            li.(if d.state == crate::standing::DisputeStatus::Open { "warn" } else { "" }) {
                                (t.disputes) ": " (d.findings.join(", ")) " [" (entry_link(d.record)) "] · "
                                strong { (words::dispute_status_in(d.state, lang)) }
                                " [" (entry_link(d.index)) @if let Some(r) = d.resolved_by { ", " (entry_link(r)) } "]"
                            }
                        }
                    }
                }
            }
            @if !s.trends.is_empty() {
                h2 { (t.summary_trends) }
                div.table-wrap { table.trends {
                    tbody {
                        @for tr in &s.trends {
                            tr {
                                th scope="row" { (tr.metric) br; span.muted { (words::topic_in(tr.topic, lang)) } }
                                td { (words::number_in(tr.first.value, lang)) " " (tr.unit) br; span.muted { (day(&tr.first.issued_at)) " [" (entry_link(tr.first.index)) "]" } }
                                td { "→" }
                                td { (words::number_in(tr.newest.value, lang)) " " (tr.unit) br; span.muted { (day(&tr.newest.issued_at)) " [" (entry_link(tr.newest.index)) "]" } }
                                td { @if let Some(c) = tr.change_percent {
                                    @let size = format!("{:.1}", c.abs());
                                    strong { @if size != "0.0" { (if c < 0.0 { "−" } else { "+" }) } (size) " %" }
                                } }
                            }
                        }
                    }
                } }
            }
            h2 { (t.latest_checkpoint) }
            p { (t.summary_check) }
            pre { code { (format!("vouch summary {} --url <this server> --log-key <{}.pub>", s.supplier, f.origin)) } }
            pre.checkpoint { (s.checkpoint) }
        },
    )
}

pub fn factory(f: &Frame<'_>, file: &SupplierFile) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    let st = &file.standing;
    let newest = file
        .report
        .entries
        .iter()
        .find_map(|r| r.statement.as_ref());
    let name = st.name.clone().unwrap_or_else(|| st.supplier.clone());
    let left = &st.left_out;
    page(
        f,
        &name,
        html! {
            p.kicker { (t.factory) }
            h1 { (name) }
            dl.facts {
                dt { (t.os_id) } dd { code { (st.supplier) } }
                @if let Some(s) = newest {
                    @let valid = || file.report.entries.iter().filter(|r| r.verdict != Verdict::Invalid);
                    @let province = valid().find_map(|r| r.statement.as_ref()?.supplier.province.as_deref());
                    dt { (t.location) } dd { (place(province, &s.supplier.country, lang)) }
                    @if let Some(a) = valid().find_map(|r| r.statement.as_ref()?.supplier.address.as_deref()) {
                        dt { (t.address) } dd { (a) }
                    }
                }
                dt { (t.records) } dd { (group(st.records, lang)) }
                @if !st.aliases.is_empty() {
                    dt { (t.joined_ids) }
                    dd {
                        @for j in &st.aliases {
                            code { (j.id) } " (" (entry_link(j.index)) ") "
                        }
                    }
                }
            }
            @if let Some(p) = &st.profile { (profile(p, t, lang)) }
            p { a href=(format!("/factories/{}/summary", st.supplier)) { (t.summary_link) } }
            (browser_check(f, &BrowserCheck { supplier: &st.supplier, tree_size: file.history.tree_size, record: None }))
            section aria-labelledby="standing" {
                h2 id="standing" { (t.standing_title) }
                p.muted { (t.standing_note) }
                @if st.topics.is_empty() {
                    p { (t.nothing_current) }
                } @else {
                    div.cards {
                        @for (topic, ts) in &st.topics { (topic_card(*topic, ts, t, lang, false)) }
                    }
                }
                @let out = left.retracted + left.superseded + left.expired + left.suspect + left.invalid;
                @if out > 0 {
                    p { (t.left_out) ": " (left_out(left, t)) }
                }
            }
            @let charts = series(file);
            @if !charts.is_empty() {
                section aria-labelledby="charts" {
                    h2 id="charts" { (t.charts) }
                    div.charts {
                        @for (n, ((metric, unit), points)) in charts.iter().enumerate() {
                            (chart::line(n, metric, unit, points, lang))
                        }
                    }
                }
            }
            (records_and_download(file, t, lang, &format!("/v1/suppliers/{}/history?limit=500", st.supplier)))
        },
    )
}

/// A facility's newest valid profile, as a list of facts.
fn profile(p: &crate::standing::Profiled, t: &Text, lang: Lang) -> Markup {
    let [location, sector, products, facility, processes, workers, parent, aka] =
        words::profile_labels(lang);
    let f = &p.profile;
    let lists = [
        (sector, &f.sector),
        (products, &f.product_type),
        (facility, &f.facility_type),
        (processes, &f.processing_type),
        (aka, &f.other_names),
    ];
    html! {
        section aria-labelledby="profile" {
            h2 id="profile" { (t.profile_title) " " (entry_link(p.index)) }
            dl.facts {
                @for (label, items) in lists {
                    @if !items.is_empty() { dt { (capitalise(label)) } dd { (items.join(", ")) } }
                }
                @if let Some(n) = f.number_of_workers { dt { (capitalise(workers)) } dd { (group(u64::from(n), lang)) } }
                @if let Some(c) = &f.parent_company { dt { (capitalise(parent)) } dd { (c) } }
                @if let Some(l) = f.location {
                    dt { (capitalise(location)) }
                    dd { a href=(format!("https://www.openstreetmap.org/?mlat={}&mlon={}#map=15/{}/{}", l.lat, l.lng, l.lat, l.lng)) { (l.lat) ", " (l.lng) } }
                }
            }
            p.muted { (p.signed_by.iter().map(|s| words::signer_in(s, lang)).collect::<Vec<_>>().join("; ")) " · " (date(&p.issued_at, lang)) }
        }
    }
}

/// A buyer's page: what the factories that supply it say of its purchasing practices,
/// per topic, with its replies and every record in words, verified in the browser as
/// a factory's history is. `name` is the buyer's registered name.
pub fn buyer(f: &Frame<'_>, file: &SupplierFile, id: &str, name: Option<&str>) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    let st = &file.standing;
    let name = name.unwrap_or(id);
    let left = &st.left_out;
    page(
        f,
        name,
        html! {
            p.kicker { (t.buyer) }
            h1 { (name) }
            dl.facts {
                dt { (t.participant_id) } dd { a href=(format!("/participants#p-{id}")) { code { (id) } } }
                dt { (t.records) } dd { (group(st.records, lang)) }
            }
            p { (t.buyer_intro) }
            (browser_check(f, &BrowserCheck { supplier: &st.supplier, tree_size: file.history.tree_size, record: None }))
            section aria-labelledby="standing" {
                h2 id="standing" { (t.standing_title) }
                div.cards {
                    @for (topic, ts) in &st.topics { (topic_card(*topic, ts, t, lang, true)) }
                }
                @let out = left.retracted + left.superseded + left.expired + left.suspect + left.invalid;
                @if out > 0 {
                    p { (t.left_out) ": " (left_out(left, t)) }
                }
            }
            (records_and_download(file, t, lang, &format!("/v1/buyers/{id}/history?limit=500")))
        },
    )
}

/// Every record of a history in words, newest first, and the history to download.
fn records_and_download(file: &SupplierFile, t: &Text, lang: Lang, history: &str) -> Markup {
    html! {
        section aria-labelledby="timeline" {
            h2 id="timeline" { (t.timeline) }
            ol.timeline {
                @for r in &file.report.entries { (timeline_item(r, t, lang)) }
            }
        }
        section aria-labelledby="downloads" {
            h2 id="downloads" { (t.downloads) }
            ul {
                li { a href=(history) download { (t.history_download) } }
            }
        }
    }
}

fn timeline_item(r: &Report, t: &Text, lang: Lang) -> Markup {
    let lines = r
        .statement
        .as_ref()
        .map(|s| words::describe_in(s, lang))
        .unwrap_or_default();
    html! {
        li class=(format!("item {}", r.verdict.as_str())) data-index=(r.index) data-verdict=(r.verdict.as_str()) {
            div.meta {
                (entry_link(r.index))
                @if let Some(at) = &r.issued_at { " · " (date(at, lang)) }
                " · " span class=(format!("verdict {}", r.verdict.as_str())) { (verdict_text(r.verdict, t)) }
            }
            @if let Some((head, rest)) = lines.split_first() {
                p.head { a href=(format!("/records/{}", r.index)) { (head) } }
                @if !rest.is_empty() {
                    ul.lines { @for l in rest { li { (l) } } }
                }
            }
            p.muted { (signers_line(r, lang)) }
            (later(r, t))
        }
    }
}

/// What later records say about this one.
fn later(r: &Report, t: &Text) -> Markup {
    let s = &r.standing;
    html! {
        @if !s.retracted_by.is_empty() {
            p.note { (t.retracted_by) " " @for i in &s.retracted_by { (entry_link(*i)) " " } }
        }
        @if !s.superseded_by.is_empty() {
            p.note { (t.superseded_by) " " @for i in &s.superseded_by { (entry_link(*i)) " " } }
        }
        @if !s.answered_by.is_empty() {
            p.note { (t.answered_by) " " @for i in &s.answered_by { (entry_link(*i)) " " } }
        }
    }
}

/// The record page's data.
pub struct RecordPage<'a> {
    pub index: u64,
    pub decoded: Option<&'a Decoded>,
    pub leaf_hash: String,
    /// The entry's report, from its supplier's verified history (or its bundle's).
    pub report: Option<&'a Report>,
    /// Records of the same history that refer to this one.
    pub referred_by: Vec<(u64, Kind)>,
    /// The tree size of the supplier's history the report comes from, if it does.
    pub history_size: Option<u64>,
}

pub fn record(f: &Frame<'_>, r: &RecordPage<'_>) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    let statement = r.report.and_then(|rep| rep.statement.as_ref());
    let title = format!("{} #{}", t.record, r.index);
    page(
        f,
        &title,
        html! {
            p.kicker { (t.record) " #" (r.index) }
            h1 {
                @match statement.and_then(|s| words::describe_in(s, lang).into_iter().next()) {
                    Some(head) => (head),
                    None => { "#" (r.index) }
                }
            }
            @if let Some(rep) = r.report {
                p { span class=(format!("verdict {}", rep.verdict.as_str())) { (t.verdict) ": " (verdict_text(rep.verdict, t)) } }
                (later(rep, t))
            }
            @match (statement, r.report, r.history_size) {
                (Some(s), Some(rep), Some(size)) => {
                    (browser_check(f, &BrowserCheck { supplier: &s.subject(), tree_size: size, record: Some((r.index, rep.verdict)) }))
                }
                _ => @if r.decoded.is_some_and(|d| d.payload_type == crate::statement::REGISTRY_TYPE) {
                    section.browser-check aria-labelledby="in-browser-title" {
                        h2 id="in-browser-title" { (t.bc_title) }
                        p { (t.bc_registry_record) }
                    }
                },
            }
            @if let Some(s) = statement {
                section aria-labelledby="says" {
                    h2 id="says" { (t.statement) }
                    @let lines = words::describe_in(s, lang);
                    @if let Some((head, rest)) = lines.split_first() {
                        p.head { (head) }
                        ul.lines { @for l in rest { li { (l) } } }
                    }
                    dl.facts {
                        @if let Some(b) = &s.buyer { dt { (t.buyer) } dd { a href=(format!("/buyers/{b}")) { code { (b) } } } }
                        dt { (t.factory) } dd { a href=(format!("/factories/{}", s.supplier.id.as_str())) { (s.supplier.name) } " (" code { (s.supplier.id.as_str()) } ")" }
                        dt { (t.location) } dd { (place(s.supplier.province.as_deref(), &s.supplier.country, lang)) }
                        @if let Some(a) = &s.supplier.address { dt { (t.address) } dd { (a) } }
                        dt { (t.issued) } dd { (date(&s.issued_at, lang)) }
                        @if let Some(d) = r.decoded { dt { (t.logged) } dd { (date(&d.logged_at, lang)) } }
                        @if !s.refs.is_empty() {
                            dt { (t.refers_to) } dd { @for e in &s.refs { (entry_link(e.index)) " " } }
                        }
                        @if !r.referred_by.is_empty() {
                            dt { (t.referred_by) }
                            dd { @for (i, k) in &r.referred_by { (entry_link(*i)) " (" (words::kind_in(*k, lang)) ") " } }
                        }
                    }
                    @if let Some(d) = r.decoded {
                        details {
                            summary { (t.signed_json) }
                            pre.json #signed-statement { (pretty(d.statement.get())) }
                        }
                    }
                }
            } @else if let Some(d) = r.decoded {
                section aria-labelledby="says" {
                    h2 id="says" { (t.statement) }
                    dl.facts {
                        dt { "subject" } dd { code { (d.subject) } }
                        dt { "payload type" } dd { code { (d.payload_type) } }
                        dt { (t.logged) } dd { (date(&d.logged_at, lang)) }
                    }
                    pre.json { (pretty(d.statement.get())) }
                }
            }
            @if let Some(rep) = r.report {
                @if !rep.signed_by.is_empty() {
                    section aria-labelledby="signers" {
                        h2 id="signers" { (t.signers) }
                        ul { @for s in &rep.signed_by { li { (words::signer_in(s, lang)) } } }
                    }
                }
            }
            section aria-labelledby="place" {
                h2 id="place" { (t.place_in_log) }
                dl.facts {
                    dt { (t.entry_index) } dd { (group(r.index, lang)) }
                    dt { (t.tree_size) } dd { (group(f.tree_size, lang)) }
                    dt { (t.leaf_hash) } dd { code.hash { (r.leaf_hash) } }
                }
                @if let Some(rep) = r.report {
                    details {
                        summary { (t.checks) }
                        ul.checks {
                            @for c in &rep.checks {
                                li class=(if c.ok { "ok" } else { "failed" }) { strong { (c.name) } ": " (c.reason) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="downloads" {
                h2 id="downloads" { (t.downloads) }
                ul { li { a href=(format!("/v1/entries/{}", r.index)) download { (t.bundle_download) } } }
            }
        },
    )
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned())
}

pub fn participants(f: &Frame<'_>, registry: &Registry) -> Markup {
    let (t, lang) = (text(f.lang), f.lang);
    let groups = [
        Role::Governance,
        Role::Auditor,
        Role::Buyer,
        Role::Ngo,
        Role::Supplier,
    ];
    page(
        f,
        t.participants_title,
        html! {
            h1 { (t.participants_title) }
            p { (t.participants_intro) }
            @let signing = registry.participants.values().filter(|p| p.has_role(Role::Governance) && p.removed_at.is_none() && p.keys.iter().any(|k| k.revoked_at.is_none())).count();
            p { (t.governance_threshold) ": " strong { (registry.threshold) } " " (t.of_the) " " (signing) " " (t.members_who_can_sign) }
            @for role in groups {
                @let members: Vec<&Participant> = registry.participants.values().filter(|p| p.has_role(role)).collect();
                @if !members.is_empty() {
                    section aria-labelledby=(format!("role-{}", words::role_in(role, Lang::En))) {
                        h2 id=(format!("role-{}", words::role_in(role, Lang::En))) { (capitalise(words::role_in(role, lang))) " (" (members.len()) ")" }
                        div.cards {
                            @for p in members { (participant_card(p, t, lang)) }
                        }
                    }
                }
            }
        },
    )
}

fn participant_card(p: &Participant, t: &Text, lang: Lang) -> Markup {
    html! {
        article.card id=(format!("p-{}", p.id)) {
            h3 { (p.name) }
            p.muted { code { (p.id) } " · " (p.roles.iter().map(|r| words::role_in(*r, lang)).collect::<Vec<_>>().join(", ")) }
            @if let Some(a) = &p.accreditation { p { (t.accreditation) ": " (a.body) " " (a.reference) } }
            @if p.has_role(Role::Buyer) { p { a href=(format!("/buyers/{}", p.id)) { (t.purchasing_link) } } }
            @if !p.supplier_ids.is_empty() {
                p { (t.suppliers_signed_for) ": "
                    @for id in &p.supplier_ids { a href=(format!("/factories/{}", id.as_str())) { (id.as_str()) } " " }
                }
            }
            @if let Some(at) = p.removed_at { p.poor { (t.removed_at_entry) " " (entry_link(at)) } }
            h4 { (t.keys) }
            ul.keys {
                @for k in &p.keys {
                    li {
                        (t.key_id) " " code { (k.key_id) } " · " (t.added_at_entry) " " (entry_link(k.added_at))
                        @if let Some(r) = k.revoked_at { " · " span.poor { (t.revoked_at_entry) " " (entry_link(r)) } }
                        @match &k.compromised_since {
                            Some(Since::Index(i)) => { " · " span.poor { (t.compromised_since) " " (entry_link(*i)) } }
                            Some(Since::Time(at)) => { " · " span.poor { (t.compromised_since) " " (date(at, lang)) } }
                            None => {}
                        }
                        @if k.revoked_at.is_none() && k.compromised_since.is_none() && p.removed_at.is_none() { " · " span.good { (t.active) } }
                    }
                }
            }
        }
    }
}

/// The verify page; `url` is this server as the reader reached it (behind a proxy that
/// serves HTTPS, the reader writes `https://`).
pub fn verify(
    f: &Frame<'_>,
    log_key: &str,
    fingerprint: &str,
    example: Option<&str>,
    url: &str,
) -> Markup {
    let t = text(f.lang);
    let id = example.unwrap_or("VN2020199WS816Z");
    page(
        f,
        t.verify_title,
        html! {
            h1 { (t.verify_title) }
            p.lead { (t.verify_intro) }
            section aria-labelledby="key" {
                h2 id="key" { (t.log_key) }
                pre.key { code { (log_key) } }
                p { (t.fingerprint) ": " code.hash { (fingerprint) } }
            }
            section aria-labelledby="cli" {
                h2 id="cli" { (t.verify_steps) }
                p { (t.verify_history_step) }
                pre { code { "vouch history " (id) " --url " (url) " --log-key '" (log_key) "'" } }
                p { (t.verify_standing_step) }
                pre { code { "vouch standing " (id) " --url " (url) " --log-key '" (log_key) "'" } }
                p { (t.verify_bundle_step) }
                pre { code { "curl -s " (url) "/v1/entries/42 > bundle.json\nvouch verify bundle.json --log-key '" (log_key) "'" } }
                p { (t.verify_log_step) }
                pre { code { "curl -s " (url) "/checkpoint" } }
            }
        },
    )
}

/// An error page: what went wrong, in words, and the way home.
pub fn error(f: &Frame<'_>, title: &str, detail: &str) -> Markup {
    let t = text(f.lang);
    page(
        f,
        title,
        html! {
            h1 { (title) }
            p { (detail) }
            p { a href="/" { (t.back_home) } }
        },
    )
}
