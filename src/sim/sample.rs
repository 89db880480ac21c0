//! A small sample of simulated records with the feed each comes from, without a server
//! (`o365fwd filter-test` with no input file).

use chrono::Utc;

use super::SimConfig;
use super::model::Model;
use crate::record::ContentType;

/// One record of the sample.
pub struct Sample {
    /// Index of the tenant in [`SimConfig::tenants`].
    pub tenant: usize,
    pub content_type: ContentType,
    pub json: String,
}

/// Up to `per_feed` records of each (tenant, content type), from the newest unexpired
/// blobs backwards (so every workload of a feed shows up), in a stable order.
pub fn sample(cfg: &SimConfig, per_feed: usize) -> Vec<Sample> {
    let now = Utc::now().timestamp_millis();
    let m = Model::new(cfg, now);
    let mut out = Vec::new();
    for tenant in 0..m.tenants.len() {
        for ct in &cfg.content_types {
            let Some(f) = m.feed(tenant, *ct) else {
                continue;
            };
            let mut taken = 0;
            for i in m.window(&f, i64::MIN / 4, now, now).rev() {
                for r in m.layout(&f, i) {
                    if taken == per_feed {
                        break;
                    }
                    let mut json = String::new();
                    m.render_record(&f, &r, &mut json);
                    out.push(Sample {
                        tenant,
                        content_type: *ct,
                        json,
                    });
                    taken += 1;
                }
                if taken == per_feed {
                    break;
                }
            }
        }
    }
    out
}
