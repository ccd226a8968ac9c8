//! A real `nats-server -js` on loopback for the fleet tests: one server, or
//! a cluster of three, each a child process with its own store in a temp
//! dir, killed when dropped; and a client (`async-nats`, the crate the agent
//! uses) to read the stream back.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Proc, free_port, http, skip, wait_until};

/// The `nats-server` binary (Debian installs it in /usr/sbin, which a user's
/// PATH may lack); `None` when it is not installed.
pub fn binary() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// One running server.
pub struct Nats {
    proc: Option<Proc>,
    /// The client port.
    pub port: u16,
    /// Its monitoring port (`/healthz`).
    monitor: u16,
    store: PathBuf,
    args: Vec<String>,
    log: PathBuf,
}

impl Nats {
    /// A JetStream server on a free loopback port with its store in `dir`;
    /// `None` (after recording the skip) when `nats-server` is missing.
    pub fn start(test: &str, dir: &Path) -> Option<Nats> {
        Nats::start_on(test, dir, free_port())
    }

    /// [`Nats::start`] on a chosen port (a test that starts it late).
    pub fn start_on(test: &str, dir: &Path, port: u16) -> Option<Nats> {
        let Some(_) = binary() else {
            skip(
                "nats-server",
                test,
                "nats-server is not installed (apt-get install nats-server)",
            );
            return None;
        };
        let store = dir.join(format!("nats-{port}"));
        let mut n = Nats {
            proc: None,
            port,
            monitor: free_port(),
            log: dir.join(format!("nats-{port}.log")),
            store,
            args: Vec::new(),
        };
        n.run();
        Some(n)
    }

    /// A cluster of three JetStream servers on loopback (routes between all
    /// three); `None` when `nats-server` is missing.
    pub fn cluster(test: &str, dir: &Path) -> Option<Vec<Nats>> {
        binary().or_else(|| {
            skip(
                "nats-server",
                test,
                "nats-server is not installed (apt-get install nats-server)",
            );
            None
        })?;
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let all_routes = routes
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let nodes = routes
            .iter()
            .enumerate()
            .map(|(i, route)| {
                let port = free_port();
                let mut n = Nats {
                    proc: None,
                    port,
                    monitor: free_port(),
                    store: dir.join(format!("nats-{i}")),
                    log: dir.join(format!("nats-{i}.log")),
                    args: vec![
                        "-n".into(),
                        format!("lw-{i}"),
                        "--cluster_name".into(),
                        "lw".into(),
                        "--cluster".into(),
                        format!("nats://127.0.0.1:{route}"),
                        "--routes".into(),
                        all_routes.clone(),
                    ],
                };
                n.spawn();
                n
            })
            .collect::<Vec<_>>();
        for n in &nodes {
            n.wait_ready();
        }
        Some(nodes)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL); [`Nats::run`] starts it again on the same
    /// port and store.
    pub fn kill(&mut self) {
        self.proc = None;
    }

    /// Starts the server and waits until JetStream serves.
    pub fn run(&mut self) {
        self.spawn();
        self.wait_ready();
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(binary().unwrap())
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-m", &self.monitor.to_string(), "-sd"])
            .arg(&self.store)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.proc = Some(Proc(child));
    }

    /// Until `/healthz` says the server and its JetStream are up.
    fn wait_ready(&self) {
        let url = format!("http://127.0.0.1:{}/healthz", self.monitor);
        wait_until("nats-server to serve", Duration::from_secs(30), || {
            http::get(url.clone())
                .timeout(Duration::from_secs(2))
                .try_send()
                .is_ok_and(|r| r.status == 200)
        });
    }

    /// True when a client named `name` is connected to this server (its
    /// monitoring `/connz`).
    pub fn has_client(&self, name: &str) -> bool {
        let url = format!("http://127.0.0.1:{}/connz", self.monitor);
        let Ok(r) = http::get(url).timeout(Duration::from_secs(2)).try_send() else {
            return false;
        };
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        v["connections"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["name"] == name))
    }

    /// The server's log (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// One message of the stream, as the test reads it back.
#[derive(Debug, Clone)]
pub struct Stored {
    pub subject: String,
    pub msg_id: Option<String>,
    pub body: serde_json::Value,
}

/// Runs `f` to its end on a runtime of its own: the tests are plain
/// threads, the client is async.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A JetStream context on a client connected to `url`; `None` when the
/// server does not answer.
pub async fn jetstream(url: &str) -> Option<async_nats::jetstream::Context> {
    let client = async_nats::connect(url).await.ok()?;
    Some(async_nats::jetstream::new(client))
}

/// Every message of `stream` at `url`, in order (empty when the stream does
/// not exist yet).
pub fn read_stream(url: &str, stream: &str) -> Vec<Stored> {
    block_on(async {
        let Some(js) = jetstream(url).await else {
            return Vec::new();
        };
        let Ok(mut s) = js.get_stream(stream).await else {
            return Vec::new();
        };
        let info = s.info().await.unwrap().state.clone();
        let mut out = Vec::new();
        for seq in info.first_sequence..=info.last_sequence {
            if info.messages == 0 {
                break;
            }
            let Ok(m) = s.get_raw_message(seq).await else {
                continue;
            };
            let msg_id = m.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned());
            out.push(Stored {
                subject: m.subject.to_string(),
                msg_id,
                body: serde_json::from_slice(&m.payload).unwrap(),
            });
        }
        out
    })
}
