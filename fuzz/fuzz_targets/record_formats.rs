//! A blob as the API might send it: parse it, then encode every record in every format.
//! Beyond "no panic": ECS output is always one valid JSON object, CEF output one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o365fwd::format::{Encoder, Format, FormatOptions, Origin};
use o365fwd::record::{ContentType, parse_blob};

fuzz_target!(|data: &[u8]| {
    let Ok(records) = parse_blob("fuzz", data) else {
        return;
    };
    let origin = Origin {
        tenant: "contoso",
        tenant_id: "41463f53-8812-40f4-890f-865bf6e35190",
        content_type: ContentType::General,
    };
    let mut out = Vec::new();
    for rec in &records {
        for format in [Format::Raw, Format::Ecs, Format::Cef, Format::Text] {
            out.clear();
            Encoder::new(format, FormatOptions::default()).encode(rec, &origin, &mut out);
            match format {
                Format::Ecs => {
                    // Syntax, as the input was checked: numbers are copied verbatim, so one
                    // out of f64's range (valid JSON) stays as it came.
                    let v: &serde_json::value::RawValue =
                        serde_json::from_slice(&out).expect("ECS output is valid JSON");
                    assert!(v.get().starts_with('{'), "ECS output is an object");
                }
                Format::Cef => {
                    assert!(out.starts_with(b"CEF:0|"));
                    assert!(!out.contains(&b'\n') && !out.contains(&b'\r'), "CEF is one line");
                }
                Format::Raw => assert_eq!(out, rec.raw.get().as_bytes()),
                Format::Text => {}
            }
        }
    }
});
