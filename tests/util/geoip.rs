//! A minimal MaxMind DB writer, so the GeoIP tests run without the MaxMind test
//! databases: a binary search tree over IPv6 (IPv4 networks live under `::/96`,
//! as in MaxMind's own databases), a data section in the MaxMind DB encoding,
//! and the metadata map after the `\xab\xcd\xefMaxMind.com` marker (format spec:
//! maxmind.github.io/MaxMind-DB). Only what the tests need: no overlapping
//! networks, no pointers, no data de-duplication.

use std::net::IpAddr;

/// A value in the data section.
#[derive(Debug, Clone)]
pub enum V {
    Str(&'static str),
    Double(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Map(Vec<(&'static str, V)>),
    Array(Vec<V>),
}

/// Shorthand for a map value.
pub fn map(pairs: &[(&'static str, V)]) -> V {
    V::Map(pairs.to_vec())
}

fn control(out: &mut Vec<u8>, ty: u8, size: usize) {
    let (first, ext) = if ty <= 7 {
        (ty << 5, None)
    } else {
        (0, Some(ty - 7))
    };
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
pub fn encode(out: &mut Vec<u8>, v: &V) {
    match v {
        V::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        V::Double(d) => {
            control(out, 3, 8);
            out.extend(d.to_be_bytes());
        }
        V::U16(n) => uint(out, 5, u64::from(*n)),
        V::U32(n) => uint(out, 6, u64::from(*n)),
        V::U64(n) => uint(out, 9, *n),
        V::Bool(b) => control(out, 14, usize::from(*b)),
        V::Map(pairs) => {
            control(out, 7, pairs.len());
            for (k, v) in pairs {
                encode(out, &V::Str(k));
                encode(out, v);
            }
        }
        V::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(out, v);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds one database.
pub struct Builder {
    database_type: &'static str,
    record_size: u16,
    nodes: Vec<[Rec; 2]>,
    data: Vec<u8>,
}

impl Builder {
    /// A database whose metadata says `database_type`, with 24-bit records.
    pub fn new(database_type: &'static str) -> Builder {
        Builder {
            database_type,
            record_size: 24,
            nodes: vec![[Rec::Empty, Rec::Empty]],
            data: Vec::new(),
        }
    }

    /// Uses 32-bit records instead (24 and 32 are supported).
    pub fn record_size(mut self, bits: u16) -> Builder {
        assert!(bits == 24 || bits == 32);
        self.record_size = bits;
        self
    }

    /// Maps `net` (`192.0.2.0/24`, `2001:db8::/32`) to `value`.
    pub fn insert(&mut self, net: &str, value: V) -> &mut Builder {
        let (addr, len) = net.split_once('/').unwrap();
        let (bits, len): (u128, u32) = match addr.parse::<IpAddr>().unwrap() {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 96 + len.parse::<u32>().unwrap()),
            IpAddr::V6(a) => (u128::from(a), len.parse().unwrap()),
        };
        let offset = self.data.len();
        encode(&mut self.data, &value);
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == len {
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
                Rec::Data(_) => panic!("overlapping networks are not supported"),
            };
        }
        self
    }

    /// The database file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let count = self.nodes.len();
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
        let meta = map(&[
            ("binary_format_major_version", V::U16(2)),
            ("binary_format_minor_version", V::U16(0)),
            ("build_epoch", V::U64(1_767_225_600)),
            ("database_type", V::Str(self.database_type)),
            (
                "description",
                map(&[("en", V::Str("loginwatch test database"))]),
            ),
            ("ip_version", V::U16(6)),
            ("languages", V::Array(vec![V::Str("en")])),
            ("node_count", V::U32(count as u32)),
            ("record_size", V::U16(self.record_size)),
        ]);
        encode(&mut out, &meta);
        out
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
