//! Truncation, poll by poll: which followed files shrank or were rewritten
//! (copytruncate, a plain truncate), the copy a copytruncate left beside
//! them (followed from the old offset, before the file's new lines), and
//! files released after it. Part of the tailer ([`super::tail`]), apart
//! because it is the subtle part.

use std::fs::File;
use std::path::PathBuf;

use super::discover::SourceError;
use super::follow::{self, Followed};
use super::{Checkpoint, FileId, SourceSpec, Start, TailEvent};
use super::{copy, fingerprint};

/// Checks every file of a source for truncation. The copy of a truncated file
/// that is still at its path is looked for beside it and followed, detached,
/// from the old offset, placed just before that file (its lines are older than
/// anything the file holds now, also if the file is rotated next); a rotated
/// file that is truncated is let go (whatever was unread in it is gone, and its
/// new content is no longer this log's). Returns the indices of the files to
/// release and of those that could not be checked (not read this poll).
pub(super) fn check_truncations(
    spec: &SourceSpec,
    files: &mut Vec<Followed>,
    errors: &mut Vec<SourceError>,
    next_id: &mut u64,
    events: &mut Vec<TailEvent>,
) -> (Vec<usize>, Vec<usize>) {
    enum Check {
        Fine,
        Unreadable,
        Truncated(follow::Truncation),
    }
    let checks: Vec<Check> = files
        .iter_mut()
        .map(|f| match f.check_truncation() {
            Ok(Some(t)) => Check::Truncated(t),
            Ok(None) => Check::Fine,
            Err(e) => {
                errors.push(SourceError::from_io(&f.path, &e));
                Check::Unreadable
            }
        })
        .collect();
    // Files let go now do not count as followed: `cp` over a drained copy
    // keeps its inode, and the new copy must still be found.
    let followed: Vec<(u64, u64)> = files
        .iter()
        .zip(&checks)
        .filter(|(f, c)| f.attached || !matches!(c, Check::Truncated(_)))
        .map(|(f, _)| (f.dev, f.inode))
        .collect();
    let (mut release, mut unreadable) = (Vec::new(), Vec::new());
    let mut out = Vec::with_capacity(files.len() + 1);
    for (f, check) in std::mem::take(files).into_iter().zip(checks) {
        let t = match check {
            Check::Fine => {
                out.push(f);
                continue;
            }
            Check::Unreadable => {
                unreadable.push(out.len());
                out.push(f);
                continue;
            }
            Check::Truncated(t) => t,
        };
        let copy = if f.attached {
            copy::find_copy(
                &copy::Wanted {
                    path: &f.path,
                    fingerprint: &t.fingerprint_was,
                    offset: t.offset_was,
                    seen_mtime: t.mtime_was,
                },
                &|dev, ino| followed.contains(&(dev, ino)),
            )
        } else {
            None
        };
        events.push(TailEvent::Truncated {
            source: spec.name.clone(),
            file: f.id,
            path: f.path.clone(),
            offset_was: t.offset_was,
            copy: copy.as_ref().map(|(p, _)| p.clone()),
            lost_bytes: Some(if copy.is_some() { 0 } else { t.unread_bytes() }),
        });
        if let Some((path, file)) = copy
            && let Some(c) = follow_copy(spec, path, file, t.offset_was, next_id, events)
        {
            out.push(c);
        }
        if !f.attached {
            release.push(out.len());
        }
        out.push(f);
    }
    *files = out;
    (release, unreadable)
}

/// At start-up, for a checkpoint whose file at `path` is now truncated: its
/// copy beside it, followed from the checkpoint's offset, if one is found.
pub(super) fn copy_while_stopped(
    cp: &Checkpoint,
    path: &std::path::Path,
    files: &[Followed],
    next_id: &mut u64,
    spec: &SourceSpec,
    events: &mut Vec<TailEvent>,
) -> Option<Followed> {
    // Nothing consumed, nothing to recover (and no head to recognise it by).
    if cp.fingerprint.head_len == 0 {
        return None;
    }
    let ids: Vec<(u64, u64)> = files.iter().map(|f| (f.dev, f.inode)).collect();
    let (copy_path, file) = copy::find_copy(
        &copy::Wanted {
            path,
            fingerprint: &cp.fingerprint,
            offset: cp.offset,
            seen_mtime: None,
        },
        &|dev, ino| ids.contains(&(dev, ino)),
    )?;
    follow_copy(spec, copy_path, file, cp.offset, next_id, events)
}

/// A [`Followed`] for the copy of a truncated file, detached so it is read
/// before the files at the source's paths and released once drained.
pub(super) fn follow_copy(
    spec: &SourceSpec,
    path: PathBuf,
    file: File,
    offset: u64,
    next_id: &mut u64,
    events: &mut Vec<TailEvent>,
) -> Option<Followed> {
    // Without its identity the copy cannot be told from a file a glob finds.
    let fp = fingerprint::of_file(&file, offset).ok()?;
    let id = FileId(*next_id);
    *next_id += 1;
    events.push(TailEvent::Opened {
        source: spec.name.clone(),
        file: id,
        path: path.clone(),
        offset,
        start: Start::Copy,
    });
    let mut f = Followed::new(id, path, file, &fp, offset);
    f.detach();
    Some(f)
}

/// Closes released files (by index, from the back so indices stay valid).
pub(super) fn remove_released(
    spec: &SourceSpec,
    files: &mut Vec<Followed>,
    mut release: Vec<usize>,
    events: &mut Vec<TailEvent>,
) {
    release.sort_unstable();
    for i in release.into_iter().rev() {
        let f = files.remove(i);
        events.push(TailEvent::Released {
            source: spec.name.clone(),
            file: f.id,
            path: f.path,
        });
    }
}
