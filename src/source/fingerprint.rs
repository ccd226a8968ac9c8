//! File identity: device, inode and a hash of the first bytes.
//!
//! Device and inode say which file an open handle or a path refers to right now.
//! They are not enough across a restart: once a file is deleted and closed, its
//! inode may be given to a new file. The hash of the first bytes already
//! consumed tells the two apart (log lines start with timestamps), so a
//! checkpoint is only resumed on the file it was written for. The hash is
//! FNV-1a, fixed here, because checkpoints are persisted and must compare equal
//! across builds (`std`'s hasher makes no such promise).

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use super::Fingerprint;

/// How many leading bytes identify a file.
pub const HEAD_MAX: u64 = 256;

/// FNV-1a over `bytes`; `0` for no bytes, so an empty head is recognisable.
pub fn head_hash(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Hash of the first `len` bytes of `file` (`len` at most [`HEAD_MAX`]), or
/// `None` if the file is now shorter than that.
pub fn read_head(file: &File, len: u64) -> io::Result<Option<u64>> {
    let len = len.min(HEAD_MAX) as usize;
    let mut buf = [0u8; HEAD_MAX as usize];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..len], got as u64) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(head_hash(&buf[..len])))
}

/// The fingerprint of an open file whose first `consumed` bytes have been read:
/// the head covers at most those (and at most [`HEAD_MAX`]), the part of the
/// file the checkpoint vouches for.
pub fn of_file(file: &File, consumed: u64) -> io::Result<Fingerprint> {
    let meta = file.metadata()?;
    let head_len = consumed.min(HEAD_MAX).min(meta.len());
    let head_hash = read_head(file, head_len)?.unwrap_or(0);
    Ok(Fingerprint {
        dev: meta.dev(),
        inode: meta.ino(),
        head_hash,
        head_len: head_len as u32,
    })
}

/// Whether `file` (whose metadata says `size` bytes) still starts with the bytes
/// `fp` hashed, and is long enough for a checkpoint at `offset`.
pub fn head_matches(file: &File, fp: &Fingerprint, size: u64, offset: u64) -> io::Result<bool> {
    if size < offset || size < u64::from(fp.head_len) {
        return Ok(false);
    }
    Ok(read_head(file, u64::from(fp.head_len))? == Some(fp.head_hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn hash_is_fixed_and_empty_is_zero() {
        assert_eq!(head_hash(b""), 0);
        // Published FNV-1a 64 test vector.
        assert_eq!(head_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(head_hash(b"ab"), head_hash(b"ba"));
    }

    #[test]
    fn fingerprint_covers_consumed_bytes_only() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"hello\nworld\n").unwrap();
        let fp = of_file(&f, 6).unwrap();
        assert_eq!(fp.head_len, 6);
        assert_eq!(fp.head_hash, head_hash(b"hello\n"));
        assert!(head_matches(&f, &fp, 12, 6).unwrap());
        // A checkpoint beyond the end does not match.
        assert!(!head_matches(&f, &fp, 12, 13).unwrap());
        let long = vec![b'x'; 1000];
        f.write_all(&long).unwrap();
        assert_eq!(of_file(&f, 1012).unwrap().head_len, 256);
        assert_eq!(of_file(&f, 0).unwrap().head_len, 0);
    }
}
