//! Fuzzes response-head parsing for GET and HEAD requests; must never panic, and
//! spans must stay inside the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyd::http::codec::HeadParser;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, buf)) = data.split_first() else {
        return;
    };
    let max = 64 + usize::from(flags >> 1) * 32;
    let mut headers = Vec::new();
    let mut parser = HeadParser::new();
    if let Ok(Some(head)) = parser.parse_response(buf, max, flags & 1 == 1, &mut headers) {
        assert!(head.head_len <= buf.len());
        let _ = head.reason.get(buf);
        for h in &headers {
            let _ = (h.name.get(buf), h.value.get(buf));
        }
    }
});
