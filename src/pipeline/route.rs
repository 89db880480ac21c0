//! Which records of a batch a filtered sink receives.

use std::sync::Arc;

use super::Batch;
use crate::filter::{Filter, Reason};

pub(super) enum Admitted {
    All,
    None,
    Some(Arc<[u32]>),
}

/// Applies `filter` to every record; adds the dropped counts, per reason, to `dropped`
/// (counted per batch rather than per record, to stay cheap).
pub(super) fn admit<'s>(
    filter: &Filter,
    batch: &Batch,
    sink: &'s str,
    dropped: &mut Vec<(&'s str, Reason, u64)>,
) -> Admitted {
    let origin = batch.feed.origin();
    let mut kept: Vec<u32> = Vec::new();
    let mut first_drop = None;
    let start = dropped.len();
    for (i, rec) in batch.records.iter().enumerate() {
        match filter.check(rec, &origin) {
            Ok(()) => {
                if first_drop.is_some() {
                    kept.push(i as u32);
                }
            }
            Err(reason) => {
                if first_drop.is_none() {
                    // Everything before was admitted: only now is the list needed.
                    first_drop = Some(i);
                    kept.extend(0..i as u32);
                }
                match dropped[start..].iter_mut().find(|(_, r, _)| *r == reason) {
                    Some(d) => d.2 += 1,
                    None => dropped.push((sink, reason, 1)),
                }
            }
        }
    }
    match first_drop {
        None => Admitted::All,
        Some(_) if kept.is_empty() => Admitted::None,
        Some(_) => Admitted::Some(kept.into()),
    }
}
