//! GeoIP and ASN lookups in MaxMind-format databases (GeoLite2 / GeoIP2 City and ASN,
//! DB-IP lite city and ASN: the same record layout). Only the English names and the
//! fields Elastic's `geoip` processor writes by default are decoded.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use maxminddb::{Mmap, Reader};
use serde::Deserialize;

#[derive(Deserialize, Default)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct Named<'a> {
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize, Default)]
struct Coded<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize, Default)]
struct Location {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

#[derive(Deserialize, Default)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    city: Named<'a>,
    #[serde(borrow, default)]
    continent: Named<'a>,
    #[serde(borrow, default)]
    country: Coded<'a>,
    #[serde(default)]
    location: Location,
    #[serde(borrow, default)]
    subdivisions: Vec<Coded<'a>>,
}

#[derive(Deserialize, Default)]
struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

/// What the databases know of one address (borrowed from the mapped database).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Geo<'a> {
    pub city_name: Option<&'a str>,
    pub continent_name: Option<&'a str>,
    pub country_iso_code: Option<&'a str>,
    pub country_name: Option<&'a str>,
    /// The first subdivision's ISO code, without the country prefix (`M`, `NV`).
    pub region_code: Option<&'a str>,
    pub region_name: Option<&'a str>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub as_number: Option<u32>,
    pub as_org: Option<&'a str>,
}

impl Geo<'_> {
    pub fn has_location(&self) -> bool {
        self.city_name.is_some()
            || self.continent_name.is_some()
            || self.country_iso_code.is_some()
            || self.country_name.is_some()
            || self.region_name.is_some()
            || self.location().is_some()
    }

    pub fn location(&self) -> Option<(f64, f64)> {
        self.lat.zip(self.lon)
    }

    /// `region_iso_code` as Elastic writes it: `ES-M`.
    pub fn region_iso_code(&self) -> Option<String> {
        let (country, region) = self.country_iso_code.zip(self.region_code)?;
        Some(format!("{country}-{region}"))
    }
}

/// One opened database and what identifies the file it came from.
pub struct Db {
    pub path: PathBuf,
    reader: Reader<Mmap>,
    pub stamp: FileStamp,
}

/// (modification time, length, inode): geoipupdate replaces a database by renaming a new
/// file over it, which changes all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp(Option<SystemTime>, u64, u64);

pub fn stamp(path: &Path) -> std::io::Result<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok(FileStamp(m.modified().ok(), m.len(), m.ino()))
}

/// Which kind of database a key expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    City,
    Asn,
}

impl Db {
    /// Opens and checks a database: it must be a MaxMind DB whose type fits `kind`.
    pub fn open(path: &Path, kind: Kind) -> Result<Db, String> {
        let stamp = stamp(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // SAFETY: the file is mapped read-only and never written by us. Database updaters
        // (geoipupdate, DB-IP's) write a new file and rename it over the old one, which
        // leaves this mapping on the old file; docs/config.md asks for that way of updating.
        let reader = unsafe { Reader::open_mmap(path) }.map_err(|e| {
            format!(
                "{} is not a readable MaxMind DB (.mmdb): {e}",
                path.display()
            )
        })?;
        let ty = reader.metadata().database_type.to_ascii_lowercase();
        let fits = match kind {
            Kind::City => ty.contains("city") || ty.contains("country") || ty.contains("location"),
            Kind::Asn => ty.contains("asn") || ty.contains("isp"),
        };
        if !fits {
            return Err(format!(
                "{} is a {:?} database, not a {} one",
                path.display(),
                reader.metadata().database_type,
                if kind == Kind::City {
                    "City (or Country)"
                } else {
                    "ASN"
                }
            ));
        }
        Ok(Db {
            path: path.to_path_buf(),
            reader,
            stamp,
        })
    }

    /// The city fields of `ip`, into `geo`. A lookup error (a corrupt record) counts as
    /// nothing found: enrichment never stops a record.
    pub fn city<'a>(&'a self, ip: IpAddr, geo: &mut Geo<'a>) {
        let Ok(Some(r)) = self
            .reader
            .lookup(ip)
            .and_then(|l| l.decode::<CityRecord<'a>>())
        else {
            return;
        };
        geo.city_name = r.city.names.en;
        geo.continent_name = r.continent.names.en;
        geo.country_iso_code = r.country.iso_code;
        geo.country_name = r.country.names.en;
        if let Some(sub) = r.subdivisions.first() {
            geo.region_code = sub.iso_code;
            geo.region_name = sub.names.en;
        }
        geo.lat = r.location.latitude.filter(|v| v.is_finite());
        geo.lon = r.location.longitude.filter(|v| v.is_finite());
    }

    pub fn asn<'a>(&'a self, ip: IpAddr, geo: &mut Geo<'a>) {
        let Ok(Some(r)) = self
            .reader
            .lookup(ip)
            .and_then(|l| l.decode::<AsnRecord<'a>>())
        else {
            return;
        };
        geo.as_number = r.autonomous_system_number;
        geo.as_org = r.autonomous_system_organization;
    }
}
