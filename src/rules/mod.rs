//! Rules: TOML rule files compiled into a [`RuleSet`], run by the [`Engine`]. (skeleton)

pub mod engine;

use std::fmt;
use std::path::{Path, PathBuf};

pub use engine::Engine;

use crate::parse::custom::Declared;

/// A compiled, validated set of rules (and the formats the files declare).
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<()>,
    pub formats: Vec<Declared>,
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

/// Loads and compiles every `*.toml` file of `dir`.
pub fn load_dir(_dir: &Path) -> Result<RuleSet, RuleErrors> {
    Ok(RuleSet::default())
}

/// The rules built into the binary (the shipped `rules/` directory). (skeleton)
pub fn builtin() -> Result<RuleSet, RuleErrors> {
    Ok(RuleSet::default())
}
