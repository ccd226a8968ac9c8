//! Named IP lists: files of addresses and CIDRs (Tor exits, a FireHOL netset, the
//! corporate VPN ranges) that rules refer to by name (`in_list = "tor-exits"`).
//!
//! A list file has one entry per line: an address (`192.0.2.7`), a network
//! (`198.51.100.0/24`, `2001:db8::/32`) or a range (`192.0.2.1-192.0.2.9`); `#` and
//! `;` start comments (FireHOL netsets and Spamhaus DROP both parse as they are).
//! A file with a bad line is rejected whole, with every bad line named by file and
//! line: a half-loaded block list would silently stop blocking, which is worse
//! than keeping the previous version (what a reload does) or refusing to start.
//!
//! Lookups must stay fast with 100,000+ prefixes across all lists, on every event.
//! All lists are merged into one sorted table of disjoint address ranges per
//! family, each range pointing at the (shared) set of list names holding it, so a
//! lookup is one binary search and an `Arc` clone, whatever the number of lists.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use thiserror::Error;

use super::stamp::{Check, FileStamp, Reload, Tracked};
use crate::event::Name;

/// A list as configured: its name in rules and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSpec {
    pub name: Name,
    pub path: PathBuf,
}

/// An IP list that cannot be used.
#[derive(Debug, Error)]
pub enum IpListError {
    #[error("{path}: cannot read IP list \"{name}\": {source}")]
    Io {
        name: Name,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {msg}")]
    Line {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{path}: IP list name \"{name}\" is configured twice")]
    DuplicateName { name: Name, path: PathBuf },
}

/// An inclusive range of addresses of one family (IPv4 values fit in the low 32 bits).
type Range = (u128, u128);

#[derive(Debug)]
struct List {
    spec: ListSpec,
    v4: Vec<Range>,
    v6: Vec<Range>,
    tracked: Tracked,
}

/// Disjoint ranges of one family: `starts[i]..starts[i+1]` is held by `sets[i]`.
#[derive(Debug, Default)]
struct Index {
    starts: Vec<u128>,
    sets: Vec<u32>,
}

impl Index {
    fn set_of(&self, x: u128) -> u32 {
        // starts[0] is always 0, so the partition point is at least 1.
        let i = self.starts.partition_point(|s| *s <= x);
        i.checked_sub(1)
            .and_then(|i| self.sets.get(i))
            .copied()
            .unwrap_or(0)
    }
}

/// The configured IP lists, merged for lookup.
#[derive(Debug)]
pub struct IpLists {
    lists: Vec<List>,
    v4: Index,
    v6: Index,
    /// Distinct sets of list names; `sets[0]` is the empty set.
    sets: Vec<Arc<[Name]>>,
}

impl Default for IpLists {
    fn default() -> Self {
        IpLists::empty()
    }
}

impl IpLists {
    /// No lists: every lookup answers the empty set.
    pub fn empty() -> IpLists {
        let mut l = IpLists {
            lists: Vec::new(),
            v4: Index::default(),
            v6: Index::default(),
            sets: Vec::new(),
        };
        l.rebuild();
        l
    }

    /// Loads every list; reports every unreadable file, bad line and duplicate name.
    pub fn load(specs: &[ListSpec]) -> Result<IpLists, Vec<IpListError>> {
        let mut lists = Vec::with_capacity(specs.len());
        let mut errors = Vec::new();
        for spec in specs {
            if lists.iter().any(|l: &List| l.spec.name == spec.name) {
                errors.push(IpListError::DuplicateName {
                    name: spec.name.clone(),
                    path: spec.path.clone(),
                });
                continue;
            }
            let stamp = FileStamp::of(&spec.path).ok();
            match read_list(spec) {
                Ok((v4, v6)) => lists.push(List {
                    spec: spec.clone(),
                    v4,
                    v6,
                    tracked: Tracked::new(stamp),
                }),
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut l = IpLists::empty();
        l.lists = lists;
        l.rebuild();
        Ok(l)
    }

    /// True when no list is configured.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Each list's name and number of entries (after merging overlaps), in
    /// configuration order.
    pub fn info(&self) -> Vec<(Name, usize)> {
        self.lists
            .iter()
            .map(|l| (l.spec.name.clone(), l.v4.len() + l.v6.len()))
            .collect()
    }

    /// The names of the lists holding `ip` (in configuration order; empty when
    /// none does). Allocation-free: the returned set is shared.
    pub fn lists_for(&self, ip: IpAddr) -> Arc<[Name]> {
        let set = match ip.to_canonical() {
            IpAddr::V4(a) => self.v4.set_of(u128::from(u32::from(a))),
            IpAddr::V6(a) => self.v6.set_of(u128::from(a)),
        };
        self.sets
            .get(set as usize)
            .or_else(|| self.sets.first())
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// Re-reads every list whose file changed. A list that fails keeps its
    /// previous version; its errors are reported once.
    pub fn reload_if_changed(&mut self) -> Reload<IpListError> {
        let mut out = Reload::default();
        for l in &mut self.lists {
            match l.tracked.check(&l.spec.path) {
                Check::Unchanged => {}
                Check::Gone(source) => out.errors.push(IpListError::Io {
                    name: l.spec.name.clone(),
                    path: l.spec.path.clone(),
                    source,
                }),
                Check::Changed(stamp) => match read_list(&l.spec) {
                    Ok((v4, v6)) => {
                        l.v4 = v4;
                        l.v6 = v6;
                        l.tracked.loaded(stamp);
                        out.changed = true;
                    }
                    Err(mut e) => {
                        l.tracked.failed(stamp);
                        out.errors.append(&mut e);
                    }
                },
            }
        }
        if out.changed {
            self.rebuild();
        }
        out
    }

    /// Merges the lists into the per-family lookup tables.
    fn rebuild(&mut self) {
        let mut sets: Vec<Arc<[Name]>> = vec![Arc::from(Vec::new())];
        let mut ids: HashMap<Vec<usize>, u32> = HashMap::new();
        ids.insert(Vec::new(), 0);
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, l) in self.lists.iter().enumerate() {
            v4.extend(l.v4.iter().map(|r| (*r, i)));
            v6.extend(l.v6.iter().map(|r| (*r, i)));
        }
        let lists = &self.lists;
        let mut intern = |members: Vec<usize>| -> u32 {
            if let Some(id) = ids.get(&members) {
                return *id;
            }
            let id = sets.len() as u32;
            let names: Vec<Name> = members
                .iter()
                .map(|i| lists[*i].spec.name.clone())
                .collect();
            sets.push(Arc::from(names));
            ids.insert(members, id);
            id
        };
        self.v4 = build_index(v4, self.lists.len(), &mut intern);
        self.v6 = build_index(v6, self.lists.len(), &mut intern);
        self.sets = sets;
    }
}

/// Sweeps the range boundaries of all lists in address order, keeping a count of
/// the ranges of each list covering the current point.
fn build_index(
    ranges: Vec<(Range, usize)>,
    nlists: usize,
    intern: &mut impl FnMut(Vec<usize>) -> u32,
) -> Index {
    // (point, list, +1 opens / -1 closes); a range ending at the top of the
    // address space never closes.
    let mut edges: Vec<(u128, usize, i32)> = Vec::with_capacity(ranges.len() * 2);
    for ((lo, hi), i) in ranges {
        edges.push((lo, i, 1));
        if let Some(after) = hi.checked_add(1) {
            edges.push((after, i, -1));
        }
    }
    edges.sort_unstable_by_key(|e| e.0);
    let mut idx = Index {
        starts: vec![0],
        sets: vec![0],
    };
    let mut count = vec![0i32; nlists];
    let mut k = 0;
    while k < edges.len() {
        let point = edges[k].0;
        while k < edges.len() && edges[k].0 == point {
            count[edges[k].1] += edges[k].2;
            k += 1;
        }
        let members: Vec<usize> = (0..nlists).filter(|i| count[*i] > 0).collect();
        let id = intern(members);
        if idx.sets.last() == Some(&id) {
            continue;
        }
        if idx.starts.last() == Some(&point) {
            // Only at point 0: replace the implicit empty start.
            if let Some(last) = idx.sets.last_mut() {
                *last = id;
            }
        } else {
            idx.starts.push(point);
            idx.sets.push(id);
        }
    }
    idx
}

/// Reads one list file into sorted IPv4 and IPv6 ranges.
fn read_list(spec: &ListSpec) -> Result<(Vec<Range>, Vec<Range>), Vec<IpListError>> {
    let bytes = std::fs::read(&spec.path).map_err(|source| {
        vec![IpListError::Io {
            name: spec.name.clone(),
            path: spec.path.clone(),
            source,
        }]
    })?;
    parse_list(&bytes, &spec.path)
}

/// Parses the text of a list file; `path` is for error messages only.
pub fn parse_list(bytes: &[u8], path: &Path) -> Result<(Vec<Range>, Vec<Range>), Vec<IpListError>> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let mut errors = Vec::new();
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let err = |msg: String| IpListError::Line {
            path: path.to_path_buf(),
            line: n + 1,
            msg,
        };
        let Ok(line) = std::str::from_utf8(raw) else {
            errors.push(err("not UTF-8 text".into()));
            continue;
        };
        let line = line.trim_start_matches('\u{feff}');
        let entry = line.split(['#', ';']).next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        match parse_entry(entry) {
            Ok((true, r)) => v4.push(r),
            Ok((false, r)) => v6.push(r),
            Err(msg) => errors.push(err(format!("{msg}: \"{}\"", crate::escape::Escaped(entry)))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((merge(v4), merge(v6)))
}

/// One entry as a range; the bool is true for IPv4.
fn parse_entry(s: &str) -> Result<(bool, Range), String> {
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (parse_addr(a.trim())?, parse_addr(b.trim())?);
        if a.0 != b.0 {
            return Err("range mixes IPv4 and IPv6".into());
        }
        if a.1 > b.1 {
            return Err("range ends before it starts".into());
        }
        return Ok((a.0, (a.1, b.1)));
    }
    if s.contains('/') {
        let net: IpNet = s
            .parse()
            .map_err(|_| "not an IP address, network or range".to_string())?;
        let net = net.trunc();
        return Ok(match net {
            IpNet::V4(n) => (
                true,
                (
                    u128::from(u32::from(n.network())),
                    u128::from(u32::from(n.broadcast())),
                ),
            ),
            IpNet::V6(n) => (false, (u128::from(n.network()), u128::from(n.broadcast()))),
        });
    }
    let (v4, x) = parse_addr(s)?;
    Ok((v4, (x, x)))
}

fn parse_addr(s: &str) -> Result<(bool, u128), String> {
    match s.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(a)) => Ok((true, u128::from(u32::from(a)))),
        Ok(IpAddr::V6(a)) => Ok((false, u128::from(a))),
        Err(_) => Err("not an IP address, network or range".into()),
    }
}

/// Sorts ranges and joins overlapping or adjacent ones.
fn merge(mut v: Vec<Range>) -> Vec<Range> {
    v.sort_unstable();
    let mut out: Vec<Range> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
