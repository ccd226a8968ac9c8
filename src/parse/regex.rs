//! Declared regex formats with named captures. (skeleton)

use super::{LineCtx, ParseError, ParseOptions};
use crate::event::AuthEvent;

/// A compiled regex format.
#[derive(Debug, Clone)]
pub struct RegexSpec {
    pub name: String,
}

#[derive(Debug)]
pub struct RegexParser {
    spec: RegexSpec,
    opts: ParseOptions,
    ctx: LineCtx,
}

impl RegexParser {
    pub fn new(spec: RegexSpec, opts: ParseOptions, ctx: LineCtx) -> RegexParser {
        RegexParser { spec, opts, ctx }
    }

    pub fn parse(&mut self, _line: &[u8], _offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        let _ = (&self.spec, &self.opts, &self.ctx);
        Ok(None)
    }
}
