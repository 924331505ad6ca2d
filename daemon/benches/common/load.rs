//! A load generator the HTTP benchmarks share: `total` POSTs over
//! [`CONNECTIONS`] keep-alive connections, each answered before the next
//! on its connection, and the trivial server that is their baseline.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Connections the load runs over.
pub const CONNECTIONS: u64 = 64;

/// One keep-alive HTTP/1.1 connection to `addr`, with Nagle off.
pub async fn connection(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (send, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    send
}

/// A JSON POST of `body` to `path` with `key` as its bearer token.
pub fn post(addr: SocketAddr, path: &str, key: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Drives `total` POSTs over CONNECTIONS connections; returns (rps, p50, p99).
pub async fn drive(
    addr: SocketAddr,
    path: &str,
    key: &str,
    total: u64,
    payload: fn(u64) -> String,
) -> (f64, f64, f64) {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (next, path, key) = (next.clone(), path.to_string(), key.to_string());
        tasks.push(tokio::spawn(async move {
            let mut send = connection(addr).await;
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let req = post(addr, &path, &key, payload(i));
                let t = Instant::now();
                let res = send.send_request(req).await.unwrap();
                let status = res.status();
                let _ = res.into_body().collect().await.unwrap();
                assert!(status.is_success(), "status {status}");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rps = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    (
        rps.round(),
        (pct(0.5) * 100.0).round() / 100.0,
        (pct(0.99) * 100.0).round() / 100.0,
    )
}

/// The baseline: a hyper server that answers every request `200 hello`.
pub async fn hello_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"hello"),
                        )))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}
