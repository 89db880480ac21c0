use super::*;

fn part(id: &str, extra: &str) -> Record {
    let json = format!(
        r#"{{"Id":"{id}","RecordType":21,"Workload":"CRM","Operation":"RetrieveMultiple","OrganizationId":"ORG","CorrelationId":"c1","EntityName":"account","UserId":"a@x","CreationTime":"2018-03-02T23:25:56"{extra}}}"#
    );
    Record::from_json(&json, "t").unwrap()
}

fn cfg() -> SplitConfig {
    SplitConfig {
        horizon: Duration::from_secs(60),
        max_age: Duration::from_secs(600),
        max_groups: 100,
        max_bytes: 1 << 20,
    }
}

fn body(m: &Merged) -> Value {
    serde_json::from_str(m.record.raw.get()).unwrap()
}

#[test]
fn merges_after_quiet_horizon() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(cfg());
    assert!(
        r.push(
            &part(
                "b",
                r#","QueryResults":"1,2","Query":"<a>","Fields":[{"Name":"x","Value":1}]"#
            ),
            t0
        )
        .is_empty()
    );
    assert!(r.push(&part("a", r#","QueryResults":"2, 3","Query":"<b>","Fields":[{"Name":"x","Value":2},{"Name":"y","Value":3}],"ItemUrl":"u""#), t0 + Duration::from_secs(30)).is_empty());
    // The repeated part is ignored.
    assert!(
        r.push(
            &part("a", r#","QueryResults":"9""#),
            t0 + Duration::from_secs(31)
        )
        .is_empty()
    );
    assert_eq!(r.groups(), 1);
    assert!(
        r.poll(t0 + Duration::from_secs(89)).is_empty(),
        "horizon counts from the last part"
    );
    assert_eq!(r.next_due(), Some(t0 + Duration::from_secs(90)));
    let out = r.poll(t0 + Duration::from_secs(90));
    assert_eq!(out.len(), 1);
    let m = &out[0];
    assert!(!m.partial);
    assert_eq!(m.parts, vec![Box::from("b"), Box::from("a")]);
    assert_eq!(m.record.id(), "a+m");
    let v = body(m);
    assert_eq!(v["QueryResults"], "1,2,3");
    assert_eq!(v["Query"], "<a><b>");
    assert_eq!(
        v["Fields"],
        serde_json::json!([{"Name":"x","Value":1},{"Name":"y","Value":3}])
    );
    assert_eq!(v["ItemUrl"], "u");
    assert_eq!(v[PARTS_KEY], serde_json::json!(["b", "a"]));
    assert_eq!(v[PARTIAL_KEY], false);
    assert_eq!((r.groups(), r.bytes()), (0, 0));
}

#[test]
fn single_parts_and_other_records_yield_nothing() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(cfg());
    r.push(&part("a", ""), t0);
    let other =
        Record::from_json(r#"{"Id":"z","RecordType":15,"CorrelationId":"c1"}"#, "t").unwrap();
    r.push(&other, t0);
    r.push(&Record::from_json("42", "t").unwrap(), t0);
    assert_eq!(r.groups(), 1);
    assert!(r.poll(t0 + Duration::from_secs(3600)).is_empty());
    assert_eq!(r.groups(), 0);
}

#[test]
fn age_cap_marks_partial() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(cfg());
    for i in 0..12u64 {
        r.push(
            &part(&format!("p{i:02}"), ""),
            t0 + Duration::from_secs(i * 55),
        );
    }
    let out = r.poll(t0 + Duration::from_secs(600));
    assert_eq!(out.len(), 1);
    assert!(out[0].partial);
    assert_eq!(out[0].parts.len(), 12);
}

#[test]
fn budgets_bound_groups_and_bytes() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(SplitConfig {
        max_groups: 2,
        ..cfg()
    });
    let grp = |c: &str, id: &str| {
        let j = format!(r#"{{"Id":"{id}","RecordType":21,"CorrelationId":"{c}"}}"#);
        Record::from_json(&j, "t").unwrap()
    };
    r.push(&grp("g1", "1a"), t0);
    r.push(&grp("g1", "1b"), t0);
    r.push(&grp("g2", "2a"), t0);
    let out = r.push(&grp("g3", "3a"), t0);
    assert_eq!(r.groups(), 2);
    assert_eq!(out.len(), 1);
    assert!(out[0].partial);
    assert_eq!(out[0].parts, vec![Box::from("1a"), Box::from("1b")]);

    let mut r = Reassembler::new(SplitConfig {
        max_bytes: 100,
        ..cfg()
    });
    r.push(&grp("g1", "1a"), t0);
    r.push(&grp("g1", "1b"), t0);
    assert!(r.bytes() <= 100);
    let out = r.push(&grp("g2", "2a"), t0);
    assert_eq!(out.len(), 1);
    assert!(r.bytes() <= 100);
}

#[test]
fn flush_emits_everything_as_partial() {
    let t0 = Instant::now();
    let mut r = Reassembler::new(cfg());
    r.push(&part("a", ""), t0);
    r.push(&part("b", ""), t0);
    let out = r.flush();
    assert_eq!(out.len(), 1);
    assert!(out[0].partial);
    assert_eq!(body(&out[0])[PARTIAL_KEY], true);
    assert_eq!(r.groups(), 0);
    assert!(r.next_due().is_none());
}

#[test]
fn query_results_forms() {
    use serde_json::json;
    assert_eq!(query_result_ids(&json!("a, b,")), ["a", "b", ""]);
    assert_eq!(query_result_ids(&json!(["a", 1])), ["a", "1"]);
    assert_eq!(query_result_ids(&json!("[\"x\"]")), ["x"]);
    assert!(query_result_ids(&json!(null)).is_empty());
}
