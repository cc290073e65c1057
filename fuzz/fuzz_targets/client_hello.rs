//! Fuzzes the ClientHello peek: never panics, and is consistent across split
//! points — every prefix of an input that parses as a hello is `Incomplete` (so
//! the accept path waits rather than deciding early), and a `NotTls` verdict
//! depends on the first byte only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxyd::tls::client_hello::{Peek, peek};

fuzz_target!(|data: &[u8]| {
    let whole = peek(data);
    if let Peek::Hello(_) = whole {
        for cut in 1..data.len() {
            match peek(&data[..cut]) {
                Peek::Incomplete => {}
                Peek::Hello(_) => {} // bytes after the hello in its last record
                other => panic!("prefix {cut} gave {other:?} but the whole is a hello"),
            }
        }
    }
    if let Some(&b) = data.first() {
        assert_eq!(b != 22, whole == Peek::NotTls);
    }
});
