//! `text`: one readable line per record, for `demo` and terminals. Not meant for machines.

use std::io::Write;

use super::Origin;
use crate::record::Record;

pub fn encode(rec: &Record, origin: &Origin<'_>, out: &mut Vec<u8>) {
    let v: serde_json::Value = serde_json::from_str(rec.raw.get()).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("-");
    let time = rec
        .creation_time
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into());
    let start = out.len();
    let _ = write!(
        out,
        "{time} {tenant:<10} {ct:<27} {wl:<20} {op:<24} {user:<38} {status}",
        tenant = origin.tenant,
        ct = origin.content_type.as_str(),
        wl = rec.workload().unwrap_or("-"),
        op = rec.operation().unwrap_or("-"),
        user = s("UserId"),
        status = s("ResultStatus"),
    );
    if let Some(entity) = v.get("EntityName").and_then(|x| x.as_str()) {
        let _ = write!(out, " entity={entity}");
    }
    if let Some(obj) = v.get("ObjectId").and_then(|x| x.as_str()) {
        let _ = write!(out, " object={obj}");
    }
    for b in out[start..].iter_mut() {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
}
