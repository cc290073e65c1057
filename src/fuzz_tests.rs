//! Shared pieces of the stable fuzz targets (`*/fuzz_tests.rs` beside each
//! parser): the case budget, byte-level mutation of seed inputs, and random
//! split points for the incremental parsers.
//!
//! Every target is an ordinary proptest run inside `cargo test`. The number of
//! cases comes from `PROXYD_FUZZ_CASES` (default [`DEFAULT_CASES`]), so the long
//! run documented in docs/fuzzing.md is the same code with a bigger budget:
//! `PROXYD_FUZZ_CASES=200000 cargo test --release --lib fuzz_tests`.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per target in a plain `cargo test`: enough to catch a regression in a
/// parser's contract, small enough that the whole set stays a few seconds.
pub const DEFAULT_CASES: u32 = 256;

/// The proptest configuration every fuzz target uses.
pub fn config() -> Config {
    let cases = std::env::var("PROXYD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        // Shrinking a big mutated input can take minutes; a long run reports
        // the failing input as found, which is enough to reproduce it.
        max_shrink_iters: 2048,
        // No regression files written next to the sources by a long run.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Bytes that sit on parser decisions: line ends, separators, digits, the
/// edges of ASCII and of the size fields.
const INTERESTING: &[u8] = b"\r\n\0\x0b\x0c\x7f\x80\xff \t:;,=\"`()!&|0179afAFxX-+.\\/?#%";

/// One edit applied to a seed.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Flip one bit of the byte at (position % len).
    Flip(usize, u8),
    /// Overwrite the byte at the position with an interesting byte.
    Set(usize, u8),
    /// Insert bytes at the position.
    Insert(usize, Vec<u8>),
    /// Remove up to n bytes from the position.
    Delete(usize, usize),
    /// Keep only the first (position % (len + 1)) bytes.
    Truncate(usize),
    /// Copy a range of another seed in at the position.
    Splice(usize, usize, usize, usize),
    /// Repeat a range of the input in place.
    Repeat(usize, usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(INTERESTING);
    let pos = any::<usize>();
    prop_oneof![
        (pos, 0u8..8).prop_map(|(p, b)| Edit::Flip(p, b)),
        (pos, interesting.clone()).prop_map(|(p, b)| Edit::Set(p, b)),
        (
            pos,
            prop::collection::vec(prop_oneof![interesting, any::<u8>()], 1..8)
        )
            .prop_map(|(p, b)| Edit::Insert(p, b)),
        (pos, 1usize..16).prop_map(|(p, n)| Edit::Delete(p, n)),
        pos.prop_map(Edit::Truncate),
        (pos, pos, pos, 1usize..64).prop_map(|(p, s, o, n)| Edit::Splice(p, s, o, n)),
        (pos, 1usize..32, 2u8..6).prop_map(|(p, n, k)| Edit::Repeat(p, n, k)),
    ]
}

/// Applies `edits` to `seed`; `Splice` draws from `corpus`.
pub fn apply(seed: &[u8], edits: &[Edit], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for e in edits {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
        match e {
            Edit::Flip(p, bit) if !b.is_empty() => {
                let i = at(*p, b.len());
                b[i] ^= 1 << bit;
            }
            Edit::Set(p, v) if !b.is_empty() => {
                let i = at(*p, b.len());
                b[i] = *v;
            }
            Edit::Insert(p, bytes) => {
                let i = at(*p, b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Edit::Delete(p, n) if !b.is_empty() => {
                let i = at(*p, b.len());
                b.drain(i..(i + n).min(b.len()));
            }
            Edit::Truncate(p) => b.truncate(at(*p, b.len() + 1)),
            Edit::Splice(p, s, o, n) if !corpus.is_empty() => {
                let other = &corpus[s % corpus.len()];
                let from = at(*o, other.len());
                let piece = &other[from..(from + n).min(other.len())];
                let i = at(*p, b.len() + 1);
                b.splice(i..i, piece.iter().copied());
            }
            Edit::Repeat(p, n, k) if !b.is_empty() => {
                let i = at(*p, b.len());
                let piece = b[i..(i + n).min(b.len())].to_vec();
                for _ in 1..*k {
                    b.splice(i..i, piece.iter().copied());
                }
            }
            _ => {}
        }
    }
    b
}

/// A seed from `corpus` with 0–6 edits: mostly almost-valid input, which is
/// where parser bugs live.
pub fn mutated(corpus: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    assert!(!corpus.is_empty());
    let n = corpus.len();
    (0..n, prop::collection::vec(edit(), 0..6))
        .prop_map(move |(i, edits)| apply(&corpus[i], &edits, &corpus))
}

/// Seeds mutated, or (one case in eight) plain random bytes.
pub fn fuzz_input(corpus: Vec<Vec<u8>>, max_random: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        7 => mutated(corpus),
        1 => prop::collection::vec(any::<u8>(), 0..max_random),
    ]
}

/// Cut points (as raw numbers, reduced modulo the input length by [`pieces`]).
pub fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..12)
}

/// The input cut at `cuts` into consecutive, non-empty pieces (in order).
pub fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .filter(|_| input.len() > 1)
        .map(|c| 1 + c % (input.len() - 1))
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut from = 0;
    for cut in at.into_iter().chain([input.len()]) {
        if cut > from {
            out.push(&input[from..cut]);
            from = cut;
        }
    }
    out
}

#[test]
fn fuzz_helpers_pieces_cover_the_input_in_order() {
    let input = b"abcdefgh";
    for cuts in [vec![], vec![3], vec![0, 7, 7, 100], vec![usize::MAX, 1]] {
        let joined: Vec<u8> = pieces(input, &cuts).concat();
        assert_eq!(joined, input, "cuts {cuts:?}");
        assert!(pieces(input, &cuts).iter().all(|p| !p.is_empty()));
    }
    assert!(pieces(b"", &[1, 2]).is_empty());
}
