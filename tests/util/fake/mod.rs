//! Local stand-ins for SaaS APIs the daemon pulls from, written from the
//! services' public documentation (each case says which documented
//! behaviour it follows): [`lineworks`] (OAuth token endpoint, audit log
//! download with its 302 to a CSV) and [`okta`] (System Log paging and rate
//! limits). Each runs an axum router on 127.0.0.1 on a thread of its own and
//! records what it was asked, for the tests to check.

pub mod lineworks;
pub mod okta;

use std::net::SocketAddr;

/// A running fake; stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serves `router` on a free loopback port.
pub fn serve(router: axum::Router) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
    });
    Server {
        addr,
        stop: Some(tx),
    }
}

/// Seconds since the Unix epoch, with the fraction.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
