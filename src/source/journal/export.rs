//! The journal's history as a stream of syslog lines, for `parse` and
//! `replay --journal[-dir]`: `journalctl --output=json` without `--follow`,
//! each entry converted as the live source converts it ([`super::entry`]),
//! one line per entry. A line that is not an entry is passed on as it is (the
//! parser counts it as malformed); journalctl failing is an error at the end.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, ChildStdout};
use std::thread::JoinHandle;

use super::child::{self, From, JournalSpec};
use super::entry;

/// A problem as a one-off reader says it: nothing is retried here.
fn once(mut e: crate::source::SourceError) -> String {
    if let Some(h) = e.hint.strip_suffix("; retrying") {
        e.hint = h.to_owned();
    }
    e.to_string()
}

/// `journalctl`'s output as syslog lines.
pub struct Export {
    spec: JournalSpec,
    child: Option<Child>,
    out: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<Vec<String>>>,
    /// The converted line being handed out, and how much of it was.
    line: Vec<u8>,
    at: usize,
    json: Vec<u8>,
}

impl Export {
    /// Starts journalctl over the whole of `spec`'s journal.
    pub fn start(spec: &JournalSpec) -> io::Result<Export> {
        let mut child = spec
            .command(&From::Start, false)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), once(child::spawn_problem(&e, spec))))?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io::Error::other("journalctl without pipes"));
        };
        let stderr = std::thread::spawn(move || {
            BufReader::new(err.take(64 * 1024))
                .lines()
                .map_while(Result::ok)
                .take(16)
                .collect()
        });
        Ok(Export {
            spec: spec.clone(),
            child: Some(child),
            out: BufReader::with_capacity(64 * 1024, out),
            stderr: Some(stderr),
            line: Vec::new(),
            at: 0,
            json: Vec::new(),
        })
    }

    /// The next converted line into `self.line`; false at the end.
    fn next_line(&mut self) -> io::Result<bool> {
        loop {
            self.json.clear();
            if self.out.read_until(b'\n', &mut self.json)? == 0 {
                self.finish()?;
                return Ok(false);
            }
            let json = crate::source::framing::trim_end(&self.json);
            if json.is_empty() {
                continue;
            }
            self.line.clear();
            self.at = 0;
            match entry::convert(json) {
                // Too long for journalctl: an empty line, counted as one.
                Ok(e) if e.too_long => {}
                Ok(e) => self.line = e.line,
                Err(_) => self.line.extend_from_slice(json),
            }
            self.line.push(b'\n');
            return Ok(true);
        }
    }

    /// journalctl ended: an error when it failed.
    fn finish(&mut self) -> io::Result<()> {
        let Some(mut c) = self.child.take() else {
            return Ok(());
        };
        let status = c.wait()?;
        let said = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        Err(io::Error::other(once(child::exit_problem(
            status, &said, &self.spec,
        ))))
    }
}

impl Read for Export {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.line.len() && !self.next_line()? {
            return Ok(0);
        }
        let n = buf.len().min(self.line.len() - self.at);
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for Export {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
