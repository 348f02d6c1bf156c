//! The client side of the status socket for the subcommands that read PID 1's answers inside the
//! container (`pidguard status`, `pidguard seccomp recorded`): one GET on the abstract name, bounded
//! in time and size, and believed only when the listener is this container's pidguard
//! ([`peer::check`]). `pidguard probe` has its own client (probe.rs), which also speaks TCP.

use std::time::Duration;

use super::peer;

/// GET `path` on the abstract unix socket `name`, all within `timeout`, believed only after
/// [`peer::check`]: (status, body of at most `max_body` bytes). The client of `pidguard status`
/// (status.rs) and `pidguard seccomp recorded` (seccomp/cmd.rs).
pub fn fetch(
    name: &str,
    path: &str,
    timeout: Duration,
    max_body: usize,
) -> Result<(u16, Vec<u8>), String> {
    use nix::errno::Errno;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;
    let deadline = Instant::now() + timeout;
    let left = || {
        let d = deadline.saturating_duration_since(Instant::now());
        (!d.is_zero())
            .then_some(d)
            .ok_or_else(|| format!("no answer within {}", crate::duration::format(timeout)))
    };
    let addr = UnixAddr::new_abstract(name.as_bytes()).map_err(|e| format!("invalid name: {e}"))?;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(|e| format!("cannot create a socket: {}", e.desc()))?;
    loop {
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                left()?;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(Errno::ECONNREFUSED) => {
                return Err("nothing listens there (is pidguard PID 1 of this container?)".into());
            }
            Err(e) => return Err(format!("cannot connect: {}", e.desc())),
        }
    }
    let mut stream = UnixStream::from(fd);
    let io = |e: std::io::Error| e.to_string();
    stream.set_nonblocking(false).map_err(io)?;
    stream.set_write_timeout(Some(left()?)).map_err(io)?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .map_err(io)?;
    // A squatter on the name must not hand us a profile: only this container's pidguard is heard.
    peer::check(&stream).map_err(|why| format!("@{name} {why}"))?;
    let limit = max_body + super::http::MAX_HEAD;
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        stream.set_read_timeout(Some(left()?)).map_err(io)?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Err(format!(
                    "no answer within {}",
                    crate::duration::format(timeout)
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
        if response.len() > limit {
            return Err(format!("the answer is larger than {limit} bytes"));
        }
    }
    let (code, _) = super::probe::parse_status_response(&response)
        .ok_or_else(|| "the answer is not HTTP".to_string())?;
    let body = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| response[i + 4..].to_vec())
        .unwrap_or_default();
    Ok((code, body))
}
