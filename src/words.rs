//! Records in words: what a statement says, as a buyer or an NGO reads it, in English
//! or Vietnamese.
//!
//! ```text
//! Audit on working hours, SLCP CAF 1.7, covering 2026-01-01 to 2026-06-30
//!   result: partially conformant, score 78/100, grade B
//!   overtime_hours_per_week_p90: 11.5 h
//!   finding OT-02 (major): Overtime above 300 h/year for 4% of workers
//!   valid until 2027-07-14
//! ```
//!
//! Only vouch's own words are translated: what a signer wrote (a finding, a metric's
//! name) stays in the language it was written in.
//!
//! Pure: the CLI prints these lines (in English), and the explorer renders the same
//! facts in the reader's language.

use crate::statement::{DisputeOutcome, Kind, Role, Severity, Statement, Status, Topic};
use crate::verify::SignerInfo;

/// A language vouch speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Vi,
}

impl Lang {
    /// Every language, in the order a switch lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Vi];

    /// The BCP 47 tag: `en`, `vi`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Vi => "vi",
        }
    }

    /// The language's name in itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Vi => "Tiếng Việt",
        }
    }

    /// The language a tag names (`vi`, `vi-VN`, `en-GB`, any case), if vouch speaks it.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "vi" => Some(Lang::Vi),
            _ => None,
        }
    }
}

/// A kind, as a noun (English).
pub fn kind(k: Kind) -> &'static str {
    kind_in(k, Lang::En)
}

/// A kind, as a noun.
pub fn kind_in(k: Kind, lang: Lang) -> &'static str {
    match (k, lang) {
        (Kind::Audit, Lang::En) => "Audit",
        (Kind::Audit, Lang::Vi) => "Đánh giá",
        (Kind::Metric, Lang::En) => "Measurement",
        (Kind::Metric, Lang::Vi) => "Số liệu đo lường",
        (Kind::CorrectiveAction, Lang::En) => "Corrective action plan",
        (Kind::CorrectiveAction, Lang::Vi) => "Kế hoạch khắc phục",
        (Kind::Remediation, Lang::En) => "Remediation verified",
        (Kind::Remediation, Lang::Vi) => "Xác nhận đã khắc phục",
        (Kind::Rating, Lang::En) => "Buyer rating",
        (Kind::Rating, Lang::Vi) => "Xếp hạng của bên mua",
        (Kind::Incentive, Lang::En) => "Buyer incentive",
        (Kind::Incentive, Lang::Vi) => "Ưu đãi của bên mua",
        (Kind::Response, Lang::En) => "Supplier response",
        (Kind::Response, Lang::Vi) => "Phản hồi của nhà cung cấp",
        (Kind::Retraction, Lang::En) => "Retraction",
        (Kind::Retraction, Lang::Vi) => "Rút lại",
        (Kind::Correction, Lang::En) => "Correction",
        (Kind::Correction, Lang::Vi) => "Đính chính",
        (Kind::Dispute, Lang::En) => "Supplier dispute",
        (Kind::Dispute, Lang::Vi) => "Khiếu nại của nhà cung cấp",
        (Kind::Resolution, Lang::En) => "Dispute resolution",
        (Kind::Resolution, Lang::Vi) => "Giải quyết khiếu nại",
        (Kind::PurchasingPractice, Lang::En) => "Purchasing practices, as a factory says",
        (Kind::PurchasingPractice, Lang::Vi) => "Cách mua hàng, theo nhà máy",
        (Kind::Profile, Lang::En) => "Facility profile",
        (Kind::Profile, Lang::Vi) => "Hồ sơ cơ sở sản xuất",
        (Kind::Alias, Lang::En) => "OS IDs joined",
        (Kind::Alias, Lang::Vi) => "Gộp mã OS ID",
    }
}

/// A topic, in words (English).
pub fn topic(t: Topic) -> &'static str {
    topic_in(t, Lang::En)
}

/// A topic, in words.
pub fn topic_in(t: Topic, lang: Lang) -> &'static str {
    match (t, lang) {
        (Topic::Wages, Lang::En) => "wages",
        (Topic::Wages, Lang::Vi) => "tiền lương",
        (Topic::WorkingHours, Lang::En) => "working hours",
        (Topic::WorkingHours, Lang::Vi) => "thời giờ làm việc",
        (Topic::HealthSafety, Lang::En) => "health and safety",
        (Topic::HealthSafety, Lang::Vi) => "an toàn và sức khỏe",
        (Topic::FreedomOfAssociation, Lang::En) => "freedom of association",
        (Topic::FreedomOfAssociation, Lang::Vi) => "tự do hiệp hội",
        (Topic::WorkerDialogue, Lang::En) => "worker-management dialogue",
        (Topic::WorkerDialogue, Lang::Vi) => "đối thoại giữa người lao động và quản lý",
        (Topic::ChildForcedLabour, Lang::En) => "child and forced labour",
        (Topic::ChildForcedLabour, Lang::Vi) => "lao động trẻ em và lao động cưỡng bức",
        (Topic::Grievance, Lang::En) => "grievance handling",
        (Topic::Grievance, Lang::Vi) => "giải quyết khiếu nại",
        (Topic::Energy, Lang::En) => "energy",
        (Topic::Energy, Lang::Vi) => "năng lượng",
        (Topic::Ghg, Lang::En) => "greenhouse gas emissions",
        (Topic::Ghg, Lang::Vi) => "phát thải khí nhà kính",
        (Topic::Water, Lang::En) => "water",
        (Topic::Water, Lang::Vi) => "nước",
        (Topic::Wastewater, Lang::En) => "wastewater",
        (Topic::Wastewater, Lang::Vi) => "nước thải",
        (Topic::Chemicals, Lang::En) => "chemicals",
        (Topic::Chemicals, Lang::Vi) => "hóa chất",
        (Topic::Waste, Lang::En) => "waste",
        (Topic::Waste, Lang::Vi) => "chất thải",
        (Topic::ManagementSystems, Lang::En) => "management systems",
        (Topic::ManagementSystems, Lang::Vi) => "hệ thống quản lý",
        (Topic::Other, Lang::En) => "other matters",
        (Topic::Other, Lang::Vi) => "vấn đề khác",
        (Topic::AirEmissions, Lang::En) => "air emissions",
        (Topic::AirEmissions, Lang::Vi) => "khí thải",
        (Topic::Recruitment, Lang::En) => "recruitment and hiring",
        (Topic::Recruitment, Lang::Vi) => "tuyển dụng",
        (Topic::Termination, Lang::En) => "termination",
        (Topic::Termination, Lang::Vi) => "chấm dứt hợp đồng lao động",
        (Topic::WorkerTreatment, Lang::En) => "worker treatment",
        (Topic::WorkerTreatment, Lang::Vi) => "đối xử với người lao động",
        (Topic::Discrimination, Lang::En) => "discrimination",
        (Topic::Discrimination, Lang::Vi) => "phân biệt đối xử",
        (Topic::Forecasting, Lang::En) => "planning and forecasting",
        (Topic::Forecasting, Lang::Vi) => "lập kế hoạch và dự báo",
        (Topic::DesignDevelopment, Lang::En) => "design and development",
        (Topic::DesignDevelopment, Lang::Vi) => "thiết kế và phát triển sản phẩm",
        (Topic::PriceNegotiation, Lang::En) => "cost and price negotiation",
        (Topic::PriceNegotiation, Lang::Vi) => "chi phí và đàm phán giá",
        (Topic::LeadTime, Lang::En) => "lead times and order placement",
        (Topic::LeadTime, Lang::Vi) => "thời gian sản xuất và đặt hàng",
        (Topic::OrderChanges, Lang::En) => "order changes",
        (Topic::OrderChanges, Lang::Vi) => "thay đổi đơn hàng",
        (Topic::PaymentTerms, Lang::En) => "payment and terms",
        (Topic::PaymentTerms, Lang::Vi) => "thanh toán và điều khoản",
        (Topic::Partnership, Lang::En) => "long-term partnership",
        (Topic::Partnership, Lang::Vi) => "quan hệ đối tác lâu dài",
    }
}

/// A status, in words (English).
pub fn status(s: Status) -> &'static str {
    status_in(s, Lang::En)
}

/// A status, in words.
pub fn status_in(s: Status, lang: Lang) -> &'static str {
    match (s, lang) {
        (Status::Conformant, Lang::En) => "conformant",
        (Status::Conformant, Lang::Vi) => "tuân thủ",
        (Status::PartiallyConformant, Lang::En) => "partially conformant",
        (Status::PartiallyConformant, Lang::Vi) => "tuân thủ một phần",
        (Status::NonConformant, Lang::En) => "non-conformant",
        (Status::NonConformant, Lang::Vi) => "không tuân thủ",
        (Status::Open, Lang::En) => "open",
        (Status::Open, Lang::Vi) => "đang mở",
        (Status::InProgress, Lang::En) => "in progress",
        (Status::InProgress, Lang::Vi) => "đang thực hiện",
        (Status::Completed, Lang::En) => "completed",
        (Status::Completed, Lang::Vi) => "đã hoàn thành",
        (Status::Verified, Lang::En) => "verified",
        (Status::Verified, Lang::Vi) => "đã xác minh",
    }
}

/// A finding's severity, in words.
pub fn severity_in(s: Severity, lang: Lang) -> &'static str {
    match (s, lang) {
        (Severity::Minor, Lang::En) => "minor",
        (Severity::Minor, Lang::Vi) => "nhẹ",
        (Severity::Major, Lang::En) => "major",
        (Severity::Major, Lang::Vi) => "nghiêm trọng",
        (Severity::Critical, Lang::En) => "critical",
        (Severity::Critical, Lang::Vi) => "rất nghiêm trọng",
        (Severity::ZeroTolerance, Lang::En) => "zero tolerance",
        (Severity::ZeroTolerance, Lang::Vi) => "không khoan nhượng",
    }
}

/// A participant's role, in words.
pub fn role_in(r: Role, lang: Lang) -> &'static str {
    match (r, lang) {
        (Role::Auditor, Lang::En) => "auditor",
        (Role::Auditor, Lang::Vi) => "tổ chức đánh giá",
        (Role::Buyer, Lang::En) => "buyer",
        (Role::Buyer, Lang::Vi) => "bên mua",
        (Role::Supplier, Lang::En) => "supplier",
        (Role::Supplier, Lang::Vi) => "nhà cung cấp",
        (Role::Ngo, Lang::En) => "NGO",
        (Role::Ngo, Lang::Vi) => "tổ chức phi chính phủ",
        (Role::Governance, Lang::En) => "governance",
        (Role::Governance, Lang::Vi) => "quản trị",
    }
}

/// How a statement relates to the entries it references.
pub fn refers_in(k: Kind, lang: Lang) -> &'static str {
    match (k, lang) {
        (Kind::Retraction, Lang::En) => "withdraws entry",
        (Kind::Retraction, Lang::Vi) => "rút lại bản ghi",
        (Kind::Correction, Lang::En) => "replaces entry",
        (Kind::Correction, Lang::Vi) => "thay thế bản ghi",
        (Kind::Response, Lang::En) => "replies to entry",
        (Kind::Response, Lang::Vi) => "trả lời bản ghi",
        (Kind::CorrectiveAction, Lang::En) => "plans the correction of the findings of entry",
        (Kind::CorrectiveAction, Lang::Vi) => "lập kế hoạch khắc phục các phát hiện của bản ghi",
        (Kind::Remediation, Lang::En) => "verifies the corrective action of entry",
        (Kind::Remediation, Lang::Vi) => "xác nhận hành động khắc phục của bản ghi",
        (Kind::Dispute, Lang::En) => "disputes the findings of entry",
        (Kind::Dispute, Lang::Vi) => "khiếu nại các phát hiện của bản ghi",
        (Kind::Resolution, Lang::En) => "resolves the dispute of entry",
        (Kind::Resolution, Lang::Vi) => "giải quyết khiếu nại tại bản ghi",
        (_, Lang::En) => "refers to entry",
        (_, Lang::Vi) => "liên quan đến bản ghi",
    }
}

/// A dispute's outcome, in words: what became of the disputed findings.
pub fn outcome_in(o: DisputeOutcome, lang: Lang) -> &'static str {
    match (o, lang) {
        (DisputeOutcome::Upheld, Lang::En) => "upheld (the findings stand as recorded)",
        (DisputeOutcome::Upheld, Lang::Vi) => "giữ nguyên (các phát hiện giữ như đã ghi)",
        (DisputeOutcome::Amended, Lang::En) => "amended (the findings stand as restated)",
        (DisputeOutcome::Amended, Lang::Vi) => "sửa đổi (các phát hiện được ghi lại như đã sửa)",
        (DisputeOutcome::Withdrawn, Lang::En) => "withdrawn (the findings no longer count)",
        (DisputeOutcome::Withdrawn, Lang::Vi) => "rút lại (các phát hiện không còn được tính)",
    }
}

/// The labels of a facility profile's parts: location, sector, products, facility
/// type, processes, workers, parent company, other names.
pub fn profile_labels(lang: Lang) -> [&'static str; 8] {
    phrases(lang).profile
}

/// Where a dispute stands, in English.
pub fn dispute_status(s: crate::standing::DisputeStatus) -> &'static str {
    dispute_status_in(s, Lang::En)
}

/// Where a dispute stands, in words.
pub fn dispute_status_in(s: crate::standing::DisputeStatus, lang: Lang) -> &'static str {
    use crate::standing::DisputeStatus as D;
    match (s, lang) {
        (D::Open, Lang::En) => "open, awaiting resolution",
        (D::Open, Lang::Vi) => "đang mở, chờ giải quyết",
        (D::Upheld, Lang::En) => "the findings were upheld",
        (D::Upheld, Lang::Vi) => "các phát hiện được giữ nguyên",
        (D::Amended, Lang::En) => "the findings were amended",
        (D::Amended, Lang::Vi) => "các phát hiện đã được sửa đổi",
        (D::Withdrawn, Lang::En) => "the findings were withdrawn",
        (D::Withdrawn, Lang::Vi) => "các phát hiện đã bị rút lại",
    }
}

/// A number without a needless fraction: `78`, `11.5`; in Vietnamese with a decimal
/// comma (`11,5`).
pub fn number_in(v: f64, lang: Lang) -> String {
    let s = if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    };
    match lang {
        Lang::En => s,
        Lang::Vi => s.replace('.', ","),
    }
}

/// The words a description is made of, per language.
struct Phrases {
    on: &'static str,
    of: &'static str,
    covering: &'static str,
    to: &'static str,
    result: &'static str,
    score: &'static str,
    grade: &'static str,
    finding: &'static str,
    valid_until: &'static str,
    in_their_words: &'static str,
    action: &'static str,
    owner: &'static str,
    due: &'static str,
    closes: &'static str,
    disputes: &'static str,
    outcome: &'static str,
    profile: [&'static str; 8],
    alias_of: &'static str,
    evidence: &'static str,
}

fn phrases(lang: Lang) -> Phrases {
    match lang {
        Lang::En => Phrases {
            on: "on",
            of: "of",
            covering: "covering",
            to: "to",
            result: "result",
            score: "score",
            grade: "grade",
            finding: "finding",
            valid_until: "valid until",
            in_their_words: "In the signer's words",
            action: "Action",
            owner: "owner",
            due: "due",
            closes: "Closes the plan's items",
            disputes: "Disputes the findings",
            outcome: "Outcome for the disputed findings",
            profile: [
                "location",
                "sector",
                "products",
                "facility type",
                "processes",
                "workers",
                "parent company",
                "also known as",
            ],
            alias_of: "Open Supply Hub merged this OS ID with",
            evidence: "evidence",
        },
        Lang::Vi => Phrases {
            on: "về",
            of: "về",
            covering: "giai đoạn từ",
            to: "đến",
            result: "kết quả",
            score: "điểm",
            grade: "xếp loại",
            finding: "phát hiện",
            valid_until: "hiệu lực đến",
            in_their_words: "Lời của người ký",
            action: "Hành động",
            owner: "người phụ trách",
            due: "hạn",
            closes: "Đóng các hạng mục của kế hoạch",
            disputes: "Khiếu nại các phát hiện",
            outcome: "Kết quả đối với các phát hiện bị khiếu nại",
            profile: [
                "vị trí",
                "ngành",
                "sản phẩm",
                "loại cơ sở",
                "công đoạn",
                "số người lao động",
                "công ty mẹ",
                "tên khác",
            ],
            alias_of: "Open Supply Hub đã gộp mã OS ID này với",
            evidence: "bằng chứng",
        },
    }
}

/// What the statement says, in English: a headline, then one line per fact.
pub fn describe(s: &Statement) -> Vec<String> {
    describe_in(s, Lang::En)
}

/// What the statement says: a headline, then one line per fact.
pub fn describe_in(s: &Statement, lang: Lang) -> Vec<String> {
    let p = phrases(lang);
    let on = if s.kind == Kind::Metric { p.of } else { p.on };
    let mut head = match (&s.buyer, s.kind, lang) {
        (_, Kind::Profile | Kind::Alias, _) => {
            format!("{}: {}", kind_in(s.kind, lang), s.supplier.name)
        }
        (Some(b), Kind::PurchasingPractice, Lang::En) => format!(
            "Purchasing practices of {b}: {}, as {} says",
            topic_in(s.topic, lang),
            s.supplier.name
        ),
        (Some(b), Kind::PurchasingPractice, Lang::Vi) => format!(
            "Cách mua hàng của {b}: {}, theo {}",
            topic_in(s.topic, lang),
            s.supplier.name
        ),
        (Some(b), Kind::Response, Lang::En) => {
            format!("Reply by {b} on {}", topic_in(s.topic, lang))
        }
        (Some(b), Kind::Response, Lang::Vi) => {
            format!("Phản hồi của {b} về {}", topic_in(s.topic, lang))
        }
        _ => format!("{} {on} {}", kind_in(s.kind, lang), topic_in(s.topic, lang)),
    };
    if let Some(f) = &s.framework {
        head.push_str(&format!(", {}", f.name));
        if let Some(v) = &f.version {
            head.push_str(&format!(" {v}"));
        }
    }
    if let Some(period) = &s.period {
        head.push_str(&format!(
            ", {} {} {} {}",
            p.covering, period.from, p.to, period.to
        ));
    }
    let mut lines = vec![head];
    if let Some(r) = &s.result {
        let mut parts = Vec::new();
        if let Some(st) = r.status {
            parts.push(status_in(st, lang).to_owned());
        }
        if let Some(score) = r.score {
            parts.push(format!("{} {}/100", p.score, number_in(score, lang)));
        }
        if let Some(g) = &r.grade {
            parts.push(format!("{} {g}", p.grade));
        }
        if !parts.is_empty() {
            lines.push(format!("{}: {}", p.result, parts.join(", ")));
        }
        for m in &r.metrics {
            lines.push(format!(
                "{}: {} {}",
                m.name,
                number_in(m.value, lang),
                m.unit
            ));
        }
    }
    for f in &s.findings {
        lines.push(format!(
            "{} {} ({}): {}",
            p.finding,
            f.code,
            severity_in(f.severity, lang),
            f.text
        ));
    }
    for a in &s.actions {
        lines.push(format!(
            "{} {} ({} {}, {} {}): {}",
            p.action, a.id, p.owner, a.owner, p.due, a.due, a.text
        ));
    }
    if !s.closes.is_empty() {
        lines.push(format!("{}: {}", p.closes, s.closes.join(", ")));
    }
    if !s.disputes.is_empty() {
        lines.push(format!("{}: {}", p.disputes, s.disputes.join(", ")));
    }
    if let Some(o) = s.outcome {
        lines.push(format!("{}: {}", p.outcome, outcome_in(o, lang)));
    }
    if let Some(f) = &s.profile {
        let [location, sector, products, facility, processes, workers, parent, aka] = p.profile;
        if let Some(a) = &s.supplier.address {
            lines.push(a.clone());
        }
        if let Some(l) = f.location {
            lines.push(format!("{location}: {}, {}", l.lat, l.lng));
        }
        for (label, items) in [
            (sector, &f.sector),
            (products, &f.product_type),
            (facility, &f.facility_type),
            (processes, &f.processing_type),
            (aka, &f.other_names),
        ] {
            if !items.is_empty() {
                lines.push(format!("{label}: {}", items.join(", ")));
            }
        }
        if let Some(n) = f.number_of_workers {
            lines.push(format!("{workers}: {}", number_in(f64::from(n), lang)));
        }
        if let Some(c) = &f.parent_company {
            lines.push(format!("{parent}: {c}"));
        }
    }
    if let Some(other) = &s.alias_of {
        lines.push(format!("{} {other}", p.alias_of));
    }
    if let Some(t) = &s.text {
        lines.push(format!("{} ({}): {}", p.in_their_words, t.lang, t.body));
    }
    for r in &s.refs {
        lines.push(format!("{} {}", refers_in(s.kind, lang), r.index));
    }
    if let Some(u) = &s.valid_until {
        lines.push(format!("{} {u}", p.valid_until));
    }
    for e in &s.evidence {
        let short: String = e.sha256.chars().take(12).collect();
        lines.push(format!("{}: {} (SHA-256 {short}…)", p.evidence, e.uri));
    }
    lines
}

/// Who signed, with role and accreditation: `Kiwa Vietnam (kiwa), auditor, accredited
/// by APSCA 21700123`.
pub fn signer(s: &SignerInfo) -> String {
    signer_in(s, Lang::En)
}

/// Who signed, with role and accreditation.
pub fn signer_in(s: &SignerInfo, lang: Lang) -> String {
    let roles: Vec<&str> = s.roles.iter().map(|r| role_in(*r, lang)).collect();
    let and = match lang {
        Lang::En => " and ",
        Lang::Vi => " và ",
    };
    let mut out = format!("{} ({}), {}", s.name, s.id, roles.join(and));
    if let Some(a) = &s.accreditation {
        let by = match lang {
            Lang::En => "accredited by",
            Lang::Vi => "được công nhận bởi",
        };
        out.push_str(&format!(", {by} {} {}", a.body, a.reference));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_told_from_tags() {
        assert_eq!(Lang::parse("vi-VN"), Some(Lang::Vi));
        assert_eq!(Lang::parse("EN_gb"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn numbers_use_the_language_decimal_mark() {
        assert_eq!(number_in(11.5, Lang::Vi), "11,5");
        assert_eq!(number_in(11.5, Lang::En), "11.5");
        assert_eq!(number_in(78.0, Lang::Vi), "78");
    }
}
