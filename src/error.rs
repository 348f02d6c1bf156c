//! One error type for everything that fails before the program runs, and the one mapping from a
//! failure to pidguard's exit code: the `docker run` convention, which tini and dumb-init users know.
//!
//! | code | meaning |
//! |---|---|
//! | 125 | pidguard's own failure: a bad flag or value, a hardening step refused, set-up failed |
//! | 126 | the program was found but cannot be executed |
//! | 127 | the program was not found |

/// pidguard's own failure before the program started (also every usage error).
pub const EXIT_SETUP: i32 = 125;
/// A usage error is a set-up failure: the same 125, named for the places that parse.
pub const EXIT_USAGE: i32 = EXIT_SETUP;
pub const EXIT_NOT_EXECUTABLE: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

/// The exit code for a failed `execve` with this errno: 127 when nothing was found, else 126.
/// A `const fn` on integers only, because the child calls it between clone and exec.
pub const fn exec_exit_code(errno: i32) -> i32 {
    if errno == libc::ENOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_NOT_EXECUTABLE
    }
}

/// A failure before the program runs: the one-line message and the exit code.
#[derive(Debug)]
pub struct SetupError {
    pub code: i32,
    pub msg: String,
}

impl SetupError {
    pub fn new(code: i32, msg: impl Into<String>) -> Self {
        SetupError {
            code,
            msg: msg.into(),
        }
    }

    /// The common case: pidguard's own failure, 125.
    pub fn setup(msg: impl Into<String>) -> Self {
        Self::new(EXIT_SETUP, msg)
    }
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}
