// Shared by the bundled plugins' property tests (issue 16): `ledger`, `training` and,
// through `payroll-fuzz.rs`, the payroll rules plugins include this file with
// `include!` inside their `fuzz` test modules, after `use proptest::prelude::*;`.

/// The property configuration: `default` cases per property, or `PROPTEST_CASES` for a
/// longer local run.
fn config_with(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Failures are kept as named unit tests, not as files beside the source.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `base` with up to `max` edits: a run deleted, `text` inserted, a character replaced
/// by the first of `text`, or a run duplicated in place.
#[allow(dead_code, reason = "the payroll rules plugins' tests edit JSON, not text")]
fn mutated_with(
    base: &'static str,
    max: usize,
    text: impl Strategy<Value = String>,
) -> impl Strategy<Value = String> {
    prop::collection::vec((any::<usize>(), 0u8..4, text), 1..=max).prop_map(move |edits| {
        let mut s: Vec<char> = base.chars().collect();
        for (seed, kind, text) in edits {
            let at = seed % (s.len() + 1);
            let end = (at + 1 + seed % 16).min(s.len());
            match kind {
                0 => {
                    s.drain(at..end);
                }
                1 => {
                    s.splice(at..at, text.chars());
                }
                2 => {
                    if let (Some(c), true) = (text.chars().next(), at < s.len()) {
                        s[at] = c;
                    }
                }
                _ => {
                    let run: Vec<char> = s[at..end].to_vec();
                    s.splice(at..at, run);
                }
            }
        }
        s.into_iter().collect()
    })
}
