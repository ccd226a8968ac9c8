//! Rules: TOML rule files compiled into a [`RuleSet`], run by the [`Engine`].
//!
//! Loading is all-or-nothing: every `*.toml` file of a directory is read (sorted
//! by name), every mistake in any of them is reported ([`RuleErrors`]), and only a
//! directory without a single error yields a set, so a daemon that reloads keeps
//! its old set when an edit is wrong. The file format is documented in
//! `rules/README.md`.
//!
//! Layout, in dependency order (no module imports one above it; the
//! `tests::layers` test checks that the imports between these modules
//! form no circle):
//!
//! - leaf values: [`duration`], [`key`] (group keys and counted fields),
//!   [`raw`] (mirrors the TOML), [`error`]; [`sink`] collects compile errors
//!   and holds the parsers every compile step shares;
//! - conditions: [`enriched`] (enrichment conditions) under [`cond`];
//! - the model, pure data: [`params`] (each kind's settings) under [`model`]
//!   (compiled rules, [`RuleSet`], [`fingerprint`]);
//! - what the engine keeps per rule and key: [`window`], [`rule_state`] (the
//!   key map with its caps), [`fire`] (a full window becomes a decision);
//! - the kinds, one module each under [`kinds`]: each holds its compile half
//!   (raw keys into its [`params`]) and its step half (what an event does to
//!   its state); [`kinds::sweep`] evaluates the kinds that look for an
//!   absence (old passwords, idle accounts) over the inventory;
//! - compiling: [`tables`] (`[rule.match]`, `[rule.decision]`) and
//!   [`compile`] (one rule) call into the kinds; [`load`] reads files;
//! - running: [`engine`] runs rules over events in event time by calling the
//!   kinds' steps; [`snapshot`] saves and restores its state and swaps rule
//!   sets under a running engine;
//! - explaining: the steps report what they did to a [`trace::Tracer`]
//!   (nothing, in the daemon and `replay`), [`why_not`] names the condition
//!   an event fails; `loginwatch explain` shows both.

pub mod compile;
pub mod cond;
pub mod duration;
pub mod engine;
pub mod enriched;
pub mod error;
pub mod fire;
pub mod key;
pub mod kinds;
pub mod load;
pub mod model;
pub mod params;
pub mod raw;
pub mod rule_state;
pub mod sink;
pub mod snapshot;
pub mod tables;
pub mod trace;
pub mod why_not;
pub mod window;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use duration::Dur;
pub use engine::{Engine, EngineStats, RuleStats};
pub use error::{RuleError, RuleErrors};
pub use key::{Field, GroupBy};
pub use kinds::sweep::sweep;
pub use model::{DecisionSpec, Escalation, Exempt, Kind, Rule, RuleSet, fingerprint};
pub use snapshot::ReloadReport;
pub use trace::{Step, Trace};

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
                    column: None,
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

/// A checkout's rules directory: when it exists, it is the rule set alone.
pub const LOCAL_DIR: &str = "./rules";

/// The packaged rule directories, lowest layer first: the shipped rules, then
/// the operator's, whose file replaces a shipped file of the same name.
pub const SYSTEM_DIRS: &[&str] = &["/usr/share/loginwatch/rules", "/etc/loginwatch/rules"];

/// The directories used when none is named: [`LOCAL_DIR`] alone when it
/// exists, else those of [`SYSTEM_DIRS`] that exist, as layers; empty when
/// none exists (the built-in rules are then used, so a bare binary works).
pub fn default_dirs() -> Vec<PathBuf> {
    if Path::new(LOCAL_DIR).is_dir() {
        return vec![PathBuf::from(LOCAL_DIR)];
    }
    SYSTEM_DIRS
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
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
            let mut sink = sink::Sink {
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
}

/// Loads and compiles every `*.toml` file of `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleErrors> {
    load_layers(std::slice::from_ref(&dir.to_path_buf()))
}

/// Loads and compiles the `*.toml` files of `dirs` overlaid, lowest layer
/// first: a file replaces the file of the same name in a lower layer, and
/// one that is not a regular file (a symlink to `/dev/null`) or is empty
/// masks it. The files are compiled in name order, whatever their layer.
pub fn load_layers(dirs: &[PathBuf]) -> Result<RuleSet, RuleErrors> {
    let mut chosen: std::collections::BTreeMap<std::ffi::OsString, PathBuf> = Default::default();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            RuleErrors(vec![RuleError {
                file: dir.to_path_buf(),
                line: None,
                column: None,
                rule: None,
                message: format!("cannot read rules directory: {e}"),
            }])
        })?;
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.extension().is_some_and(|x| x == "toml")
                && !p.is_dir()
                && let Some(name) = p.file_name()
            {
                chosen.insert(name.to_owned(), p);
            }
        }
    }
    let mut b = Builder::default();
    for f in chosen.values().filter(|p| p.is_file()) {
        let out = load::load_file(f, &mut b.errors);
        b.add(out);
    }
    b.finish()
}

#[cfg(test)]
mod tests;
