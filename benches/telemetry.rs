//! Criterion benchmarks of the metric updates on the delivery path: what the Kafka producer
//! counts per acknowledged record, and what the committer counts per committed batch and
//! sink (records and bytes delivered, the sink's health, the feed's last commit).
//!
//! `cargo bench --bench telemetry -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use o365fwd::telemetry;

fn updates(c: &mut Criterion) {
    // A few series already present, as in a running agent.
    for s in ["a", "b", "c", "d"] {
        telemetry::count("o365fwd_kafka_acked_total", &[("sink", s)], 1);
    }
    c.bench_function("kafka_acked_per_record", |b| {
        b.iter(|| telemetry::count("o365fwd_kafka_acked_total", &[("sink", black_box("bus"))], 1))
    });
    c.bench_function("committer_per_batch_and_sink", |b| {
        b.iter(|| {
            let labels = [
                ("tenant", black_box("contoso")),
                ("content_type", "Audit.General"),
                ("sink", "bus"),
            ];
            telemetry::count("o365fwd_records_delivered_total", &labels, 200);
            telemetry::count("o365fwd_bytes_delivered_total", &labels, 400_000);
            telemetry::sink_acked("bus");
            telemetry::feed_committed("tid/Audit.General", chrono::Utc::now());
        })
    });
}

criterion_group!(benches, updates);
criterion_main!(benches);
