//! Fixture: prints `uid=R euid=E` (real and effective uid). Made setuid-root by the tests to prove that
//! no_new_privs stops the uid change; unlike busybox, it does not drop privileges by itself.

#[path = "fixture/mod.rs"]
mod fixture;

fn main() {
    let (uid, euid) = fixture::ids();
    println!("uid={uid} euid={euid}");
}
