//! GeoIP databases for tests, written by the library's MaxMind DB writer
//! (`loginwatch::enrich::mmdb`), so the GeoIP tests run without the MaxMind
//! test databases. This file only keeps the terse `'static` form the tests
//! write their records in.

use loginwatch::enrich::mmdb::{Value, Writer};

/// A value in the data section.
#[derive(Debug, Clone)]
pub enum V {
    Str(&'static str),
    Double(f64),
    U16(u16),
    U32(u32),
    Bool(bool),
    Map(Vec<(&'static str, V)>),
}

impl V {
    fn value(&self) -> Value {
        match self {
            V::Str(s) => Value::Str((*s).to_owned()),
            V::Double(d) => Value::Double(*d),
            V::U16(n) => Value::U16(*n),
            V::U32(n) => Value::U32(*n),
            V::Bool(b) => Value::Bool(*b),
            V::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| ((*k).to_owned(), v.value()))
                    .collect(),
            ),
        }
    }
}

/// Shorthand for a map value.
pub fn map(pairs: &[(&'static str, V)]) -> V {
    V::Map(pairs.to_vec())
}

/// Builds one database.
pub struct Builder(Writer);

impl Builder {
    /// A database whose metadata says `database_type`, with 24-bit records.
    pub fn new(database_type: &'static str) -> Builder {
        Builder(Writer::new(database_type))
    }

    /// Uses 32-bit records instead (24 and 32 are supported).
    pub fn record_size(self, bits: u16) -> Builder {
        assert!(bits == 24 || bits == 32);
        Builder(self.0.record_size(bits))
    }

    /// Maps `net` (`192.0.2.0/24`, `2001:db8::/32`) to `value`.
    pub fn insert(&mut self, net: &str, value: V) -> &mut Builder {
        self.0.insert(net, &value.value()).unwrap();
        self
    }

    /// The database file's bytes.
    pub fn build(&self) -> Vec<u8> {
        self.0.build().unwrap()
    }
}

/// A City database placing each `(network, country ISO code, latitude,
/// longitude)`: the fields the location rules read.
pub fn city(places: &[(&str, &'static str, f64, f64)]) -> Vec<u8> {
    let mut b = Builder::new("GeoLite2-City");
    for &(net, iso, lat, lon) in places {
        b.insert(
            net,
            map(&[
                ("country", map(&[("iso_code", V::Str(iso))])),
                (
                    "location",
                    map(&[("latitude", V::Double(lat)), ("longitude", V::Double(lon))]),
                ),
            ]),
        );
    }
    b.build()
}
