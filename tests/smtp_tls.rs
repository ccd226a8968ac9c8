//! E-mail over TLS against a real SMTP server (Python's aiosmtpd) with a
//! certificate from a private CA the test generates: STARTTLS with required
//! authentication, TLS from the first byte (port 465 style), and a server
//! whose certificate the sink does not trust (refused, retried, nothing sent
//! in clear). Sinks are built from a real configuration text, so `ca_file`
//! is exercised as an operator writes it. Without aiosmtpd the tests print
//! one SKIP line (scripts/test.sh installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use loginwatch::alert::outbox::Outbox;
use loginwatch::alert::sink::{self, Sink};
use loginwatch::alert::{AlertStatus, Payload};
use loginwatch::state::Store;

use crate::util::{Proc, free_port, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);
const USER: &str = "relay-user";
const PASSWORD: &str = "correct horse battery staple";

/// The SMTP server: `mode` is `starttls` (TLS required before MAIL and
/// AUTH) or `tls` (TLS from the first byte). It logs every EHLO, AUTH and
/// MAIL with whether the connection was encrypted at that moment, and each
/// message as JSON, so the test can tell what was ever sent in clear.
const SERVER: &str = r#"
import email, json, os, ssl, sys, time
from email import policy
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

mode, port, cert, key, user, password, outdir = sys.argv[1:8]

def log(line):
    with open(os.path.join(outdir, "events"), "a") as f:
        f.write(line + "\n")

def encrypted(server):
    return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None

class Handler:
    n = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        log("EHLO tls=%s" % encrypted(server))
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        log("MAIL tls=%s auth=%s" % (encrypted(server), session.authenticated))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        Handler.n += 1
        rec = {
            "subject": str(msg["subject"]),
            "body": msg.get_body(preferencelist=("plain",)).get_content(),
            "tls": encrypted(server),
            "to": envelope.rcpt_tos,
        }
        tmp = os.path.join(outdir, ".%d.tmp" % Handler.n)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(rec, f, ensure_ascii=False)
        os.rename(tmp, os.path.join(outdir, "%d.json" % Handler.n))
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == user.encode() and auth_data.password == password.encode())
    log("AUTH %s tls=%s ok=%s" % (mechanism, encrypted(server), ok))
    return AuthResult(success=ok)

ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
kw = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator, auth_required=True)
if mode == "starttls":
    c = Controller(Handler(), tls_context=ctx, require_starttls=True, auth_require_tls=True, **kw)
else:
    # TLS from the first byte: aiosmtpd's auth_require_tls only knows about
    # STARTTLS, so it is off here; the whole session is encrypted anyway.
    c = Controller(Handler(), ssl_context=ctx, auth_require_tls=False, **kw)
c.start()
open(os.path.join(outdir, "ready"), "w").close()
while True:
    time.sleep(3600)
"#;

/// Whether aiosmtpd can run; prints the SKIP line when not.
fn have_aiosmtpd(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        crate::util::skip(
            "aiosmtpd",
            test,
            "Python's aiosmtpd is not installed (pip install aiosmtpd)",
        );
    }
    ok
}

/// A private CA (its certificate in `ca.pem`) and a server certificate for
/// 127.0.0.1 it signed (`server.pem`, `server.key`), under `dir/name`.
fn private_ca(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    std::fs::create_dir(&out).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} private CA"));
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    std::fs::write(out.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(out.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(out.join("server.key"), key.serialize_pem()).unwrap();
    out
}

/// A running aiosmtpd in `mode` with the certificate under `certs`; its
/// events and messages land in `dir/mail`.
struct Server {
    _proc: Proc,
    port: u16,
    mail: PathBuf,
}

impl Server {
    fn start(dir: &Path, mode: &str, certs: &Path) -> Server {
        let mail = dir.join("mail");
        std::fs::create_dir(&mail).unwrap();
        let script = dir.join("smtpserver.py");
        std::fs::write(&script, SERVER).unwrap();
        let port = free_port();
        let child = Command::new("python3")
            .arg(&script)
            .args([mode, &port.to_string()])
            .arg(certs.join("server.pem"))
            .arg(certs.join("server.key"))
            .args([USER, PASSWORD])
            .arg(&mail)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("smtpserver.log")).unwrap())
            .spawn()
            .unwrap();
        let proc = Proc(child);
        wait_until("the SMTP server", DEADLINE, || mail.join("ready").exists());
        // The controller's own readiness probe is not an SMTP session; start
        // the record from here.
        let _ = std::fs::remove_file(mail.join("events"));
        Server {
            _proc: proc,
            port,
            mail,
        }
    }

    fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.mail.join("events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for n in 1.. {
            let Ok(t) = std::fs::read_to_string(self.mail.join(format!("{n}.json"))) else {
                break;
            };
            out.push(serde_json::from_str(&t).unwrap());
        }
        out
    }
}

/// The one e-mail sink of a configuration text, as the daemon loads it.
fn sink_from_config(dir: &Path, sink_keys: &str) -> Sink {
    std::fs::write(dir.join("smtp-password"), format!("{PASSWORD}\n")).unwrap();
    let text = format!(
        "[alert]\n[[alert.sink]]\nname = \"mail\"\ntype = \"email\"\nhost = \"127.0.0.1\"\n\
         from = \"loginwatch@example.test\"\nto = [\"security@example.test\"]\n\
         username = \"{USER}\"\npassword_file = \"smtp-password\"\n{sink_keys}\n"
    );
    let config = loginwatch::config::load_text(&text, &dir.join("loginwatch.toml"), &|_| None)
        .unwrap_or_else(|e| panic!("{e}"));
    sink::build(&config.alert.sinks).unwrap().pop().unwrap()
}

fn alert() -> Payload {
    Payload::Email {
        subject: "[loginwatch] アカウント alice をロックしました".into(),
        text: "Account alice was locked after 10 failed logins.\nアカウント alice をロックしました。\n"
            .into(),
        html: None,
    }
}

/// Enqueues one alert and delivers it; panics if it does not leave the outbox.
fn deliver_one(dir: &Path, sink: Sink) {
    let mut o = Outbox::new(Store::open(&dir.join("state.db")).unwrap());
    let now = Utc::now();
    o.enqueue("mail", "a1", AlertStatus::Firing, &alert(), now)
        .unwrap();
    let r = o.deliver_due(&[sink], None, now).unwrap();
    assert_eq!(r.delivered, 1, "{r:?}: {:?}", o.depth());
}

fn assert_the_message_arrived_encrypted(server: &Server) {
    wait_until("the message", DEADLINE, || server.messages().len() == 1);
    let m = &server.messages()[0];
    assert_eq!(
        m["subject"],
        "[loginwatch] アカウント alice をロックしました"
    );
    let body = m["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(
        body.trim_end(),
        "Account alice was locked after 10 failed logins.\nアカウント alice をロックしました。"
    );
    assert_eq!(m["tls"], true, "{m}");
    assert_eq!(m["to"], serde_json::json!(["security@example.test"]));
}

#[test]
fn starttls_with_required_auth_delivers_through_a_private_ca() {
    if !have_aiosmtpd("starttls_with_required_auth_delivers_through_a_private_ca") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let certs = private_ca(d, "site");
    let server = Server::start(d, "starttls", &certs);
    let sink = sink_from_config(
        d,
        &format!(
            "tls = \"starttls\"\nport = {}\nca_file = \"site/ca.pem\"",
            server.port
        ),
    );
    deliver_one(d, sink);
    assert_the_message_arrived_encrypted(&server);
    let ev = server.events();
    // Plain EHLO, STARTTLS, then EHLO, AUTH and MAIL only inside TLS.
    assert_eq!(
        ev.first().map(String::as_str),
        Some("EHLO tls=False"),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.starts_with("AUTH ") && e.ends_with("tls=True ok=True")),
        "{ev:?}"
    );
    assert!(ev.contains(&"MAIL tls=True auth=True".to_owned()), "{ev:?}");
    assert!(
        ev.iter()
            .filter(|e| !e.starts_with("EHLO"))
            .all(|e| e.contains("tls=True")),
        "{ev:?}"
    );
}

#[test]
fn implicit_tls_delivers_through_a_private_ca() {
    if !have_aiosmtpd("implicit_tls_delivers_through_a_private_ca") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let certs = private_ca(d, "site");
    let server = Server::start(d, "tls", &certs);
    let sink = sink_from_config(
        d,
        &format!(
            "tls = \"tls\"\nport = {}\nca_file = \"site/ca.pem\"",
            server.port
        ),
    );
    deliver_one(d, sink);
    assert_the_message_arrived_encrypted(&server);
    let ev = server.events();
    assert!(
        !ev.is_empty() && ev.iter().all(|e| e.contains("tls=True")),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.starts_with("AUTH ") && e.ends_with("ok=True")),
        "{ev:?}"
    );
}

#[test]
fn an_untrusted_certificate_is_refused_retried_and_nothing_goes_in_clear() {
    if !have_aiosmtpd("an_untrusted_certificate_is_refused_retried_and_nothing_goes_in_clear") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server_ca = private_ca(d, "site");
    // The sink trusts another private CA (and the web roots): not the server's.
    private_ca(d, "other");
    for mode in ["starttls", "tls"] {
        let sub = d.join(mode);
        std::fs::create_dir(&sub).unwrap();
        let server = Server::start(&sub, mode, &server_ca);
        let keys = |ca: &str| {
            format!(
                "tls = \"{mode}\"\nport = {}\nca_file = \"{}\"",
                server.port,
                d.join(ca).join("ca.pem").display()
            )
        };
        let sinks = [sink_from_config(&sub, &keys("other"))];
        let mut o = Outbox::new(Store::open(&sub.join("state.db")).unwrap());
        let t0 = Utc::now();
        o.enqueue("mail", "a1", AlertStatus::Firing, &alert(), t0)
            .unwrap();
        // Two passes, the second after any backoff: each one fails and keeps
        // the row for a later attempt.
        for t in [t0, t0 + TimeDelta::hours(2)] {
            let r = o.deliver_due(&sinks, None, t).unwrap();
            assert_eq!(
                (r.delivered, r.retried, r.failed),
                (0, 1, 0),
                "{mode}: {r:?}"
            );
        }
        assert_eq!(o.depth().unwrap(), [("mail".to_owned(), 1)], "{mode}");
        let row = o.due(t0 + TimeDelta::days(1)).unwrap().pop().unwrap();
        assert_eq!(row.attempts, 2, "{mode}: {row:?}");
        // Nothing but the greeting ever crossed in clear: no AUTH, no MAIL,
        // no message (with implicit TLS, not even an EHLO).
        let ev = server.events();
        assert!(ev.iter().all(|e| e == "EHLO tls=False"), "{mode}: {ev:?}");
        assert_eq!(ev.is_empty(), mode == "tls", "{mode}: {ev:?}");
        assert!(server.messages().is_empty(), "{mode}");
        // Once the operator names the right CA, the kept row goes out.
        let fixed = [sink_from_config(&sub, &keys("site"))];
        let r = o
            .deliver_due(&fixed, None, t0 + TimeDelta::days(1))
            .unwrap();
        assert_eq!(r.delivered, 1, "{mode}: {r:?}");
        assert_the_message_arrived_encrypted(&server);
    }
}
