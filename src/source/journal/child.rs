//! The `journalctl` child: its command line, and what its failures mean to an
//! operator (each problem with the fix).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use super::entry::FIELDS;
use crate::source::{Problem, SourceError};

/// The journal matches used when a source names none: the OpenSSH units and
/// the programs whose lines the sshd/PAM parser reads. PAM modules log under
/// the identifier of the program that runs them (`pam_unix(sshd:auth)` is
/// logged by `sshd`), so they are included. Two groups joined by `+` (OR):
/// within a group, matches of one field are ORed too.
pub const DEFAULT_MATCHES: &[&str] = &[
    "_SYSTEMD_UNIT=ssh.service",
    "_SYSTEMD_UNIT=sshd.service",
    "+",
    "SYSLOG_IDENTIFIER=sshd",
    "SYSLOG_IDENTIFIER=sshd-session",
    "SYSLOG_IDENTIFIER=sshd-auth",
    "SYSLOG_IDENTIFIER=sudo",
    "SYSLOG_IDENTIFIER=su",
    "SYSLOG_IDENTIFIER=login",
];

/// Which journal a source reads, and which of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSpec {
    /// A directory of journal files (`journalctl --directory`); `None`: the
    /// system journal.
    pub dir: Option<PathBuf>,
    /// journalctl matches (`FIELD=value`, or `+` for OR); empty:
    /// [`DEFAULT_MATCHES`].
    pub matches: Vec<String>,
}

impl JournalSpec {
    /// The system journal with the default matches.
    pub fn system() -> JournalSpec {
        JournalSpec {
            dir: None,
            matches: Vec::new(),
        }
    }

    /// What it reads, for status, logs and the `log.file.path` of its events:
    /// `journal` or `journal:DIR`.
    pub fn label(&self) -> String {
        match &self.dir {
            None => "journal".to_owned(),
            Some(d) => format!("journal:{}", d.display()),
        }
    }

    /// The `journalctl` command printing entries as JSON lines from `from`,
    /// following the journal when `follow`.
    pub fn command(&self, from: &From, follow: bool) -> Command {
        let mut args: Vec<OsString> = vec![
            "--output=json".into(),
            format!("--output-fields={FIELDS}").into(),
        ];
        if follow {
            args.push("--follow".into());
        }
        match from {
            From::Cursor(c) => args.push(format!("--after-cursor={c}").into()),
            // `--follow` alone starts at the last ten entries.
            From::Start => args.push("--no-tail".into()),
            From::End => args.push("--lines=0".into()),
        }
        if let Some(d) = &self.dir {
            let mut a = OsString::from("--directory=");
            a.push(d);
            args.push(a);
        }
        let matches: Vec<&str> = if self.matches.is_empty() {
            DEFAULT_MATCHES.to_vec()
        } else {
            self.matches.iter().map(String::as_str).collect()
        };
        // Matches are validated (`FIELD=value` with FIELD in [A-Z0-9_], or
        // `+`), so none can be read as an option.
        args.extend(matches.into_iter().map(OsString::from));
        let mut cmd = Command::new("journalctl");
        cmd.args(args)
            // Its messages are classified below: the untranslated ones.
            .env("LC_ALL", "C")
            .env("SYSTEMD_PAGER", "")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// Where reading starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    /// After the entry of this cursor (the committed position).
    Cursor(String),
    /// At the first entry (a first start, like a file read from its start).
    Start,
    /// After the last entry (`run --from-end` on a first start).
    End,
}

/// True for a valid match: `+`, or `FIELD=value` where FIELD is upper-case
/// letters, digits and `_`, not starting with a digit (journald's rule).
pub fn valid_match(m: &str) -> bool {
    if m == "+" {
        return true;
    }
    let Some((field, _)) = m.split_once('=') else {
        return false;
    };
    !field.is_empty()
        && field.len() <= 64
        && !field.starts_with(|c: char| c.is_ascii_digit())
        && field
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The fix for a user who may not read the journal.
const GROUP_HINT: &str = "add the user loginwatch runs as to group systemd-journal \
    (usermod -aG systemd-journal loginwatch; group adm works too; or \
    SupplementaryGroups=systemd-journal in the unit), then restart loginwatch; retrying";

/// What a line journalctl wrote on stderr says, if it names a problem.
pub fn classify(line: &str, spec: &JournalSpec) -> Option<SourceError> {
    let at = Path::new(spec.dir.as_deref().unwrap_or(Path::new("journal")));
    let l = line.trim();
    let err = |problem, hint: &str| SourceError {
        path: at.to_path_buf(),
        problem,
        hint: hint.to_owned(),
    };
    if l.contains("insufficient permissions")
        || l.contains("not seeing messages from other users")
        || l.contains("Permission denied")
    {
        return Some(err(Problem::PermissionDenied, GROUP_HINT));
    }
    if l.contains("Failed to seek to cursor") {
        return Some(err(
            Problem::Io("the stored journal cursor is not usable".into()),
            "following from the end of the journal instead; entries written while \
             loginwatch was stopped are not read",
        ));
    }
    if l.contains("No such file or directory") && spec.dir.is_some() {
        return Some(err(
            Problem::Io("no such directory".into()),
            "check journal_dir (a directory of .journal files); retrying",
        ));
    }
    if l.contains("No journal files were found") || l.contains("is not available: No such boot ID")
    {
        return Some(err(
            Problem::Io("no journal entries to follow yet".into()),
            "retrying until the journal has entries",
        ));
    }
    if l.starts_with("Hint:") || l.starts_with("Users in groups") || l.starts_with("Pass -q") {
        return None;
    }
    (!l.is_empty()).then(|| err(Problem::Io(format!("journalctl: {l}")), "retrying"))
}

/// The problem of a `journalctl` that could not be started.
pub fn spawn_problem(e: &io::Error, spec: &JournalSpec) -> SourceError {
    let at = PathBuf::from(spec.label());
    if e.kind() == io::ErrorKind::NotFound {
        return SourceError {
            path: at,
            problem: Problem::Io("journalctl not found".into()),
            hint: "install systemd's journalctl (package systemd) or put it on loginwatch's \
                   PATH; retrying"
                .into(),
        };
    }
    SourceError::from_io(&at, e)
}

/// The problem of a `journalctl` that ended: the first thing it said that
/// names a problem, else its exit status.
pub fn exit_problem(status: ExitStatus, stderr: &[String], spec: &JournalSpec) -> SourceError {
    stderr
        .iter()
        .find_map(|l| classify(l, spec))
        .unwrap_or_else(|| SourceError {
            path: PathBuf::from(spec.label()),
            problem: Problem::Io(format!("journalctl ended ({status})")),
            hint: "restarted with backoff".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_validated() {
        for ok in [
            "+",
            "_SYSTEMD_UNIT=ssh.service",
            "SYSLOG_IDENTIFIER=",
            "A1_=x y",
        ] {
            assert!(valid_match(ok), "{ok}");
        }
        for bad in [
            "",
            "--all",
            "sshd",
            "syslog_identifier=sshd",
            "1X=a",
            "=a",
            "-X=a",
        ] {
            assert!(!valid_match(bad), "{bad}");
        }
    }

    #[test]
    fn the_command_resumes_after_the_cursor_and_follows() {
        let spec = JournalSpec {
            dir: Some("/tmp/j".into()),
            matches: vec!["_SYSTEMD_UNIT=a.service".into()],
        };
        let cmd = spec.command(&From::Cursor("s=1;i=2".into()), true);
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(cmd.get_program(), "journalctl");
        assert!(args.contains(&"--follow".to_owned()));
        assert!(args.contains(&"--after-cursor=s=1;i=2".to_owned()));
        assert!(args.contains(&"--directory=/tmp/j".to_owned()));
        assert_eq!(args.last().unwrap(), "_SYSTEMD_UNIT=a.service");
        let sys = JournalSpec::system().command(&From::End, false);
        let args: Vec<_> = sys
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.contains(&"--lines=0".to_owned()));
        assert!(!args.contains(&"--follow".to_owned()));
        assert!(args.contains(&"SYSLOG_IDENTIFIER=sshd-session".to_owned()));
    }

    #[test]
    fn permission_messages_give_the_group_fix() {
        let spec = JournalSpec::system();
        for l in [
            "No journal files were opened due to insufficient permissions.",
            "Hint: You are currently not seeing messages from other users and the system.",
        ] {
            let e = classify(l, &spec).unwrap();
            assert_eq!(e.problem, Problem::PermissionDenied);
            assert!(
                e.hint.contains("usermod -aG systemd-journal loginwatch"),
                "{}",
                e.hint
            );
        }
        assert_eq!(
            classify("      Pass -q to turn off this notice.", &spec),
            None
        );
        let missing = spawn_problem(&io::Error::from(io::ErrorKind::NotFound), &spec);
        assert!(
            missing.to_string().contains("journalctl not found"),
            "{missing}"
        );
    }
}
