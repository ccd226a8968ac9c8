//! GeoIP: where a source address is, which network owns it, and whether it is an
//! anonymizer, read from MaxMind DB (`.mmdb`) files.
//!
//! Operators configure any number of databases (a City or Country one, an ASN one,
//! an Anonymous-IP one; GeoIP2, GeoLite2 or compatible). Each file's role comes from
//! its own metadata (`database_type`), never from its name, so a renamed file still
//! works and a database of a kind loginwatch cannot use is a clear error rather
//! than a silent gap. Files are read whole into memory (not mapped): `geoipupdate`
//! replaces them while the daemon runs, and a mapped file truncated under a reader
//! would crash it. Each database is verified when loaded, so a corrupt file is an
//! error at load time, and a reload that fails keeps the previous version.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maxminddb::{MaxMindDbError, Reader, geoip2};
use thiserror::Error;

use super::stamp::{Check, FileStamp, Reload, Tracked};
use crate::event::Geo;

/// What a GeoIP database can answer, from its metadata `database_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    /// City-level location (GeoIP2/GeoLite2 City, Enterprise): country, city, lat/lon.
    City,
    /// Country only.
    Country,
    /// Autonomous system number and organization (GeoLite2 ASN, GeoIP2 ISP).
    Asn,
    /// Anonymizer flags (GeoIP2 Anonymous-IP, GeoIP Anonymous Plus).
    AnonymousIp,
}

impl DbKind {
    /// Classifies a metadata `database_type` (`GeoIP2-City`, `GeoLite2-ASN`,
    /// `DBIP-Country-Lite`, ...); `None` for a kind loginwatch does not read.
    pub fn from_database_type(t: &str) -> Option<DbKind> {
        // Order matters: `GeoIP2-Anonymous-IP` must not be read as an ISP database.
        if t.contains("Anonymous") {
            Some(DbKind::AnonymousIp)
        } else if t.contains("ASN") || t.ends_with("-ISP") || t.contains("-ISP-") {
            Some(DbKind::Asn)
        } else if t.contains("City") || t.contains("Enterprise") {
            Some(DbKind::City)
        } else if t.contains("Country") {
            Some(DbKind::Country)
        } else {
            None
        }
    }

    /// A short name for messages and `loginwatch geoip`.
    pub fn as_str(self) -> &'static str {
        match self {
            DbKind::City => "city",
            DbKind::Country => "country",
            DbKind::Asn => "asn",
            DbKind::AnonymousIp => "anonymous-ip",
        }
    }
}

impl fmt::Display for DbKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A GeoIP database that cannot be used; every variant names the file.
#[derive(Debug, Error)]
pub enum GeoError {
    #[error("{path}: cannot read GeoIP database: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid MaxMind DB file: {source}")]
    Invalid {
        path: PathBuf,
        source: MaxMindDbError,
    },
    #[error(
        "{path}: unsupported GeoIP database type \"{database_type}\" \
         (expected a City, Country, ASN/ISP or Anonymous-IP database)"
    )]
    UnknownType {
        path: PathBuf,
        database_type: String,
    },
    #[error("{path}: lookup of {ip} failed: {source}")]
    Lookup {
        path: PathBuf,
        ip: IpAddr,
        source: MaxMindDbError,
    },
}

/// One loaded database.
struct Db {
    path: PathBuf,
    kind: DbKind,
    reader: Reader<Vec<u8>>,
    /// `None` for a database built in memory: nothing on disk to reload.
    tracked: Option<Tracked>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What `loginwatch geoip` and start-up logs say about a loaded database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    pub path: PathBuf,
    pub kind: DbKind,
    /// The metadata `database_type`, as written.
    pub database_type: String,
    /// The metadata `build_epoch` (Unix seconds).
    pub build_epoch: u64,
}

/// The answer of [`GeoDbs::lookup`]: what the databases that answered say, and
/// the first database error, if any (the other databases still answer).
#[derive(Debug)]
pub struct Lookup {
    /// `None` when no database knows the address.
    pub geo: Option<Geo>,
    pub error: Option<GeoError>,
}

/// The configured GeoIP databases, in the order given (for a field several
/// databases answer, such as the country of a City and a Country database, the
/// first one wins).
#[derive(Debug)]
pub struct GeoDbs {
    dbs: Vec<Db>,
}

fn load(path: &Path) -> Result<(DbKind, Reader<Vec<u8>>), GeoError> {
    let bytes = std::fs::read(path).map_err(|source| GeoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    reader(path, bytes)
}

fn reader(path: &Path, bytes: Vec<u8>) -> Result<(DbKind, Reader<Vec<u8>>), GeoError> {
    let invalid = |source| GeoError::Invalid {
        path: path.to_path_buf(),
        source,
    };
    let reader = Reader::from_source(bytes).map_err(invalid)?;
    // A full verification walks the whole file once per load; it is what turns a
    // corrupt or truncated download into a load error instead of wrong answers.
    reader.verify().map_err(invalid)?;
    let t = &reader.metadata().database_type;
    let kind = DbKind::from_database_type(t).ok_or_else(|| GeoError::UnknownType {
        path: path.to_path_buf(),
        database_type: t.clone(),
    })?;
    Ok((kind, reader))
}

impl GeoDbs {
    /// Opens every database in `paths`; reports every file that cannot be used.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<GeoDbs, Vec<GeoError>> {
        let mut dbs = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for p in paths {
            let path = p.as_ref();
            let stamp = FileStamp::of(path).ok();
            match load(path) {
                Ok((kind, reader)) => dbs.push(Db {
                    path: path.to_path_buf(),
                    kind,
                    reader,
                    tracked: Some(Tracked::new(stamp)),
                }),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(GeoDbs { dbs })
        } else {
            Err(errors)
        }
    }

    /// A database already in memory (a rule test's `geoip.json`, built by
    /// [`super::mmdb`]), verified as a file is; `label` names it in messages.
    /// It is never reloaded.
    pub fn from_bytes(label: &Path, bytes: Vec<u8>) -> Result<GeoDbs, GeoError> {
        let (kind, reader) = reader(label, bytes)?;
        Ok(GeoDbs {
            dbs: vec![Db {
                path: label.to_path_buf(),
                kind,
                reader,
                tracked: None,
            }],
        })
    }

    /// Adds `other`'s databases after these (they answer after them).
    pub fn append(&mut self, other: GeoDbs) {
        self.dbs.extend(other.dbs);
    }

    /// The loaded databases, in lookup order.
    pub fn info(&self) -> Vec<DbInfo> {
        self.dbs
            .iter()
            .map(|d| DbInfo {
                path: d.path.clone(),
                kind: d.kind,
                database_type: d.reader.metadata().database_type.clone(),
                build_epoch: d.reader.metadata().build_epoch,
            })
            .collect()
    }

    /// True when a database of `kind` is loaded.
    pub fn has(&self, kind: DbKind) -> bool {
        self.dbs.iter().any(|d| d.kind == kind)
    }

    /// Re-reads every database whose file changed since it was loaded. A file that
    /// fails to load keeps the previous version in use; its error is reported
    /// once (not on every check).
    pub fn reload_if_changed(&mut self) -> Reload<GeoError> {
        let mut out = Reload::default();
        for db in &mut self.dbs {
            let Some(tracked) = &mut db.tracked else {
                continue;
            };
            match tracked.check(&db.path) {
                Check::Unchanged => {}
                Check::Gone(source) => out.errors.push(GeoError::Io {
                    path: db.path.clone(),
                    source,
                }),
                Check::Changed(stamp) => match load(&db.path) {
                    Ok((kind, reader)) => {
                        db.kind = kind;
                        db.reader = reader;
                        tracked.loaded(stamp);
                        out.changed = true;
                    }
                    Err(e) => {
                        tracked.failed(stamp);
                        out.errors.push(e);
                    }
                },
            }
        }
        out
    }

    /// Asks every database about `ip` and merges the answers.
    pub fn lookup(&self, ip: IpAddr) -> Lookup {
        // An IPv4-mapped address (`::ffff:1.2.3.4`, as dual-stack sockets log
        // them) is looked up as the IPv4 address it carries.
        let ip = ip.to_canonical();
        let mut geo = Geo::default();
        let mut found = false;
        let mut error = None;
        for db in &self.dbs {
            match lookup_one(db, ip, &mut geo) {
                Ok(hit) => found |= hit,
                Err(source) => {
                    if error.is_none() {
                        error = Some(GeoError::Lookup {
                            path: db.path.clone(),
                            ip,
                            source,
                        });
                    }
                }
            }
        }
        Lookup {
            geo: found.then_some(geo),
            error,
        }
    }
}

fn name(s: Option<&str>) -> Option<Arc<str>> {
    s.filter(|s| !s.is_empty()).map(Arc::from)
}

/// Fills the fields `db` knows into `geo` (first answer wins); true when the
/// database has a record for `ip`.
fn lookup_one(db: &Db, ip: IpAddr, geo: &mut Geo) -> Result<bool, MaxMindDbError> {
    let r = db.reader.lookup(ip)?;
    if !r.has_data() {
        return Ok(false);
    }
    match db.kind {
        DbKind::City => {
            if let Some(c) = r.decode::<geoip2::City>()? {
                set_if_none(&mut geo.country_iso_code, name(c.country.iso_code));
                set_if_none(&mut geo.city_name, name(c.city.names.english));
                if geo.location.is_none()
                    && let (Some(lat), Some(lon)) = (c.location.latitude, c.location.longitude)
                {
                    geo.location = Some((lat, lon));
                }
            }
        }
        DbKind::Country => {
            if let Some(c) = r.decode::<geoip2::Country>()? {
                set_if_none(&mut geo.country_iso_code, name(c.country.iso_code));
            }
        }
        DbKind::Asn => {
            if let Some(a) = r.decode::<geoip2::Asn>()? {
                if geo.as_number.is_none() {
                    geo.as_number = a.autonomous_system_number;
                }
                set_if_none(
                    &mut geo.as_organization,
                    name(a.autonomous_system_organization),
                );
            }
        }
        DbKind::AnonymousIp => {
            if let Some(a) = r.decode::<geoip2::AnonymousIp>()? {
                let flag = |b: Option<bool>| b.unwrap_or(false);
                let an = &mut geo.anonymous;
                an.vpn |= flag(a.is_anonymous_vpn);
                an.tor |= flag(a.is_tor_exit_node);
                an.hosting |= flag(a.is_hosting_provider);
                an.public_proxy |= flag(a.is_public_proxy);
                an.any |= flag(a.is_anonymous) || an.vpn || an.tor || an.public_proxy;
            }
        }
    }
    Ok(true)
}

fn set_if_none<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_metadata_type() {
        for (t, k) in [
            ("GeoIP2-City", DbKind::City),
            ("GeoLite2-City", DbKind::City),
            ("GeoIP2-City-Shield", DbKind::City),
            ("GeoIP2-Enterprise", DbKind::City),
            ("DBIP-City-Lite", DbKind::City),
            ("GeoIP2-Country", DbKind::Country),
            ("GeoLite2-Country", DbKind::Country),
            ("GeoLite2-ASN", DbKind::Asn),
            ("GeoIP2-ISP", DbKind::Asn),
            ("GeoIP2-Anonymous-IP", DbKind::AnonymousIp),
            ("GeoIP-Anonymous-Plus", DbKind::AnonymousIp),
        ] {
            assert_eq!(DbKind::from_database_type(t), Some(k), "{t}");
        }
        for t in ["GeoIP2-Domain", "GeoIP2-Connection-Type", "Test", ""] {
            assert_eq!(DbKind::from_database_type(t), None, "{t}");
        }
    }

    #[test]
    fn garbage_and_missing_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.mmdb");
        std::fs::write(&bad, b"\xab\xcd\xefMaxMind.com\x00\x01garbage").unwrap();
        let missing = dir.path().join("missing.mmdb");
        let errs = GeoDbs::open(&[&bad, &missing]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(matches!(errs[0], GeoError::Invalid { .. }));
        assert!(errs[0].to_string().contains("bad.mmdb"));
        assert!(matches!(errs[1], GeoError::Io { .. }));
    }
}
