//! Connections: TCP and TLS streams that count the bytes handed to the socket (so the
//! receiver's TCP acknowledgements can be related to batches), UDP and Unix datagrams.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UdpSocket, UnixDatagram};
use tokio_rustls::TlsConnector;

use super::{SyslogConfig, Transport, tls};

pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// How to reach the receiver; connects anew on every call (the address is resolved again,
/// so a receiver that moved is found).
pub(super) struct Connector {
    transport: Transport,
    address: String,
    timeout: Duration,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Connector {
    pub fn new(sink: &str, cfg: &SyslogConfig) -> Result<Connector, String> {
        let tls = if cfg.transport == Transport::Tls {
            if cfg.tls.insecure_skip_verify {
                tracing::warn!(sink, address = %cfg.address,
                    "tls_insecure_skip_verify = true: the syslog receiver's certificate is NOT verified; anyone on the path can read and alter the records.");
            }
            let host = match &cfg.tls.server_name {
                Some(n) => n.clone(),
                None => host_of(&cfg.address).to_string(),
            };
            let name = tls::server_name(&host)?;
            Some((TlsConnector::from(tls::client_config(&cfg.tls)?), name))
        } else {
            None
        };
        Ok(Connector {
            transport: cfg.transport,
            address: cfg.address.clone(),
            timeout: cfg.timeout,
            tls,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// A TCP or TLS connection, within the timeout.
    pub async fn stream(&self) -> io::Result<Conn> {
        let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "timed out");
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(&self.address))
            .await
            .map_err(|_| timed_out())??;
        let fd = tcp.as_raw_fd();
        tune(fd, self.timeout);
        let sent = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: tcp,
            sent: sent.clone(),
        };
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(counting),
            Some((connector, name)) => {
                let tls =
                    tokio::time::timeout(self.timeout, connector.connect(name.clone(), counting))
                        .await
                        .map_err(|_| timed_out())??;
                Box::new(tls)
            }
        };
        let settled = crate::bounds::later(std::time::Instant::now(), SETTLE);
        Ok(Conn {
            io,
            sent,
            fd,
            settled,
        })
    }

    pub async fn datagram(&self) -> io::Result<Dgram> {
        if self.transport == Transport::Unix {
            let s = UnixDatagram::unbound()?;
            s.connect(&self.address)?;
            return Ok(Dgram::Unix(s));
        }
        let addr = tokio::net::lookup_host(&self.address)
            .await?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address found"))?;
        let local = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let s = UdpSocket::bind(local).await?;
        s.connect(addr).await?;
        Ok(Dgram::Udp(s))
    }
}

/// `host` of `host:port` / `[v6]:port`.
pub(super) fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Keepalives, and `TCP_USER_TIMEOUT` so a receiver that vanished without a reset (a
/// firewall dropping the session) breaks the connection instead of hanging it for 15 min.
fn tune(fd: RawFd, timeout: Duration) {
    let set = |level: libc::c_int, opt: libc::c_int, v: libc::c_int| {
        // SAFETY: fd is an open socket; the option value is a c_int of the right size.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                opt,
                (&v as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    #[cfg(target_os = "linux")]
    {
        let secs = timeout.as_secs().clamp(1, 3600) as libc::c_int;
        set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (secs / 3).max(1));
        set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
        let ms = timeout.as_millis().clamp(1000, i32::MAX as u128) as libc::c_int;
        set(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, ms);
    }
}

/// How long a new connection must stay up before anything written on it counts as
/// delivered. A receiver that refuses the session after the handshake says so within this:
/// with TLS 1.3 the server checks the client certificate only after the client finished, so
/// writes "succeed" and the TCP stack acknowledges bytes the receiver then throws away.
const SETTLE: Duration = Duration::from_secs(1);

/// A stream connection and how far the receiver's TCP has acknowledged it.
pub(super) struct Conn {
    pub io: Box<dyn Io>,
    sent: Arc<AtomicU64>,
    fd: RawFd,
    settled: std::time::Instant,
}

impl Conn {
    /// Bytes handed to the socket so far (TLS records included).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Bytes the receiver's TCP has acknowledged (sent minus what is still in the send
    /// queue), or 0 while the connection is younger than [`SETTLE`].
    pub fn peer_acked(&self) -> u64 {
        if std::time::Instant::now() < self.settled {
            return 0;
        }
        self.sent().saturating_sub(unacked(self.fd))
    }
}

/// `SIOCOUTQ`: bytes in the send queue not yet acknowledged by the peer. Where it cannot be
/// read, flushed bytes count as acknowledged.
fn unacked(fd: RawFd) -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut n: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (== SIOCOUTQ) writes one c_int.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
        if rc == 0 {
            return n.max(0) as u64;
        }
    }
    let _ = fd;
    0
}

pub(super) enum Dgram {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Dgram {
    pub async fn send(&self, msg: &[u8]) -> io::Result<()> {
        let n = match self {
            Dgram::Udp(s) => s.send(msg).await?,
            Dgram::Unix(s) => s.send(msg).await?,
        };
        if n != msg.len() {
            return Err(io::Error::other("datagram sent short"));
        }
        Ok(())
    }
}

/// Counts the bytes written through it.
struct Counting<S> {
    inner: S,
    sent: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
