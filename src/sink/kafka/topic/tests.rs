use super::*;
use crate::record::ContentType;

fn origin() -> Origin<'static> {
    Origin {
        tenant: "contoso",
        tenant_id: "t-1",
        content_type: ContentType::SharePoint,
    }
}

#[test]
fn renders_placeholders_and_sanitises_values() {
    let rec = Record::from_json(
        r#"{"Id":"a","Workload":"Share Point/x","RecordType":6}"#,
        "f",
    )
    .unwrap();
    let t = TopicTemplate::parse("o365.{content_type}.{workload}-{record_type}").unwrap();
    let mut s = String::new();
    t.render(&rec, &origin(), &mut s);
    assert_eq!(s, "o365.Audit.SharePoint.Share_Point_x-6");
    assert_eq!(t.literal(), None);
    let rec = Record::from_json(r#"{"Id":"a"}"#, "f").unwrap();
    TopicTemplate::parse("{workload}.{tenant}")
        .unwrap()
        .render(&rec, &origin(), &mut s);
    assert_eq!(s, "unknown.contoso");
}

#[test]
fn enumerates_what_config_decides() {
    use crate::feed_id::FeedId;
    use crate::record::ContentType::*;
    let feeds = vec![
        FeedId::new("a", "id-a", General),
        FeedId::new("a", "id-a", SharePoint),
        FeedId::new("b", "id-b", General),
    ];
    let t = TopicTemplate::parse("o365.{content_type}").unwrap();
    assert_eq!(
        t.enumerate(&feeds).unwrap(),
        vec!["o365.Audit.General", "o365.Audit.SharePoint"]
    );
    let t = TopicTemplate::parse("{tenant}-{content_type}").unwrap();
    assert_eq!(t.enumerate(&feeds).unwrap().len(), 3);
    assert!(
        TopicTemplate::parse("o365.{workload}")
            .unwrap()
            .enumerate(&feeds)
            .is_none()
    );
}

#[test]
fn literal_and_errors() {
    assert_eq!(
        TopicTemplate::parse("o365-audit").unwrap().literal(),
        Some("o365-audit")
    );
    for bad in [
        "",
        "a b",
        "o365.{nope}",
        "o365.{content_type",
        "a}b",
        "x/{workload}",
    ] {
        assert!(TopicTemplate::parse(bad).is_err(), "{bad:?} accepted");
    }
    let long = "a".repeat(250);
    assert!(TopicTemplate::parse(&long).is_err());
}
