//! Network syslog: a [`Source`] that receives messages over UDP (one datagram
//! a message, RFC 5426) or TCP (RFC 6587 framing, [`super::framing`]) from
//! firewalls, VPN gateways, NAS boxes and servers that can only send.
//!
//! Receiving runs on threads of its own (one for UDP, or one accepting TCP
//! connections plus one per connection) that put messages into a queue
//! bounded in bytes; [`Source::poll`] takes them out on the ingest thread, in
//! arrival order. Every part is bounded, so a flood is counted and never an OOM:
//! - a message over `max_message` bytes is delivered as too long (counted by
//!   the ingest as unparsed) and its bytes are not kept;
//! - a full queue drops UDP datagrams (counted: UDP has no way to slow a
//!   sender) and makes TCP readers wait, which pushes back on the sender
//!   through TCP's own flow control. The bound is in bytes, not messages: a
//!   count would let a sender of 64 KiB datagrams queue a gigabyte, and
//!   syslog's usual 100-300 byte lines get a deep queue that rides out the
//!   pause of a state commit;
//! - connections beyond `max_connections` are closed at once (counted);
//! - each connection holds one read buffer and its framer's `max_message`.
//!
//! A push source has no position to resume from: what is sent while the
//! daemon is down is lost unless the sender queues it (rsyslog's
//! disk-assisted action queue does, over TCP). So [`Source::checkpoints`] is
//! empty. Threads stop when the source is dropped.

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use super::framing::{Frame, Framer, trim_end};
use super::{FileId, Loss, PollResult, Source, SourceStatus, TailLine};

/// Where a network source listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    Udp(SocketAddr),
    Tcp(SocketAddr),
}

impl FromStr for Listen {
    type Err = String;

    /// `udp://IP:PORT` or `tcp://IP:PORT` (an IPv6 address in brackets).
    fn from_str(s: &str) -> Result<Listen, String> {
        let (scheme, addr) = s
            .split_once("://")
            .ok_or_else(|| format!("{s:?}: expected udp://IP:PORT or tcp://IP:PORT"))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("{s:?}: {addr:?} is not IP:PORT (e.g. 0.0.0.0:514)"))?;
        match scheme {
            "udp" => Ok(Listen::Udp(addr)),
            "tcp" => Ok(Listen::Tcp(addr)),
            _ => Err(format!(
                "{s:?}: the scheme must be udp or tcp, not {scheme:?}"
            )),
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Udp(a) => write!(f, "udp://{a}"),
            Listen::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// The bounds of a network source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest message kept, in bytes.
    pub max_message: usize,
    /// Open TCP connections at most.
    pub max_connections: usize,
    /// Bytes of messages waiting for the ingest thread at most, each message
    /// counted with [`MESSAGE_OVERHEAD`].
    pub queue_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message: crate::parse::MAX_LINE,
            max_connections: 256,
            queue_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What a network source counted since it started.
#[derive(Debug, Default)]
pub struct Counts {
    pub received: AtomicU64,
    /// UDP datagrams dropped because the queue was full.
    pub dropped: AtomicU64,
    /// TCP connections closed at once: `max_connections` were open.
    pub refused: AtomicU64,
    /// Errors reading a socket (the receiver goes on).
    pub errors: AtomicU64,
}

/// What a queued message costs beyond its bytes (its `Msg` and the queue's
/// slot), so that empty or tiny messages are bounded too.
pub const MESSAGE_OVERHEAD: usize = 64;

/// One received message.
struct Msg {
    peer: IpAddr,
    /// Empty when `too_long`.
    bytes: Vec<u8>,
    too_long: bool,
}

impl Msg {
    fn cost(&self) -> usize {
        self.bytes.len() + MESSAGE_OVERHEAD
    }
}

/// How often receiving threads look whether their source was dropped.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// A listening network source.
pub struct NetSource {
    name: String,
    listen: Listen,
    /// The bound address (the port chosen when 0 was asked).
    local: SocketAddr,
    /// `listen` as text, the "path" of its lines.
    label: PathBuf,
    rx: Receiver<Msg>,
    /// Bytes queued (see [`Limits::queue_bytes`]).
    queued: Arc<AtomicUsize>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    /// Set when a wake-up was sent and the queue not drained since.
    woken: Arc<AtomicBool>,
    /// Messages handed out so far: the "offset" of the next line.
    seq: u64,
}

impl std::fmt::Debug for NetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetSource")
            .field("name", &self.name)
            .field("listen", &self.listen)
            .field("local", &self.local)
            .finish()
    }
}

impl NetSource {
    /// Binds `listen` and starts receiving. Each message (or batch of them)
    /// sends the time it arrived on `wake`, so the ingest loop does not wait
    /// for its poll interval.
    pub fn bind(
        name: &str,
        listen: Listen,
        limits: Limits,
        wake: Option<Sender<Instant>>,
    ) -> std::io::Result<NetSource> {
        // Unbounded as a channel, bounded by `queued`: a bounded std channel
        // allocates all its slots up front.
        let (tx, rx) = channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let woken = Arc::new(AtomicBool::new(false));
        let to = Sink {
            tx,
            queued: queued.clone(),
            limit: limits.queue_bytes.max(1),
            wake,
            woken: woken.clone(),
            counts: counts.clone(),
            stop: stop.clone(),
        };
        let local = match listen {
            Listen::Udp(addr) => {
                let socket = UdpSocket::bind(addr)?;
                socket.set_read_timeout(Some(STOP_CHECK))?;
                widen_receive_buffer(&socket);
                let local = socket.local_addr()?;
                spawn(&format!("udp {local}"), move || {
                    receive_udp(socket, limits, to)
                })?;
                local
            }
            Listen::Tcp(addr) => {
                let listener = TcpListener::bind(addr)?;
                listener.set_nonblocking(true)?;
                let local = listener.local_addr()?;
                spawn(&format!("tcp {local}"), move || {
                    accept_tcp(listener, limits, to)
                })?;
                local
            }
        };
        Ok(NetSource {
            name: name.to_owned(),
            listen,
            local,
            label: PathBuf::from(listen.to_string()),
            rx,
            queued,
            counts,
            stop,
            woken,
            seq: 0,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// What was counted so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

impl Drop for NetSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Source for NetSource {
    fn poll(&mut self, max_lines: usize, on_line: &mut dyn FnMut(TailLine<'_>)) -> PollResult {
        // Cleared before draining: a message queued from now on wakes the
        // loop again, one already queued is read below.
        self.woken.store(false, Ordering::Release);
        let mut lines = 0;
        while lines < max_lines {
            let Ok(m) = self.rx.try_recv() else { break };
            self.queued.fetch_sub(m.cost(), Ordering::AcqRel);
            on_line(TailLine {
                source: &self.name,
                file: FileId(0),
                path: Path::new(&self.label),
                offset: self.seq,
                line: &m.bytes,
                too_long: m.too_long,
                peer: Some(m.peer),
            });
            self.seq += 1;
            lines += 1;
        }
        PollResult {
            lines,
            more: lines == max_lines,
            events: Vec::new(),
        }
    }

    fn losses(&self) -> Vec<(String, Loss, u64)> {
        let c = &self.counts;
        [
            (Loss::QueueFull, &c.dropped),
            (Loss::ConnectionRefused, &c.refused),
            (Loss::ReceiveError, &c.errors),
        ]
        .into_iter()
        .map(|(loss, n)| (self.name.clone(), loss, n.load(Ordering::Relaxed)))
        .collect()
    }

    fn status(&self) -> Vec<SourceStatus> {
        vec![SourceStatus {
            name: self.name.clone(),
            pattern: self.listen.to_string(),
            files: Vec::new(),
            errors: Vec::new(),
            lag_bytes: 0,
            listening: true,
            warnings: Vec::new(),
        }]
    }
}

/// The UDP receive buffer asked for. Datagrams that arrive while the
/// receiving thread is busy wait in the kernel's buffer; when it is full they
/// are dropped there, uncounted by us (`RcvbufErrors` in /proc/net/snmp). The
/// default (208 KiB on Linux) holds about a thousand syslog messages; the
/// kernel caps this at `net.core.rmem_max` (raise it for more).
const UDP_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// Asks for [`UDP_RECEIVE_BUFFER`]; a refusal keeps the default (logged).
fn widen_receive_buffer(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    match sock.set_recv_buffer_size(UDP_RECEIVE_BUFFER) {
        Ok(()) => tracing::debug!(
            bytes = sock.recv_buffer_size().unwrap_or(0),
            "UDP receive buffer."
        ),
        Err(e) => {
            tracing::warn!(error = %e, "Cannot widen the UDP receive buffer; bursts may be dropped by the kernel.")
        }
    }
}

/// Where receiving threads put messages.
#[derive(Clone)]
struct Sink {
    tx: Sender<Msg>,
    /// Bytes queued, shared with the [`NetSource`] that takes them out.
    queued: Arc<AtomicUsize>,
    /// [`Limits::queue_bytes`].
    limit: usize,
    wake: Option<Sender<Instant>>,
    /// One wake-up per drain of the queue, not one per message: a channel
    /// send per message held TCP at 303k lines/s, one per drain gives 402k
    /// (bench/net.py, 1M lines over loopback).
    woken: Arc<AtomicBool>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
}

impl Sink {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn message(peer: IpAddr, bytes: &[u8], max: usize) -> Msg {
        let too_long = bytes.len() > max;
        Msg {
            peer,
            bytes: if too_long { Vec::new() } else { bytes.to_vec() },
            too_long,
        }
    }

    /// Takes `cost` bytes of the queue's room; false when they do not fit.
    fn reserve(&self, cost: usize) -> bool {
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q + cost <= self.limit).then_some(q + cost)
            })
            .is_ok()
    }

    /// Queues `m` unless the queue is full (UDP); false when the source is gone.
    fn offer(&self, m: Msg) -> bool {
        if !self.reserve(m.cost()) {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.tx.send(m).is_ok() && self.received()
    }

    /// Queues `m`, waiting while the queue is full (TCP: the wait slows the
    /// sender); false when the source is gone.
    fn send(&self, m: Msg) -> bool {
        // A full queue empties at the ingest thread's pace: polled, as the
        // channel has no room to wait on.
        while !self.reserve(m.cost()) {
            if self.stopped() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.tx.send(m).is_ok() && self.received()
    }

    fn received(&self) -> bool {
        self.counts.received.fetch_add(1, Ordering::Relaxed);
        if let Some(w) = &self.wake
            && !self.woken.swap(true, Ordering::AcqRel)
        {
            let _ = w.send(Instant::now());
        }
        true
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map(drop)
}

fn receive_udp(socket: UdpSocket, limits: Limits, to: Sink) {
    // One byte more than the limit tells a datagram at the limit from a longer one.
    let mut buf = vec![0u8; limits.max_message + 1];
    while !to.stopped() {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let m = Sink::message(
                    peer.ip().to_canonical(),
                    trim_end(&buf[..n]),
                    limits.max_message,
                );
                if !to.offer(m) {
                    return;
                }
            }
            Err(e) if is_timeout(&e) => {}
            Err(_) => {
                to.counts.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn accept_tcp(listener: TcpListener, limits: Limits, to: Sink) {
    let open = Arc::new(AtomicUsize::new(0));
    while !to.stopped() {
        match listener.accept() {
            Ok((stream, peer)) => {
                if open.load(Ordering::Relaxed) >= limits.max_connections {
                    to.counts.refused.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                }
                open.fetch_add(1, Ordering::Relaxed);
                let (conn, open) = (to.clone(), open.clone());
                let started = spawn(&format!("tcp {peer}"), move || {
                    receive_tcp(stream, peer.ip().to_canonical(), limits, &conn);
                    open.fetch_sub(1, Ordering::Relaxed);
                });
                if started.is_err() {
                    to.counts.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(STOP_CHECK / 4)
            }
            Err(_) => {
                to.counts.errors.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(STOP_CHECK / 4);
            }
        }
    }
}

fn receive_tcp(mut stream: TcpStream, peer: IpAddr, limits: Limits, to: &Sink) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(STOP_CHECK)).is_err()
    {
        to.counts.errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut framer = Framer::new(limits.max_message);
    let mut buf = [0u8; 16 * 1024];
    let mut open = true;
    while open && !to.stopped() {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => framer.push(&buf[..n], &mut |f| {
                let m = match f {
                    Frame::Message(bytes) => Sink::message(peer, bytes, limits.max_message),
                    Frame::TooLong => Msg {
                        peer,
                        bytes: Vec::new(),
                        too_long: true,
                    },
                };
                open = open && to.send(m);
            }),
            Err(e) if is_timeout(&e) => {}
            Err(_) => {
                to.counts.errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests;
