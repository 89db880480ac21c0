//! A blob as the API might send it: parse it, then encode every record in every format.
//! Beyond "no panic": ECS output is always one valid JSON object, CEF output one line
//! (`o365fwd::format::invariants::check`, which `cargo test` also runs on mutations).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    o365fwd::format::invariants::check(data);
});
