//! `vouch serve --demo`: a ledger seeded with a realistic, fictional history of
//! Vietnamese garment and footwear factories, so that a newcomer sees every kind of
//! record and can verify them.
//!
//! Everyone's keys are generated at first start under `keys/` (never committed); a
//! second start reuses the ledger and the keys.

use std::path::Path;
use std::sync::Arc;

use time::{Date, OffsetDateTime};

use crate::envelope;
use crate::keyfile;
use crate::log::{timestamp, Log, LogConfig, Receipt, Signed};
use crate::note::{KeyName, Signer};
use crate::statement::{
    Accreditation, ActionItem, DisputeOutcome, EntryRef, Evidence, FacilityProfile, Finding,
    Framework, Kind, Location, Metric, Outcome, ParticipantSpec, Period, RegistryStatement, Role,
    Severity, Statement, StatementText, Status, Supplier, SupplierId, Topic, REGISTRY_TYPE,
    STATEMENT_TYPE,
};
use crate::store::Store;

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The demo log's origin.
pub const ORIGIN: &str = "demo.vouch.example/vn-apparel";
/// The platform's governance: three members, any two of whom sign a registry change.
pub const GOVERNANCE: [(&str, &str); 3] = [
    ("moit-vietnam", "Ministry of Industry and Trade (demo)"),
    ("vitas", "Vietnam Textile and Apparel Association (demo)"),
    (
        "lefaso",
        "Vietnam Leather, Footwear and Handbag Association (demo)",
    ),
];
/// How many governance members sign each registry change.
pub const GOVERNANCE_THRESHOLD: u32 = 2;
pub const AUDITORS: [(&str, &str); 3] = [
    ("delta-audit", "Delta Audit Services"),
    ("mekong-compliance", "Mekong Social Compliance"),
    ("red-river-assess", "Red River Assessments"),
];
pub const BUYERS: [(&str, &str); 3] = [
    ("northwind-apparel", "Northwind Apparel"),
    ("lotus-footwear", "Lotus Footwear Group"),
    ("harbour-outdoor", "Harbour Outdoor Co."),
];
/// (participant id, name, OS ID, province).
pub const FACTORIES: [(&str, &str, &str, &str); 10] = [
    (
        "song-hong-garment",
        "Song Hong Garment JSC",
        "VN2019303BQ3FZ9",
        "Nam Định",
    ),
    (
        "an-phuoc-textile",
        "An Phuoc Textile Co.",
        "VN2020114KD2M9D",
        "Bình Dương",
    ),
    (
        "hai-phong-shoes",
        "Hai Phong Footwear Ltd.",
        "VN2021087TR7X4J",
        "Hải Phòng",
    ),
    (
        "dong-nai-knit",
        "Dong Nai Knitwear JSC",
        "VN2019256HP3K82",
        "Đồng Nai",
    ),
    (
        "thai-binh-sewing",
        "Thai Binh Sewing Co.",
        "VN2022031MN5Q2N",
        "Thái Bình",
    ),
    (
        "long-an-denim",
        "Long An Denim Mill",
        "VN2020199WS816Z",
        "Long An",
    ),
    (
        "da-nang-apparel",
        "Da Nang Apparel Ltd.",
        "VN2023012ZC4R7W",
        "Đà Nẵng",
    ),
    (
        "bac-ninh-sport",
        "Bac Ninh Sportswear JSC",
        "VN2021145GT9N3Y",
        "Bắc Ninh",
    ),
    (
        "can-tho-leather",
        "Can Tho Leather Goods",
        "VN2022208PB6V1Q",
        "Cần Thơ",
    ),
    (
        "vinh-phuc-fashion",
        "Vinh Phuc Fashion Co.",
        "VN2019317YK2D50",
        "Vĩnh Phúc",
    ),
];

/// The demo's witnesses: their names (keys in `keys/`, made on first use).
pub const WITNESSES: [&str; 2] = [
    "witness-ngo.demo.vouch.example/w1",
    "witness-buyers.demo.vouch.example/w2",
];

/// A demo witness's key, made on first use.
///
/// # Errors
/// An unreadable or unwritable key file.
pub fn witness_signer(keys: &Path, name: &str) -> DemoResult<Signer> {
    let name = KeyName::new(name)?;
    let (key_path, _) = keyfile::paths(keys, &name);
    if key_path.exists() {
        return Ok(keyfile::read_signer_as(
            &key_path,
            crate::note::Alg::CosignatureV1,
        )?);
    }
    Ok(keyfile::generate_as(keys, &name, crate::note::Alg::CosignatureV1)?.0)
}

fn signer(keys: &Path, name: &str) -> DemoResult<Signer> {
    let name = KeyName::new(name)?;
    let (key_path, _) = keyfile::paths(keys, &name);
    if key_path.exists() {
        return Ok(keyfile::read_signer(&key_path)?);
    }
    Ok(keyfile::generate(keys, &name)?.0)
}

fn spec(id: &str, name: &str, role: Role, key: &Signer) -> ParticipantSpec {
    ParticipantSpec {
        id: id.into(),
        name: name.into(),
        roles: vec![role],
        supplier_ids: vec![],
        keys: vec![key.verifier().to_string()],
        accreditation: None,
    }
}

/// A deterministic pseudo-random sequence, so that every demo tells the same story.
struct Dice(u64);

impl Dice {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Creates and seeds the demo ledger in `store` unless it holds one; returns the log
/// key. Keys go to `keys/`.
///
/// # Errors
/// When keys cannot be written or a seed statement is refused.
pub fn prepare(store: Arc<dyn Store>, keys: &Path) -> DemoResult<Signer> {
    let log_key = signer(keys, ORIGIN)?;
    if Log::exists(store.as_ref())? {
        return Ok(log_key);
    }
    let members = GOVERNANCE
        .iter()
        .map(|(id, _)| signer(keys, id))
        .collect::<DemoResult<Vec<Signer>>>()?;
    // Two of the three sign every change (the third is away): k of n as the sector runs it.
    let gov: Vec<&Signer> = members.iter().take(GOVERNANCE_THRESHOLD as usize).collect();
    let now = OffsetDateTime::now_utc();
    let start = now - time::Duration::days(760);
    let genesis = RegistryStatement::Genesis {
        threshold: GOVERNANCE_THRESHOLD,
        participants: GOVERNANCE
            .iter()
            .zip(&members)
            .map(|((id, name), key)| spec(id, name, Role::Governance, key))
            .collect(),
        issued_at: timestamp(start),
    };
    let body = serde_json::to_vec(&genesis)?;
    let signed = Signed::from_envelope(envelope::sign(REGISTRY_TYPE, &body, &gov))?;
    Log::create_ledger(store.clone(), &log_key, &signed, now)?;
    let log = Log::open(store, Some(log_key.clone()), LogConfig::default())?;
    let register = |p: ParticipantSpec| -> DemoResult<Receipt> {
        let change = RegistryStatement::Register {
            participant: p,
            issued_at: timestamp(start),
        };
        let env = envelope::sign(REGISTRY_TYPE, &serde_json::to_vec(&change)?, &gov);
        Ok(log.submit_blocking(&env.to_json())?)
    };
    let mut auditors = Vec::new();
    for (i, (id, name)) in AUDITORS.iter().enumerate() {
        let k = signer(keys, id)?;
        register(ParticipantSpec {
            accreditation: Some(Accreditation {
                body: "APSCA".into(),
                reference: format!("2170{:04}", 311 + i * 97),
            }),
            ..spec(id, name, Role::Auditor, &k)
        })?;
        auditors.push(k);
    }
    let mut buyers = Vec::new();
    for (id, name) in BUYERS {
        let k = signer(keys, id)?;
        register(spec(id, name, Role::Buyer, &k))?;
        buyers.push(k);
    }
    let mut suppliers = Vec::new();
    for (id, name, os_id, _) in FACTORIES {
        let k = signer(keys, id)?;
        register(ParticipantSpec {
            supplier_ids: vec![SupplierId::new(os_id)?],
            ..spec(id, name, Role::Supplier, &k)
        })?;
        suppliers.push(k);
    }
    let ngo = signer(keys, "fair-labour-watch")?;
    register(spec(
        "fair-labour-watch",
        "Fair Labour Watch Viet Nam",
        Role::Ngo,
        &ngo,
    ))?;

    let submit = |s: &Statement, key: &Signer| -> DemoResult<Receipt> {
        s.validate()?;
        let env = envelope::sign(STATEMENT_TYPE, &serde_json::to_vec(s)?, &[key]);
        Ok(log.submit_blocking(&env.to_json())?)
    };
    let mut dice = Dice(0x5EED_1234_ABCD_0001);
    let mut retracted = false;
    let mut answered = false;
    let mut disputed = false;
    for quarter in 0..8u32 {
        let q_start = start + time::Duration::days(i64::from(quarter) * 91);
        for (f, (_, name, os_id, province)) in FACTORIES.iter().enumerate() {
            let improving = f % 3 != 2;
            let supplier = Supplier {
                id: SupplierId::new(os_id)?,
                name: (*name).into(),
                country: "VN".into(),
                identifiers: Default::default(),
                province: Some((*province).into()),
                address: None,
            };
            let day = |d: i64| q_start + time::Duration::days(d + f as i64);
            let period = Period {
                from: date(q_start.date()),
                to: date((q_start + time::Duration::days(90)).date()),
            };
            let base = |kind: Kind, topic: Topic, at: OffsetDateTime| Statement {
                period: Some(period.clone()),
                ..Statement::new(kind, supplier.clone(), topic, timestamp(at))
            };
            let auditor = &auditors[(f + quarter as usize) % auditors.len()];
            // Environmental metrics each quarter: self-reported, and verified by an
            // auditor every other quarter.
            let trend = if improving {
                1.0 - 0.04 * f64::from(quarter)
            } else {
                1.0 + 0.01 * f64::from(quarter)
            };
            let energy = Statement {
                result: Some(Outcome {
                    metrics: vec![
                        Metric {
                            name: "electricity_kwh_per_1000_pieces".into(),
                            value: round(310.0 * trend + dice.next(20) as f64),
                            unit: "kWh".into(),
                            unit_code: None,
                        },
                        Metric {
                            name: "renewable_share".into(),
                            value: round(
                                (0.05 + 0.03 * f64::from(quarter)).min(0.6)
                                    * if improving { 1.0 } else { 0.3 },
                            ),
                            unit: "ratio".into(),
                            unit_code: None,
                        },
                    ],
                    ..Outcome::default()
                }),
                ..base(Kind::Metric, Topic::Energy, day(20))
            };
            submit(
                &energy,
                if quarter % 2 == 0 {
                    &suppliers[f]
                } else {
                    auditor
                },
            )?;
            let water = Statement {
                result: Some(Outcome {
                    metrics: vec![Metric {
                        name: "water_m3_per_1000_pieces".into(),
                        value: round(42.0 * trend + dice.next(5) as f64),
                        unit: "m3".into(),
                        unit_code: None,
                    }],
                    ..Outcome::default()
                }),
                ..base(Kind::Metric, Topic::Water, day(21))
            };
            submit(&water, &suppliers[f])?;
            if quarter % 2 == 1 {
                let chemicals = Statement {
                    framework: Some(Framework {
                        name: "ZDHC MRSL".into(),
                        version: Some("3.1".into()),
                    }),
                    result: Some(Outcome {
                        status: Some(if improving {
                            Status::Conformant
                        } else {
                            Status::PartiallyConformant
                        }),
                        metrics: vec![Metric {
                            name: "mrsl_conformant_chemicals_share".into(),
                            value: round(if improving {
                                0.9 + 0.01 * f64::from(quarter)
                            } else {
                                0.72
                            }),
                            unit: "ratio".into(),
                            unit_code: None,
                        }],
                        ..Outcome::default()
                    }),
                    ..base(Kind::Metric, Topic::Chemicals, day(30))
                };
                submit(&chemicals, auditor)?;
            }
            // A social audit every other quarter, with a corrective action plan for its
            // findings and, a quarter later, its verified remediation.
            if (quarter + f as u32).is_multiple_of(2) {
                let overtime =
                    8.0 + dice.next(10) as f64 - if improving { f64::from(quarter) } else { 0.0 };
                let major = overtime > 10.0;
                let audit = Statement {
                    framework: Some(Framework {
                        name: "SLCP CAF".into(),
                        version: Some("1.7".into()),
                    }),
                    valid_until: Some(date((day(45) + time::Duration::days(365)).date())),
                    result: Some(Outcome {
                        status: Some(if major {
                            Status::PartiallyConformant
                        } else {
                            Status::Conformant
                        }),
                        score: Some(round(70.0 + dice.next(25) as f64)),
                        grade: Some(if major { "B" } else { "A" }.into()),
                        metrics: vec![
                            Metric {
                                name: "overtime_hours_per_week_p90".into(),
                                value: round(overtime.max(2.0)),
                                unit: "h".into(),
                                unit_code: None,
                            },
                            Metric {
                                name: "workers_paid_at_least_living_wage_share".into(),
                                value: round(0.6 + 0.04 * f64::from(quarter)),
                                unit: "ratio".into(),
                                unit_code: None,
                            },
                        ],
                    }),
                    findings: if major {
                        vec![Finding {
                            code: "OT-02".into(),
                            severity: Severity::Major,
                            text: "Overtime above 300 hours a year for some workers in peak weeks"
                                .into(),
                        }]
                    } else {
                        vec![Finding {
                            code: "HS-07".into(),
                            severity: Severity::Minor,
                            text: "Two fire exits partly obstructed by stock".into(),
                        }]
                    },
                    evidence: vec![Evidence {
                        uri: format!("https://reports.example.org/{os_id}/q{quarter}.pdf"),
                        sha256: format!("{:064x}", u128::from(quarter) * 1_000_003 + f as u128),
                    }],
                    ..base(Kind::Audit, Topic::WorkingHours, day(45))
                };
                let a = submit(&audit, auditor)?;
                let plan = Statement {
                    result: Some(Outcome {
                        status: Some(Status::Open),
                        ..Outcome::default()
                    }),
                    findings: audit.findings.clone(),
                    refs: vec![reference(&a)],
                    // Two items, each with an owner and a due date.
                    actions: {
                        let code = &audit.findings[0].code;
                        let due = |d: i64| day(d).date().to_string();
                        vec![
                            ActionItem {
                                id: format!("{code}-1"),
                                text: if major {
                                    "Hire and train a second shift before peak season".into()
                                } else {
                                    "Clear the fire exits and mark them on the floor".into()
                                },
                                owner: if major { "HR manager" } else { "EHS officer" }.into(),
                                due: due(if major { 110 } else { 64 }),
                            },
                            ActionItem {
                                id: format!("{code}-2"),
                                text: "Report overtime hours to the worker committee every month"
                                    .into(),
                                owner: "Trade union chair".into(),
                                due: due(140),
                            },
                        ]
                    },
                    ..base(Kind::CorrectiveAction, Topic::WorkingHours, day(50))
                };
                let p = submit(&plan, auditor)?;
                if improving {
                    let done = Statement {
                        result: Some(Outcome {
                            status: Some(Status::Verified),
                            ..Outcome::default()
                        }),
                        refs: vec![reference(&p)],
                        closes: plan.actions.iter().map(|i| i.id.clone()).collect(),
                        ..base(Kind::Remediation, Topic::WorkingHours, day(80))
                    };
                    submit(&done, auditor)?;
                }
                if !answered && major && f == 5 {
                    // The factory answers in its own words, in Vietnamese.
                    let reply = Statement {
                        text: Some(StatementText {
                            lang: "vi".into(),
                            body: "Làm thêm giờ trong mùa cao điểm là do người mua đổi đơn hàng muộn; ca làm việc thứ hai bắt đầu từ tháng sau.".into(),
                        }),
                        refs: vec![reference(&a)],
                        ..base(Kind::Response, Topic::WorkingHours, day(60))
                    };
                    submit(&reply, &suppliers[f])?;
                    answered = true;
                }
                if !disputed && major && f == 2 {
                    // The factory disputes the overtime finding; the auditor checks the
                    // time records and restates it.
                    let dispute = Statement {
                        disputes: vec![audit.findings[0].code.clone()],
                        text: Some(StatementText {
                            lang: "vi".into(),
                            body: "Chỉ 12 công nhân vượt quá 300 giờ, trong hai tuần cao điểm; bảng chấm công đính kèm cho thấy điều đó.".into(),
                        }),
                        refs: vec![reference(&a)],
                        ..base(Kind::Dispute, Topic::WorkingHours, day(55))
                    };
                    let d = submit(&dispute, &suppliers[f])?;
                    let resolved = Statement {
                        outcome: Some(DisputeOutcome::Amended),
                        findings: vec![Finding {
                            code: audit.findings[0].code.clone(),
                            severity: Severity::Major,
                            text: "Overtime above 300 hours a year for 12 workers, in two peak weeks".into(),
                        }],
                        text: Some(StatementText {
                            lang: "en".into(),
                            body: "Time records checked with the worker committee: the finding holds for 12 workers, not for the whole line.".into(),
                        }),
                        refs: vec![reference(&d)],
                        ..base(Kind::Resolution, Topic::WorkingHours, day(70))
                    };
                    submit(&resolved, auditor)?;
                    disputed = true;
                }
                if f == 6 && quarter == 6 {
                    // A dispute still open: the auditor has not answered yet.
                    let dispute = Statement {
                        disputes: vec![audit.findings[0].code.clone()],
                        text: Some(StatementText {
                            lang: "en".into(),
                            body: "The stock was moved on the day of the audit; the exits were clear the day before and after (photos attached).".into(),
                        }),
                        refs: vec![reference(&a)],
                        ..base(Kind::Dispute, Topic::WorkingHours, day(47))
                    };
                    submit(&dispute, &suppliers[f])?;
                }
            }
            // Buyers rate twice a year and reward improvement.
            if quarter % 2 == 1 {
                let buyer = &buyers[f % buyers.len()];
                let grade = if improving {
                    ["B", "B", "A", "A"][(quarter / 2) as usize]
                } else {
                    "C"
                };
                let rating = Statement {
                    result: Some(Outcome {
                        score: Some(round(if improving {
                            (70.0 + 3.5 * f64::from(quarter)).min(98.0)
                        } else {
                            55.0
                        })),
                        grade: Some(grade.into()),
                        ..Outcome::default()
                    }),
                    ..base(Kind::Rating, Topic::ManagementSystems, day(85))
                };
                let r = submit(&rating, buyer)?;
                if f == 1 && quarter == 3 {
                    // The buyer got the score wrong: a correction replaces the rating.
                    let correction = Statement {
                        result: Some(Outcome {
                            score: Some(round(rating.result.as_ref().and_then(|r| r.score).unwrap_or(0.0) - 6.0)),
                            grade: Some("C".into()),
                            ..Outcome::default()
                        }),
                        findings: vec![Finding { code: "DATA".into(), severity: Severity::Minor, text: "The first rating of this period used last year's delivery figures; this one replaces it".into() }],
                        refs: vec![reference(&r)],
                        ..base(Kind::Correction, Topic::ManagementSystems, day(86))
                    };
                    submit(&correction, buyer)?;
                }
                if !retracted && f == 4 && quarter == 5 {
                    let retraction = Statement {
                        text: Some(StatementText {
                            lang: "en".into(),
                            body: "Rating filed for the wrong factory; withdrawn.".into(),
                        }),
                        refs: vec![reference(&r)],
                        ..base(Kind::Retraction, Topic::ManagementSystems, day(86))
                    };
                    submit(&retraction, buyer)?;
                    retracted = true;
                }
                if improving && quarter >= 5 {
                    let incentive = Statement {
                        findings: vec![Finding { code: "INC".into(), severity: Severity::Minor, text: "Two-year order commitment and 2% better payment terms for verified overtime reduction".into() }],
                        ..base(Kind::Incentive, Topic::WorkingHours, day(88))
                    };
                    submit(&incentive, buyer)?;
                }
                if quarter >= 5 {
                    // The factory says how its buyer buys: whether it pays on time and
                    // how late it changes orders (Better Buying's categories).
                    let buyer_id = BUYERS[f % BUYERS.len()].0;
                    let slow_payer = f % BUYERS.len() == 1;
                    let late = if slow_payer {
                        21.0 + ((f as u32 * 7 + quarter) % 10) as f64
                    } else {
                        ((f as u32 + quarter) % 6) as f64
                    };
                    let payment = Statement {
                        buyer: Some(buyer_id.into()),
                        result: Some(Outcome {
                            score: Some(if slow_payer { 45.0 } else { 85.0 }),
                            metrics: vec![Metric {
                                name: "days_paid_after_due_date_p90".into(),
                                value: late,
                                unit: "d".into(),
                                unit_code: None,
                            }],
                            ..Outcome::default()
                        }),
                        ..base(Kind::PurchasingPractice, Topic::PaymentTerms, day(89))
                    };
                    let paid = submit(&payment, &suppliers[f])?;
                    let changes = Statement {
                        buyer: Some(buyer_id.into()),
                        result: Some(Outcome {
                            metrics: vec![Metric {
                                name: "orders_changed_after_fabric_cutting_share".into(),
                                value: round(
                                    0.05 + 0.02 * ((f as u32 * 3 + quarter) % 8) as f64,
                                ),
                                unit: "ratio".into(),
                                unit_code: None,
                            }],
                            ..Outcome::default()
                        }),
                        text: (f == 5).then(|| StatementText {
                            lang: "vi".into(),
                            body: "Đơn hàng thay đổi sau khi cắt vải buộc công nhân làm thêm giờ vào cuối tháng.".into(),
                        }),
                        ..base(Kind::PurchasingPractice, Topic::OrderChanges, day(89))
                    };
                    submit(&changes, &suppliers[f])?;
                    if slow_payer && quarter == 7 && f == 1 {
                        // The buyer answers on the record.
                        let reply = Statement {
                            buyer: Some(buyer_id.into()),
                            text: Some(StatementText {
                                lang: "en".into(),
                                body: "Payments were held during a customs dispute in the spring; since June we pay at 30 days, and the next figures will show it.".into(),
                            }),
                            refs: vec![reference(&paid)],
                            ..base(Kind::Response, Topic::PaymentTerms, day(90))
                        };
                        submit(&reply, buyer)?;
                    }
                }
            }
        }
    }
    // Each factory describes itself as Open Supply Hub does.
    let made = [
        "Jackets, trousers",
        "Knitwear",
        "Sports shoes",
        "Denim trousers",
        "T-shirts",
    ];
    let in_province = |name: &str, id: &str, province: &str| -> DemoResult<Supplier> {
        Ok(Supplier {
            id: SupplierId::new(id)?,
            name: name.into(),
            country: "VN".into(),
            identifiers: Default::default(),
            province: Some(province.into()),
            address: None,
        })
    };
    for (f, (_, name, os_id, province)) in FACTORIES.iter().enumerate() {
        let footwear = ["Shoes", "Footwear", "Leather"]
            .iter()
            .any(|w| name.contains(w));
        let profile = Statement {
            profile: Some(FacilityProfile {
                location: Some(Location {
                    lat: round(10.8 + 0.9 * f as f64),
                    lng: round(106.6 + 0.1 * f as f64),
                }),
                sector: vec![if footwear { "Footwear" } else { "Apparel" }.into()],
                product_type: made[f % made.len()].split(", ").map(Into::into).collect(),
                facility_type: vec!["Final product assembly".into()],
                processing_type: vec!["Cutting".into(), "Sewing".into(), "Packing".into()],
                number_of_workers: Some(u32::try_from(800 + 350 * f).unwrap_or(u32::MAX)),
                parent_company: (f % 4 == 0)
                    .then(|| "Vietnam National Textile and Garment Group (Vinatex)".into()),
                other_names: vec![format!("Công ty {name}")],
            }),
            ..Statement::new(
                Kind::Profile,
                Supplier {
                    address: Some(format!(
                        "Lô {}{}, Khu công nghiệp {province}",
                        ["A", "B", "C"][f % 3],
                        f + 1
                    )),
                    ..in_province(name, os_id, province)?
                },
                Topic::ManagementSystems,
                timestamp(now - time::Duration::days(3)),
            )
        };
        submit(&profile, &suppliers[f])?;
    }
    // Open Supply Hub listed Song Hong twice; governance joins the duplicate OS ID, and
    // the older audit filed under it, to the OS ID the factory uses.
    let (_, name, os_id, province) = FACTORIES[0];
    let first = "VN2018150SH0N1";
    let duplicate = format!(
        "{first}{}",
        SupplierId::check_character(first).unwrap_or('0')
    );
    let early = Statement {
        framework: Some(Framework {
            name: "Better Work Vietnam".into(),
            version: None,
        }),
        result: Some(Outcome {
            status: Some(Status::PartiallyConformant),
            score: Some(72.0),
            ..Outcome::default()
        }),
        findings: vec![Finding {
            code: "OSH-11".into(),
            severity: Severity::Minor,
            text: "First-aid kits incomplete on two sewing floors".into(),
        }],
        ..Statement::new(
            Kind::Audit,
            in_province(name, &duplicate, province)?,
            Topic::HealthSafety,
            timestamp(start + time::Duration::days(20)),
        )
    };
    submit(&early, &auditors[0])?;
    let alias = Statement {
        alias_of: Some(SupplierId::new(&duplicate)?),
        text: Some(StatementText {
            lang: "en".into(),
            body: "Open Supply Hub merged the duplicate listing into this one.".into(),
        }),
        ..Statement::new(
            Kind::Alias,
            in_province(name, os_id, province)?,
            Topic::ManagementSystems,
            timestamp(now - time::Duration::days(2)),
        )
    };
    submit(&alias, &members[0])?;
    log.close();
    Ok(log_key)
}

fn date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn reference(r: &Receipt) -> EntryRef {
    EntryRef {
        index: r.index,
        leaf_hash: crate::entry::encode_hash(&r.leaf_hash),
    }
}
