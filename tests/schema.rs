//! The published JSON Schemas under docs/schema/ match the statement types.
//! Regenerate them with `VOUCH_WRITE_SCHEMA=1 cargo test --test schema`.

use std::path::PathBuf;

#[test]
fn published_schemas_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
    for (name, schema) in vouch::statement::schemas() {
        let path = dir.join(name);
        if std::env::var_os("VOUCH_WRITE_SCHEMA").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &schema).unwrap();
        }
        let published = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run VOUCH_WRITE_SCHEMA=1 cargo test --test schema",
                path.display()
            )
        });
        assert_eq!(
            published, schema,
            "{name} is stale; run VOUCH_WRITE_SCHEMA=1 cargo test --test schema"
        );
    }
}

#[test]
fn the_design_example_statement_validates() {
    let example = r#"{
      "kind": "audit",
      "supplier": {"id": "VN2024164XQ3F74", "name": "Song Hong Garment JSC",
                   "country": "VN", "identifiers": {"vn_tax_code": "0100101308"}},
      "topic": "working_hours",
      "framework": {"name": "SLCP CAF", "version": "1.7"},
      "period": {"from": "2026-01-01", "to": "2026-06-30"},
      "issued_at": "2026-07-14T09:30:00Z",
      "valid_until": "2027-07-14",
      "result": {"status": "partially_conformant", "score": 78, "grade": "B",
                 "metrics": [{"name": "overtime_hours_per_week_p90", "value": 11.5, "unit": "h"}]},
      "findings": [{"code": "OT-02", "severity": "major", "text": "Overtime above 300 h/year for 4% of workers"}],
      "evidence": [{"uri": "https://example.org/reports/123.pdf", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}],
      "refs": []
    }"#;
    vouch::statement::Statement::parse(example.as_bytes()).unwrap();
}
