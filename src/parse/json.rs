//! JSON lines with a field mapping, and the built-in presets. (skeleton)

use super::{LineCtx, ParseError, ParseOptions};
use crate::event::AuthEvent;

/// Built-in preset names accepted by `--format`.
pub const PRESETS: &[&str] = &[
    "json",
    "ecs",
    "cloudtrail",
    "windows-security",
    "entra-signin",
    "okta",
];

/// A JSON field mapping.
#[derive(Debug, Clone)]
pub struct JsonSpec {
    pub name: String,
}

/// The spec of a built-in preset.
pub fn preset(name: &str) -> Option<JsonSpec> {
    PRESETS.contains(&name).then(|| JsonSpec {
        name: name.to_string(),
    })
}

#[derive(Debug)]
pub struct JsonParser {
    spec: JsonSpec,
    opts: ParseOptions,
    ctx: LineCtx,
}

impl JsonParser {
    pub fn new(spec: JsonSpec, opts: ParseOptions, ctx: LineCtx) -> JsonParser {
        JsonParser { spec, opts, ctx }
    }

    pub fn parse(&mut self, _line: &[u8], _offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        let _ = (&self.spec, &self.opts, &self.ctx);
        Ok(None)
    }
}
