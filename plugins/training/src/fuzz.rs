//! Property tests of the completions CSV import (issue 16): any text, and valid files
//! with characters flipped, inserted, deleted or duplicated, give rows or errors that
//! name their lines; they never panic. Inputs are bounded, so no case can run long.
//! Cases per test: [`CASES`], or `PROPTEST_CASES` for a longer local run.

use proptest::prelude::*;

use crate::csv;

/// Cases per property in CI.
const CASES: u32 = 1_000;

fn config() -> ProptestConfig {
    config_with(CASES)
}

include!("../../fuzz-support.rs");

/// `base` with up to `max` edits: a run deleted, text inserted, a character replaced,
/// or a run duplicated in place. The inserted text favours the format's own syntax.
fn mutated(base: &'static str, max: usize) -> impl Strategy<Value = String> {
    let text = prop_oneof![
        "[,\"\\r\\n 0-9A-Za-z._-]{0,8}",
        "\\PC{0,4}",
        Just("\u{feff}".to_string()),
        Just("9".repeat(40)),
    ];
    mutated_with(base, max, text)
}

const CSV: &str = "\u{feff}Score , date,employee,certificate,course\r\n95,2026-01-05,E1,CERT-1,FIRE\r\n\r\n60,2026-01-06,E2,,FIRE\n\"100\",\"2026-02-28\",\"E.3\",\"say \"\"hi\"\"\nthere\",FIRST-AID\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_read_or_refused(text in "(?s).{0,400}") {
        let _ = csv::rows(&text, 20);
    }

    #[test]
    fn edited_files_are_read_or_refused(text in mutated(CSV, 8)) {
        if let Err(errors) = csv::rows(&text, 20) {
            prop_assert!(!errors.is_empty() && errors.len() <= 20, "{errors:?}");
        }
    }
}

#[test]
fn the_seed_file_reads() {
    assert_eq!(csv::rows(CSV, 20).expect("reads").len(), 3);
}
