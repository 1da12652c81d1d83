//! A deal's risk history rebuilt from its past (SPEC §7): the pure engine replayed day by day
//! over what was known each day, a point wherever score, level or factor set changed.
//!
//! The engine already reads stage and close-date history, and interactions, as of the
//! instant it assesses. What it does not date is the buying group, so each day is assessed
//! with the members who had joined by then and had not yet left.

use std::sync::Arc;

use chrono::{DateTime, Days, NaiveTime, Utc};
use uuid::Uuid;

use super::deal_record::{DealHistory, DealRecord};
use super::records::{Deal, Member, RiskPoint};
use super::risk::RiskPolicy;

/// The instants a deal is replayed at: its creation, then 00:00 UTC of every following day up
/// to `until` (and the instant it closed, for a closed deal). Deterministic: the same facts
/// give the same instants, whenever the replay runs on the same day.
pub fn instants(
    created_at: DateTime<Utc>,
    until: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
) -> Vec<DateTime<Utc>> {
    let mut out = vec![created_at];
    let mut day = created_at.date_naive();
    while let Some(next) = day.checked_add_days(Days::new(1)) {
        let at = next.and_time(NaiveTime::MIN).and_utc();
        if at > until {
            break;
        }
        out.push(at);
        day = next;
    }
    if let Some(closed) = closed_at
        && closed > created_at
        && out.last().is_some_and(|last| *last < closed)
    {
        out.push(closed);
    }
    out
}

/// The risk history of `deal` from its creation to its close (or `now`), under `policy`.
/// `members` may hold ended memberships (they count while they lasted).
pub fn risk_history(
    deal: &Arc<Deal>,
    members: &[Arc<Member>],
    history: &Arc<DealHistory>,
    policy: &RiskPolicy,
    now: DateTime<Utc>,
) -> Vec<RiskPoint> {
    let until = deal.closed_at.unwrap_or(now).min(now);
    let mut points: Vec<RiskPoint> = Vec::new();
    // The group changes only when someone joins or leaves: one record per such state.
    let mut record: Option<(Vec<Uuid>, DealRecord)> = None;
    for at in instants(deal.created_at, until, deal.closed_at.filter(|c| *c <= now)) {
        let present: Vec<Uuid> = members
            .iter()
            .filter(|m| m.created_at <= at && m.removed_at.is_none_or(|gone| gone > at))
            .map(|m| m.id)
            .collect();
        if record.as_ref().is_none_or(|(ids, _)| *ids != present) {
            let group = members
                .iter()
                .filter(|m| present.contains(&m.id))
                .map(|m| match m.removed_at {
                    // Still in the group at `at`.
                    Some(_) => Arc::new(Member {
                        removed_at: None,
                        ..Member::clone(m)
                    }),
                    None => Arc::clone(m),
                })
                .collect();
            record = Some((present, DealRecord::new(Arc::clone(deal), group, Arc::clone(history))));
        }
        let Some((_, current)) = &record else {
            continue;
        };
        let assessed = current.assess_for_storage(policy, at);
        let changed = points
            .last()
            .is_none_or(|p| (p.score, p.level, p.factors) != (assessed.score, assessed.level, assessed.factors));
        if changed {
            points.push(RiskPoint {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                at,
                score: assessed.score,
                level: assessed.level,
                factors: assessed.factors,
            });
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("instant").to_utc()
    }

    #[test]
    fn instants_are_the_creation_then_each_midnight_then_the_close() {
        let days = instants(at("2026-01-01T15:30:00Z"), at("2026-01-04T12:00:00Z"), None);
        assert_eq!(
            days,
            [
                at("2026-01-01T15:30:00Z"),
                at("2026-01-02T00:00:00Z"),
                at("2026-01-03T00:00:00Z"),
                at("2026-01-04T00:00:00Z")
            ]
        );
        let closed = instants(
            at("2026-01-01T15:30:00Z"),
            at("2026-01-02T09:00:00Z"),
            Some(at("2026-01-02T09:00:00Z")),
        );
        assert_eq!(
            closed,
            [
                at("2026-01-01T15:30:00Z"),
                at("2026-01-02T00:00:00Z"),
                at("2026-01-02T09:00:00Z")
            ]
        );
        assert_eq!(
            instants(at("2026-01-01T15:30:00Z"), at("2026-01-01T16:00:00Z"), None).len(),
            1
        );
    }
}
