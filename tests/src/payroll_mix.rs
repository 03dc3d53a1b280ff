//! The employees of the large payroll tests and measurements (issue 22): the three
//! countries in turn, with the new deductions mixed in, and the company's payment
//! settings. Shared by `tests/e2e/payroll/scale.rs` and `examples/payroll_scale.rs`.

use serde_json::{Value, json};

/// The profile and bank account of employee `i`, by country (`i % 3`), with the
/// deductions of issue 22 in turn.
pub fn hire_input(i: usize) -> Value {
    hire_input_in(i, i % 3)
}

/// [`hire_input`] in one country: 0 the US, 1 the UK, 2 Germany.
pub fn hire_input_in(i: usize, country: usize) -> Value {
    let id = format!("E{i:05}");
    let k = (i / 3) % 4;
    let (country, salary, profile, bank) = match country {
        0 => {
            let profile = match k {
                0 => {
                    json!({"filing-status": "single", "401k": 30_000, "section-125": 10_000, "state": "PA"})
                }
                1 => json!({"filing-status": "married-filing-jointly", "state": "TX"}),
                2 => json!({"filing-status": "single", "401k": 50_000, "state": "PA"}),
                _ => {
                    json!({"filing-status": "head-of-household", "section-125": 15_000, "state": "WA"})
                }
            };
            let bank = json!({"scheme": "ach", "routing-number": "026009593",
                              "account-number": format!("{:09}", i), "account-type": "checking"});
            ("US", 4_000_000 + (i as i64 % 97) * 100_000, profile, bank)
        }
        1 => {
            let profile = match k {
                0 => json!({"tax-code": "1257L", "student-loan-plans": ["plan-2"]}),
                1 => json!({"tax-code": "1257L", "postgraduate-loan": true,
                            "pension": {"scheme": "net-pay", "employee-percent": "5", "employer-percent": "3"}}),
                2 => json!({"tax-code": "1257L", "student-loan-plans": ["plan-1"],
                            "pension": {"scheme": "salary-sacrifice", "employee-percent": "4", "employer-percent": "3"}}),
                _ => json!({"tax-code": "1257L", "ni-category": "A"}),
            };
            let bank =
                json!({"scheme": "bacs", "sort-code": "601613", "account-number": "31926819"});
            ("GB", 2_500_000 + (i as i64 % 89) * 100_000, profile, bank)
        }
        _ => {
            let (salary, profile) = match k {
                0 => (
                    1_200_000,
                    json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.9",
                           "beschaeftigung": "midijob"}),
                ),
                1 => (
                    600_000,
                    json!({"bundesland": "BE", "beschaeftigung": "minijob"}),
                ),
                2 => (
                    3_000_000 + (i as i64 % 83) * 100_000,
                    json!({"steuerklasse": 1, "bundesland": "NW", "kv-zusatzbeitrag": "2.5",
                           "kirchensteuer": "ev"}),
                ),
                _ => (
                    3_000_000 + (i as i64 % 83) * 100_000,
                    json!({"steuerklasse": 3, "bundesland": "BY", "kv-zusatzbeitrag": "2.5",
                           "kirchensteuer": "rk"}),
                ),
            };
            let bank =
                json!({"scheme": "sepa", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"});
            ("DE", salary, profile, bank)
        }
    };
    json!({"id": id, "name": format!("Employee {i}"), "country": country,
           "frequency": "monthly", "salary": salary, "start-date": "2026-01-01",
           "profile": profile, "bank": bank})
}

/// The company's side of the payment files.
pub fn payment_settings() -> Value {
    json!({
        "sepa": {"name": "Acme GmbH", "iban": "DE02120300000000202051", "bic": "BYLADEM1001"},
        "bacs": {"service-user-number": "123456", "name": "Acme Ltd",
                 "sort-code": "401276", "account-number": "12345678"},
        "nacha": {"immediate-destination": "021000021", "immediate-destination-name": "JPMorgan Chase",
                  "immediate-origin": "121000248", "immediate-origin-name": "Acme Inc",
                  "company-name": "Acme Inc", "company-id": "1123456789",
                  "originating-dfi": "121000248"}
    })
}
