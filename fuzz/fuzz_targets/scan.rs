//! The blob scanner against serde_json: the same blobs accepted, the same elements, and
//! each indexed member exactly what serde_json reads for that key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o365fwd::record::scan::scan_blob;
use serde_json::value::RawValue;

fuzz_target!(|data: &[u8]| {
    let theirs: Option<Vec<&RawValue>> = serde_json::from_slice(data).ok();
    let ours = scan_blob(data).ok();
    assert_eq!(ours.is_some(), theirs.is_some(), "acceptance differs");
    let (Some((text, scan)), Some(items)) = (ours, theirs) else {
        return;
    };
    assert_eq!(scan.elements.len(), items.len());
    for (e, item) in scan.elements.iter().zip(&items) {
        let rec = &text[e.start..e.end];
        assert_eq!(rec, item.get());
        let Some(members) = scan.members(e) else { continue };
        // serde_json's Value stops at 128 levels of nesting; raw values do not.
        let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(rec)
        else {
            continue;
        };
        assert_eq!(members.len(), map.len(), "one member per distinct key");
        let sig = e.index.map_or(0, |i| i.sig);
        for m in members.iter() {
            let theirs = &map[m.key(rec)];
            assert_ne!(sig & o365fwd::record::scan::key_sig(m.key(rec).as_bytes()), 0);
            let ours: serde_json::Value = serde_json::from_str(m.value(rec)).unwrap();
            assert_eq!(&ours, theirs);
        }
    }
});
