//! Feeds arbitrary bytes to the `--user` / `--groups` parsers, the passwd and group parsers and
//! `resolve`, and checks the promises `resolve` makes about its result.
//!
//! The input is split on NUL bytes: `USER_SPEC \0 GROUPS_SPEC \0 PASSWD \0 GROUP`. A missing part
//! means "flag not given" / "file does not exist", so every combination of absent inputs is reached.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::passwd::{self, GroupsSpec, NameOrId};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == 0);
    let user = parts.next().unwrap_or_default();
    let groups = parts.next();
    let passwd_text = parts.next();
    let group_text = parts.next();

    let passwd_db = passwd_text.map(passwd::parse_passwd);
    let group_db = group_text.map(passwd::parse_group);
    for db in [&passwd_db].into_iter().flatten().flatten() {
        for e in &db.entries {
            assert!(!e.name.is_empty() && !e.name.contains(':'));
            assert!(e.uid <= passwd::MAX_ID && e.gid <= passwd::MAX_ID);
        }
    }
    for db in [&group_db].into_iter().flatten().flatten() {
        for e in &db.entries {
            assert!(!e.name.is_empty() && !e.name.contains(':'));
            assert!(e.members().all(|m| !m.is_empty() && !m.contains(',')));
        }
    }

    let Ok(user) = std::str::from_utf8(user) else {
        return;
    };
    let Ok(spec) = passwd::parse_user_spec(user) else {
        return;
    };
    // Display writes what the parser reads back (ids lose their leading zeros).
    assert_eq!(
        passwd::parse_user_spec(&spec.to_string()).ok(),
        Some(spec.clone())
    );
    let groups = match groups.map(std::str::from_utf8) {
        None => GroupsSpec::FromGroupFile,
        Some(Err(_)) => return,
        Some(Ok(text)) => match passwd::parse_groups_spec(text) {
            Ok(g) => g,
            Err(_) => return,
        },
    };
    let passwd_db = match passwd_db {
        Some(Err(_)) => return,
        Some(Ok(db)) => Some(db),
        None => None,
    };
    let group_db = match group_db {
        Some(Err(_)) => return,
        Some(Ok(db)) => Some(db),
        None => None,
    };
    let Ok(id) = passwd::resolve(&spec, &groups, passwd_db.as_ref(), group_db.as_ref()) else {
        return;
    };
    assert!(
        id.groups.windows(2).all(|w| w[0] < w[1]),
        "groups sorted and unique"
    );
    assert!(id.groups.len() <= passwd::MAX_GROUPS);
    if let NameOrId::Id(uid) = spec.user {
        assert_eq!(id.uid, uid);
    }
    if let Some(NameOrId::Id(gid)) = spec.group {
        assert_eq!(id.gid, gid);
    }
    if spec.group.is_none() && passwd_db.is_none() {
        assert_eq!(
            id.gid, id.uid,
            "no entry and no group: gid = uid, never a silent 0"
        );
    }
    if groups == GroupsSpec::FromGroupFile {
        assert!(id.groups.contains(&id.gid));
    }
    assert!(!id.name.is_empty() && !id.home.is_empty());
});
