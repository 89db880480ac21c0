use super::*;
use crate::pipeline::FeedShared;
use crate::record::{ContentType, Record};

fn rec(id: &str) -> Record {
    Record::from_json(&format!(r#"{{"Id":"{id}"}}"#), "c").unwrap()
}

/// A filtered job keeps its admitted indices, gains the merged view, and its
/// rejections still name the original batch's records.
#[tokio::test]
async fn extend_keeps_the_filter_and_original_indices() {
    let feed = Arc::new(FeedShared::new(crate::feed_id::FeedId::new(
        "t",
        "tid",
        ContentType::General,
    )));
    let batch = Arc::new(Batch {
        feed,
        content_id: "c".into(),
        records: vec![rec("a"), rec("b"), rec("c")],
        ops: vec![],
    });
    let (ack, outer) = oneshot::channel();
    let job = SinkJob {
        batch,
        admitted: Some(vec![0u32, 2].into()),
        ack,
    };
    let merged = vec![Merged {
        record: rec("a+m"),
        parts: vec!["a".into(), "c".into()],
        partial: false,
    }];
    let job = extend(&SinkMetrics::new("s"), job, merged);
    let ids: Vec<(usize, &str)> = job.records().map(|(i, r)| (i, r.id())).collect();
    assert_eq!(ids, [(0, "a"), (2, "c"), (3, "a+m")]);
    job.ack
        .send(SinkAck {
            rejected: vec![(2, "x".into()), (3, "merged view refused".into())],
            offset: None,
        })
        .unwrap();
    let back = outer.await.unwrap();
    assert_eq!(back.rejected, [(2, "x".to_string())]);
}
