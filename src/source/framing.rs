//! Syslog over TCP: splitting a byte stream into messages (RFC 6587), within
//! a fixed memory bound.
//!
//! Senders use two framings, and a receiver must take both on one port
//! (rsyslog and syslog-ng do): *octet counting*, `MSG-LEN SP MSG` with the
//! length in decimal (what `logger --octet-count` and RFC 5425 senders write),
//! and *non-transparent framing*, each message ended by LF (the traditional
//! one; a CR before the LF and a NUL terminator are accepted too). A frame is
//! octet-counted when its first byte is a digit 1-9 — a syslog message starts
//! with `<` — as RFC 6587 section 3.4.2 suggests receivers detect it.
//!
//! Digits not followed by a space were no length: they began a line (an
//! RFC 3339 stamp without `<PRI>`), which is then read up to its LF.
//!
//! A message longer than `max` is never buffered: its bytes are skipped as
//! they arrive and it is reported once, as [`Frame::TooLong`], so a sender
//! that streams a gigabyte without a newline costs at most `max` bytes. Pure:
//! bytes in, frames out; the socket and the limit on connections are the
//! receiver's.

/// Digits of a length prefix beyond which it is not a length (10^9 bytes
/// is already far beyond any `max`, which must exceed this).
const MAX_LEN_DIGITS: usize = 9;

/// What the framer found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One complete message, without its framing.
    Message(&'a [u8]),
    /// A message longer than the limit, skipped.
    TooLong,
}

/// Where the framer is within the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the first byte of a frame.
    Start,
    /// Reading what may be an octet count: its value so far (its digits are
    /// in the buffer, in case they turn out to begin a line).
    Length(usize),
    /// Inside an octet-counted message: bytes still to come; `skip` when it
    /// is too long and its bytes are dropped.
    Counted { left: usize, skip: bool },
    /// Inside an LF-terminated message; `skip` once it outgrew the limit.
    Line { skip: bool },
}

/// A TCP syslog stream's framer. One per connection.
#[derive(Debug)]
pub struct Framer {
    max: usize,
    buf: Vec<u8>,
    state: State,
}

impl Framer {
    /// A framer for messages of at most `max` bytes.
    pub fn new(max: usize) -> Framer {
        Framer {
            max,
            buf: Vec::new(),
            state: State::Start,
        }
    }

    /// Bytes held for an incomplete message (never more than `max`).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds the next bytes of the stream; each frame completed by them goes
    /// to `out`, in order.
    pub fn push(&mut self, mut data: &[u8], out: &mut dyn FnMut(Frame<'_>)) {
        while let Some(&b) = data.first() {
            match self.state {
                State::Start => match b {
                    b'1'..=b'9' => {
                        self.buf.push(b);
                        self.state = State::Length(usize::from(b - b'0'));
                        data = &data[1..];
                    }
                    // Stray terminators between frames are no message.
                    b'\n' | b'\r' | 0 => data = &data[1..],
                    _ => self.state = State::Line { skip: false },
                },
                State::Length(n) => match b {
                    b'0'..=b'9' if self.buf.len() < MAX_LEN_DIGITS => {
                        self.buf.push(b);
                        self.state = State::Length(n * 10 + usize::from(b - b'0'));
                        data = &data[1..];
                    }
                    b' ' => {
                        data = &data[1..];
                        self.buf.clear();
                        let skip = n > self.max;
                        if skip {
                            out(Frame::TooLong);
                        }
                        self.state = State::Counted { left: n, skip };
                    }
                    // Not a length: the digits began a line; `b` is read as its next byte.
                    _ => self.state = State::Line { skip: false },
                },
                State::Counted { left, skip } => {
                    let take = left.min(data.len());
                    if !skip {
                        self.buf.extend_from_slice(&data[..take]);
                    }
                    data = &data[take..];
                    let left = left - take;
                    if left > 0 {
                        self.state = State::Counted { left, skip };
                        continue;
                    }
                    if !skip {
                        out(Frame::Message(trim_end(&self.buf)));
                    }
                    self.buf.clear();
                    self.state = State::Start;
                }
                State::Line { skip } => {
                    let end = memchr::memchr2(b'\n', 0, data);
                    let take = end.unwrap_or(data.len());
                    let mut skip = skip;
                    if !skip && self.buf.len() + take > self.max {
                        // Over the limit: drop what is held and the rest of it.
                        skip = true;
                        self.buf.clear();
                        self.buf.shrink_to(self.max);
                        out(Frame::TooLong);
                    }
                    if !skip {
                        self.buf.extend_from_slice(&data[..take]);
                    }
                    match end {
                        Some(i) => {
                            if !skip {
                                out(Frame::Message(trim_end(&self.buf)));
                            }
                            self.buf.clear();
                            self.state = State::Start;
                            data = &data[i + 1..];
                        }
                        None => {
                            self.state = State::Line { skip };
                            data = &[];
                        }
                    }
                }
            }
        }
    }
}

/// A message without the terminator some senders put inside a counted frame
/// or a datagram: a NUL, an LF, a CRLF.
pub(super) fn trim_end(m: &[u8]) -> &[u8] {
    let m = m.strip_suffix(b"\0").unwrap_or(m);
    let m = m.strip_suffix(b"\n").unwrap_or(m);
    m.strip_suffix(b"\r").unwrap_or(m)
}

#[cfg(test)]
mod tests;
