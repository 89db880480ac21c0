use super::*;

const G: &str = "80c76bd2-9d81-4c57-a97a-accfc3443dca";

#[test]
fn guids_are_exact_and_other_ids_kept_as_strings() {
    assert!(guid(G).is_some());
    assert!(
        guid(&G.to_uppercase()).is_none(),
        "upper case is another string"
    );
    assert!(guid("80c76bd2x9d81-4c57-a97a-accfc3443dca").is_none());
    let mut s = IdSet::default();
    assert!(s.insert(Id::parse(G), ()));
    assert!(!s.insert(Id::parse(G), ()));
    let upper = G.to_uppercase();
    assert!(
        s.insert(Id::parse(&upper), ()),
        "different string, different id"
    );
    assert!(s.insert(Id::parse("blob$1#3"), ()));
    assert!(s.contains(Id::parse("blob$1#3")) && !s.contains(Id::parse("blob$1#4")));
    assert_eq!(s.len(), 3);
}

#[test]
fn chunks_round_trip_and_find_exactly() {
    let mut ids = SeenIds::default();
    let long = "x".repeat(70_000);
    for id in [G, "blob$1#3", "ünïcode", long.as_str()] {
        ids.push(7, id);
    }
    ids.push(8, "00000000-0000-4000-8000-000000000001");
    let parts: Vec<_> = ids.buckets().collect();
    assert_eq!(parts.len(), 2);
    let stored = parts[0].1.encode();
    assert_eq!(stored.len(), 1);
    let v = view(&stored[0]).unwrap();
    assert_eq!(v.guid_count(), 1);
    for id in [G, "blob$1#3", "ünïcode", long.as_str()] {
        assert!(v.contains(Id::parse(id), false), "{id:.20}");
    }
    // Ids longer than 64 KiB are kept whole: a shared prefix is not a match.
    let other_long = format!("{}y", "x".repeat(69_999));
    assert!(!v.contains(Id::parse(&other_long), false));
    assert!(!v.contains(Id::parse("00000000-0000-4000-8000-000000000001"), false));
    let mut set = IdSet::default();
    v.add_to(&mut set, ());
    assert_eq!(set.len(), 4);
    assert!(
        view(&stored[0][..stored[0].len() - 1]).is_none(),
        "damage is noticed"
    );
    assert!(view(&[0, 0, 0, 9]).is_none());
}

#[test]
fn sorted_chunks_are_searched_by_halving() {
    let mut g: Vec<u128> = (0..10_000u128).map(|i| i * 7919 + 3).collect();
    g.sort_unstable();
    let v_bytes = encode(&g, &[]);
    let v = view(&v_bytes).unwrap();
    assert!(g.iter().all(|x| v.contains(Id::Guid(*x), true)));
    assert!(!v.contains(Id::Guid(4), true) && !v.contains(Id::Guid(u128::MAX), true));
}

#[test]
fn big_chunks_are_split() {
    let mut ids = SeenIds::default();
    for i in 0..(CHUNK_GUIDS + 5) {
        ids.push(1, &format!("00000000-0000-4000-8000-{i:012x}"));
    }
    ids.push(1, "other");
    let (_, c) = ids.buckets().next().unwrap();
    let stored = c.encode();
    assert_eq!(stored.len(), 2);
    let first = view(&stored[0]).unwrap();
    assert_eq!(first.guid_count(), CHUNK_GUIDS);
    assert!(first.contains(Id::Other("other"), false));
    assert_eq!(view(&stored[1]).unwrap().guid_count(), 5);
}

#[test]
fn a_record_is_filed_by_its_own_time_within_reason() {
    let created = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let t = created - chrono::Duration::minutes(75);
    assert_eq!(record_bucket(Some(t), created), bucket_of(t));
    assert_eq!(record_bucket(None, created), bucket_of(created));
    let far = created + chrono::Duration::days(400);
    assert_eq!(
        record_bucket(Some(far), created),
        bucket_of(created + MAX_AHEAD)
    );
    let old = DateTime::from_timestamp(-5, 0).unwrap();
    assert_eq!(record_bucket(Some(old), created), 0);
    assert_eq!(
        bucket_start(bucket_of(created)),
        created - chrono::Duration::seconds(1_800_000_000 % 600)
    );
    assert_eq!(buckets_in(chrono::Duration::hours(2)), 12);
    assert_eq!(buckets_in(chrono::Duration::seconds(601)), 2);
}

#[test]
fn legacy_chunks_are_still_read() {
    let mut buf = vec![0u8];
    buf.extend_from_slice(&guid(G).unwrap().to_be_bytes());
    buf.extend_from_slice(&[1, 0, 3]);
    buf.extend_from_slice(b"abc");
    let mut s = IdSet::default();
    assert!(decode_legacy_into(&buf, &mut s));
    assert!(s.contains(Id::parse(G)) && s.contains(Id::Other("abc")));
    assert!(!decode_legacy_into(
        &buf[..buf.len() - 1],
        &mut IdSet::default()
    ));
}
