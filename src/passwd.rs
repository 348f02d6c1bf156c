//! Who the program runs as: `--user USER[:GROUP]` and `--groups`, resolved without NSS.
//!
//! The binary is static glibc, and a static glibc cannot load NSS modules safely, so `getpwnam` and
//! friends are off limits. The images we run in keep their users in plain `/etc/passwd` and `/etc/group`
//! (distroless ships `nonroot` = 65532; Debian and Alpine ship the usual files) or have no user database at
//! all (scratch). So we read those two files ourselves, with the same rules as glibc's `files` backend:
//!
//! - Leading blanks are skipped, empty lines and `#` comments are ignored, the first match wins.
//! - A malformed line is skipped rather than failing the whole file, as glibc does: one corrupt entry must
//!   not stop a valid user from starting. The skipped lines are kept (line number, name, reason) so that
//!   asking for the user whose line is broken names the line instead of saying "no such user".
//! - Every input is bounded: file size ([`MAX_FILE_BYTES`]), line count ([`MAX_LINES`]), the result's
//!   group count (the kernel's `NGROUPS_MAX`).
//!
//! The identity follows gosu, which follows runc (`libcontainer/user`), so it matches what `docker run
//! --user` does:
//!
//! - A number is a uid or gid and needs no database (scratch images, Kubernetes random uids). A name is
//!   looked up and must exist. An all-digit word is always a number, never a name.
//! - Without `:GROUP` the gid is the passwd entry's gid, or, when the uid has no entry, the uid itself:
//!   never a silent gid 0. `1234:0` must be written out.
//! - Supplementary groups are what `initgroups(3)` would set: the primary gid plus every group whose
//!   member list names the user. When `:GROUP` is given they are dropped to that group alone, as Docker
//!   does, because asking for a specific group is asking not to run with the user's others. `--groups`
//!   replaces them exactly (`--groups ''` means none at all).
//! - `HOME` is the entry's home, or `/` without an entry (or with an empty home field); `USER` and
//!   `LOGNAME` are the entry's name, or the uid as text.
//!
//! Parsing is pure ([`parse_passwd`], [`parse_group`], [`parse_user_spec`], [`parse_groups_spec`],
//! [`resolve`]); only [`read_db`] and [`lookup`] touch the file system.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Largest passwd or group file we read. Real ones are a few KiB; this only stops a hostile image.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most lines (of any kind) in one file.
pub const MAX_LINES: usize = 100_000;
/// The kernel's `NGROUPS_MAX`: `setgroups(2)` refuses more.
pub const MAX_GROUPS: usize = 65_536;
/// Longest `--user` or `--groups` value.
pub const MAX_SPEC_BYTES: usize = 4096;
/// `(uid_t)-1` means "unchanged" to `setresuid(2)`, so the largest usable id is one below it.
pub const MAX_ID: u32 = u32::MAX - 1;

/// Where the messages say the databases are; they are always the image's own.
const PASSWD_PATH: &str = "/etc/passwd";
const GROUP_PATH: &str = "/etc/group";

#[derive(Debug)]
pub enum Error {
    /// A `--user` or `--groups` value that is not well formed.
    Spec {
        flag: &'static str,
        text: String,
        why: &'static str,
    },
    /// A user name that `/etc/passwd` does not have (or has only on a malformed line).
    NoSuchUser {
        name: String,
        skipped: Option<Skipped>,
    },
    /// A user name was given but the image has no `/etc/passwd`.
    NoPasswdFile { name: String },
    /// A group name that `/etc/group` does not have. `role` is what the group was wanted for.
    NoSuchGroup {
        role: &'static str,
        name: String,
        skipped: Option<Skipped>,
    },
    /// A group name was given but the image has no `/etc/group`.
    NoGroupFile { role: &'static str, name: String },
    /// The user would end up in more groups than the kernel allows.
    TooManyGroups { count: usize },
    /// A database with more than [`MAX_LINES`] lines.
    TooManyLines { max: usize },
    /// A database file larger than [`MAX_FILE_BYTES`].
    TooLarge { path: PathBuf },
    /// A database file that exists but cannot be read.
    Read { path: PathBuf, err: io::Error },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spec { flag, text, why } => write!(f, "{flag} {text:?}: {why}"),
            Error::NoSuchUser {
                name,
                skipped: Some(s),
            } => write!(
                f,
                "cannot switch to user {name:?}: its line {} in {PASSWD_PATH} is malformed ({})",
                s.line, s.why
            ),
            Error::NoSuchUser {
                name,
                skipped: None,
            } => write!(
                f,
                "cannot switch to user {name:?}: no such user in {PASSWD_PATH}"
            ),
            Error::NoPasswdFile { name } => write!(
                f,
                "cannot switch to user {name:?}: {PASSWD_PATH} does not exist in this image; \
                 give a numeric uid instead (e.g. --user 65532:65532)"
            ),
            Error::NoSuchGroup {
                role,
                name,
                skipped: Some(s),
            } => write!(
                f,
                "cannot {role} {name:?}: its line {} in {GROUP_PATH} is malformed ({})",
                s.line, s.why
            ),
            Error::NoSuchGroup {
                role,
                name,
                skipped: None,
            } => write!(f, "cannot {role} {name:?}: no such group in {GROUP_PATH}"),
            Error::NoGroupFile { role, name } => write!(
                f,
                "cannot {role} {name:?}: {GROUP_PATH} does not exist in this image; \
                 give a numeric gid instead"
            ),
            Error::TooManyGroups { count } => write!(
                f,
                "cannot set supplementary groups: {count} groups, the kernel allows {MAX_GROUPS}"
            ),
            Error::TooManyLines { max } => {
                write!(f, "cannot parse user database: more than {max} lines")
            }
            Error::TooLarge { path } => write!(
                f,
                "cannot read {}: larger than {} MiB",
                path.display(),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            Error::Read { path, err } => write!(f, "cannot read {}: {err}", path.display()),
        }
    }
}

impl std::error::Error for Error {}

/// One line of `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`, borrowed from the file's
/// text (PID 1 reads these files at every start: parsing them allocates nothing per line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry<'a> {
    pub name: &'a str,
    pub uid: u32,
    pub gid: u32,
    pub home: &'a str,
    pub shell: &'a str,
}

/// One line of `/etc/group`: `name:password:gid:member,member,...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry<'a> {
    pub name: &'a str,
    pub gid: u32,
    /// The member list as written; [`GroupEntry::members`] splits it.
    member_list: &'a str,
}

impl<'a> GroupEntry<'a> {
    /// The members, without the empty ones of "a,,b" or a trailing ',' (glibc skips them too).
    pub fn members(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.member_list.split(',').filter(|m| !m.is_empty())
    }
}

/// A line the parser skipped, kept so that errors can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line number.
    pub line: usize,
    /// The first field, if it was readable: the name the line was meant to define.
    pub name: String,
    pub why: &'static str,
}

/// A parsed database: the good entries, in file order, and the lines that were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Db<T> {
    pub entries: Vec<T>,
    pub skipped: Vec<Skipped>,
}

impl<T> Db<T> {
    fn skipped_named(&self, name: &str) -> Option<Skipped> {
        self.skipped.iter().find(|s| s.name == name).cloned()
    }
}

/// A user or group as written: a number or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrId {
    Name(String),
    Id(u32),
}

impl fmt::Display for NameOrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameOrId::Name(n) => f.write_str(n),
            NameOrId::Id(id) => write!(f, "{id}"),
        }
    }
}

/// `--user USER[:GROUP]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: NameOrId,
    pub group: Option<NameOrId>,
}

impl fmt::Display for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{}:{g}", self.user),
            None => write!(f, "{}", self.user),
        }
    }
}

/// Where supplementary groups come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupsSpec {
    /// As `initgroups(3)`: from `/etc/group` (the default, when `--groups` is not given).
    FromGroupFile,
    /// Exactly these (`--groups G1,G2`); empty for `--groups ''`.
    Explicit(Vec<NameOrId>),
}

/// Everything the privilege drop and the child's environment need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// For `setgroups(2)`: sorted, without duplicates. Holds `gid` unless `--groups` said otherwise.
    pub groups: Vec<u32>,
    /// For `USER` and `LOGNAME`: the passwd name, or the uid as text.
    pub name: String,
    /// For `HOME`: the passwd home, or `/`.
    pub home: String,
}

impl Identity {
    /// The variables gosu sets for the target user, to put into the child's environment.
    pub fn env(&self) -> [(&'static str, &str); 3] {
        [
            ("HOME", &self.home),
            ("USER", &self.name),
            ("LOGNAME", &self.name),
        ]
    }
}

/// Parses a decimal id: digits only, at most [`MAX_ID`].
fn parse_id(text: &str) -> Result<u32, &'static str> {
    if text.is_empty() {
        return Err("the id is empty");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the id is not a decimal number");
    }
    match text.parse::<u32>() {
        Ok(n) if n <= MAX_ID => Ok(n),
        _ => Err("the id is above 4294967294"),
    }
}

/// Parses one user or group word from a flag.
fn parse_name_or_id(text: &str) -> Result<NameOrId, &'static str> {
    if text.is_empty() {
        return Err("a name or number is empty");
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_id(text)
            .map(NameOrId::Id)
            .map_err(|_| "the number is above 4294967294 ((uid_t)-1 is not an id)");
    }
    if text.starts_with(['+', '-']) {
        return Err("ids are unsigned decimal numbers, and names cannot start with + or -");
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == ',')
    {
        return Err("names and numbers cannot contain spaces, control characters, ':' or ','");
    }
    Ok(NameOrId::Name(text.to_string()))
}

/// Parses `--user USER[:GROUP]`.
pub fn parse_user_spec(text: &str) -> Result<UserSpec, Error> {
    let err = |why| Error::Spec {
        flag: "--user",
        text: text.to_string(),
        why,
    };
    if text.len() > MAX_SPEC_BYTES {
        return Err(err("it is too long"));
    }
    let (user, group) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    if user.is_empty() {
        return Err(err(
            "the user is empty (write USER or USER:GROUP, each a name or a number)",
        ));
    }
    if group == Some("") {
        return Err(err(
            "the group after ':' is empty (write USER or USER:GROUP, each a name or a number)",
        ));
    }
    let user = parse_name_or_id(user).map_err(err)?;
    let group = group.map(parse_name_or_id).transpose().map_err(err)?;
    Ok(UserSpec { user, group })
}

/// Parses `--groups G1,G2,...`; the empty string means no supplementary groups.
pub fn parse_groups_spec(text: &str) -> Result<GroupsSpec, Error> {
    let err = |why| Error::Spec {
        flag: "--groups",
        text: text.to_string(),
        why,
    };
    if text.len() > MAX_SPEC_BYTES {
        return Err(err("it is too long"));
    }
    if text.is_empty() {
        return Ok(GroupsSpec::Explicit(Vec::new()));
    }
    let groups = text
        .split(',')
        .map(parse_name_or_id)
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    Ok(GroupsSpec::Explicit(groups))
}

/// Walks the meaningful lines of a database the way glibc's `files` backend does, handing each to
/// `parse_line` with its 1-based number; a line it rejects is recorded as skipped.
fn parse_db<'a, T>(
    text: &'a [u8],
    parse_line: impl Fn(&'a str) -> Result<T, &'static str>,
) -> Result<Db<T>, Error> {
    let mut db = Db {
        entries: Vec::new(),
        skipped: Vec::new(),
    };
    // Without this, the final '\n' would leave an empty piece that counts as one more line.
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
        if index >= MAX_LINES {
            return Err(Error::TooManyLines { max: MAX_LINES });
        }
        let line_no = index + 1;
        // Files edited on Windows end lines with "\r\n"; the '\r' would otherwise end up in the shell.
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = raw.trim_ascii_start();
        if raw.is_empty() || raw[0] == b'#' {
            continue;
        }
        let name_of = |raw: &[u8]| {
            let first = raw.split(|&b| b == b':').next().unwrap_or_default();
            String::from_utf8_lossy(first).into_owned()
        };
        let Ok(line) = std::str::from_utf8(raw) else {
            db.skipped.push(Skipped {
                line: line_no,
                name: name_of(raw),
                why: "not UTF-8",
            });
            continue;
        };
        match parse_line(line) {
            Ok(entry) => db.entries.push(entry),
            Err(why) => db.skipped.push(Skipped {
                line: line_no,
                name: name_of(raw),
                why,
            }),
        }
    }
    Ok(db)
}

/// Checks the name field shared by both files.
fn check_db_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if matches!(name.as_bytes()[0], b'+' | b'-') {
        // NIS compat entries; only the `compat` backend gives them a meaning, and we have no NIS.
        return Err("NIS compat entries (+/-) are not supported");
    }
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == ',';
    let bad_ascii = |b: u8| b == b' ' || b.is_ascii_control() || b == b',';
    let is_bad = if name.is_ascii() {
        name.bytes().any(bad_ascii)
    } else {
        name.chars().any(bad)
    };
    if is_bad {
        return Err("the name contains spaces, control characters or ','");
    }
    Ok(())
}

/// Exactly `N` ':'-separated fields, or `None`.
fn fields<const N: usize>(line: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    split_exactly(line, &mut out).then_some(out)
}

/// Fills `out` with the ':'-separated fields of `line`; false unless there are exactly that many.
/// (A byte loop, and not generic: str::splitn with a char pattern was most of the time a start
/// with `--user` spent on these files.)
fn split_exactly<'a>(line: &'a str, out: &mut [&'a str]) -> bool {
    let (mut k, mut start) = (0, 0);
    for (i, &b) in line.as_bytes().iter().enumerate() {
        if b == b':' {
            if k + 1 >= out.len() {
                return false; // a field too many
            }
            // ':' is ASCII, so both slice ends are char boundaries.
            out[k] = &line[start..i];
            k += 1;
            start = i + 1;
        }
    }
    if k + 1 != out.len() {
        return false;
    }
    out[k] = &line[start..];
    true
}

fn parse_passwd_line(line: &str) -> Result<PasswdEntry<'_>, &'static str> {
    let Some([name, _password, uid, gid, _gecos, home, shell]) = fields(line) else {
        return Err("expected 7 fields separated by ':'");
    };
    check_db_name(name)?;
    let uid = parse_id(uid).map_err(|_| "the uid is not a number from 0 to 4294967294")?;
    let gid = parse_id(gid).map_err(|_| "the gid is not a number from 0 to 4294967294")?;
    Ok(PasswdEntry {
        name,
        uid,
        gid,
        home,
        shell,
    })
}

fn parse_group_line(line: &str) -> Result<GroupEntry<'_>, &'static str> {
    let Some([name, _password, gid, member_list]) = fields(line) else {
        return Err("expected 4 fields separated by ':'");
    };
    check_db_name(name)?;
    let gid = parse_id(gid).map_err(|_| "the gid is not a number from 0 to 4294967294")?;
    Ok(GroupEntry {
        name,
        gid,
        member_list,
    })
}

/// Parses the contents of an `/etc/passwd`. Malformed lines are skipped and listed in [`Db::skipped`];
/// the only error is a file with more than [`MAX_LINES`] lines.
pub fn parse_passwd(text: &[u8]) -> Result<Db<PasswdEntry<'_>>, Error> {
    parse_db(text, parse_passwd_line)
}

/// Parses the contents of an `/etc/group`, with the same rules as [`parse_passwd`].
pub fn parse_group(text: &[u8]) -> Result<Db<GroupEntry<'_>>, Error> {
    parse_db(text, parse_group_line)
}

/// Turns a group word into a gid. `role` says what for, for the error.
fn resolve_group(
    g: &NameOrId,
    group: Option<&Db<GroupEntry<'_>>>,
    role: &'static str,
) -> Result<u32, Error> {
    let name = match g {
        NameOrId::Id(id) => return Ok(*id),
        NameOrId::Name(name) => name,
    };
    let Some(db) = group else {
        return Err(Error::NoGroupFile {
            role,
            name: name.clone(),
        });
    };
    match db.entries.iter().find(|e| e.name == *name) {
        Some(e) => Ok(e.gid),
        None => Err(Error::NoSuchGroup {
            role,
            name: name.clone(),
            skipped: db.skipped_named(name),
        }),
    }
}

/// Computes the identity for `spec` from the parsed databases (`None`: the file does not exist).
pub fn resolve(
    spec: &UserSpec,
    groups: &GroupsSpec,
    passwd: Option<&Db<PasswdEntry<'_>>>,
    group: Option<&Db<GroupEntry<'_>>>,
) -> Result<Identity, Error> {
    let entry = match &spec.user {
        NameOrId::Name(name) => {
            let Some(db) = passwd else {
                return Err(Error::NoPasswdFile { name: name.clone() });
            };
            let found = db.entries.iter().find(|e| e.name == *name);
            Some(found.ok_or_else(|| Error::NoSuchUser {
                name: name.clone(),
                skipped: db.skipped_named(name),
            })?)
        }
        // As getpwuid: the first entry with that uid names it.
        NameOrId::Id(uid) => passwd.and_then(|db| db.entries.iter().find(|e| e.uid == *uid)),
    };
    let uid = match (&spec.user, entry) {
        (NameOrId::Id(uid), _) => *uid,
        (NameOrId::Name(_), Some(e)) => e.uid,
        (NameOrId::Name(_), None) => unreachable!("a name without an entry returned above"),
    };
    let gid = match (&spec.group, entry) {
        (Some(g), _) => resolve_group(g, group, "switch to group")?,
        (None, Some(e)) => e.gid,
        // No entry: gid = uid, so that an unknown uid never lands in group 0 (root) by accident.
        (None, None) => uid,
    };
    let mut list = match groups {
        GroupsSpec::Explicit(wanted) => wanted
            .iter()
            .map(|g| resolve_group(g, group, "add supplementary group"))
            .collect::<Result<Vec<_>, _>>()?,
        GroupsSpec::FromGroupFile => {
            let mut list = vec![gid];
            if let (None, Some(e), Some(db)) = (&spec.group, entry, group) {
                list.extend(
                    db.entries
                        .iter()
                        .filter(|g| g.members().any(|m| m == e.name))
                        .map(|g| g.gid),
                );
            }
            list
        }
    };
    list.sort_unstable();
    list.dedup();
    if list.len() > MAX_GROUPS {
        return Err(Error::TooManyGroups { count: list.len() });
    }
    Ok(Identity {
        uid,
        gid,
        groups: list,
        name: entry.map_or_else(|| uid.to_string(), |e| e.name.to_string()),
        home: match entry {
            Some(e) if !e.home.is_empty() => e.home.to_string(),
            _ => "/".to_string(),
        },
    })
}

/// Reads a database file through [`crate::fsread`] (at most [`MAX_FILE_BYTES`], never blocking on a
/// FIFO). `Ok(None)` when it does not exist.
pub fn read_db(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match crate::fsread::read(path, MAX_FILE_BYTES) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) if err.kind() == io::ErrorKind::FileTooLarge => Err(Error::TooLarge {
            path: path.to_path_buf(),
        }),
        Err(err) => Err(Error::Read {
            path: path.to_path_buf(),
            err,
        }),
    }
}

/// Reads `root/etc/passwd` and `root/etc/group` and resolves `spec`. `root` is `/` in production.
pub fn lookup(spec: &UserSpec, groups: &GroupsSpec, root: &Path) -> Result<Identity, Error> {
    let passwd_text = read_db(&root.join("etc/passwd"))?;
    let group_text = read_db(&root.join("etc/group"))?;
    let passwd = passwd_text.as_deref().map(parse_passwd).transpose()?;
    let group = group_text.as_deref().map(parse_group).transpose()?;
    resolve(spec, groups, passwd.as_ref(), group.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What gcr.io/distroless/static ships.
    const DISTROLESS_PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
        nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
        nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
    const DISTROLESS_GROUP: &str = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\n\
        nonroot:x:65532:\n";

    const PASSWD: &str = "# users\n\
        root:x:0:0:root:/root:/bin/sh\n\
        \n\
        app:x:1000:1000:App:/home/app:/bin/sh\n\
        web:x:1001:1001::/srv/web:/usr/sbin/nologin\n\
        nohome:x:1002:1002:::/bin/sh\n\
        dup:x:1000:2000:second entry for uid 1000:/tmp:/bin/sh\n";
    const GROUP: &str = "root:x:0:\n\
        app:x:1000:\n\
        web:x:1001:app\n\
        audio:x:29:app,web\n\
        video:x:44:web,,app,\n\
        nomembers:x:500:\n";

    fn db_passwd(text: &str) -> Db<PasswdEntry<'_>> {
        parse_passwd(text.as_bytes()).unwrap()
    }
    fn db_group(text: &str) -> Db<GroupEntry<'_>> {
        parse_group(text.as_bytes()).unwrap()
    }
    fn user(s: &str) -> UserSpec {
        parse_user_spec(s).unwrap()
    }
    fn groups(s: &str) -> GroupsSpec {
        parse_groups_spec(s).unwrap()
    }
    fn resolve_in(
        spec: &str,
        g: &GroupsSpec,
        passwd: &str,
        group: &str,
    ) -> Result<Identity, Error> {
        resolve(
            &user(spec),
            g,
            Some(&db_passwd(passwd)),
            Some(&db_group(group)),
        )
    }
    fn ok(spec: &str) -> Identity {
        resolve_in(spec, &GroupsSpec::FromGroupFile, PASSWD, GROUP).unwrap()
    }

    #[test]
    fn parses_passwd_lines() {
        let db = db_passwd(PASSWD);
        assert!(db.skipped.is_empty());
        assert_eq!(db.entries.len(), 5);
        assert_eq!(
            db.entries[1],
            PasswdEntry {
                name: "app",
                uid: 1000,
                gid: 1000,
                home: "/home/app",
                shell: "/bin/sh"
            }
        );
    }

    #[test]
    fn parses_group_lines_with_sloppy_member_lists() {
        let db = db_group(GROUP);
        assert!(db.skipped.is_empty());
        let members = |i: usize| db.entries[i].members().collect::<Vec<_>>();
        assert_eq!(members(3), ["app", "web"]);
        assert_eq!(members(4), ["web", "app"]);
        assert!(members(5).is_empty());
    }

    #[test]
    fn tolerates_missing_final_newline_crlf_and_leading_blanks() {
        let db = db_passwd("  a:x:1:1::/a:/bin/sh\r\nb:x:2:2::/b:/bin/sh");
        assert!(db.skipped.is_empty());
        assert_eq!(db.entries[0].name, "a");
        assert_eq!(db.entries[0].shell, "/bin/sh");
        assert_eq!(db.entries[1].home, "/b");
        assert_eq!(db_passwd("").entries, []);
        assert_eq!(db_passwd("\n\n  \n# only comments\n").entries, []);
    }

    #[test]
    fn skips_malformed_lines_and_remembers_them() {
        let bytes: &[u8] = b"good:x:1:1::/g:/bin/sh\n\
            short:x:2:2\n\
            long:x:3:3:::/bin/sh:extra\n\
            baduid:x:abc:3::/:/bin/sh\n\
            neguid:x:-1:3::/:/bin/sh\n\
            biguid:x:4294967295:3::/:/bin/sh\n\
            emptygid:x:5:::/:/bin/sh\n\
            :x:6:6::/:/bin/sh\n\
            +nis::::::\n\
            sp ace:x:7:7::/:/bin/sh\n\
            latin\xff:x:8:8::/:/bin/sh\n\
            also:x:9:9::/a:/bin/sh\n";
        let db = parse_passwd(bytes).unwrap();
        let names: Vec<_> = db.entries.iter().map(|e| e.name).collect();
        assert_eq!(names, ["good", "also"]);
        let lines: Vec<_> = db.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(db.skipped[2].name, "baduid");
        assert_eq!(
            db.skipped[2].why,
            "the uid is not a number from 0 to 4294967294"
        );
        assert_eq!(db.skipped[9].name, "latin\u{fffd}");
        assert_eq!(db.skipped[9].why, "not UTF-8");
    }

    #[test]
    fn group_lines_need_four_fields() {
        let db = db_group("a:x:1\nb:x:2:\nc:x:3:m:extra\nd:x:x:\n");
        assert_eq!(db.entries.len(), 1);
        assert_eq!(db.entries[0].name, "b");
        assert_eq!(db.skipped.len(), 3);
    }

    #[test]
    fn bounds_the_line_count() {
        let line = "a:x:1:1::/:/bin/sh\n";
        let at_max = line.repeat(MAX_LINES);
        assert_eq!(
            parse_passwd(at_max.as_bytes()).unwrap().entries.len(),
            MAX_LINES
        );
        let blank_max = "\n".repeat(MAX_LINES);
        assert!(parse_passwd(blank_max.as_bytes()).is_ok());
        let over = format!("{at_max}{line}");
        assert!(matches!(
            parse_passwd(over.as_bytes()),
            Err(Error::TooManyLines { .. })
        ));
        let over_blank = "\n".repeat(MAX_LINES + 1);
        assert!(parse_group(over_blank.as_bytes()).is_err());
    }

    #[test]
    fn parses_user_specs() {
        let name = |s: &str| NameOrId::Name(s.into());
        assert_eq!(
            user("app"),
            UserSpec {
                user: name("app"),
                group: None
            }
        );
        assert_eq!(
            user("1000:web"),
            UserSpec {
                user: NameOrId::Id(1000),
                group: Some(name("web"))
            }
        );
        assert_eq!(user("0:0").group, Some(NameOrId::Id(0)));
        assert_eq!(user("007").user, NameOrId::Id(7));
        assert_eq!(user("4294967294").user, NameOrId::Id(4_294_967_294));
        assert_eq!(user("1app").user, name("1app"));
        assert_eq!(user("app:web").to_string(), "app:web");
    }

    #[test]
    fn rejects_bad_user_specs() {
        for bad in [
            "",
            ":",
            ":1000",
            "app:",
            "a:b:c",
            "4294967295",
            "99999999999",
            "1000:4294967295",
            "-1",
            "+1",
            "1000:-1",
            " 1000",
            "1000 ",
            "ap p",
            "app\n",
            "a,b",
        ] {
            let err = parse_user_spec(bad).unwrap_err();
            assert!(matches!(err, Error::Spec { flag: "--user", .. }), "{bad:?}");
            assert!(err.to_string().starts_with("--user "), "{err}");
        }
        assert!(parse_user_spec(&"a".repeat(MAX_SPEC_BYTES + 1)).is_err());
        assert_eq!(
            parse_user_spec("app:").unwrap_err().to_string(),
            "--user \"app:\": the group after ':' is empty \
             (write USER or USER:GROUP, each a name or a number)"
        );
    }

    #[test]
    fn parses_groups_specs() {
        assert_eq!(groups(""), GroupsSpec::Explicit(vec![]));
        assert_eq!(
            groups("audio,44"),
            GroupsSpec::Explicit(vec![NameOrId::Name("audio".into()), NameOrId::Id(44)])
        );
        for bad in [",", "a,", ",a", "a,,b", "a b", "-5", "4294967295", "a:b"] {
            assert!(parse_groups_spec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn name_takes_uid_gid_home_and_groups_from_the_files() {
        let id = ok("app");
        assert_eq!((id.uid, id.gid), (1000, 1000));
        assert_eq!(id.groups, [29, 44, 1000, 1001]);
        assert_eq!(id.name, "app");
        assert_eq!(id.home, "/home/app");
        assert_eq!(
            id.env(),
            [("HOME", "/home/app"), ("USER", "app"), ("LOGNAME", "app")]
        );
    }

    #[test]
    fn numeric_uid_with_entry_takes_the_first_entry() {
        let id = ok("1000");
        assert_eq!((id.uid, id.gid, id.name.as_str()), (1000, 1000, "app"));
        assert_eq!(id.groups, [29, 44, 1000, 1001]);
        let id = ok("1001");
        assert_eq!((id.gid, id.home.as_str()), (1001, "/srv/web"));
    }

    #[test]
    fn numeric_uid_without_entry_gets_gid_uid_home_slash_and_numeric_name() {
        let id = ok("1234");
        assert_eq!((id.uid, id.gid), (1234, 1234));
        assert_eq!(id.groups, [1234]);
        assert_eq!((id.name.as_str(), id.home.as_str()), ("1234", "/"));
        let id = ok("1234:0");
        assert_eq!((id.uid, id.gid), (1234, 0));
        assert_eq!(id.groups, [0]);
    }

    #[test]
    fn numbers_need_no_files() {
        let id = resolve(&user("1234"), &GroupsSpec::FromGroupFile, None, None).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.groups.as_slice()),
            (1234, 1234, &[1234][..])
        );
        assert_eq!((id.name.as_str(), id.home.as_str()), ("1234", "/"));
        let id = resolve(&user("65532:65532"), &groups("5,7,5"), None, None).unwrap();
        assert_eq!((id.gid, id.groups.as_slice()), (65532, &[5, 7][..]));
    }

    #[test]
    fn explicit_group_replaces_primary_and_drops_supplementary() {
        let id = ok("app:web");
        assert_eq!(
            (id.uid, id.gid, id.groups.as_slice()),
            (1000, 1001, &[1001][..])
        );
        let id = ok("app:0");
        assert_eq!((id.gid, id.groups.as_slice()), (0, &[0][..]));
        assert_eq!(ok("1234:audio").gid, 29);
    }

    #[test]
    fn explicit_groups_flag_is_exact() {
        let id = resolve_in("app", &groups("video,29,29"), PASSWD, GROUP).unwrap();
        assert_eq!((id.gid, id.groups.as_slice()), (1000, &[29, 44][..]));
        let id = resolve_in("app", &groups(""), PASSWD, GROUP).unwrap();
        assert_eq!((id.gid, id.groups.as_slice()), (1000, &[][..]));
    }

    #[test]
    fn empty_home_becomes_slash() {
        assert_eq!(ok("nohome").home, "/");
    }

    #[test]
    fn missing_group_file_leaves_only_the_primary_group() {
        let id = resolve(
            &user("app"),
            &GroupsSpec::FromGroupFile,
            Some(&db_passwd(PASSWD)),
            None,
        )
        .unwrap();
        assert_eq!(id.groups, [1000]);
    }

    #[test]
    fn distroless_nonroot() {
        let passwd = db_passwd(DISTROLESS_PASSWD);
        let group = db_group(DISTROLESS_GROUP);
        for spec in ["nonroot", "65532", "nonroot:nonroot", "65532:65532"] {
            let id = resolve(
                &user(spec),
                &GroupsSpec::FromGroupFile,
                Some(&passwd),
                Some(&group),
            )
            .unwrap();
            assert_eq!((id.uid, id.gid), (65532, 65532), "{spec}");
            assert_eq!(id.groups, [65532]);
            assert_eq!(
                (id.name.as_str(), id.home.as_str()),
                ("nonroot", "/home/nonroot")
            );
        }
    }

    #[test]
    fn unknown_names_are_errors_naming_the_file() {
        let err = resolve_in("nobody", &GroupsSpec::FromGroupFile, PASSWD, GROUP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot switch to user \"nobody\": no such user in /etc/passwd"
        );
        let err = resolve_in("app:wheel", &GroupsSpec::FromGroupFile, PASSWD, GROUP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot switch to group \"wheel\": no such group in /etc/group"
        );
        let err = resolve_in("app", &groups("audio,wheel"), PASSWD, GROUP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot add supplementary group \"wheel\": no such group in /etc/group"
        );
    }

    #[test]
    fn names_without_files_are_errors_suggesting_numbers() {
        let err = resolve(&user("app"), &GroupsSpec::FromGroupFile, None, None).unwrap_err();
        assert!(matches!(err, Error::NoPasswdFile { .. }));
        assert!(
            err.to_string().contains("/etc/passwd does not exist"),
            "{err}"
        );
        assert!(err.to_string().contains("numeric uid"), "{err}");
        let err = resolve(&user("1000:web"), &GroupsSpec::FromGroupFile, None, None).unwrap_err();
        assert!(matches!(err, Error::NoGroupFile { .. }));
        assert!(
            err.to_string().contains("/etc/group does not exist"),
            "{err}"
        );
        let err = resolve(&user("1000"), &groups("web"), None, None).unwrap_err();
        assert!(matches!(err, Error::NoGroupFile { .. }));
    }

    #[test]
    fn a_malformed_line_elsewhere_does_not_block_a_valid_user() {
        let passwd = format!("broken line\nx:x:y:z::/:/\n{PASSWD}");
        let id = resolve_in("app", &GroupsSpec::FromGroupFile, &passwd, GROUP).unwrap();
        assert_eq!(id.uid, 1000);
    }

    #[test]
    fn asking_for_a_user_on_a_malformed_line_names_the_line() {
        let passwd = format!("{PASSWD}svc:x:12a:1::/:/bin/sh\n");
        let err = resolve_in("svc", &GroupsSpec::FromGroupFile, &passwd, GROUP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot switch to user \"svc\": its line 8 in /etc/passwd is malformed \
             (the uid is not a number from 0 to 4294967294)"
        );
        let group = format!("{GROUP}ops:x:\n");
        let err = resolve_in("app:ops", &GroupsSpec::FromGroupFile, PASSWD, &group).unwrap_err();
        assert!(
            err.to_string().contains("its line 7 in /etc/group"),
            "{err}"
        );
    }

    #[test]
    fn too_many_groups_is_an_error() {
        let mut group = String::new();
        for gid in 0..=MAX_GROUPS {
            group.push_str(&format!("g{gid}:x:{gid}:app\n"));
        }
        let err = resolve_in("app", &GroupsSpec::FromGroupFile, PASSWD, &group).unwrap_err();
        assert!(matches!(err, Error::TooManyGroups { .. }));
    }

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempRoot(PathBuf);
    impl TempRoot {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("pidguard-passwd-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("etc")).unwrap();
            TempRoot(dir)
        }
        fn write(&self, name: &str, bytes: &[u8]) {
            std::fs::write(self.0.join("etc").join(name), bytes).unwrap();
        }
    }
    impl Drop for TempRoot {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn lookup_reads_the_image_files() {
        let root = TempRoot::new("distroless");
        root.write("passwd", DISTROLESS_PASSWD.as_bytes());
        root.write("group", DISTROLESS_GROUP.as_bytes());
        let id = lookup(&user("nonroot"), &GroupsSpec::FromGroupFile, &root.0).unwrap();
        assert_eq!((id.uid, id.gid), (65532, 65532));
    }

    #[test]
    fn lookup_in_a_scratch_image() {
        let root = TempRoot::new("scratch");
        let id = lookup(&user("1234"), &GroupsSpec::FromGroupFile, &root.0).unwrap();
        assert_eq!((id.uid, id.gid, id.home.as_str()), (1234, 1234, "/"));
        let err = lookup(&user("app"), &GroupsSpec::FromGroupFile, &root.0).unwrap_err();
        assert!(matches!(err, Error::NoPasswdFile { .. }));
    }

    #[test]
    fn read_db_is_bounded() {
        let root = TempRoot::new("large");
        assert!(read_db(&root.0.join("etc/passwd")).unwrap().is_none());
        let max = usize::try_from(MAX_FILE_BYTES).unwrap();
        root.write("passwd", &vec![b'\n'; max]);
        assert_eq!(
            read_db(&root.0.join("etc/passwd")).unwrap().unwrap().len() as u64,
            MAX_FILE_BYTES
        );
        root.write("group", &vec![b'\n'; max + 1]);
        let err = read_db(&root.0.join("etc/group")).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }));
        assert!(
            err.to_string().ends_with("etc/group: larger than 4 MiB"),
            "{err}"
        );
        // A directory exists but cannot be read as a file.
        let err = read_db(&root.0.join("etc")).unwrap_err();
        assert!(matches!(err, Error::Read { .. }));
        // A FIFO would block the open for ever: refused at once, naming what it is.
        let fifo = root.0.join("etc/passwd");
        std::fs::remove_file(&fifo).unwrap();
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let err = read_db(&fifo).unwrap_err();
        assert!(err.to_string().contains("passwd: it is a FIFO"), "{err}");
    }
}
