//! In-process HTTP receivers that speak the Splunk HEC and Elasticsearch bulk protocols
//! faithfully (and a plain webhook collector), keeping what they accepted so tests can
//! count documents, with fault knobs.
//!
//! Each receiver is an axum app behind a [`Front`]: a TCP proxy on the public port that can
//! go down for real (listener closed, open connections reset: the client sees "connection
//! refused") and come back on the same port, and can terminate TLS.

#![allow(dead_code)]
// Handlers answer errors as ready responses, the axum way; their size does not matter here.
#![allow(clippy::result_large_err)]

pub mod es;
pub mod hec;
pub mod webhook;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

struct Running {
    accept: JoinHandle<()>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
}

pub struct Front {
    pub addr: SocketAddr,
    inner: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    run: Mutex<Option<Running>>,
    app: JoinHandle<()>,
}

impl Front {
    pub async fn serve(router: axum::Router, tls: Option<tokio_rustls::TlsAcceptor>) -> Front {
        let inner_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let inner = inner_l.local_addr().unwrap();
        let app = tokio::spawn(async move {
            let _ = axum::serve(inner_l, router).await;
        });
        let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front = Front {
            addr: public.local_addr().unwrap(),
            inner,
            tls,
            run: Mutex::new(None),
            app,
        };
        front.accept(public);
        front
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    fn accept(&self, l: TcpListener) {
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (inner, tls, c2) = (self.inner, self.tls.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    // Out of descriptors or the like: do not spin.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let tls = tls.clone();
                let h = tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(inner).await else {
                        return;
                    };
                    match tls {
                        None => {
                            let mut s = s;
                            let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
                        }
                        Some(acc) => {
                            if let Ok(mut s) = acc.accept(s).await {
                                let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
                            }
                        }
                    }
                });
                let mut conns = c2.lock().unwrap();
                conns.retain(|c| !c.is_finished());
                conns.push(h.abort_handle());
            }
        });
        *self.run.lock().unwrap() = Some(Running { accept, conns });
    }

    /// Closes the port and resets every open connection.
    pub async fn down(&self) {
        let r = self.run.lock().unwrap().take();
        if let Some(r) = r {
            r.accept.abort();
            let _ = r.accept.await;
            for h in r.conns.lock().unwrap().drain(..) {
                h.abort();
            }
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        let l = TcpListener::bind(self.addr)
            .await
            .expect("rebind the same port");
        self.accept(l);
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some(r) = self.run.lock().unwrap().take() {
            r.accept.abort();
            for h in r.conns.lock().unwrap().drain(..) {
                h.abort();
            }
        }
        self.app.abort();
    }
}

/// The request body, gunzipped when `Content-Encoding: gzip`; `None` when it is not gzip.
pub fn decode_body(headers: &axum::http::HeaderMap, body: &[u8]) -> Option<(Vec<u8>, bool)> {
    let gz = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gz {
        return Some((body.to_vec(), false));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .ok()?;
    Some((out, true))
}

/// Lock helper: a poisoned lock in a test receiver is still usable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
