//! Which content type the Management Activity API lists a record under, for records that
//! arrive without one (`import` of a Purview export, `backfill` from the Graph audit search).

use super::{ContentType, Record};

/// The content type the API lists a record under. The docs do not say (reference §8); this
/// follows the rule of thumb there: DLP record types → `DLP.All`; then `Workload`
/// (AzureActiveDirectory, Exchange, SharePoint/OneDrive); then record types 8/9/15, 1–3 and
/// 4/6/7 for records without a workload; everything else → `Audit.General`.
pub fn content_type_of(r: &Record) -> ContentType {
    const DLP: [i64; 7] = [11, 13, 33, 63, 99, 100, 107];
    if r.record_type.is_some_and(|t| DLP.contains(&t)) {
        return ContentType::DlpAll;
    }
    match r.workload().map(str::to_ascii_lowercase).as_deref() {
        Some("azureactivedirectory") => return ContentType::AzureActiveDirectory,
        Some("exchange") => return ContentType::Exchange,
        Some("sharepoint") | Some("onedrive") => return ContentType::SharePoint,
        Some(_) => return ContentType::General,
        None => {}
    }
    match r.record_type {
        Some(8 | 9 | 15) => ContentType::AzureActiveDirectory,
        Some(1..=3) => ContentType::Exchange,
        Some(4 | 6 | 7) => ContentType::SharePoint,
        _ => ContentType::General,
    }
}

#[cfg(test)]
mod tests;
