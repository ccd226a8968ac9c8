//! Rules: TOML rule files compiled into a [`RuleSet`], run by the [`Engine`].
//!
//! Loading is all-or-nothing: every `*.toml` file of a directory is read (sorted
//! by name), every mistake in any of them is reported ([`RuleErrors`]), and only a
//! directory without a single error yields a set, so a daemon that reloads keeps
//! its old set when an edit is wrong. The file format is documented in
//! `rules/README.md`.
//!
//! Layout: [`raw`] mirrors the TOML, [`load`] handles files and spans,
//! [`compile`] validates into the typed [`model`] (conditions in [`cond`], keys in
//! [`key`], durations in [`duration`], enrichment conditions in [`enriched`],
//! kind-specific keys in [`kinds`]); [`engine`] and [`window`] run rules over
//! events in event time, with [`restriction`], [`travel`], [`novelty`] and
//! [`dormant`] for the kinds that do more than count; [`sweep`] evaluates the
//! kinds that look for an absence (old passwords, idle accounts) over the
//! inventory and learned facts; [`snapshot`] saves and restores the engine's
//! state and swaps rule sets under a running engine.

pub mod compile;
pub mod cond;
pub mod dormant;
pub mod duration;
pub mod engine;
pub mod enriched;
pub mod key;
pub mod kinds;
pub mod load;
pub mod model;
pub mod novelty;
pub mod raw;
pub mod restriction;
pub mod snapshot;
pub mod sweep;
pub mod tables;
pub mod travel;
pub mod window;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use duration::Dur;
pub use engine::{Engine, EngineStats, RuleStats};
pub use key::{Field, GroupBy};
pub use model::{DecisionSpec, Escalation, Exempt, Kind, Rule};
pub use snapshot::{ReloadReport, fingerprint};
pub use sweep::sweep;

use crate::event::Name;
use crate::parse::custom::Declared;

/// A compiled, validated set of rules (and the formats the files declare).
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Formats declared by `[[format]]` tables.
    pub formats: Vec<Declared>,
    /// The rules, in file order (files sorted by name).
    pub rules: Vec<Rule>,
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub rule: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(r) = &self.rule {
            write!(f, ": rule {r:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a rules directory (never just the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

/// Collects files' output, checking ids are unique across the whole set.
#[derive(Default)]
struct Builder {
    set: RuleSet,
    errors: Vec<RuleError>,
    seen: HashMap<String, (PathBuf, usize)>,
}

impl Builder {
    fn add(&mut self, out: load::FileOut) {
        for rule in out.rules {
            let id: &str = &rule.id;
            if let Some((f, l)) = self.seen.get(id) {
                self.errors.push(RuleError {
                    file: rule.file.clone(),
                    line: Some(rule.line),
                    rule: Some(id.to_owned()),
                    message: format!("duplicate rule id: already defined at {}:{l}", f.display()),
                });
                continue;
            }
            self.seen
                .insert(id.to_owned(), (rule.file.clone(), rule.line));
            self.set.rules.push(rule);
        }
        self.set.formats.extend(out.formats);
    }

    fn finish(self) -> Result<RuleSet, RuleErrors> {
        if self.errors.is_empty() {
            Ok(self.set)
        } else {
            Err(RuleErrors(self.errors))
        }
    }
}

/// The shipped `rules/` files, built into the binary so a fresh install (no
/// rules directory anywhere) runs on the documented defaults.
const BUILTIN: &[(&str, &str)] = &[
    (
        "rules/accounts.toml",
        include_str!("../../rules/accounts.toml"),
    ),
    ("rules/geo.toml", include_str!("../../rules/geo.toml")),
    (
        "rules/lifecycle.toml",
        include_str!("../../rules/lifecycle.toml"),
    ),
    ("rules/mfa.toml", include_str!("../../rules/mfa.toml")),
    (
        "rules/network.toml",
        include_str!("../../rules/network.toml"),
    ),
    (
        "rules/novelty.toml",
        include_str!("../../rules/novelty.toml"),
    ),
    (
        "rules/restrictions.toml",
        include_str!("../../rules/restrictions.toml"),
    ),
];

/// The lock-policy profiles of `rules/profiles/`, built in too: `profile =
/// "lineworks"` in the daemon's config selects one without a rules directory.
const PROFILES: &[(&str, &str, &str)] = &[
    (
        "lineworks",
        "rules/profiles/lineworks/lineworks.toml",
        include_str!("../../rules/profiles/lineworks/lineworks.toml"),
    ),
    (
        "cybozu",
        "rules/profiles/cybozu/cybozu.toml",
        include_str!("../../rules/profiles/cybozu/cybozu.toml"),
    ),
];

/// Names of the built-in profiles.
pub fn profile_names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.0).collect()
}

/// The rule set of a built-in profile, `None` for an unknown name.
pub fn profile(name: &str) -> Option<Result<RuleSet, RuleErrors>> {
    PROFILES
        .iter()
        .find(|p| p.0 == name)
        .map(|p| RuleSet::from_texts(&[(p.1, p.2)]))
}

/// Where rules are looked for when no directory is named, in order; when none
/// exists the built-in rules are used, so a fresh install works.
pub const DEFAULT_DIRS: &[&str] = &["./rules", "/etc/loginwatch/rules"];

/// The first of [`DEFAULT_DIRS`] that exists.
pub fn default_dir() -> Option<PathBuf> {
    DEFAULT_DIRS.iter().map(PathBuf::from).find(|p| p.is_dir())
}

/// The rules built into the binary (the shipped `rules/` directory).
pub fn builtin() -> Result<RuleSet, RuleErrors> {
    RuleSet::from_texts(BUILTIN)
}

impl RuleSet {
    /// Compiles the text of one rule file; `file` names it in errors.
    pub fn from_str(text: &str, file: impl AsRef<Path>) -> Result<RuleSet, RuleErrors> {
        RuleSet::from_texts(&[(file.as_ref(), text)])
    }

    /// Compiles several rule files given as (name, text), as one set.
    pub fn from_texts<P: AsRef<Path>>(files: &[(P, &str)]) -> Result<RuleSet, RuleErrors> {
        let mut b = Builder::default();
        for (file, text) in files {
            let mut sink = compile::Sink {
                file: file.as_ref(),
                text,
                rule: None,
                errors: Vec::new(),
            };
            let out = load::load_text(&mut sink);
            b.errors.append(&mut sink.errors);
            b.add(out);
        }
        b.finish()
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &*r.id == id)
    }

    /// True when some rule needs GeoIP data ([`Rule::uses_geo`]): without a
    /// database those rules never fire, which the daemon reports at start-up.
    pub fn uses_geo(&self) -> bool {
        self.rules.iter().any(Rule::uses_geo)
    }

    /// The ids of the rules that need GeoIP data, for that report.
    pub fn geo_rules(&self) -> Vec<Name> {
        self.rules
            .iter()
            .filter(|r| r.uses_geo())
            .map(|r| r.id.clone())
            .collect()
    }

    /// The named IP lists the rules refer to (`in_list`, `not_in_list`),
    /// sorted, once each: the daemon rejects names no configured list has.
    pub fn referenced_lists(&self) -> Vec<Name> {
        let mut v: Vec<Name> = self
            .rules
            .iter()
            .filter_map(|r| r.cond.enriched.as_deref())
            .flat_map(|c| c.lists().cloned())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Loads and compiles every `*.toml` file of `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleErrors> {
    let dir_err = |message: String| {
        RuleErrors(vec![RuleError {
            file: dir.to_path_buf(),
            line: None,
            rule: None,
            message,
        }])
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| dir_err(format!("cannot read rules directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    let mut b = Builder::default();
    for f in &files {
        let out = load::load_file(f, &mut b.errors);
        b.add(out);
    }
    b.finish()
}

#[cfg(test)]
mod builtin_tests {
    use super::*;

    #[test]
    fn builtin_profiles_are_the_shipped_profile_directories() {
        for name in profile_names() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules/profiles")
                .join(name);
            let on_disk: Vec<String> = load_dir(&dir)
                .unwrap()
                .rules
                .iter()
                .map(|r| r.id.to_string())
                .collect();
            let built_in: Vec<String> = profile(name)
                .unwrap()
                .unwrap()
                .rules
                .iter()
                .map(|r| r.id.to_string())
                .collect();
            assert_eq!(on_disk, built_in, "{name}");
        }
        assert!(profile("nope").is_none());
    }

    #[test]
    fn builtin_rules_are_the_shipped_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let on_disk: Vec<String> = load_dir(&dir)
            .unwrap()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        let built_in: Vec<String> = builtin()
            .unwrap()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(on_disk, built_in);
        let files = std::fs::read_dir(&dir).unwrap().filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        });
        assert_eq!(
            files.count(),
            BUILTIN.len(),
            "every shipped rule file is built in"
        );
    }
}

#[cfg(test)]
mod compile_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod flood_tests;
#[cfg(test)]
mod kinds_tests;
#[cfg(test)]
mod learn_tests;
#[cfg(test)]
mod snapshot_tests;
