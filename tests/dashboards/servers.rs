//! The processes the dashboards test runs (the daemon, Prometheus), killed
//! when dropped, and a client of Prometheus's HTTP API.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::{http, poll};

/// A child process killed when dropped (the daemon, Prometheus).
pub(super) struct Proc(Child, &'static str, PathBuf);

impl Proc {
    pub(super) fn spawn(what: &'static str, cmd: &mut Command, log: PathBuf) -> Proc {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        Proc(child, what, log)
    }

    pub(super) fn assert_alive(&mut self) {
        if let Ok(Some(s)) = self.0.try_wait() {
            panic!(
                "{} exited ({s}):\n{}",
                self.1,
                fs::read_to_string(&self.2).unwrap_or_default()
            );
        }
    }

    /// Sends SIGTERM and waits (at most 15 s) for the process to exit.
    pub(super) fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM {}", self.1);
        poll(
            &format!("{} to exit after SIGTERM", self.1),
            Duration::from_secs(15),
            EVERY,
            || self.0.try_wait().unwrap(),
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How often the waits here poll: gentler on Prometheus than the daemon
/// tests' 25 ms.
pub(super) const EVERY: Duration = Duration::from_millis(200);

/// A Prometheus HTTP API client on loopback.
pub(super) struct Prom {
    pub(super) base: String,
}

impl Prom {
    pub(super) fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let r = http::get(format!("{}{path}", self.base))
            .query(params)
            .timeout(Duration::from_secs(10))
            .try_send()
            .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&r.body).map_err(|e| e.to_string())?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"].clone())
    }

    /// The number of series an instant query returns.
    pub(super) fn series(&self, q: &str) -> Result<usize, String> {
        let d = self.get("/api/v1/query", &[("query", q)])?;
        Ok(d["result"].as_array().map_or(0, Vec::len))
    }

    /// (alertname, the label that says what it is about, state) of every alert.
    pub(super) fn alerts(&self) -> Vec<(String, String, String)> {
        let d = self.get("/api/v1/alerts", &[]).unwrap();
        d["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let l = &a["labels"];
                let about = ["source", "sink", "instance"]
                    .iter()
                    .find_map(|k| l[*k].as_str().map(|v| format!("{k}={v}")))
                    .unwrap_or_default();
                let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                (s(&l["alertname"]), about, s(&a["state"]))
            })
            .collect()
    }
}
