//! Criterion benchmarks of the metric updates on the delivery path: what the Kafka producer
//! counts per acknowledged record, and what the committer counts per committed batch and
//! sink (records and bytes delivered, the sink's health, the feed's last commit).
//!
//! `cargo bench --bench telemetry -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use o365fwd::feed_id::FeedId;
use o365fwd::record::ContentType;
use o365fwd::telemetry::{FeedMetrics, FeedsAtSinks, SinkMetrics};

fn updates(c: &mut Criterion) {
    // A few series already present, as in a running agent.
    for s in ["a", "b", "c", "d"] {
        SinkMetrics::new(s).kafka_acked.inc();
    }
    // Resolved once, when the sink starts.
    let sink = SinkMetrics::new("bus");
    c.bench_function("kafka_acked_per_record", |b| {
        b.iter(|| black_box(&sink).kafka_acked.inc())
    });
    // Resolved once per feed, and per (feed, sink) pair at its first commit.
    let id = std::sync::Arc::new(FeedId::new("contoso", "tid", ContentType::General));
    let feed = FeedMetrics::new(id.clone());
    let mut pairs = FeedsAtSinks::default();
    c.bench_function("committer_per_batch_and_sink", |b| {
        b.iter(|| {
            let at = pairs.get(black_box(&id), "bus");
            at.delivered(200, 400_000);
            at.sink.acked();
            feed.committed(chrono::Utc::now());
        })
    });
}

criterion_group!(benches, updates);
criterion_main!(benches);
