use super::*;

#[test]
fn every_content_type_renders_valid_json() {
    let t = TenantProfile::new(1, "11111111-2222-3333-4444-555555555555");
    let mut lags = Vec::new();
    for ct in ContentType::ALL {
        for seed in 0..300u64 {
            let parts = planned_parts(ct, seed);
            for part in 0..parts {
                let mut out = String::new();
                let c = Ctx {
                    tenant: &t,
                    seed,
                    id: "the-id",
                    created_ms: 1_700_000_000_000,
                    part,
                    parts,
                };
                render(ct, &c, &mut out);
                let v: serde_json::Value = serde_json::from_str(&out)
                    .unwrap_or_else(|e| panic!("{ct} seed {seed}: {e}: {out}"));
                assert_eq!(v["Id"], "the-id");
                assert_eq!(v["OrganizationId"], t.tenant_id.as_str());
                let ctime = v["CreationTime"].as_str().unwrap();
                assert_eq!(ctime.len(), 19, "no zone designator: {ctime}");
                let rec = crate::record::Record::from_json(&out, "x").unwrap();
                let lag = 1_700_000_000_000 - rec.creation_time.unwrap().timestamp_millis();
                assert!(
                    (59_000..=12 * 3_600_000).contains(&lag),
                    "{ct} seed {seed}: {lag}"
                );
                lags.push(lag);
            }
        }
    }
    let late = lags.iter().filter(|l| **l > 90 * 60_000).count();
    assert!(
        (lags.len() / 200..lags.len() / 20).contains(&late),
        "a tail of late records: {late} of {}",
        lags.len()
    );
}

#[test]
fn escaping() {
    let mut s = String::new();
    escape("a\"b\\c\nd\u{1}", &mut s);
    assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
    assert_eq!(
        serde_json::from_str::<String>(&s).unwrap(),
        "a\"b\\c\nd\u{1}"
    );
}
