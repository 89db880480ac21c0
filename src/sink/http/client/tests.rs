use super::*;
use reqwest::header::RETRY_AFTER;
use std::io::Read;

#[test]
fn gzip_round_trips() {
    let raw = b"{\"a\":1}\n".repeat(100);
    let gz = body(raw.clone(), true);
    assert!(gz.len() < raw.len());
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, raw);
    assert_eq!(body(raw.clone(), false), raw);
}

#[test]
fn backoff_grows_with_jitter_and_caps() {
    let mut b = Backoff::new(Duration::from_secs(1));
    let first = b.delay();
    assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
    for _ in 0..10 {
        b.delay();
    }
    let late = b.delay();
    assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
    b.reset();
    assert!(b.delay() <= Duration::from_millis(200));
}

#[test]
fn retry_after_seconds_date_and_garbage() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, "7".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    h.insert(RETRY_AFTER, "999999".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(900)));
    h.insert(RETRY_AFTER, "10000000000000000000".parse().unwrap());
    assert_eq!(retry_after(&h), Some(Duration::from_secs(900)));
    let later = chrono::Utc::now() + chrono::Duration::seconds(30);
    h.insert(RETRY_AFTER, later.to_rfc2822().parse().unwrap());
    let d = retry_after(&h).unwrap();
    assert!(
        d > Duration::from_secs(25) && d <= Duration::from_secs(30),
        "{d:?}"
    );
    h.insert(RETRY_AFTER, "soon".parse().unwrap());
    assert_eq!(retry_after(&h), None);
}
