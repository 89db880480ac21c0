//! The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` per family
//! of [`metric::FAMILIES`](super::metric::FAMILIES), in that order, then its samples: the
//! counted series of a counter family, the values a gauge family was given at this scrape.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::counter;
use super::metric::{FAMILIES, GaugeFamily};

/// Gauge values computed at scrape time, by family.
#[derive(Debug, Default)]
pub struct Gauges(BTreeMap<&'static str, Vec<(String, f64)>>);

impl Gauges {
    /// Adds one sample; samples print in the order they were set.
    pub fn set<const N: usize>(
        &mut self,
        family: &'static GaugeFamily<N>,
        values: [&str; N],
        v: f64,
    ) {
        let m = &family.meta;
        let series = counter::series(m.name, m.labels, &values);
        self.0.entry(m.name).or_default().push((series, v));
    }
}

/// Every family with its HELP and TYPE, then its samples: counters from the process-wide
/// table, gauges from `gauges`.
pub fn render(gauges: &Gauges) -> String {
    let mut out = String::new();
    for f in FAMILIES {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        // Counters with no sample yet are still announced, so dashboards see the family.
        for (s, v) in counter::samples(f.name) {
            let _ = writeln!(out, "{s} {v}");
        }
        for (s, v) in gauges.0.get(f.name).into_iter().flatten() {
            let _ = writeln!(out, "{s} {}", fmt_f64(*v));
        }
    }
    out
}

fn fmt_f64(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests;
