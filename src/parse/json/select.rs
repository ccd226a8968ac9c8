//! Reading only the fields a spec names, in one pass over the line.
//!
//! A line used to become a `serde_json::Value` (every key a `String`, every
//! object a map) that the paths were then looked up in, and dropped: for a
//! 400-byte ECS line that was ~16,000 instructions of tree building and
//! freeing, and ~12,000 more of path walking, against ~3,000 for reading
//! the fields a spec needs (issue 17, `bench/PROFILE.md`). So the
//! [`Selector`] knows every path the spec reads (a slot each) and every
//! dotted prefix of one; the walk ([`Selector::read`]) descends only into
//! objects and arrays under such a prefix, skips the rest without building
//! it, and keeps scalars as slices of the line (owned only when the JSON
//! string had escapes).
//!
//! Paths keep their meaning (see [`super::path`]): a nested key and a flat
//! dotted key name the same path (`{"event":{"action":..}}` and
//! `{"event.action":..}` are both `event.action`), numeric segments index
//! arrays. When a line has the same path more than once, the one a nested
//! lookup would have found wins: the longest key at the first level, then
//! at the next ([`rank`]); among equal keys, the last (as a JSON map reads
//! duplicate keys).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::path::Path;

/// What a path may be: a field the spec reads, a prefix of one, or both
/// (`a` when the spec reads `a` and `a.b`).
#[derive(Debug, Clone, Copy)]
struct Want {
    slot: Option<u16>,
    prefix: bool,
}

/// Every path of a spec, numbered, and the prefixes that lead to them: a
/// tree of path segments (node 0 is the line's top level). A line's key is
/// looked up segment by segment from its object's node, so a flat dotted
/// key reaches the same node as the nested keys. A node has a handful of
/// children, compared by length first: cheaper than hashing the joined path
/// for every key of the line (-12% of the read on ECS lines).
#[derive(Debug, Clone)]
pub struct Selector {
    nodes: Vec<Node>,
    slots: usize,
}

#[derive(Debug, Clone)]
struct Node {
    want: Want,
    children: Vec<(Box<str>, usize)>,
}

impl Default for Selector {
    fn default() -> Selector {
        Selector {
            nodes: vec![Node {
                want: Want {
                    slot: None,
                    prefix: true,
                },
                children: Vec::new(),
            }],
            slots: 0,
        }
    }
}

/// A scalar found at a path: the text of a string (trimmed later), a number
/// as JSON wrote it, a boolean; `null`; or an object or array (no text).
#[derive(Debug, Clone, PartialEq)]
pub enum Found<'a> {
    Str(Cow<'a, str>),
    Num(serde_json::Number),
    Bool(bool),
    Null,
    Composite,
}

/// The fields of one line, by slot.
#[derive(Debug)]
pub struct Doc<'a> {
    vals: Vec<Option<(Found<'a>, u64)>>,
}

impl<'a> Doc<'a> {
    /// What the line has at `path` (the path's slot), `null` excepted.
    pub fn get(&self, path: &Path) -> Option<&Found<'a>> {
        match self.vals.get(usize::from(path.slot()?))?.as_ref()? {
            (Found::Null, _) => None,
            (f, _) => Some(f),
        }
    }
}

/// Why a line was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Not JSON (or nested deeper than the JSON reader allows).
    Malformed,
    /// JSON, but not an object.
    NotObject,
}

impl Selector {
    /// Numbers `paths` (each gets its slot; the same text the same slot) and
    /// learns their prefixes.
    pub fn new<'p>(paths: impl IntoIterator<Item = &'p mut Path>) -> Selector {
        let mut sel = Selector::default();
        for p in paths {
            let mut at = 0;
            for seg in p.dotted().split('.') {
                sel.nodes[at].want.prefix = true;
                at = match sel.find(at, seg) {
                    Some(next) => next,
                    None => {
                        let next = sel.nodes.len();
                        sel.nodes.push(Node {
                            want: Want {
                                slot: None,
                                prefix: false,
                            },
                            children: Vec::new(),
                        });
                        sel.nodes[at].children.push((seg.into(), next));
                        next
                    }
                };
            }
            let slot = match sel.nodes[at].want.slot {
                Some(s) => s,
                None => {
                    // A spec names a few dozen paths; more than u16 is not a format.
                    let s = u16::try_from(sel.slots).unwrap_or(u16::MAX);
                    sel.slots += 1;
                    sel.nodes[at].want.slot = Some(s);
                    s
                }
            };
            p.set_slot(slot);
        }
        sel
    }

    fn find(&self, node: usize, seg: &str) -> Option<usize> {
        self.nodes
            .get(node)?
            .children
            .iter()
            .find(|(k, _)| k.as_bytes() == seg.as_bytes())
            .map(|(_, n)| *n)
    }

    /// The node a key (flat dotted or not) leads to from `node`. Most keys
    /// have no dot: they are tried whole before being split.
    fn walk(&self, node: usize, key: &str) -> Option<usize> {
        if let Some(n) = self.find(node, key) {
            return Some(n);
        }
        memchr::memchr(b'.', key.as_bytes())?;
        key.split('.').try_fold(node, |n, seg| self.find(n, seg))
    }

    /// Reads the spec's fields from one line (valid UTF-8).
    pub fn read<'a>(&self, line: &'a str) -> Result<Doc<'a>, ReadError> {
        let mut doc = Doc {
            vals: vec![None; self.slots],
        };
        let mut de = serde_json::Deserializer::from_str(line);
        let top = Walk {
            sel: self,
            doc: &mut doc,
            node: 0,
            want: self.nodes[0].want,
            rank: 0,
            depth: 0,
        };
        let object = top.deserialize(&mut de).map_err(|_| ReadError::Malformed)?;
        de.end().map_err(|_| ReadError::Malformed)?;
        if object {
            Ok(doc)
        } else {
            Err(ReadError::NotObject)
        }
    }
}

/// The rank of a path found through keys of these lengths: the first
/// level's key length in the top 16 bits, then the next levels'. A nested
/// lookup tries the longest key first at each level, so a higher rank is
/// what it would have found.
fn rank(rank: u64, depth: u8, key_len: usize) -> u64 {
    match depth {
        0..=3 => {
            let len = u64::try_from(key_len.min(0xffff)).unwrap_or(0xffff);
            rank | len << (16 * (3 - u32::from(depth)))
        }
        _ => rank,
    }
}

/// One value of the line, at a node of the selector.
struct Walk<'s, 'd, 'a> {
    sel: &'s Selector,
    doc: &'d mut Doc<'a>,
    node: usize,
    want: Want,
    rank: u64,
    depth: u8,
}

impl<'a> Walk<'_, '_, 'a> {
    fn keep(&mut self, found: Found<'a>) {
        let Some(slot) = self.want.slot else { return };
        if let Some(cell) = self.doc.vals.get_mut(usize::from(slot)) {
            match cell {
                Some((_, r)) if *r > self.rank => {}
                _ => *cell = Some((found, self.rank)),
            }
        }
    }

    /// The walk into the child `key` leads to, if the spec wants it.
    fn child(&mut self, key: &str) -> Option<Walk<'_, '_, 'a>> {
        let node = self.sel.walk(self.node, key)?;
        Some(Walk {
            sel: self.sel,
            doc: self.doc,
            node,
            want: self.sel.nodes.get(node)?.want,
            rank: rank(self.rank, self.depth, key.len()),
            depth: self.depth.saturating_add(1),
        })
    }
}

/// Returns whether the value was an object (what the top level must be).
impl<'de: 'a, 'a> DeserializeSeed<'de> for Walk<'_, '_, 'a> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Walk<'_, '_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<bool, E> {
        self.keep(Found::Str(Cow::Borrowed(v)));
        Ok(false)
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<bool, E> {
        if self.want.slot.is_some() {
            self.keep(Found::Str(Cow::Owned(v.to_owned())));
        }
        Ok(false)
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<bool, E> {
        self.keep(Found::Num(v.into()));
        Ok(false)
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<bool, E> {
        self.keep(Found::Num(v.into()));
        Ok(false)
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<bool, E> {
        // JSON has no NaN or infinity, so this is always a number.
        self.keep(serde_json::Number::from_f64(v).map_or(Found::Null, Found::Num));
        Ok(false)
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<bool, E> {
        self.keep(Found::Bool(v));
        Ok(false)
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<bool, E> {
        self.keep(Found::Null);
        Ok(false)
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<bool, M::Error> {
        self.keep(Found::Composite);
        if !self.want.prefix {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(true);
        }
        while let Some(key) = map.next_key_seed(Key)? {
            match self.child(&key) {
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(child) => {
                    map.next_value_seed(child)?;
                }
            }
        }
        Ok(true)
    }

    fn visit_seq<S: SeqAccess<'de>>(mut self, mut seq: S) -> Result<bool, S::Error> {
        self.keep(Found::Composite);
        if !self.want.prefix {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(false);
        }
        let mut i = 0usize;
        loop {
            // Arrays are descended only under a path that indexes one
            // (`authenticationDetails.0.x`), so this allocation is rare.
            let seg = i.to_string();
            let more = match self.child(&seg) {
                None => seq.next_element::<IgnoredAny>()?.is_some(),
                Some(child) => seq.next_element_seed(child)?.is_some(),
            };
            if !more {
                return Ok(false);
            }
            i += 1;
        }
    }
}

/// A key: borrowed from the line unless it had escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests;
