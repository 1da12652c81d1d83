//! `Opportunity` (a deal) and its resolvers, and the board listing both roots share.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::connection::{
    Conn, GROUP_COST_FACTOR, HISTORY_READ_COST, PLAN_COST, READ_COST, connection, history_cost, page_cost, wants_total,
};
use super::contact::contact_needs_record;
use super::enums::{RiskFactorCode, RiskLevel, Stage};
use super::ids::{Kind, encode};
use super::interaction::Interaction;
use super::member::BuyingGroupMember;
use super::risk::{NextStepPlan, RiskAssessmentOut, RiskSnapshot};
use super::scalars::{Day, Money, Timestamp};
use super::scope;
use crate::domain::AppError;
use crate::domain::page::PageArgs;
use crate::domain::query::{DealFilter, DealSort};
use crate::domain::records::{self, Deal};
use crate::domain::values::cents_to_decimal;
use crate::service;

/// One page of the board; the relations it asks for are loaded for the whole page at once:
/// accounts with the page (one joined query), buying groups in one more.
pub async fn list_deals(
    ctx: &Context<'_>,
    args: PageArgs,
    filter: DealFilter,
    sort: DealSort,
) -> Result<Conn<Opportunity>> {
    let scope = scope(ctx)?;
    let look_ahead = ctx.look_ahead();
    let (node, nodes) = (look_ahead.field("edges").field("node"), look_ahead.field("nodes"));
    let wants_accounts = node.field("account").exists() || nodes.field("account").exists();
    let query = service::deals::DealQuery {
        filter: &filter,
        sort,
        with_accounts: wants_accounts,
        with_total: wants_total(ctx),
    };
    let page = Box::pin(service::deals::page(&scope.ctx, &scope.services, &query, &args)).await?;
    if wants_accounts {
        scope
            .loaders()
            .remember_accounts(page.items.iter().map(|(_, (d, a))| (d.account_id, a.clone())));
    }
    let page = page.map(|(deal, _)| Arc::new(deal));
    let deals: Vec<Arc<Deal>> = page.items.iter().map(|(_, d)| Arc::clone(d)).collect();
    scope.loaders().remember_deals(&deals);
    let (group, group_of_nodes) = (node.field("buyingGroup"), nodes.field("buyingGroup"));
    // Names and titles come with the members; whole contacts only when asked for.
    let wants_contacts =
        contact_needs_record(group.field("contact")) || contact_needs_record(group_of_nodes.field("contact"));
    let ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
    match (group.exists() || group_of_nodes.exists(), wants_contacts) {
        (true, true) => Box::pin(scope.loaders().prime_groups_with_contacts(&ids)).await?,
        (true, false) => Box::pin(scope.loaders().prime_groups(&ids)).await?,
        (false, _) => {}
    }
    Ok(connection(page, Opportunity))
}

/// A move from one stage to another (`from` is null for the stage the deal started in).
#[derive(SimpleObject)]
pub struct StageChange {
    pub from: Option<Stage>,
    pub to: Stage,
    pub at: Timestamp,
    pub by: String,
}

impl From<records::StageChange> for StageChange {
    fn from(change: records::StageChange) -> Self {
        StageChange {
            from: change.from.map(Into::into),
            to: change.to.into(),
            at: Timestamp(change.at),
            by: change.by,
        }
    }
}

/// A deal.
pub struct Opportunity(pub Arc<Deal>);

/// Whole days from `since` to `now` (never negative).
pub fn whole_days(since: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    i32::try_from((now - since).num_days().max(0)).unwrap_or(i32::MAX)
}

fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[Object]
impl Opportunity {
    pub async fn id(&self) -> ID {
        encode(Kind::Opportunity, self.0.id)
    }
    /// Your system's id for it (unique in your tenant among these records), if it has one.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let found = scope(ctx)?.loaders().account(self.0.account_id).await?;
        Ok(Account(found.ok_or_else(|| {
            AppError::Internal(format!("opportunity {} without account", self.0.id))
        })?))
    }
    async fn owner_id(&self) -> &str {
        &self.0.owner_id
    }
    async fn stage(&self) -> Stage {
        self.0.stage.into()
    }
    async fn amount(&self) -> Money {
        Money(cents_to_decimal(self.0.amount_cents))
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn expected_close_date(&self) -> Option<Day> {
        self.0.expected_close_date.map(Day)
    }
    /// When the deal entered its current stage.
    async fn stage_entered_at(&self) -> Timestamp {
        Timestamp(self.0.stage_entered_at)
    }
    /// Whole days since the deal entered its current stage.
    async fn days_in_stage(&self) -> i32 {
        whole_days(self.0.stage_entered_at, Utc::now())
    }
    async fn closed_at(&self) -> Option<Timestamp> {
        self.0.closed_at.map(Timestamp)
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// Increases with every update; pass it as `expectedVersion` to `updateOpportunity`.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The people who decide, in the order they were added (members removed from the group
    /// are not listed; past interactions still name them).
    #[graphql(complexity = "1 + GROUP_COST_FACTOR * child_complexity")]
    async fn buying_group(&self, ctx: &Context<'_>) -> Result<Vec<BuyingGroupMember>> {
        let loaders = &scope(ctx)?.loaders();
        let group = loaders.group(self.0.id).await?;
        if contact_needs_record(ctx.look_ahead().field("contact")) {
            // One query for the group's contacts (none if a page already loaded them).
            let contact_ids: Vec<Uuid> = group.iter().map(|m| m.contact_id).collect();
            Box::pin(loaders.prime_contacts(&contact_ids)).await?;
        }
        Ok(group
            .iter()
            .filter(|m| m.is_current())
            .map(|m| BuyingGroupMember(Arc::clone(m)))
            .collect())
    }

    /// What the seller did with the buying group, newest first.
    #[graphql(complexity = "READ_COST + page_cost(first, None, child_complexity)")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Interaction>> {
        // Boxed, like every body that reads: see `loaders` on future sizes.
        Box::pin(self.interactions_page(ctx, PageArgs::forward(first, after))).await
    }

    /// Every stage the deal went through, oldest first, with who moved it and when.
    #[graphql(complexity = "history_cost(last, child_complexity)")]
    async fn stage_history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The newest this many changes (default and at most 1000), still oldest first.")] last: Option<
            i32,
        >,
    ) -> Result<Vec<StageChange>> {
        let scope = scope(ctx)?;
        let changes = match scope.loaders().loaded_history(self.0.id) {
            Some(history) => service::deals::newest(&history.stage_changes, last)?,
            None => {
                Box::pin(service::deals::stage_history(
                    &scope.ctx,
                    &scope.services,
                    self.0.id,
                    last,
                ))
                .await?
            }
        };
        Ok(changes.into_iter().map(Into::into).collect())
    }

    /// Stored risk score (0–100), refreshed with every change and by the periodic sweep.
    async fn risk_score(&self) -> i32 {
        int(self.0.risk.score)
    }
    /// Stored risk level.
    async fn risk_level(&self) -> RiskLevel {
        self.0.risk.level.into()
    }
    /// Codes of the stored assessment's factors.
    async fn risk_factor_codes(&self) -> Vec<RiskFactorCode> {
        self.0.risk.factors.iter().map(Into::into).collect()
    }

    /// Risk computed live at `asOf` (default: now), every factor explained. `asOf` may lie in
    /// the future: "what will this deal look like in 60 days if nothing happens?"
    #[graphql(complexity = "HISTORY_READ_COST + 3 * child_complexity")]
    async fn risk(&self, ctx: &Context<'_>, as_of: Option<Timestamp>) -> Result<RiskAssessmentOut> {
        let loaders = &scope(ctx)?.loaders();
        let (record, policy) = tokio::try_join!(loaders.record(self.0.id), loaders.policy())?;
        let as_of = as_of.map_or_else(service::now, |t| t.0);
        Ok(RiskAssessmentOut::from(record.explain(&policy, as_of)))
    }

    /// The direct conversations the seller has not had yet that lower the risk most, with what
    /// each would change, planned at `asOf` (default: now) from the same facts as `risk`
    /// (SPEC §10). Closed deals: no steps.
    #[graphql(complexity = "HISTORY_READ_COST + PLAN_COST + 5 * child_complexity")]
    async fn next_steps(&self, ctx: &Context<'_>, as_of: Option<Timestamp>) -> Result<NextStepPlan> {
        let loaders = &scope(ctx)?.loaders();
        let (record, policy) = tokio::try_join!(loaders.record(self.0.id), loaders.policy())?;
        let as_of = as_of.map_or_else(service::now, |t| t.0);
        Ok(NextStepPlan::from(record.next_steps(&policy, as_of)))
    }

    /// How the stored assessment changed over time, oldest first (from `since`, if given).
    #[graphql(complexity = "history_cost(last, child_complexity)")]
    async fn risk_history(
        &self,
        ctx: &Context<'_>,
        since: Option<Timestamp>,
        #[graphql(desc = "The newest this many points after `since` (default and at most 1000), still oldest first.")]
        last: Option<i32>,
    ) -> Result<Vec<RiskSnapshot>> {
        let scope = scope(ctx)?;
        let since = since.map(|t| t.0);
        let points = Box::pin(service::risk::history(
            &scope.ctx,
            &scope.services,
            self.0.id,
            since,
            last,
        ))
        .await?;
        Ok(points.into_iter().map(RiskSnapshot::from).collect())
    }
}

impl Opportunity {
    /// `interactions`: cut from the deal's history when this request loaded it (a deal page
    /// with risk), else one page read with its links.
    async fn interactions_page(&self, ctx: &Context<'_>, args: PageArgs) -> Result<Conn<Interaction>> {
        let scope = scope(ctx)?;
        let node = ctx.look_ahead().field("edges").field("node");
        let wants_contacts = contact_needs_record(node.field("participants").field("contact"))
            || contact_needs_record(node.field("about").field("contact"));
        // A deal page that loaded the deal's history for its risk cuts the page from it.
        let page = match scope.loaders().loaded_history(self.0.id) {
            Some(history) => service::interactions::page_of_history(&history, &args)?,
            None => {
                let page = service::interactions::page_for_deal(
                    &scope.ctx,
                    &scope.services,
                    self.0.id,
                    &args,
                    wants_total(ctx),
                )
                .await?;
                let ids: Vec<Uuid> = page.items.iter().map(|(_, i)| i.id).collect();
                if !ids.is_empty() {
                    scope.loaders().prime_links(&ids).await?;
                }
                page
            }
        };
        if !page.items.is_empty() {
            match wants_contacts {
                true => scope.loaders().prime_groups_with_contacts(&[self.0.id]).await?,
                false => scope.loaders().prime_groups(&[self.0.id]).await?,
            }
        }
        scope.loaders().remember_deals(std::slice::from_ref(&self.0));
        Ok(connection(page, Interaction))
    }
}
