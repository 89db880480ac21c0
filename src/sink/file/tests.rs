use std::sync::Arc;

use super::*;
use crate::format::{Format, FormatOptions};
use crate::pipeline::{Batch, FeedShared};
use crate::record::{ContentType, Record};

fn enc() -> Encoder {
    Encoder::new(Format::Raw, FormatOptions::default())
}

fn job(ids: &[&str]) -> SinkJob {
    let feed = Arc::new(FeedShared::new("t", "tid", ContentType::General));
    let (ack, _) = tokio::sync::oneshot::channel();
    let records = ids
        .iter()
        .map(|i| Record::from_json(&format!("{{\"Id\":\"{i}\"}}"), "c").unwrap())
        .collect();
    SinkJob::all(
        Arc::new(Batch {
            feed,
            content_id: "c".into(),
            records,
            ops: vec![],
        }),
        ack,
    )
}

/// Commits the sink's current offset, as the committer does once every sink acknowledged.
async fn commit(state: &State, sink: &FileSink) {
    state
        .commit(&[], &[("f", sink.offset())], chrono::Utc::now())
        .await
        .unwrap();
}

const A: &[u8] = b"{\"Id\":\"a\"}\n";

/// Appends bytes as another writer (or a write cut short by a crash) would.
fn append(path: &std::path::Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[tokio::test]
async fn cuts_the_uncommitted_tail_of_its_own_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(&dir.path().join("state")).unwrap();
    let path = dir.path().join("out.ndjson");
    let mut sink = FileSink::open("f", &path, &state, enc()).unwrap();
    sink.write_batches(&[job(&["a"])]).unwrap();
    commit(&state, &sink).await;
    // Written, never committed, cut short by a crash.
    sink.write_batches(&[job(&["b"])]).unwrap();
    append(&path, b"{\"Id\":\"c");
    drop(sink);
    let sink = FileSink::open("f", &path, &state, enc()).unwrap();
    assert_eq!(sink.len, A.len() as u64);
    assert_eq!(std::fs::read(&path).unwrap(), A);
}

#[tokio::test]
async fn never_cuts_a_file_another_state_or_an_earlier_point_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.ndjson");
    {
        let state = State::open(&dir.path().join("s1")).unwrap();
        let mut sink = FileSink::open("f", &path, &state, enc()).unwrap();
        sink.write_batches(&[job(&["a"]), job(&["b"])]).unwrap();
        commit(&state, &sink).await;
    }
    let before = std::fs::read(&path).unwrap();
    // A new state (reset, lost, replaced) whose committed length for this sink is 0.
    let s2 = State::open(&dir.path().join("s2")).unwrap();
    s2.set_sink_offset(
        "f",
        &SinkOffset {
            path: path.display().to_string(),
            length: 0,
            file: None,
        },
    )
    .unwrap();
    let sink = FileSink::open("f", &path, &s2, enc()).unwrap();
    assert_eq!(sink.len, before.len() as u64, "appends after what it found");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    drop(sink);
    // The same state, gone back to an earlier committed length of the same file.
    let mut back = s2.sink_offset("f").unwrap().unwrap();
    back.length = A.len() as u64;
    s2.set_sink_offset("f", &back).unwrap();
    let sink = FileSink::open("f", &path, &s2, enc()).unwrap();
    assert_eq!(sink.len, before.len() as u64);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A torn last line is ended, never cut.
    drop(sink);
    append(&path, b"{\"Id\":\"c");
    let s3 = State::open(&dir.path().join("s3")).unwrap();
    let mut sink = FileSink::open("f", &path, &s3, enc()).unwrap();
    sink.write_batches(&[job(&["d"])]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("{\"Id\":\"c\n{\"Id\":\"d\"}\n"), "{text}");
}

#[tokio::test]
async fn follows_rotation_by_rename_and_by_truncation_without_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(&dir.path().join("state")).unwrap();
    let path = dir.path().join("out.ndjson");
    let mut sink = FileSink::open("f", &path, &state, enc()).unwrap();
    sink.write_batches(&[job(&["a", "b"])]).unwrap();
    // copytruncate: the content is copied, then the file is truncated in place.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let ends = sink.write_batches(&[job(&["c"])]).unwrap();
    assert_eq!(ends, vec![11]);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"Id\":\"c\"}\n",
        "no hole"
    );
    // Rename: the sink goes on in a new file at its path.
    let rotated = dir.path().join("out.ndjson.1");
    std::fs::rename(&path, &rotated).unwrap();
    let ends = sink.write_batches(&[job(&["d"])]).unwrap();
    assert_eq!(ends, vec![11]);
    assert_eq!(std::fs::read(&rotated).unwrap(), b"{\"Id\":\"c\"}\n");
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"Id\":\"d\"}\n");
    assert_eq!(
        sink.offset().file,
        Some(FileId::of(&std::fs::metadata(&path).unwrap()))
    );
    // Another writer's bytes are never overwritten.
    append(&path, b"{\"Id\":\"x\"}");
    sink.write_batches(&[job(&["e"])]).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"Id\":\"d\"}\n{\"Id\":\"x\"}\n{\"Id\":\"e\"}\n"
    );
    assert!(
        crate::telemetry::get(
            "o365fwd_file_sink_changes_total",
            &[("sink", "f"), ("change", "replaced")]
        ) >= 1
    );
}

#[test]
fn queued_batches_share_one_write_and_get_their_own_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open(&dir.path().join("state")).unwrap();
    let path = dir.path().join("out.ndjson");
    let mut sink = FileSink::open("f", &path, &state, enc()).unwrap();
    let ends = sink
        .write_batches(&[job(&["a", "b"]), job(&["c"])])
        .unwrap();
    assert_eq!(ends, vec![22, 33]);
    assert_eq!(sink.offset().length, 33);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"Id\":\"a\"}\n{\"Id\":\"b\"}\n{\"Id\":\"c\"}\n"
    );
    // Batches larger than a write chunk: written in pieces, offsets still exact.
    let big: Vec<String> = (0..3 * WRITE_CHUNK / 11)
        .map(|i| format!("{i:03}"))
        .collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    let (first, second) = big.split_at(big.len() / 3);
    let ends = sink.write_batches(&[job(first), job(second)]).unwrap();
    let line = |i: &str| format!("{{\"Id\":\"{i}\"}}\n").len() as u64;
    let first_len: u64 = first.iter().map(|i| line(i)).sum();
    let second_len: u64 = second.iter().map(|i| line(i)).sum();
    assert_eq!(ends, vec![33 + first_len, 33 + first_len + second_len]);
    assert!(
        second_len > 2 * WRITE_CHUNK as u64,
        "crosses several chunks"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len() as u64, sink.offset().length);
    let ids: Vec<&str> = text.lines().skip(3).map(|l| &l[7..l.len() - 2]).collect();
    assert_eq!(ids, big);
}
