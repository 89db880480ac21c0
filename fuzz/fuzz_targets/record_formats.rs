//! A blob as the API might send it: parse it, then encode every record in every format.
//! Beyond "no panic": ECS output is always one valid JSON object, CEF output one line
//! (`o365fwd::format::invariants::check`), and every HTTP sink's envelope of it is JSON
//! (`o365fwd::sink::http::invariants::check`, which the sinks rely on instead of parsing
//! each record again); `cargo test` runs both on mutations.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    o365fwd::format::invariants::check(data);
    o365fwd::sink::http::invariants::check(data);
});
