//! IBAN checks: ISO 13616-1:2020 (structure: two-letter country code, two check
//! digits, up to 30 alphanumeric BBAN characters; 34 at most in all) and the check
//! digits by ISO/IEC 7064 MOD 97-10 (section 7.1 of ISO 13616-1: move the first four
//! characters to the end, letters become 10..35, the number mod 97 must be 1).
//!
//! The national lengths are those of the SWIFT IBAN Registry (release 99, 2024) for the
//! countries listed; other countries are checked for structure and check digits only.

/// The IBAN in its electronic form (upper case, no spaces), or why it is not one.
pub fn normalise(input: &str) -> Result<String, String> {
    let iban: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if iban.len() < 5 || iban.len() > 34 {
        return Err(format!(
            "IBAN {input:?} has {} characters; an IBAN has 5 to 34 (ISO 13616-1)",
            iban.len()
        ));
    }
    if !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "IBAN {input:?} may contain only letters and digits (and spaces between groups)"
        ));
    }
    let b = iban.as_bytes();
    if !b[0].is_ascii_alphabetic() || !b[1].is_ascii_alphabetic() {
        return Err(format!(
            "IBAN {input:?} must start with a two-letter country code"
        ));
    }
    if !b[2].is_ascii_digit() || !b[3].is_ascii_digit() {
        return Err(format!(
            "IBAN {input:?} must have two check digits after the country code"
        ));
    }
    if let Some(len) = national_length(&iban[..2])
        && iban.len() != len
    {
        return Err(format!(
            "IBAN {input:?} has {} characters; a {} IBAN has {len}",
            iban.len(),
            &iban[..2]
        ));
    }
    if mod97(&iban) != 1 {
        return Err(format!(
            "IBAN {input:?} has wrong check digits (ISO 7064 MOD 97-10): check for a typing error"
        ));
    }
    Ok(iban)
}

/// The IBAN with its first four characters moved to the end, letters as 10..35,
/// taken mod 97, digit by digit so no big integers are needed.
fn mod97(iban: &str) -> u32 {
    let (head, tail) = iban.split_at(4);
    let mut rem = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let v = c.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

/// IBAN lengths of some countries (SWIFT IBAN Registry).
fn national_length(country: &str) -> Option<usize> {
    Some(match country {
        "AT" => 20,
        "BE" => 16,
        "CH" => 21,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "ES" => 24,
        "FI" => 18,
        "FR" => 27,
        "GB" => 22,
        "IE" => 22,
        "IT" => 27,
        "LU" => 20,
        "NL" => 18,
        "NO" => 15,
        "PL" => 28,
        "PT" => 25,
        "SE" => 24,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ibans_are_normalised() {
        // The examples printed in the SWIFT IBAN Registry.
        assert_eq!(
            normalise("GB29 NWBK 6016 1331 9268 19").as_deref(),
            Ok("GB29NWBK60161331926819")
        );
        assert_eq!(
            normalise("de89370400440532013000").as_deref(),
            Ok("DE89370400440532013000")
        );
        assert_eq!(
            normalise("NL91ABNA0417164300").as_deref(),
            Ok("NL91ABNA0417164300")
        );
    }

    #[test]
    fn wrong_check_digits_length_and_characters_are_refused() {
        let e = normalise("GB28 NWBK 6016 1331 9268 19").unwrap_err();
        assert!(e.contains("wrong check digits"), "{e}");
        // Two digits swapped: MOD 97 catches every single transposition.
        let e = normalise("GB29NWBK60161331926891").unwrap_err();
        assert!(e.contains("wrong check digits"), "{e}");
        let e = normalise("GB29NWBK601613319268").unwrap_err();
        assert!(e.contains("a GB IBAN has 22"), "{e}");
        let e = normalise("GB29-NWBK-6016").unwrap_err();
        assert!(e.contains("only letters and digits"), "{e}");
        let e = normalise("1229NWBK60161331926819").unwrap_err();
        assert!(e.contains("country code"), "{e}");
    }
}
