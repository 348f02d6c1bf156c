//! Fixture: ignores SIGTERM and SIGINT, says `ready` on stdout, then sleeps forever.

#[path = "fixture/mod.rs"]
mod fixture;
fn main() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        fixture::set_disposition(sig, true);
    }
    println!("ready");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
