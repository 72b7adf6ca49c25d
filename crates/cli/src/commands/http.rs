//! The CLI's calls to a running pipeline's HTTP API (`watershed table`,
//! `watershed status`): one request per connection, HTTP/1.1.

use anyhow::{Context, anyhow};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Sends `method path` with an empty body to `base` (`http://host:port`);
/// returns the status and the body text.
pub async fn request(
    method: hyper::Method,
    base: &str,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("the url must start with http://"))?
        .trim_end_matches('/');
    let stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connect to {authority}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("http handshake")?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .context("build the request")?;
    let response = sender
        .send_request(request)
        .await
        .context("send the request")?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .context("read the answer")?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
