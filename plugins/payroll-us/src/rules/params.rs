//! Parameters of each supported tax year (calendar year of the pay date).
//!
//! Every amount is in cents; every rate is in basis points (hundredths of a percent).
//! Cent literals are grouped as dollars and cents (`2_385_00` is $2,385.00) so that
//! they read like the publication's columns.

#![allow(clippy::inconsistent_digit_grouping)]

/// One row of a Publication 15-T "Percentage Method Tables for Automated Payroll
/// Systems" rate schedule: if the Adjusted Annual Wage Amount is *at least* `over`
/// (column A; the row ends where the next one starts, column B), the tentative amount
/// to withhold is `base` (column C) plus `percent` (column D) of the amount that the
/// Adjusted Annual Wage exceeds `over` (column E, always equal to column A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Column A (and E), cents.
    pub over: i64,
    /// Column C, cents.
    pub base: i64,
    /// Column D, whole percent.
    pub percent: i64,
}

/// A rate schedule: rows in increasing order of `over`, the first starting at 0.
pub type Schedule = [Row; 8];

/// The three schedules of one table (one per Form W-4 Step 1(c) filing status).
#[derive(Debug, Clone, Copy)]
pub struct Schedules {
    /// "Married Filing Jointly" (and qualifying surviving spouse).
    pub married_filing_jointly: Schedule,
    /// "Single or Married Filing Separately".
    pub single: Schedule,
    /// "Head of Household".
    pub head_of_household: Schedule,
}

/// Everything that changes from one tax year to the next.
#[derive(Debug, Clone, Copy)]
pub struct YearParams {
    /// The calendar year.
    pub year: i32,
    /// Publication 15-T edition these tables are taken from.
    pub pub15t: &'static str,
    /// "STANDARD Withholding Rate Schedules" (Step 2 box of Form W-4 NOT checked).
    pub standard: Schedules,
    /// "Form W-4, Step 2, Checkbox, Withholding Rate Schedules" (box checked).
    pub checkbox: Schedules,
    /// Worksheet 1A line 1g when the Step 2 box is not checked: married filing jointly.
    pub line_1g_married_filing_jointly: i64,
    /// Worksheet 1A line 1g when the Step 2 box is not checked: any other status.
    pub line_1g_other: i64,
    /// Social Security contribution and benefit base (maximum taxable wages), cents.
    pub social_security_wage_base: i64,
    /// Social Security tax rate, employee and employer each, basis points.
    pub social_security_rate: i64,
    /// Medicare tax rate, employee and employer each, basis points.
    pub medicare_rate: i64,
    /// Additional Medicare Tax withholding rate (employee only), basis points.
    pub additional_medicare_rate: i64,
    /// Wages paid in the calendar year above which the employer withholds
    /// Additional Medicare Tax, regardless of filing status, cents.
    pub additional_medicare_threshold: i64,
}

const fn r(over_dollars: i64, base_cents: i64, percent: i64) -> Row {
    Row {
        over: over_dollars * 100,
        base: base_cents,
        percent,
    }
}

/// Tax year 2025.
///
/// - Rate schedules: IRS Publication 15-T (2025), "Federal Income Tax Withholding
///   Methods, For use in 2025" (released December 2024), section 1, "2025 Percentage
///   Method Tables for Automated Payroll Systems and Withholding on Periodic Payments
///   of Pensions and Annuities", the two blocks "STANDARD Withholding Rate
///   Schedules" and "Form W-4, Step 2, Checkbox, Withholding Rate Schedules",
///   columns A, C and D. (The One Big Beautiful Bill Act of July 2025 did not change
///   the 2025 withholding tables: employers kept using this edition for all of 2025.)
/// - Line 1g ($12,900 / $8,600): Pub. 15-T (2025), Worksheet 1A, Step 1, line 1g.
/// - Social Security wage base $176,100: SSA, "2025 Social Security Changes" fact
///   sheet (October 2024), "Maximum Earnings Taxable"; Pub. 15 (2025) section 9.
/// - Rates 6.2% / 1.45% and Additional Medicare Tax 0.9% over $200,000: IRS
///   Publication 15 (2025), (Circular E), "What's New"/section 9 "Social security and
///   Medicare tax for 2025" and "Additional Medicare Tax withholding".
pub const Y2025: YearParams = YearParams {
    year: 2025,
    pub15t: "Publication 15-T (2025)",
    standard: Schedules {
        married_filing_jointly: [
            r(0, 0, 0),
            r(17_100, 0, 10),
            r(40_950, 2_385_00, 12),
            r(114_050, 11_157_00, 22),
            r(223_800, 35_302_00, 24),
            r(411_700, 80_398_00, 32),
            r(518_150, 114_462_00, 35),
            r(768_700, 202_154_50, 37),
        ],
        single: [
            r(0, 0, 0),
            r(6_400, 0, 10),
            r(18_325, 1_192_50, 12),
            r(54_875, 5_578_50, 22),
            r(109_750, 17_651_00, 24),
            r(203_700, 40_199_00, 32),
            r(256_925, 57_231_00, 35),
            r(632_750, 188_769_75, 37),
        ],
        head_of_household: [
            r(0, 0, 0),
            r(13_900, 0, 10),
            r(30_900, 1_700_00, 12),
            r(78_750, 7_442_00, 22),
            r(117_250, 15_912_00, 24),
            r(211_200, 38_460_00, 32),
            r(264_400, 55_484_00, 35),
            r(640_250, 187_031_50, 37),
        ],
    },
    checkbox: Schedules {
        married_filing_jointly: [
            r(0, 0, 0),
            r(15_000, 0, 10),
            r(26_925, 1_192_50, 12),
            r(63_475, 5_578_50, 22),
            r(118_350, 17_651_00, 24),
            r(212_300, 40_199_00, 32),
            r(265_525, 57_231_00, 35),
            r(390_800, 101_077_25, 37),
        ],
        single: [
            r(0, 0, 0),
            r(7_500, 0, 10),
            r(13_463, 596_25, 12),
            r(31_738, 2_789_25, 22),
            r(59_175, 8_825_50, 24),
            r(106_150, 20_099_50, 32),
            r(132_763, 28_615_50, 35),
            r(320_675, 94_384_88, 37),
        ],
        head_of_household: [
            r(0, 0, 0),
            r(11_250, 0, 10),
            r(19_750, 850_00, 12),
            r(43_675, 3_721_00, 22),
            r(62_925, 7_956_00, 24),
            r(109_900, 19_230_00, 32),
            r(136_500, 27_742_00, 35),
            r(324_425, 93_515_75, 37),
        ],
    },
    line_1g_married_filing_jointly: 12_900_00,
    line_1g_other: 8_600_00,
    social_security_wage_base: 176_100_00,
    social_security_rate: 620,
    medicare_rate: 145,
    additional_medicare_rate: 90,
    additional_medicare_threshold: 200_000_00,
};

/// Tax year 2026.
///
/// - Rate schedules: IRS Publication 15-T (2026), "Federal Income Tax Withholding
///   Methods, For use in 2026" (released December 2025, updated for P.L. 119-21),
///   section 1, "2026 Percentage Method Tables for Automated Payroll Systems and
///   Withholding on Periodic Payments of Pensions and Annuities", blocks "STANDARD
///   Withholding Rate Schedules" and "Form W-4, Step 2, Checkbox, Withholding Rate
///   Schedules", columns A, C and D. The IRS builds them from the 2026 tax rate
///   schedules and standard deductions of Rev. Proc. 2025-32 sections 4.01 and 4.14
///   (STANDARD: brackets shifted by the standard deduction less line 1g; Checkbox:
///   half the standard deduction plus half the brackets, dollars rounded up);
///   `tests::tables_follow_the_tax_rate_schedules` re-derives every row this way.
/// - Line 1g ($12,900 / $8,600, unchanged): Pub. 15-T (2026), Worksheet 1A, line 1g.
/// - Social Security wage base $184,500: SSA, "2026 Social Security Changes" fact
///   sheet (October 2025), "Maximum Earnings Taxable"; Pub. 15 (2026) section 9.
/// - Rates 6.2% / 1.45%, Additional Medicare Tax 0.9% over $200,000: IRS
///   Publication 15 (2026), (Circular E), section 9.
pub const Y2026: YearParams = YearParams {
    year: 2026,
    pub15t: "Publication 15-T (2026)",
    standard: Schedules {
        married_filing_jointly: [
            r(0, 0, 0),
            r(19_300, 0, 10),
            r(44_100, 2_480_00, 12),
            r(120_100, 11_600_00, 22),
            r(230_700, 35_932_00, 24),
            r(422_850, 82_048_00, 32),
            r(531_750, 116_896_00, 35),
            r(788_000, 206_583_50, 37),
        ],
        single: [
            r(0, 0, 0),
            r(7_500, 0, 10),
            r(19_900, 1_240_00, 12),
            r(57_900, 5_800_00, 22),
            r(113_200, 17_966_00, 24),
            r(209_275, 41_024_00, 32),
            r(263_725, 58_448_00, 35),
            r(648_100, 192_979_25, 37),
        ],
        head_of_household: [
            r(0, 0, 0),
            r(15_550, 0, 10),
            r(33_250, 1_770_00, 12),
            r(83_000, 7_740_00, 22),
            r(121_250, 16_155_00, 24),
            r(217_300, 39_207_00, 32),
            r(271_750, 56_631_00, 35),
            r(656_150, 191_171_00, 37),
        ],
    },
    checkbox: Schedules {
        married_filing_jointly: [
            r(0, 0, 0),
            r(16_100, 0, 10),
            r(28_500, 1_240_00, 12),
            r(66_500, 5_800_00, 22),
            r(121_800, 17_966_00, 24),
            r(217_875, 41_024_00, 32),
            r(272_325, 58_448_00, 35),
            r(400_450, 103_291_75, 37),
        ],
        single: [
            r(0, 0, 0),
            r(8_050, 0, 10),
            r(14_250, 620_00, 12),
            r(33_250, 2_900_00, 22),
            r(60_900, 8_983_00, 24),
            r(108_938, 20_512_00, 32),
            r(136_163, 29_224_00, 35),
            r(328_350, 96_489_63, 37),
        ],
        head_of_household: [
            r(0, 0, 0),
            r(12_075, 0, 10),
            r(20_925, 885_00, 12),
            r(45_800, 3_870_00, 22),
            r(64_925, 8_077_50, 24),
            r(112_950, 19_603_50, 32),
            r(140_175, 28_315_50, 35),
            r(332_375, 95_585_50, 37),
        ],
    },
    line_1g_married_filing_jointly: 12_900_00,
    line_1g_other: 8_600_00,
    social_security_wage_base: 184_500_00,
    social_security_rate: 620,
    medicare_rate: 145,
    additional_medicare_rate: 90,
    additional_medicare_threshold: 200_000_00,
};

/// Every supported tax year, oldest first.
pub const YEARS: [YearParams; 2] = [Y2025, Y2026];

/// The parameters of `year`, if supported.
pub fn for_year(year: i32) -> Option<&'static YearParams> {
    YEARS.iter().find(|p| p.year == year)
}
