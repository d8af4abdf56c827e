//! What one client may hold of the server below HTTP: its share of the connections (per
//! address), and how long an answer may wait for it to read.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The address connections are counted by: an IPv6 address by its /64 (one holder usually has
/// it whole), an IPv4-mapped one as IPv4.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Connections held per client address, capped.
#[derive(Clone)]
pub struct Held {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    cap: usize,
}

/// One connection's place in its address's count, given back when dropped.
pub struct Place {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl Held {
    pub fn new(cap: usize) -> Self {
        Self {
            counts: Arc::default(),
            cap,
        }
    }

    /// A place for a connection from `ip`; `None` when its address holds its cap already.
    pub fn take(&self, ip: IpAddr) -> Option<Place> {
        let key = address_key(ip);
        let mut counts = self.counts.lock().expect("connection counts");
        let count = counts.entry(key).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Place {
            counts: self.counts.clone(),
            key,
        })
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().expect("connection counts");
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// A stream whose writes may wait at most `within` for the client to make room: a client that
/// sends requests and never reads the answers (its window full, the socket's buffer too) gets
/// a write error, and hyper closes the connection, instead of holding its slot for ever.
pub struct WriteDeadline<S> {
    inner: S,
    within: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteDeadline<S> {
    pub fn new(inner: S, within: Duration) -> Self {
        Self {
            inner,
            within,
            stalled: None,
        }
    }

    /// After a pending write: an error once it has waited `within`.
    fn waited<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(done) => {
                self.stalled = None;
                Poll::Ready(done)
            }
            Poll::Pending => {
                let within = self.within;
                let stalled = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(within)));
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read the answer",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.waited(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.waited(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.waited(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.waited(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_cap_and_gives_places_back() {
        let held = Held::new(2);
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let (one, two) = (held.take(a).unwrap(), held.take(a).unwrap());
        assert!(held.take(a).is_none());
        assert!(held.take("203.0.113.8".parse().unwrap()).is_some());
        drop(one);
        assert!(held.take(a).is_some());
        drop(two);
        // One /64 is one address; a mapped IPv4 address is that address.
        let v6 = Held::new(1);
        let _p = v6.take("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(v6.take("2001:db8:1:2:ffff::9".parse().unwrap()).is_none());
        assert!(v6.take("2001:db8:1:3::1".parse().unwrap()).is_some());
        let _q = v6.take("198.51.100.1".parse().unwrap()).unwrap();
        assert!(v6.take("::ffff:198.51.100.1".parse().unwrap()).is_none());
    }
}
