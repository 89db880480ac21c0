use super::*;

fn side(state: &str, file: FileId, floor: u64) -> Sidecar {
    Sidecar {
        state_id: state.into(),
        sink: "f".into(),
        file,
        committed_at_least: floor,
    }
}

#[test]
fn only_this_state_and_this_file_are_trusted() {
    let f = FileId { dev: 1, ino: 2 };
    let other = FileId { dev: 1, ino: 3 };
    let c = |len, file| SinkOffset {
        path: "/o".into(),
        length: len,
        file,
    };
    let ok = verdict("s1", f, Some(&side("s1", f, 10)), Some(&c(12, Some(f))));
    assert_eq!(ok, Verdict::Trusted(12));
    for (s, committed, why) in [
        (None, Some(c(12, Some(f))), "no sidecar"),
        (
            Some(side("s0", f, 10)),
            Some(c(12, Some(f))),
            "another state",
        ),
        (
            Some(side("s1", other, 10)),
            Some(c(12, Some(f))),
            "replaced",
        ),
        (Some(side("s1", f, 10)), None, "no committed length"),
        (Some(side("s1", f, 10)), Some(c(12, None)), "another file"),
        (
            Some(side("s1", f, 10)),
            Some(c(12, Some(other))),
            "another file",
        ),
        (Some(side("s1", f, 10)), Some(c(9, Some(f))), "went back"),
    ] {
        match verdict("s1", f, s.as_ref(), committed.as_ref()) {
            Verdict::Unverified(r) => assert!(r.contains(why), "{r} / {why}"),
            v => panic!("{why}: {v:?}"),
        }
    }
}

#[test]
fn sidecar_round_trips_and_last_line_is_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.ndjson");
    let s = side("s1", FileId { dev: 5, ino: 6 }, 7);
    write_sidecar(&path, &s).unwrap();
    assert!(dir.path().join(".out.ndjson.o365fwd").exists());
    assert_eq!(read_sidecar(&path), Some(s));
    std::fs::write(&path, b"{}\n{\"torn").unwrap();
    let (mut f, _, len) = open_file(&path).unwrap();
    assert_eq!(terminate_last_line(&mut f, len).unwrap(), len + 1);
    assert_eq!(terminate_last_line(&mut f, len + 1).unwrap(), len + 1);
    assert_eq!(std::fs::read(&path).unwrap(), b"{}\n{\"torn\n");
}
