//! One TLS connection reused for many HTTP/1.1 requests, for the benchmarks: what a real
//! client library does, so that the handshake is not what is measured.

use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub struct Connection {
    stream: BufReader<TlsStream<TcpStream>>,
    host: String,
}

impl Connection {
    pub async fn open(
        addr: std::net::SocketAddr,
        config: Arc<ClientConfig>,
    ) -> anyhow::Result<Self> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = TlsConnector::from(config)
            .connect(ServerName::try_from(addr.ip().to_string())?, tcp)
            .await?;
        Ok(Connection {
            stream: BufReader::new(tls),
            host: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole response: (status, body).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).await?;
        s.write_all(body).await?;
        s.flush().await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = Some(v.trim().parse::<usize>()?);
            }
        }
        let mut body = vec![0; length.context("the benchmarks need a Content-Length")?];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}
