//! A small MaxMind DB writer, so a GeoIP database can be written as readable
//! JSON (a rule test's `geoip.json`) and built in memory when it is used.
//!
//! The format (maxmind.github.io/MaxMind-DB): a binary search tree over IPv6
//! (IPv4 networks live under `::/96`, as in MaxMind's own databases), a data
//! section in the MaxMind DB encoding, and the metadata map after the
//! `\xab\xcd\xefMaxMind.com` marker. Only what small test databases need: no
//! overlapping networks, no pointers, no de-duplication of data. The reader
//! verifies what is built ([`super::GeoDbs::from_bytes`]), as it does files.
//!
//! The JSON form ([`from_json`]) is `{"database_type": "GeoLite2-City",
//! "networks": {"CIDR": record}}`, each record as MaxMind writes it
//! (`{"country": {"iso_code": "JP"}, "location": {"latitude": 35.7,
//! "longitude": 139.7}}`, `{"autonomous_system_number": 64496}`, ...).

use std::net::IpAddr;

use serde_json::Value as Json;
use thiserror::Error;

/// A value of the data section.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Map(Vec<(String, Value)>),
    Array(Vec<Value>),
}

/// Why a database cannot be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MmdbError {
    #[error("{0:?} is not a network (expected ADDRESS/PREFIX, as 192.0.2.0/24)")]
    Network(String),
    #[error("{0} overlaps a network given before it")]
    Overlap(String),
    #[error("the database is too large for this writer")]
    TooLarge,
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Shape(String),
}

fn control(out: &mut Vec<u8>, ty: u8, size: usize) {
    let (first, ext) = if ty <= 7 {
        (ty << 5, None)
    } else {
        (0, Some(ty - 7))
    };
    // Sizes past 16 MiB do not occur in what this writer is for; the
    // 3-byte form is simply truncated to its width.
    let (bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, vec![])
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    out.push(first | bits);
    if let Some(e) = ext {
        out.push(e);
    }
    out.extend(extra);
}

fn uint(out: &mut Vec<u8>, ty: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, ty, 8 - skip);
    out.extend(&bytes[skip..]);
}

/// Encodes `v` in the MaxMind DB data format.
pub fn encode(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => encode_str(out, s),
        Value::Double(d) => {
            control(out, 3, 8);
            out.extend(d.to_be_bytes());
        }
        Value::U16(n) => uint(out, 5, u64::from(*n)),
        Value::U32(n) => uint(out, 6, u64::from(*n)),
        Value::U64(n) => uint(out, 9, *n),
        Value::Bool(b) => control(out, 14, usize::from(*b)),
        Value::Map(pairs) => {
            control(out, 7, pairs.len());
            for (k, v) in pairs {
                encode_str(out, k);
                encode(out, v);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(out, v);
            }
        }
    }
}

fn encode_str(out: &mut Vec<u8>, s: &str) {
    control(out, 2, s.len());
    out.extend(s.as_bytes());
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds one database.
pub struct Writer {
    database_type: String,
    record_size: u16,
    nodes: Vec<[Rec; 2]>,
    data: Vec<u8>,
}

impl Writer {
    /// A database whose metadata says `database_type`, with 24-bit records.
    pub fn new(database_type: &str) -> Writer {
        Writer {
            database_type: database_type.to_owned(),
            record_size: 24,
            nodes: vec![[Rec::Empty, Rec::Empty]],
            data: Vec::new(),
        }
    }

    /// Uses 32-bit records instead of 24 (any other width is taken as 32).
    pub fn record_size(mut self, bits: u16) -> Writer {
        self.record_size = if bits == 24 { 24 } else { 32 };
        self
    }

    /// Maps `net` (`192.0.2.0/24`, `2001:db8::/32`) to `value`.
    pub fn insert(&mut self, net: &str, value: &Value) -> Result<&mut Writer, MmdbError> {
        let bad = || MmdbError::Network(net.to_owned());
        let (addr, len) = net.split_once('/').ok_or_else(bad)?;
        let len: u32 = len.parse().map_err(|_| bad())?;
        let (bits, len): (u128, u32) = match addr.parse::<IpAddr>().map_err(|_| bad())? {
            IpAddr::V4(a) if (1..=32).contains(&len) => (u128::from(u32::from(a)), 96 + len),
            IpAddr::V6(a) if (1..=128).contains(&len) => (u128::from(a), len),
            _ => return Err(bad()),
        };
        let offset = self.data.len();
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == len {
                if !matches!(self.nodes[node][bit], Rec::Empty) {
                    return Err(MmdbError::Overlap(net.to_owned()));
                }
                self.nodes[node][bit] = Rec::Data(offset);
                break;
            }
            node = match self.nodes[node][bit] {
                Rec::Node(n) => n,
                Rec::Empty => {
                    self.nodes.push([Rec::Empty, Rec::Empty]);
                    let n = self.nodes.len() - 1;
                    self.nodes[node][bit] = Rec::Node(n);
                    n
                }
                Rec::Data(_) => return Err(MmdbError::Overlap(net.to_owned())),
            };
        }
        encode(&mut self.data, value);
        Ok(self)
    }

    /// The database file's bytes.
    pub fn build(&self) -> Result<Vec<u8>, MmdbError> {
        let count = self.nodes.len();
        let limit: u64 = if self.record_size == 24 {
            1 << 24
        } else {
            1 << 32
        };
        if (count + 16 + self.data.len()) as u64 >= limit {
            return Err(MmdbError::TooLarge);
        }
        let value = |r: Rec| -> u32 {
            (match r {
                Rec::Empty => count,
                Rec::Node(n) => n,
                Rec::Data(off) => count + 16 + off,
            }) as u32
        };
        let mut out = Vec::new();
        for [l, r] in &self.nodes {
            for rec in [*l, *r] {
                let v = value(rec).to_be_bytes();
                match self.record_size {
                    24 => out.extend(&v[1..]),
                    _ => out.extend(v),
                }
            }
        }
        out.extend([0u8; 16]);
        out.extend(&self.data);
        out.extend(b"\xab\xcd\xefMaxMind.com");
        let s = |s: &str| Value::Str(s.to_owned());
        let meta = Value::Map(vec![
            ("binary_format_major_version".into(), Value::U16(2)),
            ("binary_format_minor_version".into(), Value::U16(0)),
            ("build_epoch".into(), Value::U64(1_767_225_600)),
            ("database_type".into(), s(&self.database_type)),
            (
                "description".into(),
                Value::Map(vec![("en".into(), s("loginwatch test database"))]),
            ),
            ("ip_version".into(), Value::U16(6)),
            ("languages".into(), Value::Array(vec![s("en")])),
            ("node_count".into(), Value::U32(count as u32)),
            ("record_size".into(), Value::U16(self.record_size)),
        ]);
        encode(&mut out, &meta);
        Ok(out)
    }
}

/// A database from its JSON description (see the module header).
pub fn from_json(text: &str) -> Result<Vec<u8>, MmdbError> {
    let desc: Json = serde_json::from_str(text).map_err(|e| MmdbError::Json(e.to_string()))?;
    let shape = |m: &str| MmdbError::Shape(m.to_owned());
    let kind = desc
        .get("database_type")
        .and_then(Json::as_str)
        .ok_or_else(|| shape("\"database_type\" must be a string (\"GeoLite2-City\")"))?;
    let networks = desc
        .get("networks")
        .and_then(Json::as_object)
        .ok_or_else(|| shape("\"networks\" must be an object of CIDR: record"))?;
    if let Some(other) = desc
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "database_type" && *k != "networks"))
    {
        return Err(MmdbError::Shape(format!(
            "unknown key {other:?} (expected \"database_type\" and \"networks\")"
        )));
    }
    let mut w = Writer::new(kind);
    for (net, record) in networks {
        let v = value(record).map_err(|m| MmdbError::Shape(format!("{net}: {m}")))?;
        w.insert(net, &v)?;
    }
    w.build()
}

/// The data-section form of a JSON value: whole numbers that fit become
/// unsigned integers (MaxMind's `uint32`, else `uint64`), others doubles.
fn value(v: &Json) -> Result<Value, String> {
    Ok(match v {
        Json::String(s) => Value::Str(s.clone()),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_u64() {
            Some(n) => u32::try_from(n).map_or(Value::U64(n), Value::U32),
            None => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::Array(a) => Value::Array(a.iter().map(value).collect::<Result<_, _>>()?),
        Json::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), value(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Json::Null => return Err("null has no MaxMind DB form".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::GeoDbs;

    #[test]
    fn a_json_description_builds_a_database_the_reader_answers_from() {
        let db = from_json(
            r#"{"database_type": "GeoLite2-City", "networks": {
                "203.0.113.0/24": {"country": {"iso_code": "JP"},
                    "location": {"latitude": 35.69, "longitude": 139.69}},
                "2001:db8::/32": {"country": {"iso_code": "SE"}}}}"#,
        )
        .unwrap();
        let dbs = GeoDbs::from_bytes(std::path::Path::new("geoip.json"), db).unwrap();
        let geo = dbs.lookup("203.0.113.9".parse().unwrap()).geo.unwrap();
        assert_eq!(geo.country_iso_code.as_deref(), Some("JP"));
        assert_eq!(geo.location, Some((35.69, 139.69)));
        let geo = dbs.lookup("2001:db8::1".parse().unwrap()).geo.unwrap();
        assert_eq!(geo.country_iso_code.as_deref(), Some("SE"));
        assert!(dbs.lookup("198.51.100.1".parse().unwrap()).geo.is_none());
    }

    #[test]
    fn bad_descriptions_are_errors_not_panics() {
        for (text, want) in [
            ("{", "not valid JSON"),
            (r#"{"networks": {}}"#, "database_type"),
            (r#"{"database_type": "GeoLite2-ASN"}"#, "networks"),
            (
                r#"{"database_type": "x", "networks": {}, "extra": 1}"#,
                "unknown key",
            ),
            (
                r#"{"database_type": "x", "networks": {"10.0.0.0": {}}}"#,
                "not a network",
            ),
            (
                r#"{"database_type": "x", "networks": {"10.0.0.0/33": {}}}"#,
                "not a network",
            ),
            (
                r#"{"database_type": "x", "networks": {"10.0.0.0/8": {"a": null}}}"#,
                "null",
            ),
            (
                r#"{"database_type": "x", "networks": {"10.0.0.0/8": {}, "10.1.0.0/16": {}}}"#,
                "overlaps",
            ),
        ] {
            let e = from_json(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
