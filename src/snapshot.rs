//! Snapshots: the compact binary form of in-memory state that decides future
//! output (rule windows, the sshd parser's correlation table).
//!
//! The daemon commits a snapshot in the same transaction as the file offsets it
//! corresponds to, so that after a crash it restarts exactly where that state
//! was: no event lost, none counted twice, the same decision ids. This module
//! holds what the engine and parser snapshots share: a two-byte header (what the
//! bytes hold, and the format version) in front of a `postcard` body, and the one
//! error type. postcard is small, well kept and not self-describing, which keeps a
//! snapshot of 100k keys compact; the header makes an old or foreign blob an error
//! (the daemon then starts fresh with a warning) rather than garbage state.

use serde::{Deserialize, Serialize};

/// What a snapshot holds (its first byte), so one kind is never restored as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    /// Rule-engine state ([`crate::rules::Engine::snapshot`]).
    Engine,
    /// sshd parser correlation state ([`crate::parse::Parser::snapshot`]).
    SshdParser,
    /// CSV parser header and encoding ([`crate::parse::csv::CsvParser::snapshot`]).
    CsvParser,
}

impl SnapshotKind {
    fn tag(self) -> u8 {
        match self {
            SnapshotKind::Engine => b'E',
            SnapshotKind::SshdParser => b'S',
            SnapshotKind::CsvParser => b'C',
        }
    }

    /// A short name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Engine => "rule engine",
            SnapshotKind::SshdParser => "sshd parser",
            SnapshotKind::CsvParser => "CSV parser",
        }
    }
}

/// Why a snapshot could not be restored. Every case means "start fresh": the
/// caller logs it and builds a new engine or parser.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Fewer bytes than the header.
    #[error("snapshot is truncated: {0} bytes")]
    Truncated(usize),
    /// The bytes hold another kind of state (or are not a snapshot at all).
    #[error("snapshot does not hold {} state (tag byte {found:#04x})", expected.as_str())]
    WrongKind { expected: SnapshotKind, found: u8 },
    /// Written by another version of loginwatch with another layout.
    #[error(
        "snapshot format version {found} is not supported (this build reads version {supported})"
    )]
    UnknownVersion { found: u8, supported: u8 },
    /// The body does not decode.
    #[error("snapshot is corrupt: {0}")]
    Corrupt(#[from] postcard::Error),
    /// The body decodes but holds a value no snapshot writes.
    #[error("snapshot is corrupt: {0}")]
    Invalid(&'static str),
    /// Writing a streamed snapshot failed.
    #[error("cannot write the snapshot: {0}")]
    Io(#[from] std::io::Error),
}

/// State that can be written straight into its destination without first
/// being built as one buffer: the engine's snapshot is 12 MB under a flood of
/// keys, and the daemon commits it every checkpoint. The state database sizes
/// a blob with [`Streamed::encoded_len`], then fills it with
/// [`Streamed::write_to`]: the snapshot is serialized twice (the measuring
/// pass writes nothing), which is cheaper than holding it (bench/flood.sh).
pub trait Streamed {
    /// The exact number of bytes [`Streamed::write_to`] writes.
    fn encoded_len(&self) -> Result<usize, SnapshotError>;
    /// Writes the snapshot's bytes (the same as the in-memory encoding).
    fn write_to(&self, out: &mut dyn std::io::Write) -> Result<(), SnapshotError>;
}

/// Bytes already encoded.
impl Streamed for Vec<u8> {
    fn encoded_len(&self) -> Result<usize, SnapshotError> {
        Ok(self.len())
    }

    fn write_to(&self, out: &mut dyn std::io::Write) -> Result<(), SnapshotError> {
        Ok(out.write_all(self)?)
    }
}

/// The length of [`encode`]'s result, measured without building it.
pub(crate) fn encoded_len<T: Serialize>(body: &T) -> Result<usize, SnapshotError> {
    let body = postcard::serialize_with_flavor(body, postcard::ser_flavors::Size::default())?;
    Ok(2 + body)
}

/// Writes [`encode`]'s bytes to `out`. postcard reports a failed write only as
/// a full buffer, so the writer's own error is kept aside and returned.
pub(crate) fn encode_to<T: Serialize>(
    kind: SnapshotKind,
    version: u8,
    body: &T,
    out: &mut dyn std::io::Write,
) -> Result<(), SnapshotError> {
    struct Keep<'a> {
        out: &'a mut dyn std::io::Write,
        err: Option<std::io::Error>,
    }
    impl std::io::Write for Keep<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.out.write(buf).map_err(|e| {
                let kind = e.kind();
                self.err.get_or_insert(e);
                std::io::Error::from(kind)
            })
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.out.flush()
        }
    }
    let mut keep = Keep { out, err: None };
    let written = std::io::Write::write_all(&mut keep, &[kind.tag(), version])
        .map_err(SnapshotError::from)
        .and_then(|()| Ok(postcard::to_io(body, &mut keep).map(drop)?));
    match (written, keep.err) {
        (_, Some(e)) => Err(e.into()),
        (r, None) => r,
    }
}

/// `header + postcard(body)`.
///
/// Serializing the snapshot types into a `Vec` cannot fail (every sequence has a
/// known length, every value is supported); should it ever, the header alone is
/// returned, which restores as [`SnapshotError::Corrupt`], so the worst case is a
/// fresh start with a warning, never wrong state.
pub(crate) fn encode<T: Serialize>(kind: SnapshotKind, version: u8, body: &T) -> Vec<u8> {
    let out = vec![kind.tag(), version];
    match postcard::to_extend(body, out) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(kind = kind.as_str(), error = %e, "cannot encode snapshot");
            vec![kind.tag(), version]
        }
    }
}

/// The format version in the header of a snapshot of `kind`, so a reader that
/// still understands an older layout can pick it before [`decode`].
pub(crate) fn version(kind: SnapshotKind, bytes: &[u8]) -> Result<u8, SnapshotError> {
    let [tag, found, ..] = bytes else {
        return Err(SnapshotError::Truncated(bytes.len()));
    };
    if *tag != kind.tag() {
        return Err(SnapshotError::WrongKind {
            expected: kind,
            found: *tag,
        });
    }
    Ok(*found)
}

/// Checks the header and decodes the body; trailing bytes are corruption.
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    kind: SnapshotKind,
    version: u8,
    bytes: &'a [u8],
) -> Result<T, SnapshotError> {
    let [tag, found, body @ ..] = bytes else {
        return Err(SnapshotError::Truncated(bytes.len()));
    };
    if *tag != kind.tag() {
        return Err(SnapshotError::WrongKind {
            expected: kind,
            found: *tag,
        });
    }
    if *found != version {
        return Err(SnapshotError::UnknownVersion {
            found: *found,
            supported: version,
        });
    }
    let (value, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(SnapshotError::Invalid("bytes after the end of the state"));
    }
    Ok(value)
}

/// Encodes "never" (`i64::MIN`, the engine's sentinel) as `None`: one byte
/// instead of ten in postcard's varints.
pub(crate) fn opt_time(t: i64) -> Option<i64> {
    (t != i64::MIN).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_checked_before_the_body() {
        let b = encode(SnapshotKind::Engine, 3, &(7u32, "x"));
        let ok: (u32, &str) = decode(SnapshotKind::Engine, 3, &b).unwrap();
        assert_eq!(ok, (7, "x"));
        let r = decode::<(u32, &str)>(SnapshotKind::Engine, 4, &b);
        assert!(matches!(
            r,
            Err(SnapshotError::UnknownVersion {
                found: 3,
                supported: 4
            })
        ));
        let r = decode::<(u32, &str)>(SnapshotKind::SshdParser, 3, &b);
        assert!(matches!(
            r,
            Err(SnapshotError::WrongKind { found: b'E', .. })
        ));
        let r = decode::<(u32, &str)>(SnapshotKind::Engine, 3, &b[..1]);
        assert!(matches!(r, Err(SnapshotError::Truncated(1))));
        assert_eq!(version(SnapshotKind::Engine, &b).ok(), Some(3));
        assert!(version(SnapshotKind::SshdParser, &b).is_err());
        assert!(version(SnapshotKind::Engine, &b[..1]).is_err());
        let r = decode::<(u32, &str)>(SnapshotKind::Engine, 3, &b[..b.len() - 1]);
        assert!(matches!(r, Err(SnapshotError::Corrupt(_))));
        let mut long = b.clone();
        long.push(0);
        let r = decode::<(u32, &str)>(SnapshotKind::Engine, 3, &long);
        assert!(matches!(r, Err(SnapshotError::Invalid(_))));
    }
}
