use super::super::counter;
use super::*;

#[test]
fn counts_through_handles_and_escapes_labels() {
    let a = SINK_DUPLICATES.with(["t_counter_1"]);
    let quoted = SINK_DUPLICATES.with(["t_counter_\"q\\\n"]);
    assert_eq!(SINK_DUPLICATES.get(["t_counter_1"]), 0);
    a.add(2);
    a.inc();
    quoted.add(0);
    assert_eq!(SINK_DUPLICATES.get(["t_counter_1"]), 3);
    let samples = counter::samples(SINK_DUPLICATES.meta.name);
    assert!(samples.contains(&(
        "o365fwd_sink_duplicates_total{sink=\"t_counter_1\"}".to_string(),
        3
    )));
    assert!(samples.contains(&(
        "o365fwd_sink_duplicates_total{sink=\"t_counter_\\\"q\\\\\\n\"}".to_string(),
        0
    )));
    // Resolved but never counted: not a sample.
    let _unused = RECORDS_REJECTED.with(["t_counter", "Audit.General", "never"]);
    assert!(
        !counter::samples(RECORDS_REJECTED.meta.name)
            .iter()
            .any(|(k, _)| k.contains("never"))
    );
}
