//! Running a program: argv only (no shell), stdin and stdout closed, stderr's
//! tail kept, and a timeout after which the program and everything it started
//! are killed (it runs in its own process group, so a `sleep` left by a script
//! cannot outlive it and hold its stderr open).

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use super::{ActionResult, TAIL_BYTES};
use crate::escape::{self, Escaped};

/// How long to wait for stderr to close after the program ended.
const DRAIN: Duration = Duration::from_secs(2);

/// Runs `argv` (program first) and waits at most `timeout`.
pub fn run_argv(argv: &[String], timeout: Duration) -> ActionResult {
    let start = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return ActionResult::failed("empty argv".to_owned(), start.elapsed());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ActionResult::failed(
                format!("cannot start {}: {e}", Escaped(program)),
                start.elapsed(),
            );
        }
    };
    let (tx, rx) = mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut tail: Vec<u8> = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > TAIL_BYTES {
                    tail.drain(..tail.len() - TAIL_BYTES);
                }
            }
            let _ = tx.send(tail);
        });
    }
    let (status, timed_out, error) = match child.wait_timeout(timeout) {
        Ok(Some(s)) => (Some(s), false, None),
        Ok(None) => {
            kill_group(&mut child);
            let _ = child.wait();
            (
                None,
                true,
                Some(format!(
                    "timed out after {}s: killed",
                    timeout.as_secs_f64()
                )),
            )
        }
        Err(e) => {
            kill_group(&mut child);
            let _ = child.wait();
            (None, false, Some(format!("waiting for the program: {e}")))
        }
    };
    let tail = rx.recv_timeout(DRAIN).unwrap_or_default();
    let exit = status.and_then(|s| s.code());
    let error = error.or_else(|| match (status, exit) {
        (Some(s), None) => Some(format!("ended by a signal ({s})")),
        (Some(_), Some(0)) | (None, _) => None,
        (Some(_), Some(c)) => Some(format!("exit status {c}")),
    });
    ActionResult {
        ok: exit == Some(0),
        exit,
        status: None,
        timed_out,
        stderr_tail: escape::bytes(&tail),
        error,
        duration: start.elapsed(),
    }
}

/// Kills the child's whole process group (falls back to the child alone).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        if let Ok(pid) = i32::try_from(child.id())
            && killpg(Pid::from_raw(pid), Signal::SIGKILL).is_ok()
        {
            return;
        }
    }
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn exit_status_and_stderr_tail_are_recorded() {
        let r = run_argv(
            &sh("echo 'no such user' >&2; exit 3"),
            Duration::from_secs(30),
        );
        assert!(!r.ok);
        assert_eq!(r.exit, Some(3));
        assert_eq!(r.stderr_tail, "no such user\\n");
        assert_eq!(r.error.as_deref(), Some("exit status 3"));
        let r = run_argv(&sh("true"), Duration::from_secs(30));
        assert!(r.ok && r.error.is_none() && !r.timed_out);
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_panic() {
        let r = run_argv(&["/nonexistent/lock-user".into()], Duration::from_secs(5));
        assert!(!r.ok && r.exit.is_none());
        assert!(r.error.unwrap().contains("cannot start"));
        assert!(run_argv(&[], Duration::from_secs(1)).error.is_some());
    }
}
