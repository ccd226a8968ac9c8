//! OpenSSH / PAM / su / sudo lines from auth.log and secure. (skeleton)

use super::{LineCtx, ParseError, ParseOptions};
use crate::event::AuthEvent;

/// Parser for syslog-framed sshd, PAM, su and sudo lines.
#[derive(Debug)]
pub struct SshdParser {
    opts: ParseOptions,
    ctx: LineCtx,
}

impl SshdParser {
    pub fn new(opts: ParseOptions, ctx: LineCtx) -> SshdParser {
        SshdParser { opts, ctx }
    }

    pub fn parse(&mut self, _line: &[u8], _offset: u64) -> Result<Option<AuthEvent>, ParseError> {
        let _ = (&self.opts, &self.ctx);
        Ok(None)
    }
}
