//! `pidguard audit`'s parsers of /proc and cgroup files, on arbitrary bytes: a value or an error,
//! never a panic, and the derived lookups (visible mounts, cgroup limit files) stay total too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::audit::parse;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse::status(&text);
    let _ = parse::limits(&text);
    let _ = parse::id_map(&text);
    let _ = parse::net_dev(&text);
    let _ = parse::net_unix(&text);
    let _ = parse::cgroup_limit(&text);
    let _ = parse::lsm_label(data);
    let _ = parse::argv0(data);
    let _ = parse::secret_like(&text);
    // The first line as /proc/self/cgroup, the rest as mountinfo: both feed the cgroup lookup.
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    if let (Ok(cgroups), Ok(mounts)) = (parse::cgroup(first), parse::mountinfo(rest)) {
        let visible = parse::visible(&mounts);
        let _ = parse::mount_of(&visible, "/tmp");
        let _ = parse::limit_files(&cgroups, &visible, "memory");
        let _ = parse::limit_files(&cgroups, &visible, "pids");
    }
});
