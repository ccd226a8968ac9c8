//! Formats declared in rule files (`[[format]]` tables): regex or JSON mappings. (skeleton)

use serde::Deserialize;

use super::Format;

/// A `[[format]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFormat {
    pub name: String,
}

/// A validated declared format.
#[derive(Debug, Clone)]
pub struct Declared {
    name: String,
    format: Format,
}

impl Declared {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn format(&self) -> Format {
        self.format.clone()
    }
}

/// Validates one `[[format]]` table. Returns every problem found, as messages
/// without file or line: the rules loader, which knows both, adds them.
pub fn compile(raw: &RawFormat) -> Result<Declared, Vec<String>> {
    Err(vec![format!(
        "format {:?}: declared formats are not implemented yet",
        raw.name
    )])
}
