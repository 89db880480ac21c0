use super::*;

#[test]
fn retry_after_is_clamped_and_never_overflows() {
    let now = Utc::now();
    let r = retry_after("7", now).unwrap();
    assert_eq!(r.wait, Duration::from_secs(7));
    assert_eq!(r.clamped_from, None);
    for huge in [
        "31536000",
        "10000000000000000000",
        "18446744073709551615",
        "99999999999999999999999999999",
    ] {
        let r = retry_after(huge, now).unwrap();
        assert_eq!(r.wait, MAX_RETRY_AFTER, "{huge}");
        assert_eq!(r.clamped_from.as_deref(), Some(huge));
        // The sum the client and the budget make with it.
        let _ = later(tokio::time::Instant::now(), r.wait);
    }
    let date = (now + chrono::Duration::seconds(90)).to_rfc2822();
    let r = retry_after(&date, now).unwrap();
    assert!(r.wait <= Duration::from_secs(90) && r.wait >= Duration::from_secs(89));
    let far = "Fri, 31 Dec 9999 23:59:59 GMT";
    assert_eq!(retry_after(far, now).unwrap().wait, MAX_RETRY_AFTER);
    let past = "Thu, 01 Jan 1970 00:00:00 GMT";
    assert_eq!(retry_after(past, now).unwrap().wait, Duration::ZERO);
    for bad in ["", "soon", "-5", "1.5", "0x10"] {
        assert_eq!(retry_after(bad, now), None, "{bad}");
    }
}

#[test]
fn token_lifetimes_are_clamped() {
    assert_eq!(token_lifetime(3599), (Duration::from_secs(3599), false));
    assert_eq!(token_lifetime(0), (Duration::from_secs(1), false));
    assert_eq!(token_lifetime(u64::MAX), (MAX_TOKEN_LIFETIME, true));
    assert_eq!(token_lifetime(86_401), (MAX_TOKEN_LIFETIME, true));
}

/// Serves each of `answers` (head, body) once on a local port; returns its URL.
async fn serve(answers: Vec<(String, Vec<u8>)>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    tokio::spawn(async move {
        for (head, body) in answers {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = [0u8; 4096];
            let _ = s.read(&mut req).await;
            // The peer may stop reading (over the cap): write errors are expected.
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
            let _ = s.shutdown().await;
        }
    });
    url
}

fn gzip(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; n]).unwrap();
    gz.finish().unwrap()
}

/// The cap is on what the body decodes to: a small gzip body that inflates past it stops
/// at the cap (its Content-Length is the compressed size), a declared length over the
/// cap is refused unread, a body of unknown length stops at the cap, and a body at the
/// cap is read whole.
#[tokio::test]
async fn bodies_are_capped_after_decoding() {
    let cap = 1 << 20;
    let bomb = gzip(64 << 20);
    assert!(bomb.len() < 100 << 10, "{}", bomb.len());
    let exact = gzip(cap as usize);
    let answers = vec![
        (
            format!(
                "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                bomb.len()
            ),
            bomb,
        ),
        (
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                cap + 1
            ),
            vec![b'x'; cap as usize + 1],
        ),
        (
            "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_string(),
            vec![b'x'; 3 << 20],
        ),
        (
            format!(
                "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                exact.len()
            ),
            exact,
        ),
    ];
    let url = serve(answers).await;
    let http = crate::api::http_client(Duration::from_secs(30)).unwrap();
    let get = || async { http.get(&url).send().await.unwrap() };
    let too_large = |r: Result<bytes::Bytes, BodyError>| match r {
        Err(BodyError::TooLarge(t)) => t,
        other => panic!("{other:?}"),
    };
    let t = too_large(read_capped(get().await, cap, "blob").await);
    assert_eq!(t.size, format!("more than {cap} bytes decoded"));
    assert_eq!(
        t.to_string(),
        format!("blob larger than {cap} bytes (more than {cap} bytes decoded)")
    );
    let t = too_large(read_capped(get().await, cap, "blob").await);
    assert_eq!(t.size, format!("{} bytes", cap + 1));
    let t = too_large(read_capped(get().await, cap, "list").await);
    assert_eq!(t.what, "list");
    let whole = read_capped(get().await, cap, "blob").await.unwrap();
    assert_eq!(whole.len() as u64, cap);
}

#[test]
fn later_never_panics() {
    let t = std::time::Instant::now();
    assert_eq!(later(t, Duration::from_secs(5)), t + Duration::from_secs(5));
    assert_eq!(later(t, Duration::MAX), t + FAR);
    let t = tokio::time::Instant::now();
    assert_eq!(later(t, Duration::from_secs(u64::MAX)), t + FAR);
}
