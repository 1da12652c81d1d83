//! Which risk flags predicted losses (SPEC §8, `riskOutcomes`): from a few aggregate rows of
//! closed deals — per stored level at the start of the lookback window and outcome, how many
//! deals carried each factor during the window — the win rates with and without each factor,
//! their lift, and the win rate per level. Pure: the database sums the rows.

use super::model::{RiskFactorCode, RiskLevel};
use super::{AppError, AppResult};

/// Longest lookback window a report may ask for, in days (ten years).
pub const MAX_LOOKBACK_DAYS: i32 = 3650;

/// `lookbackDays`, checked: 0 to [`MAX_LOOKBACK_DAYS`].
pub fn lookback_days(days: i32) -> AppResult<i32> {
    if (0..=MAX_LOOKBACK_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(AppError::bad_input(
            "lookbackDays",
            format!("must be between 0 and {MAX_LOOKBACK_DAYS}, not {days}"),
        ))
    }
}

/// One aggregate row: the closed deals with one stored level at the window's start and one
/// outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRow {
    pub level: RiskLevel,
    pub won: bool,
    pub deals: i64,
    /// Per factor (by `RiskFactorCode::index`): how many of them carried it in the window.
    pub with_factor: [i64; 12],
}

#[derive(Debug, Clone, PartialEq)]
pub struct FactorOutcome {
    pub code: RiskFactorCode,
    pub with_factor: i64,
    pub won_with_factor: i64,
    pub win_rate_with: Option<f64>,
    pub without_factor: i64,
    pub won_without_factor: i64,
    pub win_rate_without: Option<f64>,
    /// `win_rate_without / win_rate_with`: how much likelier a deal without the factor was to
    /// be won; null when either rate is, or when no deal with the factor was won.
    pub lift: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LevelOutcome {
    pub level: RiskLevel,
    pub deals: i64,
    pub won: i64,
    pub lost: i64,
    pub win_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskOutcomes {
    pub closed_deals: i64,
    pub won: i64,
    pub lost: i64,
    pub win_rate: Option<f64>,
    /// All twelve factor codes, in their order.
    pub by_factor: Vec<FactorOutcome>,
    /// All four levels, in their order.
    pub by_level: Vec<LevelOutcome>,
}

fn rate(won: i64, deals: i64) -> Option<f64> {
    (deals > 0).then(|| won as f64 / deals as f64)
}

/// The report of the closed deals summed in `rows`.
pub fn summarize(rows: &[OutcomeRow]) -> RiskOutcomes {
    let deals = |won: Option<bool>| -> i64 {
        rows.iter()
            .filter(|r| won.is_none_or(|w| r.won == w))
            .map(|r| r.deals)
            .sum()
    };
    let (closed_deals, won) = (deals(None), deals(Some(true)));
    let by_factor = RiskFactorCode::ALL
        .iter()
        .map(|code| {
            let with = |won: Option<bool>| -> i64 {
                rows.iter()
                    .filter(|r| won.is_none_or(|w| r.won == w))
                    .map(|r| r.with_factor[code.index()])
                    .sum()
            };
            let (with_factor, won_with_factor) = (with(None), with(Some(true)));
            let (without_factor, won_without_factor) = (closed_deals - with_factor, won - won_with_factor);
            let win_rate_with = rate(won_with_factor, with_factor);
            let win_rate_without = rate(won_without_factor, without_factor);
            let lift = match (win_rate_without, win_rate_with) {
                (Some(without), Some(with)) if with > 0.0 => Some(without / with),
                _ => None,
            };
            FactorOutcome {
                code: *code,
                with_factor,
                won_with_factor,
                win_rate_with,
                without_factor,
                won_without_factor,
                win_rate_without,
                lift,
            }
        })
        .collect();
    let by_level = RiskLevel::ALL
        .iter()
        .map(|level| {
            let of_level = rows.iter().filter(|r| r.level == *level);
            let deals: i64 = of_level.clone().map(|r| r.deals).sum();
            let won: i64 = of_level.filter(|r| r.won).map(|r| r.deals).sum();
            LevelOutcome {
                level: *level,
                deals,
                won,
                lost: deals - won,
                win_rate: rate(won, deals),
            }
        })
        .collect();
    RiskOutcomes {
        closed_deals,
        won,
        lost: closed_deals - won,
        win_rate: rate(won, closed_deals),
        by_factor,
        by_level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(level: RiskLevel, won: bool, deals: i64, factors: &[(RiskFactorCode, i64)]) -> OutcomeRow {
        let mut with_factor = [0; 12];
        for (code, n) in factors {
            with_factor[code.index()] = *n;
        }
        OutcomeRow {
            level,
            won,
            deals,
            with_factor,
        }
    }

    #[test]
    fn win_rates_with_and_without_a_factor_and_their_lift() {
        use RiskFactorCode::{SingleThreaded, Stalled};
        // 10 closed: 4 won (1 of them single-threaded), 6 lost (5 single-threaded).
        let rows = [
            row(RiskLevel::Low, true, 3, &[]),
            row(RiskLevel::High, true, 1, &[(SingleThreaded, 1)]),
            row(RiskLevel::High, false, 5, &[(SingleThreaded, 5), (Stalled, 2)]),
            row(RiskLevel::Low, false, 1, &[]),
        ];
        let r = summarize(&rows);
        assert_eq!((r.closed_deals, r.won, r.lost, r.win_rate), (10, 4, 6, Some(0.4)));
        assert_eq!(r.by_factor.len(), 12);
        let single = r.by_factor.iter().find(|f| f.code == SingleThreaded).expect("row");
        assert_eq!((single.with_factor, single.won_with_factor), (6, 1));
        assert_eq!((single.without_factor, single.won_without_factor), (4, 3));
        assert_eq!(
            (single.win_rate_with, single.win_rate_without),
            (Some(1.0 / 6.0), Some(0.75))
        );
        assert!(single.lift.is_some_and(|l| (l - 4.5).abs() < 1e-12), "{single:?}");
        // Stalled: two deals, both lost: a rate of 0 with it, so no lift.
        let stalled = r.by_factor.iter().find(|f| f.code == Stalled).expect("row");
        assert_eq!((stalled.win_rate_with, stalled.lift), (Some(0.0), None));
        // A factor no deal carried: no rate with it, so no lift.
        let other = r.by_factor.iter().find(|f| f.with_factor == 0).expect("row");
        assert_eq!(
            (other.win_rate_with, other.win_rate_without, other.lift),
            (None, Some(0.4), None)
        );
        let levels: Vec<(RiskLevel, i64, i64, i64)> =
            r.by_level.iter().map(|l| (l.level, l.deals, l.won, l.lost)).collect();
        assert_eq!(
            levels,
            [
                (RiskLevel::Low, 4, 3, 1),
                (RiskLevel::Medium, 0, 0, 0),
                (RiskLevel::High, 6, 1, 5),
                (RiskLevel::Critical, 0, 0, 0)
            ]
        );
        assert_eq!(r.by_level[1].win_rate, None);
    }

    #[test]
    fn lookback_is_zero_to_ten_years() {
        assert_eq!(lookback_days(0).ok(), Some(0));
        assert_eq!(lookback_days(3650).ok(), Some(3650));
        assert!(lookback_days(-1).is_err());
        assert!(lookback_days(3651).is_err());
    }
}
