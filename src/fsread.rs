//! Reading a file that pidguard did not write: bounded, and never blocking.
//!
//! Every file pidguard reads (the image's /etc/passwd, /etc/group and /etc/hosts, a seccomp profile,
//! /proc and cgroup files for the audit and the metrics) goes through [`read`]. The image, or a
//! program that can write to its own files, chooses what sits at those paths, so the read must end
//! whatever is there:
//!
//! - `open(2)` with `O_NONBLOCK`: opening a FIFO for reading otherwise waits for a writer, forever
//!   (`fifo(7)`); a FIFO at /etc/passwd would hang PID 1 before the program starts, and one at
//!   /etc/hosts would make `pidguard probe --timeout 2s` outlast its timeout. `O_NOCTTY`, so that a
//!   terminal device at one of these paths can never become PID 1's controlling terminal;
//!   `O_CLOEXEC` (std sets it), so the descriptor never reaches the program.
//! - `fstat(2)` on the open descriptor (not the path, which could be swapped in between): anything
//!   but a regular file (FIFO, socket, device, directory) is refused with what it is. /proc, /sys and
//!   cgroup files are regular files, so this costs the real inputs nothing. `O_NONBLOCK` has no
//!   effect on a regular file's reads.
//! - At most `limit` bytes, read as `take(limit + 1)`: one byte more than allowed tells "too large",
//!   which is an error (`ErrorKind::FileTooLarge`), never a silent cut.
//!
//! Errors are plain `io::Error`s so that callers keep their own error types: `NotFound` stays
//! `NotFound` (a missing /etc/passwd is a scratch image, not an error), and the message of the two
//! refusals reads well after "cannot read PATH: ".

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The whole of `path`, at most `limit` bytes, if it is a regular file.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let (file, size) = open(path)?;
    // Room for the whole file and the EOF up front: one read(2) for a usual file instead of a run of
    // doubling ones. /proc files say 0 and get the floor.
    let room = size
        .saturating_add(1)
        .max(4096)
        .min(limit.saturating_add(1));
    let mut buf = Vec::with_capacity(usize::try_from(room).unwrap_or(4096));
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "larger than {}, the most pidguard reads from it: make the file smaller",
                size_text(limit)
            ),
        ));
    }
    Ok(buf)
}

/// `path` opened for reading without blocking, refused unless it is a regular file; and its size,
/// from the same fstat.
fn open(path: &Path) -> io::Result<(File, u64)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok((file, meta.len()));
    }
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a plain file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file; put a regular file there"),
    ))
}

/// `4 MiB`, `64 KiB`, `100 bytes`: a limit as the user would write it.
fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pidguard-fsread-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_up_to_the_limit_and_refuses_one_byte_more() {
        let dir = scratch("limit");
        let file = dir.join("f");
        std::fs::write(&file, vec![b'x'; 8192]).unwrap();
        assert_eq!(read(&file, 8192).unwrap().len(), 8192);
        let err = read(&file, 8191).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "larger than 8191 bytes, the most pidguard reads from it: make the file smaller"
        );
        assert_eq!(
            read(&file, 4096).unwrap_err().to_string(),
            "larger than 4 KiB, the most pidguard reads from it: make the file smaller"
        );
        std::fs::write(&file, b"").unwrap();
        assert_eq!(read(&file, 0).unwrap(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_stays_not_found() {
        let dir = scratch("missing");
        let err = read(&dir.join("none"), 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The one that used to hang: opening a FIFO for reading waits for a writer.
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = scratch("fifo");
        let fifo = dir.join("passwd");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let err = read(&fifo, 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string()
                .starts_with("it is a FIFO, not a regular file"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let err = read(Path::new("/"), 10).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        // /dev/zero would never end without the limit; it is refused before any read.
        let err = read(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("a character device"), "{err}");
    }

    #[test]
    fn proc_files_are_regular_files() {
        let stat = read(Path::new("/proc/self/stat"), 4096).unwrap();
        assert!(stat.starts_with(std::process::id().to_string().as_bytes()));
    }
}
