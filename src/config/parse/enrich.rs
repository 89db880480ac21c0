//! `[enrich]`: GeoIP/ASN databases and user-agent parsing. The databases are opened here
//! too, so `check` (and a start or a reload) reports a missing or corrupt one at its key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::table::{Ctx, Table};
use crate::format::enrich::geo::{Db, Kind};
use crate::format::enrich::{DEFAULT_WATCH, EnrichConfig};

pub(super) fn enrich(ctx: &mut Ctx<'_>, mut t: Table<'_, '_>, base: &Path) -> EnrichConfig {
    let db = |ctx: &mut Ctx<'_>, t: &mut Table<'_, '_>, key: &'static str, kind: Kind| {
        let (p, span) = t.str(ctx, key)?;
        let path = if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            base.join(p)
        };
        if let Err(e) = Db::open(&path, kind) {
            ctx.report(&t.key(key), Some(&span), e);
        }
        Some(path)
    };
    let city = db(ctx, &mut t, "geoip_city", Kind::City);
    let asn = db(ctx, &mut t, "geoip_asn", Kind::Asn);
    let user_agent = t.bool(ctx, "user_agent", false);
    let watch_interval = t.duration(
        ctx,
        "watch_interval",
        DEFAULT_WATCH,
        Duration::from_secs(1)..=Duration::from_secs(24 * 3600),
    );
    if city.is_none() && asn.is_none() && !user_agent {
        let span = t.span.clone();
        ctx.report(
            &t.key("geoip_city"),
            span.as_ref(),
            "[enrich] turns nothing on: set geoip_city, geoip_asn or user_agent = true (or remove the table)",
        );
    }
    t.finish(ctx);
    EnrichConfig {
        city,
        asn,
        user_agent,
        watch_interval,
    }
}
