//! [`RiskPolicy`]: a tenant's thresholds and weights, with their defaults and valid ranges.

use super::engine::FACTOR_COUNT;
use super::model::{BuyingRole, RiskFactorCode};

/// The tenant's risk policy (SPEC §3 `RiskPolicy`, defaults from SPEC §4).
///
/// Counts of days are exact: "N days" is N × 24 h.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskPolicy {
    /// Length of the engagement window, in days. Default 30.
    pub engagement_window_days: u32,
    /// `SINGLE_THREADED` fires when fewer members than this were engaged directly. Default 3.
    pub min_engaged_members: u32,
    /// `SINGLE_THREADED` fires when one member takes part in at least this share of the
    /// window's interactions (only when there are 3 or more). Default 0.8.
    pub single_thread_share: f64,
    /// `BUYING_GROUP_GAPS` fires on groups smaller than this. Default 6.
    pub min_group_size: u32,
    /// `BUYING_GROUP_GAPS` fires when one of these roles is missing. Default `[ECONOMIC_BUYER]`.
    pub required_roles: Vec<BuyingRole>,
    /// `LOW_COVERAGE` fires when directly engaged / group size is below this. Default 0.5.
    pub coverage_threshold: f64,
    /// `STALLED` fires when the deal has been in its stage more than this many days. Default 60.
    pub stall_days: u32,
    /// `GOING_DARK` fires after this many days without any interaction. Default 14.
    pub dark_days: u32,
    /// `CLOSE_DATE_PUSHED` fires once the close date was moved later this many times. Default 2.
    pub max_close_date_pushes: u32,
    /// Points per factor, indexed by [`RiskFactorCode::index`]. Defaults to
    /// [`RiskFactorCode::default_points`]. A weight of 0 disables the factor: it never fires
    /// and is not listed, so it also never appears in stored factor codes or `byFactor`.
    pub weights: [u32; FACTOR_COUNT],
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            engagement_window_days: 30,
            min_engaged_members: 3,
            single_thread_share: 0.8,
            min_group_size: 6,
            required_roles: vec![BuyingRole::EconomicBuyer],
            coverage_threshold: 0.5,
            stall_days: 60,
            dark_days: 14,
            max_close_date_pushes: 2,
            weights: default_weights(),
        }
    }
}

fn default_weights() -> [u32; FACTOR_COUNT] {
    let mut weights = [0; FACTOR_COUNT];
    for &code in RiskFactorCode::ALL {
        weights[code.index()] = code.default_points();
    }
    weights
}

/// Largest weight a single factor may carry.
pub const MAX_WEIGHT: u32 = 100;

/// A policy value out of range. `field` is the GraphQL (camelCase) name of the input field,
/// so the API edge can report `BAD_USER_INPUT` with the offending field named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: &'static str,
    pub message: String,
}

impl RiskPolicy {
    /// The points `code` is worth under this policy (0 = disabled).
    #[inline]
    pub fn points(&self, code: RiskFactorCode) -> u32 {
        self.weights[code.index()]
    }

    /// The same policy with `code` worth `points`.
    pub fn with_points(mut self, code: RiskFactorCode, points: u32) -> Self {
        self.weights[code.index()] = points;
        self
    }

    /// Checks every field against its range; the first offence is reported.
    ///
    /// Ranges: `engagementWindowDays` 1..=365, `minEngagedMembers` 1..=50,
    /// `singleThreadShare` in (0, 1], `minGroupSize` 1..=100, `requiredRoles` at most 12
    /// and no duplicates, `coverageThreshold` in (0, 1], `stallDays` 1..=3650,
    /// `darkDays` 1..=365, `maxCloseDatePushes` 1..=100, each weight 0..=100.
    pub fn validate(&self) -> Result<(), PolicyError> {
        in_range("engagementWindowDays", self.engagement_window_days, 1, 365)?;
        in_range("minEngagedMembers", self.min_engaged_members, 1, 50)?;
        share("singleThreadShare", self.single_thread_share)?;
        in_range("minGroupSize", self.min_group_size, 1, 100)?;
        if self.required_roles.len() > BuyingRole::ALL.len() {
            return Err(PolicyError {
                field: "requiredRoles",
                message: format!(
                    "must list at most {} roles, got {}",
                    BuyingRole::ALL.len(),
                    self.required_roles.len()
                ),
            });
        }
        for (i, role) in self.required_roles.iter().enumerate() {
            if self.required_roles[..i].contains(role) {
                return Err(PolicyError {
                    field: "requiredRoles",
                    message: format!("lists {role} more than once"),
                });
            }
        }
        share("coverageThreshold", self.coverage_threshold)?;
        in_range("stallDays", self.stall_days, 1, 3650)?;
        in_range("darkDays", self.dark_days, 1, 365)?;
        in_range("maxCloseDatePushes", self.max_close_date_pushes, 1, 100)?;
        for &code in RiskFactorCode::ALL {
            let points = self.points(code);
            if points > MAX_WEIGHT {
                return Err(PolicyError {
                    field: "weights",
                    message: format!("the weight of {code} must be between 0 and {MAX_WEIGHT}, got {points}"),
                });
            }
        }
        Ok(())
    }
}

fn in_range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), PolicyError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(PolicyError {
            field,
            message: format!("must be between {min} and {max}, got {value}"),
        })
    }
}

fn share(field: &'static str, value: f64) -> Result<(), PolicyError> {
    // Written so that NaN fails too.
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(PolicyError {
            field,
            message: format!("must be greater than 0 and at most 1, got {value}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_follows_the_spec_and_is_valid() {
        let policy = RiskPolicy::default();
        assert_eq!(policy.validate(), Ok(()));
        assert_eq!(policy.points(RiskFactorCode::VetoHolderOpposed), 25);
        assert_eq!(policy.points(RiskFactorCode::SingleThreaded), 20);
        assert_eq!(policy.points(RiskFactorCode::CloseDatePushed), 10);
        assert_eq!(policy.required_roles, vec![BuyingRole::EconomicBuyer]);
    }

    #[test]
    fn each_out_of_range_value_names_its_field() {
        type Edit = fn(&mut RiskPolicy);
        let cases: [(Edit, &str); 16] = [
            (|p| p.engagement_window_days = 0, "engagementWindowDays"),
            (|p| p.engagement_window_days = 366, "engagementWindowDays"),
            (|p| p.min_engaged_members = 51, "minEngagedMembers"),
            (|p| p.single_thread_share = 0.0, "singleThreadShare"),
            (|p| p.single_thread_share = f64::NAN, "singleThreadShare"),
            (|p| p.min_group_size = 101, "minGroupSize"),
            (
                |p| p.required_roles = vec![BuyingRole::Legal, BuyingRole::Legal],
                "requiredRoles",
            ),
            (|p| p.required_roles = vec![BuyingRole::Other; 13], "requiredRoles"),
            (|p| p.coverage_threshold = 1.5, "coverageThreshold"),
            (|p| p.stall_days = 0, "stallDays"),
            (|p| p.stall_days = 3651, "stallDays"),
            (|p| p.dark_days = 366, "darkDays"),
            (|p| p.max_close_date_pushes = 0, "maxCloseDatePushes"),
            (|p| p.max_close_date_pushes = 101, "maxCloseDatePushes"),
            (|p| p.weights[RiskFactorCode::Stalled.index()] = 101, "weights"),
            (|p| p.coverage_threshold = -0.1, "coverageThreshold"),
        ];
        for (edit, field) in cases {
            let mut policy = RiskPolicy::default();
            edit(&mut policy);
            let error = policy.validate().expect_err(field);
            assert_eq!(error.field, field, "{error}");
        }
    }

    #[test]
    fn the_edges_of_each_range_are_accepted() {
        let policy = RiskPolicy {
            engagement_window_days: 365,
            min_engaged_members: 50,
            single_thread_share: 1.0,
            min_group_size: 100,
            required_roles: BuyingRole::ALL.to_vec(),
            coverage_threshold: 1.0,
            stall_days: 3650,
            dark_days: 365,
            max_close_date_pushes: 100,
            weights: [100; FACTOR_COUNT],
        };
        assert_eq!(policy.validate(), Ok(()));
        let zero = RiskPolicy {
            required_roles: vec![],
            weights: [0; FACTOR_COUNT],
            ..RiskPolicy::default()
        };
        assert_eq!(zero.validate(), Ok(()));
    }

    #[test]
    fn a_weight_error_names_the_factor() {
        let policy = RiskPolicy::default().with_points(RiskFactorCode::GoingDark, 250);
        let error = policy.validate().expect_err("250 points is out of range");
        assert_eq!(
            error.to_string(),
            "weights: the weight of GOING_DARK must be between 0 and 100, got 250"
        );
    }
}
