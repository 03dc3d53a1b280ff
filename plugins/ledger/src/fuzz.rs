//! Property tests of the journal importer (issue 16): any text, and valid journals
//! with characters flipped, inserted, deleted or duplicated, parse and plan to `Ok` or
//! to an error naming a line; they never panic. Inputs are bounded, so no case can
//! run long. Cases per test: [`CASES`], or `PROPTEST_CASES` for a longer local run.

use proptest::prelude::*;

use crate::date::Date;
use crate::import::{self, Known};
use crate::journal;
use crate::model::Kind;

/// Cases per property in CI.
const CASES: u32 = 1_000;

fn config() -> ProptestConfig {
    config_with(CASES)
}

include!("../../fuzz-support.rs");

/// `base` with up to `max` edits: a run deleted, text inserted, a character replaced,
/// or a run duplicated in place. The inserted text favours the journal's own syntax.
fn mutated(base: &'static str, max: usize) -> impl Strategy<Value = String> {
    let text = prop_oneof![
        "[ \\t\\n;#*!=@()|:,.$0-9A-Za-z\"/-]{0,8}",
        "\\PC{0,4}",
        Just("9".repeat(40)),
    ];
    mutated_with(base, max, text)
}

/// An empty ledger that knows the ISO currencies.
struct Empty;
impl Known for Empty {
    fn account(&self, _: &str) -> Option<Kind> {
        None
    }
    fn precision(&self, c: &str) -> Option<u8> {
        crate::amount::iso_precision(c)
    }
    fn balance(&self, _: &str, _: &str, _: Date) -> Result<i64, String> {
        Ok(0)
    }
}

const JOURNAL: &str = "\
; a comment
commodity $1,000.00
account assets:bank  ; type: A
account expenses:food  ; type: X

2024/1/5=2024/1/6 * (42) Grocer | weekly  ; a note
    assets:bank    -$12.34  ; memo
    ! expenses:food\t$12.34
    ; indented comment

comment
anything at all
end comment
2024-02-01 Salary
    assets:bank  10 EUR @@ $11.00
    income:salary
2024-02-02 Shares
    assets:broker  \"AAPL\" 3 @ $150.25 = \"AAPL\" 3
    assets:bank  -$450.75 = $-463.09
P 2024-01-01 EUR $1.10
2024.03.01 ! Rounding
    assets:cash  0.001 BTC
    equity:opening  -0.001 BTC
";

/// Parse, and plan what parsed: the whole importer but the writes.
fn import(text: &str) {
    if let Ok(parsed) = journal::parse(text) {
        let _ = import::plan(&parsed, &Empty);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_parsed_or_refused(text in "(?s).{0,400}") {
        import(&text);
    }

    #[test]
    fn edited_journals_are_parsed_or_refused(text in mutated(JOURNAL, 8)) {
        import(&text);
    }

    #[test]
    fn any_amount_is_parsed_or_refused(text in "[ $€0-9.,eE+\"A-Z-]{0,40}") {
        let _ = journal::parse_amount(&text, &["$".to_string()]);
    }
}

#[test]
fn the_seed_journal_imports() {
    let parsed = journal::parse(JOURNAL).expect("parses");
    assert!(import::plan(&parsed, &Empty).is_ok());
}
