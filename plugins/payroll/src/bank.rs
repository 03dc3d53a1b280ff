//! Bank accounts: an employee's account (where net pay goes) and the company's
//! (where it comes from), checked when entered and shown masked when read back.
//!
//! Sources of the checks:
//! - IBAN: ISO 13616-1:2020 (structure, check digits by ISO 7064 MOD 97-10) and the
//!   SWIFT IBAN Registry (release 99, 2024) for the length per country.
//! - BIC: ISO 9362:2022 (4 letters party prefix, 2 letters country, 2 letters or
//!   digits suffix, optional 3 letters or digits branch).
//! - UK: a sort code is 6 digits and an account number 8 digits, as Bacs Standard 18
//!   carries them (Bacs Payment Schemes Ltd, "Bacs Service user guide", Standard 18
//!   payment record, fields 1 and 2).
//! - US: the ABA routing number's ninth digit is a check digit: 3, 7 and 1 weights
//!   over the nine digits give a multiple of 10 (ABA "Routing Number Policy and
//!   Procedures", 2024, section "Check digit"; NACHA Operating Rules 2024, Appendix
//!   Three, entry detail record, field "Check Digit").

use serde::{Deserialize, Serialize};

/// A bank account, by payment scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "scheme",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case",
    deny_unknown_fields
)]
pub enum BankAccount {
    /// A euro account in the SEPA area.
    Sepa {
        /// The IBAN, stored without spaces, upper case.
        iban: String,
        /// The account-holding bank's BIC, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bic: Option<String>,
    },
    /// A UK account paid by Bacs.
    Bacs {
        /// 6 digits, stored without dashes.
        sort_code: String,
        /// 8 digits.
        account_number: String,
        /// The name on the account, when it differs from the employee's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_name: Option<String>,
    },
    /// A US account paid by ACH.
    Ach {
        /// 9 digits with the check digit.
        routing_number: String,
        /// 1 to 17 letters or digits.
        account_number: String,
        account_type: AccountType,
    },
}

/// The kind of a US account: it picks the NACHA transaction code (22 or 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountType {
    Checking,
    Savings,
}

/// IBAN length per country: SWIFT IBAN Registry, release 99 (2024), for the
/// countries and territories of the SEPA schemes (EPC409-09, list of countries,
/// version 5.0, 2024).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IS", 26),
    ("IT", 27),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("RO", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("VA", 22),
];

/// `text` without spaces (and dashes when `dashes`), upper case.
fn compact(text: &str, dashes: bool) -> String {
    text.chars()
        .filter(|c| !(c.is_whitespace() || (dashes && *c == '-')))
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The IBAN `text`, without spaces and upper case, if its country, length and
/// check digits are right; else what is wrong, naming `field`.
pub fn check_iban(field: &str, text: &str) -> Result<String, String> {
    let iban = compact(text, false);
    if iban.len() < 5 || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "{field} {text:?} is not an IBAN: it must be a country code, 2 check digits and the account, letters and digits only (spaces are ignored), e.g. DE89 3704 0044 0532 0130 00"
        ));
    }
    let country = &iban[..2];
    let Some(&(_, length)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return Err(format!(
            "{field} {text:?}: {country} is not a SEPA country; IBANs of these are accepted: {}",
            IBAN_LENGTHS
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    if iban.len() != length {
        return Err(format!(
            "{field} {text:?}: a {country} IBAN has {length} characters, this one has {}",
            iban.len()
        ));
    }
    if !iban.as_bytes()[2..4].iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "{field} {text:?}: characters 3 and 4 must be the check digits"
        ));
    }
    // ISO 13616 / ISO 7064 MOD 97-10: the first four characters moved to the end,
    // letters as 10 to 35, the number modulo 97 is 1.
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut rest: u32 = 0;
    for b in rearranged {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            _ => u32::from(b - b'A') + 10,
        };
        rest = if value < 10 {
            (rest * 10 + value) % 97
        } else {
            (rest * 100 + value) % 97
        };
    }
    if rest != 1 {
        return Err(format!(
            "{field} {text:?}: the check digits do not match the account (ISO 13616 mod 97); look for a mistyped character"
        ));
    }
    Ok(iban)
}

/// The BIC `text`, upper case, if it has the ISO 9362 shape.
pub fn check_bic(field: &str, text: &str) -> Result<String, String> {
    let bic = compact(text, false);
    let b = bic.as_bytes();
    let ok = (bic.len() == 8 || bic.len() == 11)
        && b[..6].iter().all(u8::is_ascii_alphabetic)
        && b[6..].iter().all(u8::is_ascii_alphanumeric);
    if ok {
        Ok(bic)
    } else {
        Err(format!(
            "{field} {text:?} is not a BIC: 8 or 11 characters, 4 letters for the bank, 2 for the country, then 2 (and optionally 3 more) letters or digits, e.g. COBADEFFXXX"
        ))
    }
}

/// A UK sort code as 6 digits (`12-34-56` and `12 34 56` are accepted).
pub fn check_sort_code(field: &str, text: &str) -> Result<String, String> {
    let code = compact(text, true);
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(format!(
            "{field} {text:?} is not a UK sort code: 6 digits, e.g. 12-34-56"
        ))
    }
}

/// A UK account number: 8 digits.
pub fn check_uk_account(field: &str, text: &str) -> Result<String, String> {
    let number = compact(text, true);
    if number.len() == 8 && number.bytes().all(|b| b.is_ascii_digit()) {
        Ok(number)
    } else {
        Err(format!(
            "{field} {text:?} is not a UK account number: 8 digits (a 7-digit number takes a leading 0; for 9 or 10 digits ask the bank how Bacs should address it)"
        ))
    }
}

/// A US routing number: 9 digits whose 3-7-1 weighted sum is a multiple of 10.
pub fn check_routing(field: &str, text: &str) -> Result<String, String> {
    let number = compact(text, true);
    if number.len() != 9 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{field} {text:?} is not an ABA routing number: 9 digits"
        ));
    }
    let sum: u32 = number
        .bytes()
        .zip([3, 7, 1].iter().cycle())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(format!(
            "{field} {text:?}: the check digit does not match (ABA 3-7-1 weights); look for a mistyped digit"
        ));
    }
    Ok(number)
}

/// A US account number: 1 to 17 letters or digits (the NACHA entry detail record's
/// DFI Account Number field is 17 characters).
pub fn check_us_account(field: &str, text: &str) -> Result<String, String> {
    let number = compact(text, true);
    if (1..=17).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(number)
    } else {
        Err(format!(
            "{field} {text:?} is not a US account number: 1 to 17 letters or digits"
        ))
    }
}

impl BankAccount {
    /// The account with every field checked and normalised; an error names the
    /// field under `prefix` (e.g. `bank`).
    pub fn checked(self, prefix: &str) -> Result<BankAccount, String> {
        let f = |name: &str| format!("{prefix}.{name}");
        Ok(match self {
            BankAccount::Sepa { iban, bic } => BankAccount::Sepa {
                iban: check_iban(&f("iban"), &iban)?,
                bic: bic.map(|b| check_bic(&f("bic"), &b)).transpose()?,
            },
            BankAccount::Bacs {
                sort_code,
                account_number,
                account_name,
            } => BankAccount::Bacs {
                sort_code: check_sort_code(&f("sort-code"), &sort_code)?,
                account_number: check_uk_account(&f("account-number"), &account_number)?,
                account_name: match account_name.map(|n| n.trim().to_string()) {
                    Some(n) if n.is_empty() => {
                        return Err(format!("{} must not be blank", f("account-name")));
                    }
                    other => other,
                },
            },
            BankAccount::Ach {
                routing_number,
                account_number,
                account_type,
            } => BankAccount::Ach {
                routing_number: check_routing(&f("routing-number"), &routing_number)?,
                account_number: check_us_account(&f("account-number"), &account_number)?,
                account_type,
            },
        })
    }

    /// The account as shown to readers: the IBAN with only its first and last four
    /// characters, account numbers with only their last four digits. The bank's own
    /// identifiers (BIC, sort code, routing number) are public directory data and
    /// shown in full.
    pub fn masked(&self) -> BankAccount {
        match self {
            BankAccount::Sepa { iban, bic } => BankAccount::Sepa {
                iban: mask_iban(iban),
                bic: bic.clone(),
            },
            BankAccount::Bacs {
                sort_code,
                account_number,
                account_name,
            } => BankAccount::Bacs {
                sort_code: format!(
                    "{}-{}-{}",
                    &sort_code[..2.min(sort_code.len())],
                    sort_code.get(2..4).unwrap_or(""),
                    sort_code.get(4..).unwrap_or("")
                ),
                account_number: mask_tail(account_number),
                account_name: account_name.clone(),
            },
            BankAccount::Ach {
                routing_number,
                account_number,
                account_type,
            } => BankAccount::Ach {
                routing_number: routing_number.clone(),
                account_number: mask_tail(account_number),
                account_type: *account_type,
            },
        }
    }

    /// The scheme's name, as in `scheme`.
    pub fn scheme(&self) -> &'static str {
        match self {
            BankAccount::Sepa { .. } => "sepa",
            BankAccount::Bacs { .. } => "bacs",
            BankAccount::Ach { .. } => "ach",
        }
    }
}

/// `DE89370400440532013000` as `DE89 **** **** **** **30 00`.
pub fn mask_iban(iban: &str) -> String {
    let n = iban.chars().count();
    let shown: String = iban
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i + 4 >= n { c } else { '*' })
        .collect();
    let chars: Vec<char> = shown.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `12345678` as `****5678`.
pub fn mask_tail(number: &str) -> String {
    let n = number.chars().count();
    let tail: String = number.chars().skip(n.saturating_sub(4)).collect();
    if n <= 4 {
        "*".repeat(n)
    } else {
        format!("****{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_checks_country_length_and_mod_97() {
        // The ISO 13616 example IBANs of the SWIFT IBAN Registry.
        assert_eq!(
            check_iban("bank.iban", "DE89 3704 0044 0532 0130 00").unwrap(),
            "DE89370400440532013000"
        );
        assert_eq!(
            check_iban("bank.iban", "gb29nwbk60161331926819").unwrap(),
            "GB29NWBK60161331926819"
        );
        check_iban("i", "FR1420041010050500013M02606").unwrap();
        check_iban("i", "NO9386011117947").unwrap();
        check_iban("i", "MT84MALT011000012345MTLCAST001S").unwrap();
        // One digit changed: mod 97 catches it.
        let e = check_iban("bank.iban", "DE89370400440532013001").unwrap_err();
        assert!(e.contains("bank.iban") && e.contains("mod 97"), "{e}");
        // Two digits swapped.
        assert!(check_iban("i", "DE89370400440532010300").is_err());
        let e = check_iban("bank.iban", "DE8937040044053201300").unwrap_err();
        assert!(e.contains("22 characters") && e.contains("21"), "{e}");
        let e = check_iban("bank.iban", "US12345678901234").unwrap_err();
        assert!(e.contains("not a SEPA country"), "{e}");
        assert!(check_iban("i", "DE89-3704").is_err());
        assert!(check_iban("i", "DEXX370400440532013000").is_err());
    }

    #[test]
    fn bic_sort_code_and_uk_account() {
        assert_eq!(check_bic("b", "cobadeffxxx").unwrap(), "COBADEFFXXX");
        assert_eq!(check_bic("b", "DEUTDEFF").unwrap(), "DEUTDEFF");
        for bad in ["DEUTDEF", "1EUTDEFF", "DEUTDEFF5", "DEUTDEFF50_"] {
            assert!(check_bic("b", bad).is_err(), "{bad}");
        }
        assert_eq!(check_sort_code("s", "60-16-13").unwrap(), "601613");
        let e = check_sort_code("bank.sort-code", "60-16-1").unwrap_err();
        assert!(
            e.contains("bank.sort-code") && e.contains("6 digits"),
            "{e}"
        );
        assert!(check_sort_code("s", "60-16-1A").is_err());
        assert_eq!(check_uk_account("a", "31926819").unwrap(), "31926819");
        let e = check_uk_account("bank.account-number", "3192681").unwrap_err();
        assert!(e.contains("8 digits"), "{e}");
        assert!(check_uk_account("a", "3192681X").is_err());
    }

    #[test]
    fn aba_routing_check_digit() {
        // Routing numbers published by the banks (Federal Reserve E-Payments
        // Routing Directory): Bank of America (026009593), JPMorgan Chase
        // (021000021), Wells Fargo (121000248).
        for good in ["026009593", "021000021", "121000248"] {
            assert_eq!(check_routing("r", good).unwrap(), good);
        }
        let e = check_routing("bank.routing-number", "021000022").unwrap_err();
        assert!(
            e.contains("bank.routing-number") && e.contains("check digit"),
            "{e}"
        );
        assert!(check_routing("r", "02100002").is_err());
        assert!(check_us_account("a", "123456789012345678").is_err());
        assert_eq!(check_us_account("a", "0001234").unwrap(), "0001234");
    }

    #[test]
    fn accounts_are_checked_and_masked() {
        let sepa: BankAccount = serde_json::from_value(serde_json::json!({
            "scheme": "sepa", "iban": "DE89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"
        }))
        .unwrap();
        let sepa = sepa.checked("bank").unwrap();
        assert_eq!(
            sepa.masked(),
            BankAccount::Sepa {
                iban: "DE89 **** **** **** **30 00".into(),
                bic: Some("COBADEFFXXX".into())
            }
        );
        let bacs = BankAccount::Bacs {
            sort_code: "60-16-13".into(),
            account_number: "31926819".into(),
            account_name: None,
        }
        .checked("bank")
        .unwrap();
        let json = serde_json::to_value(bacs.masked()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"scheme": "bacs", "sort-code": "60-16-13", "account-number": "****6819"})
        );
        let ach = BankAccount::Ach {
            routing_number: "021000022".into(),
            account_number: "12345678".into(),
            account_type: AccountType::Checking,
        };
        assert!(ach.checked("bank").unwrap_err().contains("routing-number"));
        assert_eq!(mask_tail("1234"), "****");
        // Unknown fields and schemes are refused.
        assert!(
            serde_json::from_value::<BankAccount>(
                serde_json::json!({"scheme": "sepa", "iban": "x", "sort-code": "1"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<BankAccount>(serde_json::json!({"scheme": "swift"})).is_err()
        );
    }
}
