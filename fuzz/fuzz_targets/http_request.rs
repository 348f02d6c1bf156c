//! Fuzzes the health endpoint's request-head parser (httparse and pidguard's policy on top), the
//! only code in PID 1 that reads bytes from the network. Besides "never panics", it checks the
//! promises the server relies on: a parsed head lies within `MAX_HEAD` and the buffer, its path is
//! an origin path, and no shorter prefix of it was already judged (the server re-parses as bytes
//! arrive, so a verdict must not change).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pidguard::health::http::{MAX_HEAD, Parse, parse_request_head, response};

fuzz_target!(|data: &[u8]| {
    match parse_request_head(data) {
        Parse::Done(req) => {
            assert!(req.head_len <= MAX_HEAD && req.head_len <= data.len());
            assert!(req.path.starts_with('/') && !req.path.contains('?'));
            assert!(req.path.bytes().all(|b| (0x21..0x7f).contains(&b)));
            assert_eq!(
                parse_request_head(&data[..req.head_len]),
                Parse::Done(req.clone())
            );
            // httparse refuses bytes as they arrive: no prefix of an accepted head may be refused.
            // Every prefix of a short head (the shapes probes send), three of a long one.
            let cuts: Vec<usize> = if req.head_len <= 512 {
                (0..req.head_len).collect()
            } else {
                vec![1, req.head_len / 2, req.head_len - 1]
            };
            for cut in cuts {
                assert_eq!(
                    parse_request_head(&data[..cut]),
                    Parse::Incomplete,
                    "cut {cut}"
                );
            }
            let out = response(200, &req.path, false);
            assert!(out.ends_with(req.path.as_bytes()));
        }
        Parse::Incomplete => assert!(data.len() < MAX_HEAD),
        Parse::Error(status) => {
            assert!(matches!(status.code(), 400 | 405 | 413 | 431 | 505));
        }
    }
});
