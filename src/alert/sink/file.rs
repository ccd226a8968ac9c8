//! JSON lines to a file or to standard output, for SIEMs that tail a file.
//!
//! The file is opened in append mode for each line and the line is written
//! with one `write` call, so a log rotator may move the file at any time and
//! concurrent writers never interleave inside a line. A line is flushed to the
//! disk (`sync_data`) before it counts as delivered: "delivered" must survive
//! a power loss as well as the outbox row it ends.

use std::io::Write;

use super::{Delivery, SinkError, Summary, Transport, wrong_payload};
use crate::alert::Payload;
use crate::alert::config::FileTarget;

/// Appends one line per payload.
#[derive(Debug)]
pub struct FileSink {
    target: FileTarget,
}

impl FileSink {
    /// A sink writing to `target`.
    pub fn new(target: FileTarget) -> FileSink {
        FileSink { target }
    }
}

/// `text` as one line: embedded line breaks would split one record into two
/// for every line-oriented reader, so they are escaped.
fn one_line(text: &str) -> String {
    let mut s = text.replace('\r', "\\r").replace('\n', "\\n");
    s.push('\n');
    s
}

impl Transport for FileSink {
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError> {
        let Payload::Line { text } = d.payload else {
            return Err(wrong_payload("file", d.payload));
        };
        let line = one_line(text);
        match &self.target {
            FileTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| SinkError::Transient(format!("stdout: {e}")))
            }
            FileTarget::Path(p) => {
                let err = |e: std::io::Error| SinkError::Transient(format!("{}: {e}", p.display()));
                // 0600 whatever the umask: alerts name users and addresses.
                let mut f = crate::private::append(p).map_err(err)?;
                f.write_all(line.as_bytes()).map_err(err)?;
                f.sync_data().map_err(err)
            }
        }
    }

    fn summary(&self, s: &Summary) -> Payload {
        let text = serde_json::json!({
            "type": "summary",
            "message": s.sentence(),
            "suppressed": s.suppressed,
            "@timestamp": crate::event::rfc3339(&s.now),
        });
        Payload::Line {
            text: text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertStatus;

    #[test]
    fn appends_one_line_per_payload_and_escapes_breaks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let sink = FileSink::new(FileTarget::Path(path.clone()));
        for text in ["{\"a\":1}", "two\nlines"] {
            let p = Payload::Line { text: text.into() };
            let d = Delivery {
                idempotency_key: "k",
                alert_key: "a",
                status: AlertStatus::Firing,
                payload: &p,
                now: chrono::Utc::now(),
            };
            sink.send(&d).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\ntwo\\nlines\n"
        );
        let p = Payload::Email {
            subject: "s".into(),
            text: "t".into(),
            html: None,
        };
        let d = Delivery {
            idempotency_key: "k",
            alert_key: "a",
            status: AlertStatus::Firing,
            payload: &p,
            now: chrono::Utc::now(),
        };
        assert!(matches!(sink.send(&d), Err(SinkError::Permanent(_))));
    }
}
