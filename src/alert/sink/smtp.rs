//! E-mail over SMTP with lettre: STARTTLS (required, port 587 by default),
//! TLS from the first byte (465) or plain (25, for a local relay), with
//! optional authentication.
//!
//! The `Message-ID` is derived from the idempotency key, so a message re-sent
//! after a crash carries the same id and mail systems that deduplicate on it
//! (and every threading client) treat it as the same message. The body is
//! UTF-8 (lettre picks the transfer encoding), so Japanese alerts arrive
//! intact; subjects are RFC 2047-encoded by lettre when needed.
//!
//! With TLS, the server's certificate must chain to the web's public roots
//! or to a CA of the sink's `ca_file` (a site's own relay with a private CA);
//! an untrusted certificate fails the attempt before anything (credentials,
//! envelope, message) is sent, and the outbox retries it later.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};

use super::{Delivery, SinkError, Summary, Transport, wrong_payload};
use crate::alert::Payload;
use crate::alert::config::{SmtpConfig, SmtpTls, TlsTrust};

/// TLS parameters for a connection to `host`: the web roots plus the extra
/// CA certificates of `trust`. Fails when one of them is not a usable trust
/// anchor (the config loader calls this too, so that shows at load).
pub fn tls_parameters(
    host: &str,
    trust: &TlsTrust,
) -> Result<TlsParameters, lettre::transport::smtp::Error> {
    let mut b = TlsParameters::builder(host.to_owned());
    for der in &trust.extra_roots {
        b = b.add_root_certificate(Certificate::from_der(der.clone())?);
    }
    b.build_rustls()
}

/// Sends e-mails through one SMTP server.
pub struct SmtpSink {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    server: String,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("server", &self.server)
            .finish()
    }
}

impl SmtpSink {
    /// A sink for `c` (the addresses were checked by the config loader; they
    /// are parsed again here because this type keeps them typed).
    pub fn new(c: &SmtpConfig) -> Result<SmtpSink, SinkError> {
        let setup = |e: &dyn std::fmt::Display| SinkError::Setup(format!("smtp {}: {e}", c.host));
        // `builder_dangerous` only means "no TLS unless told": each TLS
        // variant sets it below, `Required` refusing to go on in clear.
        let builder = SmtpTransport::builder_dangerous(&c.host);
        let builder = match &c.tls {
            SmtpTls::None => builder,
            SmtpTls::StartTls(t) => builder.tls(Tls::Required(
                tls_parameters(&c.host, t).map_err(|e| setup(&e))?,
            )),
            SmtpTls::Tls(t) => builder.tls(Tls::Wrapper(
                tls_parameters(&c.host, t).map_err(|e| setup(&e))?,
            )),
        };
        let mut builder = builder.port(c.port).timeout(Some(c.timeout));
        if let Some((u, p)) = &c.credentials {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        let from = c.from.parse::<Mailbox>().map_err(|e| setup(&e))?;
        let to =
            c.to.iter()
                .map(|a| a.parse::<Mailbox>().map_err(|e| setup(&e)))
                .collect::<Result<Vec<_>, _>>()?;
        Ok(SmtpSink {
            transport: builder.build(),
            from,
            to,
            server: format!("{}:{}", c.host, c.port),
        })
    }

    fn message(
        &self,
        d: &Delivery<'_>,
        subject: &str,
        text: &str,
        html: Option<&str>,
    ) -> Result<Message, SinkError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!("<{}@loginwatch>", d.idempotency_key)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Loginwatch-Idempotency-Key"),
                d.idempotency_key.to_owned(),
            ));
        for t in &self.to {
            b = b.to(t.clone());
        }
        let plain = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_owned());
        let built = match html {
            None => b.singlepart(plain),
            Some(h) => b.multipart(
                MultiPart::alternative()
                    .singlepart(plain)
                    .singlepart(SinglePart::html(h.to_owned())),
            ),
        };
        built.map_err(|e| SinkError::Permanent(format!("e-mail: {e}")))
    }
}

impl Transport for SmtpSink {
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError> {
        let Payload::Email {
            subject,
            text,
            html,
        } = d.payload
        else {
            return Err(wrong_payload("email", d.payload));
        };
        let msg = self.message(d, subject, text, html.as_deref())?;
        match self.transport.send(&msg) {
            Ok(_) => Ok(()),
            // A 5xx reply refuses this message for good; anything else
            // (connection, TLS, 4xx, timeout) may pass later.
            Err(e) if e.is_permanent() => {
                Err(SinkError::Permanent(format!("{}: {e}", self.server)))
            }
            Err(e) => Err(SinkError::Transient(format!("{}: {e}", self.server))),
        }
    }

    fn summary(&self, s: &Summary) -> Payload {
        Payload::Email {
            subject: format!("[loginwatch] {} alerts suppressed", s.suppressed),
            text: format!("{}\n", s.sentence()),
            html: None,
        }
    }
}
