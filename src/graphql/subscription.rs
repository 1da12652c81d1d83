//! Live updates (SPEC §9): `opportunityChanged` and `riskChanged`.
//!
//! Both listen to the subscriber's tenant's committed changes (`service::live`) and read the
//! deal afresh under the subscriber's scope for each event (new loaders per event: nothing
//! shown predates the change). A subscriber
//! that falls more than the bus's capacity behind is told so and its subscription ends: it
//! would otherwise miss events without knowing.

use std::sync::Arc;

use async_graphql::{Context, Result, SimpleObject, Subscription as GraphQLSubscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::deal::Opportunity;
use super::enums::{ChangeKind, RiskFactorCode, RiskLevel};
use super::filters::{OpportunityFilter, deal_filter};
use super::risk::RiskSnapshot;
use super::scalars::Timestamp;
use super::{RequestScope, scope};
use crate::domain::events::{ChangeEvent, RiskState};
use crate::domain::model::FactorSet;

pub struct Subscription;

/// A committed change to a deal.
#[derive(SimpleObject)]
pub struct OpportunityChange {
    /// The deal as it is now (read after the change).
    pub opportunity: Opportunity,
    pub kind: ChangeKind,
    pub at: Timestamp,
}

/// A change of a deal's stored assessment.
#[derive(SimpleObject)]
pub struct RiskChange {
    pub opportunity: Opportunity,
    /// `null` when the deal had not been assessed before (it was just created).
    pub previous: Option<RiskSnapshot>,
    pub current: RiskSnapshot,
    pub new_factors: Vec<RiskFactorCode>,
    pub cleared_factors: Vec<RiskFactorCode>,
}

fn snapshot(state: RiskState) -> RiskSnapshot {
    RiskSnapshot {
        at: Timestamp(state.at),
        score: i32::try_from(state.score).unwrap_or(i32::MAX),
        level: state.level.into(),
        factor_codes: codes(state.factors),
    }
}

fn codes(set: FactorSet) -> Vec<RiskFactorCode> {
    set.iter().map(Into::into).collect()
}

#[GraphQLSubscription]
impl Subscription {
    /// After every committed change to a deal that matches `filter` (as the deal is after
    /// the change): its fields, group, interactions and stored risk.
    async fn opportunity_changed<'a>(
        &self,
        ctx: &Context<'a>,
        filter: Option<OpportunityFilter>,
    ) -> Result<impl Stream<Item = Result<OpportunityChange>> + use<'a>> {
        let scope = scope(ctx)?;
        let filter = deal_filter(filter)?;
        filter.check_ranges(|f| format!("filter.{f}"))?;
        Ok(events(
            scope,
            |_| true,
            move |event, deal| {
                filter.matches(&deal.0).then(|| OpportunityChange {
                    opportunity: deal,
                    kind: event.kind.into(),
                    at: Timestamp(event.at),
                })
            },
        ))
    }

    /// When a deal's stored assessment changes and its new or previous level is at least
    /// `minLevel`.
    async fn risk_changed<'a>(
        &self,
        ctx: &Context<'a>,
        #[graphql(default_with = "Some(RiskLevel::Medium)")] min_level: Option<RiskLevel>,
    ) -> Result<impl Stream<Item = Result<RiskChange>> + use<'a>> {
        let scope = scope(ctx)?;
        let min = min_level.unwrap_or(RiskLevel::Medium).into();
        let wanted = move |event: &ChangeEvent| event.risk.is_some_and(|m| m.reaches(min));
        Ok(events(scope, wanted, move |event, deal| {
            let change = event.risk?;
            Some(RiskChange {
                opportunity: deal,
                previous: change.previous.map(snapshot),
                current: snapshot(change.current),
                new_factors: codes(change.new_factors()),
                cleared_factors: codes(change.cleared_factors()),
            })
        }))
    }
}

/// The tenant's change events that `wanted` keeps (judged on the event alone, before any
/// read), as `pick` turns them into answers with the deal read afresh (`None`: not for this
/// subscriber after all). Events whose deal is gone are skipped.
fn events<'a, T: Send + 'a>(
    scope: &'a RequestScope,
    wanted: impl Fn(&ChangeEvent) -> bool + Send + Sync + 'a,
    pick: impl Fn(&ChangeEvent, Opportunity) -> Option<T> + Send + Sync + 'a,
) -> impl Stream<Item = Result<T>> + 'a {
    let tenant = scope.ctx.tenant().as_str().to_owned();
    let receiver = crate::service::live::changes(&scope.ctx, &scope.services);
    let (wanted, pick) = (Arc::new(wanted), Arc::new(pick));
    futures_util::stream::unfold(Some(receiver), move |receiver| {
        let (tenant, wanted, pick) = (tenant.clone(), Arc::clone(&wanted), Arc::clone(&pick));
        async move {
            let mut receiver = receiver?;
            loop {
                let event = match receiver.recv().await {
                    Ok(event) => event,
                    Err(RecvError::Lagged(missed)) => {
                        let err = async_graphql::Error::new(format!(
                            "this subscription fell {missed} events behind and ended; subscribe again"
                        ));
                        return Some((Err(err), None));
                    }
                    Err(RecvError::Closed) => return None,
                };
                if event.tenant != tenant || !wanted(&event) {
                    continue;
                }
                scope.renew_loaders();
                let deal = match scope.loaders().deal(event.deal).await {
                    Ok(Some(deal)) => deal,
                    Ok(None) => continue,
                    Err(err) => return Some((Err(err.into()), Some(receiver))),
                };
                if let Some(answer) = pick(&event, Opportunity(deal)) {
                    return Some((Ok(answer), Some(receiver)));
                }
            }
        }
    })
}
