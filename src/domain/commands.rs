//! What clients ask the service to do, as they asked it: the inputs of the use cases,
//! declared once here. The API edge fills them from its own input types; the service
//! validates them (naming the offending input field) and turns them into records.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::error::{AppError, AppResult};
use super::model::{Bandwidth, BuyingRole, Influence, InteractionKind, RiskFactorCode, Stage, Stance};
use super::risk::RiskPolicy;

/// A reference the client sent: `Some(id)` if it decoded, `None` if it cannot name anything
/// (it then behaves exactly like an id that does not exist).
pub type Ref = Option<Uuid>;

pub struct CreateAccount {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    /// The client's own id for the record (validated: at most 255 characters).
    pub external_id: Option<String>,
}

pub struct CreateContact {
    pub account_id: Ref,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    /// The client's own id for the record (validated: at most 255 characters).
    pub external_id: Option<String>,
}

pub struct CreateDeal {
    pub account_id: Ref,
    pub name: String,
    pub amount: Decimal,
    pub currency: String,
    /// Default `PROSPECTING`.
    pub stage: Option<Stage>,
    pub expected_close_date: Option<NaiveDate>,
    /// Default: the caller.
    pub owner_id: Option<String>,
    /// The client's own id for the record (validated: at most 255 characters).
    pub external_id: Option<String>,
}

/// Changes to a deal; `None` leaves a field as it is.
pub struct UpdateDeal {
    pub id: Ref,
    pub expected_version: i32,
    pub name: Option<String>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub stage: Option<Stage>,
    /// `Some(None)` clears the date.
    pub expected_close_date: Option<Option<NaiveDate>>,
    pub owner_id: Option<String>,
}

pub struct AddMember {
    pub opportunity_id: Ref,
    pub contact_id: Ref,
    pub role: BuyingRole,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    pub notes: Option<String>,
    /// The client's own id for the record (validated: at most 255 characters).
    pub external_id: Option<String>,
}

/// Changes to a member; `None` leaves an attribute as it is.
pub struct UpdateMember {
    pub id: Ref,
    pub role: Option<BuyingRole>,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    /// `Some(None)` clears the notes.
    pub notes: Option<Option<String>>,
}

pub struct LogInteraction {
    pub opportunity_id: Ref,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    pub summary: Option<String>,
    pub participant_ids: Vec<Ref>,
    pub about_ids: Vec<Ref>,
    /// The client's own id for the record (validated: at most 255 characters).
    pub external_id: Option<String>,
}

/// A partial policy: `None` keeps the current value; weights are merged code by code.
#[derive(Debug, Default)]
pub struct PolicyChanges {
    pub engagement_window_days: Option<i32>,
    pub min_engaged_members: Option<i32>,
    pub single_thread_share: Option<f64>,
    pub min_group_size: Option<i32>,
    pub required_roles: Option<Vec<BuyingRole>>,
    pub coverage_threshold: Option<f64>,
    pub stall_days: Option<i32>,
    pub dark_days: Option<i32>,
    pub max_close_date_pushes: Option<i32>,
    pub weights: Option<Vec<(RiskFactorCode, i32)>>,
}

impl PolicyChanges {
    /// `current` with these changes, every field validated (`BAD_USER_INPUT` naming it).
    pub fn apply_to(self, current: RiskPolicy) -> AppResult<RiskPolicy> {
        let count = |field: &'static str, v: i32| {
            u32::try_from(v).map_err(|_| AppError::bad_input(format!("input.{field}"), "must not be negative"))
        };
        let mut next = current;
        if let Some(v) = self.engagement_window_days {
            next.engagement_window_days = count("engagementWindowDays", v)?;
        }
        if let Some(v) = self.min_engaged_members {
            next.min_engaged_members = count("minEngagedMembers", v)?;
        }
        if let Some(v) = self.single_thread_share {
            next.single_thread_share = v;
        }
        if let Some(v) = self.min_group_size {
            next.min_group_size = count("minGroupSize", v)?;
        }
        if let Some(v) = self.required_roles {
            next.required_roles = v;
        }
        if let Some(v) = self.coverage_threshold {
            next.coverage_threshold = v;
        }
        if let Some(v) = self.stall_days {
            next.stall_days = count("stallDays", v)?;
        }
        if let Some(v) = self.dark_days {
            next.dark_days = count("darkDays", v)?;
        }
        if let Some(v) = self.max_close_date_pushes {
            next.max_close_date_pushes = count("maxCloseDatePushes", v)?;
        }
        if let Some(weights) = self.weights {
            for (i, (code, points)) in weights.iter().enumerate() {
                if weights[..i].iter().any(|(c, _)| c == code) {
                    return Err(AppError::bad_input(
                        "input.weights",
                        format!("lists {code} more than once"),
                    ));
                }
                let points = u32::try_from(*points).map_err(|_| {
                    AppError::bad_input("input.weights", format!("the weight of {code} must not be negative"))
                })?;
                next.weights[code.index()] = points;
            }
        }
        next.validate()
            .map_err(|err| AppError::bad_input(format!("input.{}", err.field), err.message))?;
        Ok(next)
    }
}
