//! A content listing page as the agent reads it: never a panic, whatever the page holds
//! (dates at the ends of chrono's range, ids with control characters, numbers that do not
//! fit); every entry it accepts has a URI that parses and dates the feed can compare and
//! move from, and every entry it sets aside is named printably, with a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o365fwd::api::parse_page;

fuzz_target!(|data: &[u8]| {
    let Ok(page) = parse_page(data) else {
        return;
    };
    let now = chrono::Utc::now();
    for c in &page.entries {
        assert!(url::Url::parse(&c.content_uri).is_ok());
        assert!(!c.content_id.is_empty() && !c.content_id.chars().any(char::is_control));
        let _ = c.content_expiration.signed_duration_since(c.content_created);
        let _ = c.content_expiration <= now;
        let _ = c.content_type.parse::<o365fwd::record::ContentType>();
    }
    for b in &page.bad {
        assert!(!b.content_id.is_empty() && !b.content_id.chars().any(char::is_control));
        assert!(!b.reason.is_empty());
        let _ = now.checked_add_signed(chrono::Duration::days(7));
    }
});
