//! A content listing page as the agent reads it: never a panic, and every entry it accepts
//! has times and a URI the agent can work with.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o365fwd::api::ContentInfo;

fuzz_target!(|data: &[u8]| {
    let Ok(page) = serde_json::from_slice::<Vec<ContentInfo>>(data) else {
        return;
    };
    for c in &page {
        let _ = url::Url::parse(&c.content_uri);
        let _ = c.content_expiration - c.content_created;
        let _ = c.content_type.parse::<o365fwd::record::ContentType>();
    }
});
