//! The connection to NATS: credentials, TLS, reconnection.
//!
//! The client connects in the background and keeps reconnecting on its own
//! (`retry_on_initial_connect`, no limit on reconnects): an agent started
//! while NATS is down starts anyway, reads nothing it cannot publish, and
//! goes on once a server answers. Connection changes are logged as they
//! happen; the publisher logs what it could not send.

use std::time::Duration;

use tracing::{info, warn};

use super::{Auth, FleetConfig, FleetError};

/// The longest wait between two connection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// A client for `config`'s servers, named `name` in the servers' monitoring
/// (`loginwatch-agent web1`). Returns at once, connected or not.
pub async fn connect(config: &FleetConfig, name: &str) -> Result<async_nats::Client, FleetError> {
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5))
        // 100 ms doubling to 5 s: quick after a blip, quiet during an outage.
        .reconnect_delay_callback(|attempts| {
            let shift = attempts.min(6) as u32;
            (Duration::from_millis(100) * 2u32.pow(shift)).min(MAX_RECONNECT_DELAY)
        })
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => info!("Connected to NATS."),
                async_nats::Event::Disconnected => {
                    warn!("Disconnected from NATS; reconnecting.")
                }
                other => info!(event = %other, "NATS."),
            }
        });
    opts = match &config.auth {
        Auth::None => opts,
        Auth::UserPassword { user, password } => {
            opts.user_and_password(user.clone(), password.0.clone())
        }
        Auth::Nkey(seed) => opts.nkey(seed.0.clone()),
        Auth::Creds(path) => {
            opts.credentials_file(path)
                .await
                .map_err(|error| FleetError::Creds {
                    path: path.clone(),
                    error,
                })?
        }
    };
    if let Some(ca) = &config.tls_ca {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    let addrs: Vec<async_nats::ServerAddr> = config
        .servers
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()
        .map_err(|e: std::io::Error| FleetError::Connect(e.to_string()))?;
    opts.connect(addrs)
        .await
        .map_err(|e| FleetError::Connect(e.to_string()))
}

/// Checks one `[fleet] url` entry: `nats://host[:port]` or `tls://host[:port]`,
/// without credentials in it (they belong in `user`/`password_file`, not in
/// a file others may read) and without a path.
pub fn check_server(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("write nats://HOST:PORT or tls://HOST:PORT".into());
    };
    if scheme != "nats" && scheme != "tls" {
        return Err(format!(
            "scheme {scheme:?} is not nats or tls (write nats://HOST:PORT, or tls:// for TLS)"
        ));
    }
    if rest.contains('@') {
        return Err(
            "credentials in the url: set user with password_file or password_env instead".into(),
        );
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.contains('/') || rest.contains('?') {
        return Err("write only HOST:PORT after the scheme".into());
    }
    url.parse::<async_nats::ServerAddr>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::check_server;

    #[test]
    fn servers_are_nats_or_tls_urls() {
        for ok in [
            "nats://127.0.0.1:4222",
            "tls://nats.example.com:4222",
            "nats://[::1]:4222",
            "nats://h",
        ] {
            assert_eq!(check_server(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("http://127.0.0.1:4222", "not nats or tls"),
            ("127.0.0.1:4222", "write nats://"),
            ("nats://u:p@h:4222", "credentials"),
            ("nats://h:4222/x", "only HOST:PORT"),
            ("nats://", "only HOST:PORT"),
            ("nats://h:notaport", ""),
        ] {
            let e = check_server(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
