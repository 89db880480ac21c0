//! Configuration text: never a panic, and every reported location lies inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o365fwd::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, std::path::Path::new("/nonexistent/config.toml")) {
        Ok(c) => {
            let _ = c.summary();
        }
        Err(e) => {
            let _ = e.to_string();
            let lines = text.split('\n').count();
            for p in &e.problems {
                if let Some(line) = p.line {
                    assert!(line >= 1 && line <= lines, "{p:?} outside {lines} lines");
                }
            }
        }
    }
});
