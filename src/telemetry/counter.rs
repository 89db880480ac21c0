//! The process-wide table of counter series, and the handles that update them.
//!
//! The table is locked only to resolve a handle (once per feed, per sink, or per event where
//! a label is known only then) and to read it (`/metrics`, tests, summaries). A handle
//! updates its series with one atomic add. A series appears on `/metrics` from its first
//! count (even of zero), as a counter named in the exposition should.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One series of a counter family (one set of label values).
#[derive(Clone, Debug)]
pub struct Counter(Arc<Series>);

#[derive(Debug, Default)]
struct Series {
    value: AtomicU64,
    /// Set by the first count: a series resolved but never counted is not exported.
    counted: AtomicBool,
}

impl Counter {
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.value.fetch_add(n, Ordering::Relaxed);
        if !self.0.counted.load(Ordering::Relaxed) {
            self.0.counted.store(true, Ordering::Release);
        }
    }

    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }
}

/// Family name → series text (`name{label="value",…}`) → series. The series text is the
/// exposition's and orders the samples of a family.
type Table = BTreeMap<&'static str, BTreeMap<String, Arc<Series>>>;

static TABLE: Mutex<Table> = Mutex::new(BTreeMap::new());

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The series of family `name` for these label values (made if it is new).
pub(super) fn resolve(name: &'static str, labels: &[&str], values: &[&str]) -> Counter {
    let key = series(name, labels, values);
    let mut t = table();
    let s = t.entry(name).or_default().entry(key).or_default();
    Counter(s.clone())
}

fn value(s: &Series) -> Option<u64> {
    s.counted
        .load(Ordering::Acquire)
        .then(|| s.value.load(Ordering::Relaxed))
}

pub(super) fn read(name: &str, labels: &[&str], values: &[&str]) -> u64 {
    let key = series(name, labels, values);
    let t = table();
    t.get(name)
        .and_then(|f| f.get(&key))
        .and_then(|s| value(s))
        .unwrap_or(0)
}

pub(super) fn sum(name: &str) -> u64 {
    let t = table();
    t.get(name)
        .map(|f| f.values().filter_map(|s| value(s)).sum())
        .unwrap_or(0)
}

/// Every counted series of a family: its text and value, in exposition order.
pub(super) fn samples(family: &str) -> Vec<(String, u64)> {
    let t = table();
    t.get(family)
        .map(|f| {
            f.iter()
                .filter_map(|(k, s)| Some((k.clone(), value(s)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// One series' text: the name, then the labels with their values escaped as the text
/// format requires.
pub(super) fn series(name: &str, labels: &[&str], values: &[&str]) -> String {
    let mut s = String::from(name);
    if !labels.is_empty() {
        s.push('{');
        for (i, (k, v)) in labels.iter().zip(values).enumerate() {
            if i > 0 {
                s.push(',');
            }
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(s, "{k}=\"{v}\"");
        }
        s.push('}');
    }
    s
}
