//! Fuzzes request-head parsing: any bytes, any limit, fed whole and then in two
//! pieces (exercising the incremental scan); must never panic, and spans must
//! stay inside the buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyd::http::codec::{HeadParser, RequestHead};

fn check(buf: &[u8], head: &RequestHead) {
    assert!(head.head_len <= buf.len());
    for span in [head.method, head.target, head.path, head.query, head.host] {
        let _ = span.get(&buf[..head.head_len]);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, buf)) = data.split_first() else {
        return;
    };
    let max = 64 + usize::from(split) * 16;
    let mut headers = Vec::new();
    let mut parser = HeadParser::new();
    let whole = parser.parse_request(buf, max, &mut headers);
    if let Ok(Some(head)) = &whole {
        check(buf, head);
        for h in &headers {
            let _ = (h.name.get(buf), h.value.get(buf));
        }
    }
    // Same bytes in two reads must reach the same verdict.
    parser.reset();
    let cut = usize::from(split).min(buf.len());
    let first = parser.parse_request(&buf[..cut], max, &mut headers);
    let split_result = match first {
        Ok(None) => parser.parse_request(buf, max, &mut headers),
        other => other,
    };
    assert_eq!(format!("{whole:?}"), format!("{split_result:?}"));
});
