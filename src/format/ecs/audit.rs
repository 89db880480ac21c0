//! `o365.audit.*` (every original field, laid out as Elastic's pipeline lays it out) and
//! `o365.dynamics.*` (our Dynamics 365 view).

use super::json::Obj;
use super::map::Ecs;
use crate::record::classify::{Classification, CrmAccess, Fields, Json, array, is_null, raw_str};
use crate::record::split::{PARTIAL_KEY, PARTS_KEY};

/// Keys Elastic copies out of an alert's `Data` JSON into typed fields.
const DATA_KEYS: [&str; 59] = [
    "ad", "af", "aii", "ail", "alk", "als", "an", "at", "cid", "cpid", "dm", "dpn", "eid", "etps",
    "etype", "f3u", "fvs", "imsgid", "lon", "mat", "md", "ms", "od", "op", "ot", "plk", "pud",
    "reid", "rid", "sev", "sict", "sid", "sip", "sitmi", "srt", "ssic", "suid", "tdc", "te", "thn",
    "tht", "tid", "tpid", "tpt", "trc", "ts", "tsd", "ttdt", "ttr", "upfc", "upfv", "ut", "von",
    "wl", "zfh", "zfn", "zmfh", "zmfn", "zu",
];

/// `Data` keys Elastic parses as dates (written back as `YYYY-MM-DDTHH:MM:SS.mmmZ`).
const DATA_DATES: [&str; 5] = ["at", "md", "te", "ts", "ttdt"];

/// Writes the members of `o365.audit`.
pub fn write_audit(o: &mut Obj<'_>, f: &Fields<'_>, e: &Ecs<'_>, dlp: bool) {
    // The moved keys by position, found once, rather than every key compared with every
    // moved name; a record with more than 128 keys falls back to names past that.
    let mut skip: u128 = 0;
    for name in e.moved.as_slice().iter().chain([&PARTS_KEY, &PARTIAL_KEY]) {
        if let Some(i) = f.position(name).filter(|i| *i < 128) {
            skip |= 1 << i;
        }
    }
    let plain = f.keys_are_plain();
    for (i, (k, v)) in f.iter().enumerate() {
        let skipped = if i < 128 {
            skip & (1 << i) != 0
        } else {
            e.moved.contains(k) || k == PARTS_KEY || k == PARTIAL_KEY
        };
        if skipped {
            continue;
        }
        match k {
            "Parameters" => name_values(o, k, v, None),
            "ExtendedProperties" => {
                name_values(o, k, v, e.ep_user_agent.then_some("UserAgent"));
            }
            "ModifiedProperties" => modified(o, k, v),
            "Data" => data(o, k, v),
            "ExceptionInfo" if dlp && raw_str(v).is_some() => {
                let mut x = o.dobj(k);
                x.raw("Reason", v.get());
                x.end();
            }
            _ if !e.renamed.is_empty() && e.renamed.iter().any(|(from, _)| *from == k) => {
                let to = e.renamed.iter().find(|(from, _)| *from == k).map(|r| r.1);
                o.draw(to.unwrap_or(k), v.get());
            }
            // A key the scanner read without escapes is valid JSON string content as it is.
            _ if plain => o.draw_plain(k, v.get()),
            _ => o.draw(k, v.get()),
        }
    }
}

/// A Name/Value list becomes an object `{Name: Value}`; a string becomes `{"_raw": …}`.
/// A list that does not fit (non-objects, extra keys, repeated names) is kept as is.
fn name_values(o: &mut Obj<'_>, k: &str, v: Json<'_>, skip: Option<&str>) {
    if raw_str(v).is_some() {
        let mut x = o.dobj(k);
        x.raw("_raw", v.get());
        x.end();
        return;
    }
    let Some(pairs) = pairs(v) else {
        o.draw(k, v.get());
        return;
    };
    let mut x = o.dobj(k);
    for (name, value) in &pairs {
        if Some(name.as_str()) != skip {
            x.draw(name, value.map_or("null", |r| r.get()));
        }
    }
    x.end();
}

/// The `(Name, Value)` pairs of a Name/Value list, or `None` when it is not one.
pub fn pairs(v: Json<'_>) -> Option<Vec<(String, Option<Json<'_>>)>> {
    let items = array(v)?;
    let mut out: Vec<(String, Option<Json<'_>>)> = Vec::with_capacity(items.len());
    for (_, nv) in items {
        let nv = nv?;
        if nv.iter().any(|(key, _)| key != "Name" && key != "Value") {
            return None;
        }
        let name = nv.str("Name")?.into_owned();
        if out.iter().any(|(n, _)| *n == name) {
            return None;
        }
        out.push((name, nv.get("Value")));
    }
    Some(out)
}

/// `ModifiedProperties`: `{Name: {NewValue, OldValue, …}}` with spaces and dots in names
/// replaced by `_`, as Elastic does; a string becomes `{"_raw": …}`.
fn modified(o: &mut Obj<'_>, k: &str, v: Json<'_>) {
    if raw_str(v).is_some() {
        let mut x = o.dobj(k);
        x.raw("_raw", v.get());
        x.end();
        return;
    }
    let Some(items) = array(v) else {
        o.draw(k, v.get());
        return;
    };
    if items.is_empty() {
        // Elastic removes a list that leaves no properties.
        return;
    }
    let mut entries: Vec<(String, Option<Fields<'_>>)> = Vec::with_capacity(items.len());
    for (item, fields) in items {
        let (name, rest) = if let Some(s) = raw_str(item) {
            (s.into_owned(), None)
        } else if let Some(mp) = fields {
            match mp.str("Name") {
                Some(n) => (n.into_owned(), Some(mp)),
                None => return o.draw(k, v.get()),
            }
        } else {
            return o.draw(k, v.get());
        };
        let name = name.replace([' ', '.'], "_");
        if entries.iter().any(|(n, _)| *n == name) {
            return o.draw(k, v.get());
        }
        entries.push((name, rest));
    }
    let mut x = o.dobj(k);
    for (name, rest) in &entries {
        let mut y = x.dobj(name);
        for (key, val) in rest.iter().flat_map(|r| r.iter()) {
            if key != "Name" {
                y.draw(key, val.get());
            }
        }
        y.end();
    }
    x.end();
}

/// An alert's `Data` (a JSON string) becomes `{flattened: {...}, <known keys>}`; empty
/// strings are left out and the known date keys are normalised, as Elastic does.
fn data(o: &mut Obj<'_>, k: &str, v: Json<'_>) {
    let parsed = raw_str(v).and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    let Some(serde_json::Value::Object(mut map)) = parsed else {
        o.draw(k, v.get());
        return;
    };
    map.retain(|_, v| v.as_str() != Some(""));
    let mut x = o.dobj(k);
    let out = x.key("flattened");
    let _ = serde_json::to_writer(&mut *out, &map);
    for key in DATA_KEYS {
        let Some(val) = map.get(key) else { continue };
        let date = DATA_DATES
            .contains(&key)
            .then(|| val.as_str().and_then(crate::record::parse_creation_time))
            .flatten();
        let out = x.key(key);
        match date {
            Some(t) => super::timestamp(out, t),
            None => {
                let _ = serde_json::to_writer(&mut *out, val);
            }
        }
    }
    x.end();
}

/// `o365.dynamics.*`: entity, message, access class, the record ids of `QueryResults`
/// and `Fields` as an object. `None` members are left out.
pub fn write_dynamics(o: &mut Obj<'_>, f: &Fields<'_>, cls: &Classification, op: &str) {
    let Some(access) = cls.crm else { return };
    let message = f.nonempty("Message");
    let message = message.as_deref().unwrap_or(op);
    let mut d = o.obj("dynamics");
    let name = f.nonempty("EntityName");
    let id = f
        .nonempty("EntityId")
        .filter(|id| !id.chars().all(|c| c == '0' || c == '-'));
    if name.is_some() || id.is_some() {
        let mut en = d.obj("entity");
        en.opt_str("name", name.as_deref());
        en.opt_str("id", id.as_deref());
        en.end();
    }
    d.str("message", message);
    d.str("access", access.label(message));
    d.bool("bulk", access == CrmAccess::ReadMultiple);
    if let Some(ids) = f.get("QueryResults").and_then(query_results) {
        d.num("query_result_count", ids.len());
        d.strs("query_results", ids.iter().map(String::as_str));
    }
    if let Some(raw) = f.get("Fields") {
        write_fields(&mut d, raw);
    }
    d.end();
}

/// The record ids in `QueryResults`: a comma-separated string, a JSON array of strings, or
/// a string holding a JSON array.
pub fn query_results(v: Json<'_>) -> Option<Vec<String>> {
    if is_null(v) {
        return None;
    }
    let list = if let Some(s) = raw_str(v) {
        let t = s.trim();
        if t.starts_with('[') {
            serde_json::from_str::<Vec<String>>(t).ok()?
        } else {
            t.split(',').map(|x| x.trim().to_string()).collect()
        }
    } else {
        serde_json::from_str::<Vec<String>>(v.get()).ok()?
    };
    Some(list.into_iter().filter(|s| !s.is_empty()).collect())
}

/// `Fields` as an object `{Name: Value}` (first value of a repeated name wins); accepts a
/// Name/Value array, an object, or a string holding either.
fn write_fields(d: &mut Obj<'_>, raw: Json<'_>) {
    let owned;
    let raw = match raw_str(raw) {
        Some(s) => match crate::record::scan::scan_value(&s) {
            Ok(v) => {
                owned = s[v.start..v.end].to_string();
                Json::from_trusted(&owned)
            }
            Err(_) => return,
        },
        None => raw,
    };
    if raw.get().starts_with('{') {
        d.raw("fields", raw.get());
        return;
    }
    let Some(items) = array(raw) else {
        return;
    };
    let mut seen: Vec<String> = Vec::with_capacity(items.len());
    let mut x = d.obj("fields");
    for (_, nv) in items {
        let Some(nv) = nv else {
            continue;
        };
        let Some(name) = nv.str("Name") else { continue };
        if seen.iter().any(|n| *n == name) {
            continue;
        }
        x.draw(&name, nv.get("Value").map_or("null", |r| r.get()));
        seen.push(name.into_owned());
    }
    x.end();
}
