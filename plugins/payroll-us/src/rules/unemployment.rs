//! Employer unemployment taxes: federal (FUTA) and state (SUTA).
//!
//! # FUTA
//! 6.0% of the first $7,000 of wages paid to each employee in the calendar year,
//! less the normal credit of 5.4% for state unemployment contributions paid on time:
//! 0.6% net, at most $42.00 per employee and year. Sources: IRC § 3301 (rate 6.0%),
//! § 3306(b)(1) (the $7,000 wage base), § 3302(a) and (b) (credit up to 5.4%); IRS
//! Publication 15 (2025) and (2026), section 14 "Federal Unemployment (FUTA) Tax".
//! The same figures apply in 2025 and 2026. FUTA wages exclude section 125 salary
//! reductions but include 401(k) deferrals ([`super::pretax`]). A credit reduction
//! of a state with outstanding federal loans is settled on Form 940 Schedule A after
//! the year and is not withheld per payment here.
//!
//! # SUTA
//! Each state assigns the employer its own contribution rate and taxes wages up to
//! the state's wage base. Both come from the employer (`profile.employer.suta`, which
//! the payroll plugin fills in from its settings), per state:
//! `{"PA": {"rate": "3.822", "wage-base": 1000000}}` (rate in percent, at most four
//! decimals; wage base in cents). SUTA wages are taken as the FICA wages (gross less
//! section 125); states that tax section 125 reductions are not modelled.

use std::collections::BTreeMap;

use backoffice_sdk::{Error, Result};
use serde_json::Value;

use super::pretax::dollars;
use super::{percent_bp, round_div, state};

/// FUTA rate before the credit, basis points (IRC § 3301).
pub const FUTA_GROSS_RATE_BP: i64 = 600;
/// The normal credit against FUTA, basis points (IRC § 3302).
pub const FUTA_CREDIT_BP: i64 = 540;
/// The net FUTA rate, basis points: 6.0% − 5.4% = 0.6%.
pub const FUTA_NET_RATE_BP: i64 = FUTA_GROSS_RATE_BP - FUTA_CREDIT_BP;
/// FUTA wage base per employee and year, cents (IRC § 3306(b)(1)): $7,000.
pub const FUTA_WAGE_BASE: i64 = 700_000;

/// One state's unemployment contribution set-up of the employer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suta {
    /// Rate in millionths of the wages (3.822% is 38,220).
    pub rate_ppm: i64,
    /// Taxable wage base per employee and year, cents.
    pub wage_base: i64,
}

/// Parse `profile.employer`: `{"suta": {"<state>": {"rate": "3.822", "wage-base": 1000000}}}`.
pub fn parse_employer(value: &Value) -> Result<BTreeMap<String, Suta>> {
    let obj = value.as_object().ok_or_else(|| {
        Error::invalid(format!(
            "profile employer must be a JSON object like {{\"suta\": {{\"PA\": {{\"rate\": \"3.822\", \"wage-base\": 1000000}}}}}}, got {value}"
        ))
    })?;
    let mut out = BTreeMap::new();
    for (key, v) in obj {
        if key != "suta" {
            return Err(Error::invalid(format!(
                "profile employer field {key:?} is unknown; accepted: suta"
            )));
        }
        let states = v.as_object().ok_or_else(|| {
            Error::invalid(format!(
                "profile employer.suta must be an object keyed by state, got {v}"
            ))
        })?;
        for (st, cfg) in states {
            state::check(st).map_err(|_| {
                Error::invalid(format!(
                    "profile employer.suta: state {st:?} is not supported by payroll-us; supported states: {}",
                    state::supported_list()
                ))
            })?;
            let cfg = cfg.as_object().ok_or_else(|| {
                Error::invalid(format!(
                    "profile employer.suta.{st} must be {{\"rate\": \"<percent>\", \"wage-base\": <cents>}}, got {cfg}"
                ))
            })?;
            let mut rate = None;
            let mut base = None;
            for (k, x) in cfg {
                match k.as_str() {
                    "rate" => {
                        rate = Some(parse_rate(x).ok_or_else(|| {
                            Error::invalid(format!(
                                "profile employer.suta.{st}.rate must be a percentage from \"0\" to \"100\" with at most four decimals, as a string (e.g. \"3.822\"), got {x}"
                            ))
                        })?)
                    }
                    "wage-base" => {
                        base = Some(
                            x.as_i64()
                                .filter(|n| (1..=super::MAX_AMOUNT).contains(n))
                                .ok_or_else(|| {
                                    Error::invalid(format!(
                                        "profile employer.suta.{st}.wage-base must be a whole number of cents above 0, got {x}"
                                    ))
                                })?,
                        )
                    }
                    other => {
                        return Err(Error::invalid(format!(
                            "profile employer.suta.{st} field {other:?} is unknown; accepted: rate, wage-base"
                        )));
                    }
                }
            }
            let (Some(rate_ppm), Some(wage_base)) = (rate, base) else {
                return Err(Error::invalid(format!(
                    "profile employer.suta.{st} needs both rate and wage-base"
                )));
            };
            out.insert(
                st.clone(),
                Suta {
                    rate_ppm,
                    wage_base,
                },
            );
        }
    }
    Ok(out)
}

/// "3.822" → 38,220 millionths; at most four decimals, 0 to 100 percent.
fn parse_rate(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 4
        || (s.contains('.') && frac.is_empty())
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut ppm: i64 = whole.parse::<i64>().ok()? * 10_000;
    let mut scale = 1_000;
    for c in frac.bytes() {
        ppm += i64::from(c - b'0') * scale;
        scale /= 10;
    }
    (ppm <= 1_000_000).then_some(ppm)
}

/// Format millionths as a percentage, e.g. 38,220 → "3.822%".
pub fn rate_text(ppm: i64) -> String {
    let whole = ppm / 10_000;
    let frac = format!("{:04}", ppm % 10_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{whole}%")
    } else {
        format!("{whole}.{frac}%")
    }
}

/// FUTA of one payment: (taxable wages, tax), given the FUTA wages of the year
/// before this payment.
pub fn futa(fica_wages: i64, futa_wages_before: i64) -> (i64, i64) {
    let room = (FUTA_WAGE_BASE - futa_wages_before).max(0);
    let wages = fica_wages.min(room);
    (wages, percent_bp(wages, FUTA_NET_RATE_BP))
}

/// SUTA of one payment: (taxable wages, tax).
pub fn suta(cfg: &Suta, fica_wages: i64, suta_wages_before: i64) -> (i64, i64) {
    let room = (cfg.wage_base - suta_wages_before).max(0);
    let wages = fica_wages.min(room);
    (wages, round_div(wages * cfg.rate_ppm, 1_000_000))
}

/// A readable SUTA description.
pub fn suta_description(st: &str, cfg: &Suta) -> String {
    format!(
        "{st} state unemployment tax (SUTA, {} up to {})",
        rate_text(cfg.rate_ppm),
        dollars(cfg.wage_base)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn futa_stops_at_the_wage_base() {
        // Pub. 15 section 14: 0.6% of the first $7,000 is at most $42.00 a year.
        assert_eq!(futa(500_000, 0), (500_000, 3_000));
        assert_eq!(futa(500_000, 500_000), (200_000, 1_200));
        assert_eq!(futa(500_000, 700_000), (0, 0));
        assert_eq!(FUTA_NET_RATE_BP, 60);
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate(&json!("3.822")), Some(38_220));
        assert_eq!(parse_rate(&json!("0")), Some(0));
        assert_eq!(parse_rate(&json!("100")), Some(1_000_000));
        assert_eq!(parse_rate(&json!("2.7")), Some(27_000));
        for bad in [
            json!("3."),
            json!("3.12345"),
            json!("101"),
            json!(3.4),
            json!("-1"),
            json!(""),
        ] {
            assert_eq!(parse_rate(&bad), None, "{bad}");
        }
        assert_eq!(rate_text(38_220), "3.822%");
        assert_eq!(rate_text(30_000), "3%");
    }

    #[test]
    fn employer_parses_and_refuses() {
        let m = parse_employer(&json!({"suta": {"PA": {"rate": "3.822", "wage-base": 1_000_000}}}))
            .unwrap();
        assert_eq!(
            m["PA"],
            Suta {
                rate_ppm: 38_220,
                wage_base: 1_000_000
            }
        );
        let cfg = m["PA"];
        // $10,000 base, $5,000 already taxed: $5,000 of an $8,000 payment at 3.822%.
        assert_eq!(suta(&cfg, 800_000, 500_000), (500_000, 19_110));
        for bad in [
            json!({"suta": {"OR": {"rate": "2.4", "wage-base": 5_460_000}}}),
            json!({"suta": {"PA": {"rate": "2.4"}}}),
            json!({"suta": {"PA": {"rate": "2.4", "wage-base": 0}}}),
            json!({"futa": {}}),
        ] {
            assert!(parse_employer(&bad).is_err(), "{bad}");
        }
    }
}
