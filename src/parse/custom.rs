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
