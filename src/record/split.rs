//! Reassembly of Dynamics 365 records that the unified audit log split for size.
//!
//! A Dataverse row larger than ~3 KB arrives as several audit records sharing a
//! `CorrelationId`, with no part number and no "last part" marker, possibly in different
//! blobs hours apart and possibly repeated. Every part is still forwarded as its own
//! record; this module additionally builds a *merged view* of each group:
//!
//! - parts are grouped on (`OrganizationId`, `CorrelationId`, `Operation`, `EntityName`,
//!   `UserId`, `CreationTime`), since `CorrelationId` alone is not proven unique;
//! - a group is complete when `horizon` has passed since its last part; it is emitted as
//!   `partial` when it is pushed out early: by its age (`max_age` since the first part),
//!   by the group-count or memory budget, or by [`Reassembler::flush`];
//! - `QueryResults` ids are concatenated (deduplicated, first-seen order), `Fields` are
//!   unioned by `Name` (first value wins), distinct `Query` pieces are concatenated in
//!   arrival order, other fields come from the first part that has them;
//! - a repeated part (same `Id`) is ignored; a group of one part yields nothing, because
//!   that part already is the whole event.
//!
//! The merged record carries the part ids under [`PARTS_KEY`], [`PARTIAL_KEY`], and the id
//! `<smallest part id>+m` (38 characters for a GUID, so it fits CEF `externalId`),
//! deterministic for a given set of parts. Pure logic: time
//! comes from the caller.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::bounds::later;
use crate::record::Record;

/// Key of the part ids in a merged record.
pub const PARTS_KEY: &str = "O365fwdParts";
/// Key of the `partial` flag in a merged record.
pub const PARTIAL_KEY: &str = "O365fwdPartial";

/// Bounds of the reassembler.
#[derive(Debug, Clone)]
pub struct SplitConfig {
    /// Quiet time after the last part before a group counts as complete.
    pub horizon: Duration,
    /// Longest a group is held after its first part (then emitted as partial).
    pub max_age: Duration,
    /// Most groups held at once; the oldest is emitted (partial) beyond it.
    pub max_groups: usize,
    /// Most bytes of part text held at once; the oldest groups are emitted beyond it.
    pub max_bytes: usize,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            horizon: Duration::from_secs(2 * 3600),
            max_age: Duration::from_secs(24 * 3600),
            max_groups: 10_000,
            max_bytes: 64 << 20,
        }
    }
}

/// Which parts belong together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub organization_id: String,
    pub correlation_id: String,
    pub operation: String,
    pub entity_name: String,
    pub user_id: String,
    pub creation_time: String,
}

impl GroupKey {
    /// The key of a Dynamics 365 record with a non-empty `CorrelationId`, else `None`.
    pub fn of(map: &Map<String, Value>, rec: &Record) -> Option<GroupKey> {
        let crm = rec.record_type == Some(21) || rec.workload() == Some("CRM");
        let s = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let correlation_id = s("CorrelationId");
        if !crm || correlation_id.trim().is_empty() {
            return None;
        }
        Some(GroupKey {
            organization_id: s("OrganizationId").to_ascii_lowercase(),
            correlation_id,
            operation: s("Operation"),
            entity_name: s("EntityName").to_lowercase(),
            user_id: s("UserId").to_lowercase(),
            creation_time: s("CreationTime"),
        })
    }
}

/// A merged view of a split group.
#[derive(Debug, Clone)]
pub struct Merged {
    pub record: Record,
    /// The part ids, in arrival order.
    pub parts: Vec<Box<str>>,
    /// Emitted before `horizon` passed quietly: more parts may exist.
    pub partial: bool,
}

struct Group {
    seq: u64,
    first: Instant,
    last: Instant,
    due: Instant,
    bytes: usize,
    base: Map<String, Value>,
    parts: Vec<Box<str>>,
    ids: Vec<String>,
    ids_seen: HashSet<String>,
    fields: Vec<Value>,
    field_names: HashSet<String>,
    queries: Vec<String>,
}

/// Bounded reassembler of split Dynamics 365 records.
pub struct Reassembler {
    cfg: SplitConfig,
    groups: HashMap<GroupKey, Group>,
    /// (due, seq) of every group, for [`Reassembler::poll`].
    due: BTreeSet<(Instant, u64)>,
    /// seq → key; seq grows with creation, so the first entry is the oldest group.
    by_seq: std::collections::BTreeMap<u64, GroupKey>,
    bytes: usize,
    next_seq: u64,
}

impl Reassembler {
    pub fn new(cfg: SplitConfig) -> Reassembler {
        Reassembler {
            cfg,
            groups: HashMap::new(),
            due: BTreeSet::new(),
            by_seq: Default::default(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// Groups held.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Bytes of part text held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// When the next group falls due, for the caller's timer.
    pub fn next_due(&self) -> Option<Instant> {
        self.due.first().map(|(t, _)| *t)
    }

    /// Adds a record that arrived at `now`. Records that cannot be split parts are
    /// ignored. Returns the merged views the budgets pushed out (partial).
    pub fn push(&mut self, rec: &Record, now: Instant) -> Vec<Merged> {
        // Cheap checks on the head and the index first: most records are not split parts,
        // and building a full JSON tree for each was a hot spot.
        let crm = rec.record_type == Some(21) || rec.workload() == Some("CRM");
        let has_correlation = || {
            crate::record::classify::Fields::of(rec)
                .and_then(|f| f.nonempty("CorrelationId"))
                .is_some()
        };
        if !crm || !has_correlation() {
            return Vec::new();
        }
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(rec.raw.get()) else {
            return Vec::new();
        };
        let Some(key) = GroupKey::of(&map, rec) else {
            return Vec::new();
        };
        let size = rec.raw.get().len();
        let id: Box<str> = Box::<str>::from(rec.id());
        if let Some(g) = self.groups.get_mut(&key) {
            if g.parts.contains(&id) {
                return Vec::new();
            }
            self.due.remove(&(g.due, g.seq));
            g.last = now;
            g.due = later(now, self.cfg.horizon).min(later(g.first, self.cfg.max_age));
            g.bytes += size;
            g.parts.push(id);
            absorb(g, map);
            self.due.insert((g.due, g.seq));
        } else {
            let seq = self.next_seq;
            self.next_seq += 1;
            let due = later(now, self.cfg.horizon.min(self.cfg.max_age));
            let mut g = Group {
                seq,
                first: now,
                last: now,
                due,
                bytes: size,
                base: Map::new(),
                parts: vec![id],
                ids: Vec::new(),
                ids_seen: HashSet::new(),
                fields: Vec::new(),
                field_names: HashSet::new(),
                queries: Vec::new(),
            };
            absorb(&mut g, map);
            self.due.insert((due, seq));
            self.by_seq.insert(seq, key.clone());
            self.groups.insert(key, g);
        }
        self.bytes += size;
        let mut out = Vec::new();
        while self.groups.len() > self.cfg.max_groups || self.bytes > self.cfg.max_bytes {
            let Some((_, oldest)) = self.by_seq.first_key_value() else {
                break;
            };
            let oldest = oldest.clone();
            out.extend(self.take(&oldest, true));
        }
        out
    }

    /// Emits the groups that fell due by `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<Merged> {
        let mut out = Vec::new();
        while let Some(&(due, seq)) = self.due.first() {
            if due > now {
                break;
            }
            let Some(key) = self.by_seq.get(&seq).cloned() else {
                self.due.remove(&(due, seq));
                continue;
            };
            let aged = self.groups.get(&key).is_some_and(|g| {
                later(g.first, self.cfg.max_age) < later(g.last, self.cfg.horizon)
            });
            out.extend(self.take(&key, aged));
        }
        out
    }

    /// Emits every group now (shutdown); all are partial.
    pub fn flush(&mut self) -> Vec<Merged> {
        let keys: Vec<GroupKey> = self.by_seq.values().cloned().collect();
        keys.iter().filter_map(|k| self.take(k, true)).collect()
    }

    fn take(&mut self, key: &GroupKey, partial: bool) -> Option<Merged> {
        let g = self.groups.remove(key)?;
        self.due.remove(&(g.due, g.seq));
        self.by_seq.remove(&g.seq);
        self.bytes -= g.bytes;
        (g.parts.len() > 1).then(|| finish(g, partial))
    }
}

/// The record ids of a `QueryResults` value.
pub fn query_result_ids(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if s.trim_start().starts_with('[') => {
            serde_json::from_str::<Vec<String>>(s).unwrap_or_else(|_| vec![s.clone()])
        }
        Value::String(s) => s.split(',').map(|x| x.trim().to_string()).collect(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn absorb(g: &mut Group, map: Map<String, Value>) {
    for (k, v) in map {
        match k.as_str() {
            "QueryResults" => {
                for id in query_result_ids(&v) {
                    if !id.is_empty() && g.ids_seen.insert(id.clone()) {
                        g.ids.push(id);
                    }
                }
            }
            "Fields" => {
                let v = match v {
                    Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
                    v => v,
                };
                for f in v.as_array().into_iter().flatten() {
                    let name = f.get("Name").and_then(Value::as_str).unwrap_or("");
                    if g.field_names.insert(name.to_string()) {
                        g.fields.push(f.clone());
                    }
                }
            }
            "Query" => {
                if let Some(q) = v.as_str().filter(|q| !q.is_empty())
                    && !g.queries.iter().any(|x| x == q)
                {
                    g.queries.push(q.to_string());
                }
            }
            _ => {
                if g.base.get(&k).is_none_or(Value::is_null) {
                    g.base.insert(k, v);
                }
            }
        }
    }
}

fn finish(g: Group, partial: bool) -> Merged {
    let mut m = g.base;
    let min_id = g.parts.iter().min().map_or("", |s| s.as_ref());
    m.insert("Id".into(), Value::String(format!("{min_id}+m")));
    if !g.ids.is_empty() {
        m.insert("QueryResults".into(), Value::String(g.ids.join(",")));
    }
    if !g.fields.is_empty() {
        m.insert("Fields".into(), Value::Array(g.fields));
    }
    if !g.queries.is_empty() {
        m.insert("Query".into(), Value::String(g.queries.concat()));
    }
    let parts: Vec<Value> = g
        .parts
        .iter()
        .map(|p| Value::String(p.to_string()))
        .collect();
    m.insert(PARTS_KEY.into(), Value::Array(parts));
    m.insert(PARTIAL_KEY.into(), Value::Bool(partial));
    let text = Value::Object(m).to_string();
    let record = match Record::from_json(&text, "merged") {
        Ok(r) => r,
        // Unreachable: `text` was just serialised from a Value.
        Err(_) => Record::from_raw(serde_json::value::RawValue::NULL.to_owned(), "merged", 0),
    };
    Merged {
        record,
        parts: g.parts,
        partial,
    }
}

#[cfg(test)]
mod tests;
