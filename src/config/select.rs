//! Which rule set a configuration selects: an explicit directory, the
//! config's `profile` or `rules_dir`, the default directories, or the
//! built-in rules; the same choice for every command.
//!
//! The default directories: a checkout's `./rules` alone when it exists (a
//! developer, the demo); else the packaged layers, `/usr/share/loginwatch/rules`
//! (the shipped rules, replaced on upgrade) overlaid by `/etc/loginwatch/rules`
//! (the operator's), a file of the second replacing the file of the same name
//! in the first, as systemd's `/usr/lib` and `/etc` do; else the built-in rules.

use std::path::{Path, PathBuf};

use super::Config;
use crate::rules::{RuleErrors, RuleSet};

/// Where a rule set came from, for messages and for the reload watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesOrigin {
    /// A directory of rule files (watched for changes by the daemon).
    Dir(PathBuf),
    /// Directories of rule files overlaid, lowest first: a file replaces the
    /// file of the same name in a lower one (all watched by the daemon).
    Layers(Vec<PathBuf>),
    /// A built-in profile (`profile = "lineworks"`).
    Profile(String),
    /// The rules built into the binary.
    Builtin,
}

impl RulesOrigin {
    /// The directory, when the rules came from one.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            RulesOrigin::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// Every directory the rules came from (none for a profile or the
    /// built-in rules).
    pub fn dirs(&self) -> Vec<&Path> {
        match self {
            RulesOrigin::Dir(d) => vec![d],
            RulesOrigin::Layers(ds) => ds.iter().map(PathBuf::as_path).collect(),
            _ => Vec::new(),
        }
    }
}

/// Why no rule set could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// `--rules DIR` or the config's `rules_dir` names no directory.
    #[error("rules directory {0} does not exist")]
    NoDir(PathBuf),
    /// The chosen files do not compile; every error is listed.
    #[error("{heading}:\n{0}", heading = invalid("rules", .0.0.len()))]
    Invalid(RuleErrors),
    /// The set compiles but no rule in it can fire: the daemon would decide
    /// nothing while looking ready, so such a set is refused like a broken one.
    #[error(
        "no rule can fire: {0}; loginwatch would decide nothing (add rule files with [[rule]] tables, or point rules_dir at the rules)"
    )]
    NoRules(String),
}

/// The heading of a list of `n` errors: `invalid rules (1 error)`,
/// `invalid configuration (3 errors)`.
pub fn invalid(what: &str, n: usize) -> String {
    format!(
        "invalid {what} ({n} error{})",
        if n == 1 { "" } else { "s" }
    )
}

/// Refuses a set in which no rule can fire: none at all, or only rules that
/// need GeoIP data when no database is configured (`geo_configured`).
pub fn require_live_rules(
    set: &RuleSet,
    origin: &RulesOrigin,
    geo_configured: bool,
) -> Result<(), SelectError> {
    let place = match origin {
        RulesOrigin::Dir(d) => format!("the rules directory {}", d.display()),
        RulesOrigin::Layers(ds) => format!(
            "the rules directories {}",
            ds.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" + ")
        ),
        RulesOrigin::Profile(p) => format!("the profile {p}"),
        RulesOrigin::Builtin => "the built-in rules".to_owned(),
    };
    if set.rules.is_empty() {
        return Err(SelectError::NoRules(format!("{place} holds no rule")));
    }
    if !geo_configured && set.rules.iter().all(|r| r.uses_geo()) {
        return Err(SelectError::NoRules(format!(
            "every rule of {place} needs GeoIP data and no geoip database is configured"
        )));
    }
    Ok(())
}

/// Chooses and compiles the rule set, the same way for every command: an
/// explicit directory (`--rules`) wins; else the config's `profile`; else its
/// `rules_dir`; else `./rules`; else `/usr/share/loginwatch/rules` overlaid by
/// `/etc/loginwatch/rules` (those of the two that exist); else the built-in
/// rules.
pub fn select_rules(
    explicit: Option<&Path>,
    config: Option<&Config>,
) -> Result<(RuleSet, RulesOrigin), SelectError> {
    if explicit.is_none()
        && let Some(name) = config.and_then(|c| c.profile.as_deref())
        && let Some(set) = crate::rules::profile(name)
    {
        return set
            .map(|s| (s, RulesOrigin::Profile(name.to_string())))
            .map_err(SelectError::Invalid);
    }
    let dir = explicit
        .map(Path::to_path_buf)
        .or_else(|| config.and_then(|c| c.rules_dir.clone()));
    if dir.is_none() {
        return select_default(crate::rules::default_dirs());
    }
    match dir {
        Some(d) if !d.is_dir() => Err(SelectError::NoDir(d)),
        Some(d) => crate::rules::load_dir(&d)
            .map(|s| (s, RulesOrigin::Dir(d)))
            .map_err(SelectError::Invalid),
        None => crate::rules::builtin()
            .map(|s| (s, RulesOrigin::Builtin))
            .map_err(SelectError::Invalid),
    }
}

/// The rule set of the default directories that exist (`layers`, lowest
/// first): one is a plain directory, two are overlaid, none means the
/// built-in rules.
fn select_default(mut layers: Vec<PathBuf>) -> Result<(RuleSet, RulesOrigin), SelectError> {
    if layers.len() > 1 {
        return crate::rules::load_layers(&layers)
            .map(|s| (s, RulesOrigin::Layers(layers)))
            .map_err(SelectError::Invalid);
    }
    match layers.pop() {
        Some(d) => crate::rules::load_dir(&d)
            .map(|s| (s, RulesOrigin::Dir(d)))
            .map_err(SelectError::Invalid),
        None => crate::rules::builtin()
            .map(|s| (s, RulesOrigin::Builtin))
            .map_err(SelectError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEO_ONLY: &str = "[[rule]]\nid = \"new-country\"\nkind = \"novelty\"\nfield = \"country\"\n\
        group_by = \"user\"\nwindow = \"30d\"\nquiet = \"7d\"\n\
        match = { action = \"login\", outcome = \"success\" }\n\
        decision = { action = \"alert\", severity = \"high\" }\n";

    #[test]
    fn the_default_directories_are_one_dir_two_layers_or_the_builtin_rules() {
        let t = tempfile::tempdir().unwrap();
        let (shipped, own) = (t.path().join("usr"), t.path().join("etc"));
        std::fs::create_dir(&shipped).unwrap();
        std::fs::create_dir(&own).unwrap();
        let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for f in ["accounts.toml", "network.toml"] {
            std::fs::copy(rules.join(f), shipped.join(f)).unwrap();
        }
        let (set, origin) = select_default(vec![shipped.clone(), own.clone()]).unwrap();
        assert_eq!(
            origin,
            RulesOrigin::Layers(vec![shipped.clone(), own.clone()])
        );
        assert_eq!(origin.dirs(), [shipped.as_path(), own.as_path()]);
        let both = set.rules.len();
        // The operator switches the shipped network rules off.
        std::fs::write(own.join("network.toml"), "").unwrap();
        let (set, _) = select_default(vec![shipped.clone(), own.clone()]).unwrap();
        assert!(set.rules.len() < both);
        assert!(set.rules.iter().all(|r| r.file.ends_with("accounts.toml")));
        // Only the operator's directory: a plain directory, as before layers.
        let (_, origin) = select_default(vec![own.clone()]).unwrap();
        assert_eq!(origin, RulesOrigin::Dir(own));
        let (set, origin) = select_default(Vec::new()).unwrap();
        assert_eq!(origin, RulesOrigin::Builtin);
        assert!(!set.rules.is_empty());
    }

    #[test]
    fn a_set_without_rules_or_with_only_geo_rules_and_no_geoip_cannot_fire() {
        let origin = RulesOrigin::Dir(PathBuf::from("rules"));
        let empty = RuleSet::from_str("", "empty.toml").unwrap();
        let e = require_live_rules(&empty, &origin, true).unwrap_err();
        assert!(e.to_string().contains("holds no rule"), "{e}");
        let geo = RuleSet::from_str(GEO_ONLY, "geo.toml").unwrap();
        assert_eq!(geo.rules.len(), 1);
        let e = require_live_rules(&geo, &origin, false).unwrap_err();
        assert!(e.to_string().contains("needs GeoIP data"), "{e}");
        assert!(require_live_rules(&geo, &origin, true).is_ok());
        assert!(require_live_rules(&crate::rules::builtin().unwrap(), &origin, false).is_ok());
    }
}
