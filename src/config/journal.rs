//! A `[[source]]` with `journal = true`: the systemd journal (optionally a
//! directory of journal files, `journal_dir`, and journal matches, `match`),
//! every mistake reported at its line.

use std::path::Path;

use toml::Spanned;

use super::SourceConfig;
use super::load::{Cx, MAX_NAME, resolve};
use super::raw::RawSource;
use crate::parse::Zone;
use crate::source::journal::JournalSpec;
use crate::source::journal::child::valid_match;

/// The default name of a journal source.
pub const NAME: &str = "journal";

/// One journal `[[source]]`.
pub(super) fn source(cx: &mut Cx, s: &Spanned<RawSource>, base: &Path) -> Option<SourceConfig> {
    let raw = s.get_ref();
    let mut ok = true;
    let mut err = |cx: &mut Cx, span, msg: String| {
        cx.err(span, msg);
        ok = false;
    };
    match &raw.journal {
        Some(j) if !*j.get_ref() => err(
            cx,
            j.span(),
            "journal = false: leave the key out, a source reads `path`, `listen` or the journal"
                .into(),
        ),
        Some(_) => {}
        None => err(
            cx,
            s.span(),
            "`journal_dir` and `match` belong to a journal source: add `journal = true`".into(),
        ),
    }
    if let Some(p) = &raw.path {
        err(
            cx,
            p.span(),
            "a journal source reads the journal, not files: remove `path`".into(),
        );
    }
    if let Some(l) = &raw.listen {
        err(
            cx,
            l.span(),
            "a journal source reads the journal, not the network: remove `listen`".into(),
        );
    }
    if let Some(f) = &raw.format
        && !matches!(f.get_ref().as_str(), "sshd" | "syslog")
    {
        err(
            cx,
            f.span(),
            format!(
                "format {:?}: journal entries are read as sshd/PAM messages; remove `format`",
                f.get_ref()
            ),
        );
    }
    if let Some(t) = &raw.tz {
        err(
            cx,
            t.span(),
            "tz: journal entries carry their own time (UTC); remove `tz`".into(),
        );
    }
    let dir = match &raw.journal_dir {
        Some(d) if d.get_ref().is_empty() => {
            err(cx, d.span(), "journal_dir is empty".into());
            None
        }
        Some(d) => Some(resolve(base, d.get_ref())),
        None => None,
    };
    let matches = match &raw.matches {
        Some(m) => {
            let v = m.get_ref();
            let bad: Vec<&String> = v.iter().filter(|x| !valid_match(x)).collect();
            if v.is_empty() {
                err(
                    cx,
                    m.span(),
                    "match is empty: leave it out for the default matches".into(),
                );
            } else if !bad.is_empty() {
                err(
                    cx,
                    m.span(),
                    format!(
                        "match {bad:?}: each is FIELD=value (FIELD in A-Z, 0-9, _) or \"+\" (or)"
                    ),
                );
            } else if v.first().is_some_and(|x| x == "+")
                || v.last().is_some_and(|x| x == "+")
                || v.windows(2).any(|w| w[0] == "+" && w[1] == "+")
            {
                err(cx, m.span(), "match: \"+\" goes between two matches".into());
            }
            v.clone()
        }
        None => Vec::new(),
    };
    let name = match &raw.name {
        Some(n) => {
            let v = n.get_ref();
            if v.is_empty() || v.chars().count() > MAX_NAME || v.chars().any(char::is_control) {
                err(
                    cx,
                    n.span(),
                    format!("source name {v:?}: 1 to {MAX_NAME} characters, no control characters"),
                );
            }
            v.clone()
        }
        None => NAME.to_owned(),
    };
    ok.then_some(SourceConfig {
        name,
        path: String::new(),
        listen: None,
        format: "sshd".to_owned(),
        zone: Zone::Utc,
        once: None,
        settle: None,
        pull: None,
        journal: Some(JournalSpec { dir, matches }),
        chosen: None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::load::load_text;

    fn load(text: &str) -> Result<crate::config::Config, Vec<(Option<usize>, String)>> {
        load_text(text, &PathBuf::from("/etc/lw/loginwatch.toml"), &|_| None)
            .map_err(|e| e.0.into_iter().map(|e| (e.line, e.message)).collect())
    }

    #[test]
    fn a_journal_source_with_a_directory_and_matches() {
        let c = load(
            "[[source]]\njournal = true\njournal_dir = \"j\"\nmatch = [\"_SYSTEMD_UNIT=ssh.service\", \"+\", \"SYSLOG_IDENTIFIER=sshd\"]\n",
        )
        .unwrap();
        let s = &c.sources[0];
        assert_eq!(s.name, "journal");
        assert_eq!(s.format, "sshd");
        let j = s.journal.as_ref().unwrap();
        assert_eq!(j.dir.as_deref(), Some(std::path::Path::new("/etc/lw/j")));
        assert_eq!(j.matches.len(), 3);
        let sys = load("[[source]]\njournal = true\nname = \"sys\"\n").unwrap();
        assert_eq!(sys.sources[0].journal.as_ref().unwrap().dir, None);
        assert_eq!(sys.sources[0].name, "sys");
    }

    #[test]
    fn every_mistake_is_reported_at_its_line() {
        let errs = load(
            "[[source]]\njournal = true\npath = \"/var/log/auth.log\"\nlisten = \"udp://0.0.0.0:514\"\n\
             format = \"okta\"\ntz = \"UTC\"\nmatch = [\"sshd\"]\n\
             [[source]]\njournal_dir = \"j\"\n\
             [[source]]\njournal = true\nmatch = [\"+\", \"A=b\"]\n",
        )
        .unwrap_err();
        let lines: Vec<Option<usize>> = errs.iter().map(|e| e.0).collect();
        assert_eq!(
            lines,
            [
                Some(3),
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                Some(12)
            ],
            "{errs:?}"
        );
        assert!(errs[0].1.contains("remove `path`"));
        assert!(errs[5].1.contains("add `journal = true`"));
    }
}
