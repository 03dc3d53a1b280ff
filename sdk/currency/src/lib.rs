//! ISO 4217 currencies and their minor units, shared by the SDK's `Money` and the
//! host's console, so an amount of 1234 GNF reads "1234" everywhere and never "12.34".
//!
//! Amounts are integer minor units: cents for EUR (exponent 2), yen for JPY (0), fils
//! for KWD (3). Source: the ISO 4217 list of currency codes, "Minor unit" column (SIX
//! Financial Information, current list), for the currencies the table holds.

/// ISO 4217 codes and minor-unit exponents, sorted by code.
pub const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("GNF", 0),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LKR", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("ZAR", 2),
];

/// The minor-unit exponent of an ISO 4217 code in [`ISO_4217`], if the table knows it.
pub fn exponent(code: &str) -> Option<u8> {
    ISO_4217
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| ISO_4217[i].1)
}

/// `minor` units written as a decimal with `exponent` digits after the point:
/// `format_minor(-5, 2)` is `-0.05`, `format_minor(1200, 0)` is `1200`. Exact for every
/// `i64`, including `i64::MIN`; exponents above 18 are written as 18.
pub fn format_minor(minor: i64, exponent: u8) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let exp = u32::from(exponent.min(18));
    if exp == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(exp);
    let width = exp as usize;
    format!("{sign}{}.{:0width$}", abs / scale, abs % scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_well_formed() {
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ISO_4217.iter().all(|(c, e)| {
            c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) && *e <= 4
        }));
    }

    #[test]
    fn exponents_come_from_the_table() {
        assert_eq!(exponent("EUR"), Some(2));
        assert_eq!(exponent("GNF"), Some(0));
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("KWD"), Some(3));
        assert_eq!(exponent("CLF"), Some(4));
        assert_eq!(exponent("XYZ"), None);
    }

    #[test]
    fn minor_units_format_exactly() {
        assert_eq!(format_minor(123_456, 2), "1234.56");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(1234, 0), "1234");
        assert_eq!(format_minor(1234, 3), "1.234");
        assert_eq!(format_minor(0, 2), "0.00");
        assert_eq!(format_minor(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(format_minor(1, 18), "0.000000000000000001");
    }
}
