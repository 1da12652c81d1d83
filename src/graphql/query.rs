//! The query root.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};

use super::account::Account;
use super::connection::{Conn, connection, page_cost, wants_total};
use super::contact::{Contact, contact_needs_record};
use super::deal::{Opportunity, list_deals};
use super::filters::{OpportunityFilter, OpportunityOrder, deal_filter, deal_sort};
use super::ids::{self, Kind};
use super::interaction::Interaction;
use super::member::BuyingGroupMember;
use super::node::{Node, Viewer};
use super::pipeline::{PipelineGroupBy, PipelineHealth, PipelinePoint, RiskOutcomes, TrendInterval};
use super::risk::RiskPolicyOut;
use super::scalars::{Day, Timestamp};
use super::scope;
use super::webhook::Webhook;
use crate::domain::page::PageArgs;
use crate::service;

pub struct Query;

#[Object]
impl Query {
    /// Any entity by its global ID; null if it does not exist in your tenant.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let scope = scope(ctx)?;
        let Some((kind, uuid)) = ids::decode_any(&id) else {
            return Ok(None);
        };
        let (t, svc, loaders) = (&scope.ctx, &scope.services, &scope.loaders());
        Ok(match kind {
            Kind::Account => loaders.account(uuid).await?.map(|a| Node::Account(Account(a))),
            Kind::Contact => loaders.contact(uuid).await?.map(|c| Node::Contact(Contact::Row(c))),
            Kind::Opportunity => loaders.deal(uuid).await?.map(|d| Node::Opportunity(Opportunity(d))),
            Kind::BuyingGroupMember => service::groups::get(t, svc, uuid)
                .await?
                .map(|m| Node::BuyingGroupMember(BuyingGroupMember(Arc::new(m)))),
            Kind::Interaction => service::interactions::load_many(t, svc, &[uuid])
                .await?
                .pop()
                .map(|i| Node::Interaction(Interaction(Arc::new(i)))),
            Kind::Webhook => service::webhooks::load_many(t, svc, &[uuid])
                .await?
                .pop()
                .map(|w| Node::Webhook(Webhook(Arc::new(w)))),
        })
    }

    /// Your tenant's webhooks, oldest first (admins only).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let scope = scope(ctx)?;
        let hooks = service::webhooks::list(&scope.ctx, &scope.services).await?;
        Ok(hooks.into_iter().map(|w| Webhook(Arc::new(w))).collect())
    }

    /// Who you are, as your token says.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let scope = scope(ctx)?;
        Ok(Viewer {
            user_id: scope.ctx.user_id().to_owned(),
            tenant_id: scope.ctx.tenant().as_str().to_owned(),
            roles: scope.ctx.roles().to_vec(),
        })
    }

    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Account>> {
        let Some(uuid) = ids::decode(Kind::Account, &id) else {
            return Ok(None);
        };
        Ok(scope(ctx)?.loaders().account(uuid).await?.map(Account))
    }

    /// The account with this external ID; null if there is none in your tenant.
    async fn account_by_external_id(&self, ctx: &Context<'_>, external_id: String) -> Result<Option<Account>> {
        let scope = scope(ctx)?;
        let found = service::accounts::get_by_external_id(&scope.ctx, &scope.services, &external_id).await?;
        Ok(found.map(|a| Account(Arc::new(a))))
    }

    /// The contact with this external ID; null if there is none in your tenant.
    async fn contact_by_external_id(&self, ctx: &Context<'_>, external_id: String) -> Result<Option<Contact>> {
        let scope = scope(ctx)?;
        let found = service::contacts::get_by_external_id(&scope.ctx, &scope.services, &external_id).await?;
        Ok(found.map(|c| Contact::Row(Arc::new(c))))
    }

    /// The opportunity with this external ID; null if there is none in your tenant.
    async fn opportunity_by_external_id(&self, ctx: &Context<'_>, external_id: String) -> Result<Option<Opportunity>> {
        let scope = scope(ctx)?;
        let found = service::deals::get_by_external_id(&scope.ctx, &scope.services, &external_id).await?;
        Ok(found.map(|d| Opportunity(Arc::new(d))))
    }

    /// Accounts by name.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        name_contains: Option<String>,
    ) -> Result<Conn<Account>> {
        let scope = scope(ctx)?;
        let page = service::accounts::page(
            &scope.ctx,
            &scope.services,
            name_contains.as_deref(),
            &PageArgs::forward(first, after),
            wants_total(ctx),
        )
        .await?;
        Ok(connection(page, |a| Account(Arc::new(a))))
    }

    /// Pipeline health of the deals matching `filter`, from SQL aggregates over the stored
    /// assessments: totals per currency, buckets by stage, risk level and factor, averages,
    /// win rate, and one row per `groupBy` key; with `asOf`, of the pipeline as it stood then
    /// (from the stage, amount and close-date histories and `riskHistory`).
    #[graphql(complexity = 50)]
    async fn pipeline_health(
        &self,
        ctx: &Context<'_>,
        filter: Option<OpportunityFilter>,
        group_by: Option<PipelineGroupBy>,
        #[graphql(
            desc = "The pipeline as it stood at this instant (default: now): the deals created by \
                          then, with the stage, amount, close date and stored risk they had then."
        )]
        as_of: Option<Timestamp>,
    ) -> Result<PipelineHealth> {
        let scope = scope(ctx)?;
        let filter = deal_filter(filter)?;
        let health = service::pipeline::health(
            &scope.ctx,
            &scope.services,
            &filter,
            group_by.map(Into::into),
            as_of.map(|t| t.0),
        )
        .await?;
        Ok(health.into())
    }

    /// The pipeline over time: one point per `interval` start (00:00 UTC; weeks start on
    /// Monday, months on the 1st) in [`from`, `to`], at most 400. Each point holds the figures
    /// of `pipelineHealth(asOf: at)` for the deals matching `filter` then, and the deals
    /// created, won and lost during its interval.
    #[graphql(complexity = 100)]
    async fn pipeline_trend(
        &self,
        ctx: &Context<'_>,
        filter: Option<OpportunityFilter>,
        from: Day,
        to: Day,
        interval: TrendInterval,
    ) -> Result<Vec<PipelinePoint>> {
        let scope = scope(ctx)?;
        let filter = deal_filter(filter)?;
        let points =
            service::pipeline::trend(&scope.ctx, &scope.services, &filter, from.0, to.0, interval.into()).await?;
        Ok(points.into_iter().map(Into::into).collect())
    }

    /// Which risk flags predicted losses in your own data: of the deals matching `filter`
    /// closed (won or lost) on a UTC day in [`closedFrom`, `closedTo`], the win rate of those
    /// that carried each factor at any time in the `lookbackDays` before closing against
    /// those that did not, and the win rate per stored level `lookbackDays` before closing
    /// (from `riskHistory`; windows start no earlier than the deal's creation).
    #[graphql(complexity = 50)]
    async fn risk_outcomes(
        &self,
        ctx: &Context<'_>,
        filter: Option<OpportunityFilter>,
        closed_from: Option<Day>,
        closed_to: Option<Day>,
        #[graphql(default = 30, desc = "Days before closing that count (0 to 3650; null: 30).")] lookback_days: Option<
            i32,
        >,
    ) -> Result<RiskOutcomes> {
        let scope = scope(ctx)?;
        let filter = deal_filter(filter)?;
        let report = service::pipeline::outcomes(
            &scope.ctx,
            &scope.services,
            &filter,
            closed_from.map(|d| d.0),
            closed_to.map(|d| d.0),
            lookback_days.unwrap_or(30),
        )
        .await?;
        Ok(report.into())
    }

    /// The tenant's risk policy (defaults until an admin changes it).
    async fn risk_policy(&self, ctx: &Context<'_>) -> Result<RiskPolicyOut> {
        let policy = scope(ctx)?.loaders().policy().await?;
        Ok(RiskPolicyOut((*policy).clone()))
    }

    async fn opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Opportunity>> {
        let loaders = &scope(ctx)?.loaders();
        let Some(uuid) = ids::decode(Kind::Opportunity, &id) else {
            return Ok(None);
        };
        let look_ahead = ctx.look_ahead();
        // A deal page that shows live risk needs the deal's group, its history and the policy.
        // They are read side by side with the deal itself (the reads need only its id; for an id that names
        // nothing in the tenant they find nothing), and serve its buying group, its
        // interactions page with their participants, and its stage history too.
        let group = look_ahead.field("buyingGroup");
        let needs_record = look_ahead.field("risk").exists()
            || group.field("engagement").exists()
            || group.field("lastDirectInteractionAt").exists();
        let node = look_ahead.field("interactions").field("edges").field("node");
        let wants_contacts = contact_needs_record(group.field("contact"))
            || contact_needs_record(node.field("participants").field("contact"))
            || contact_needs_record(node.field("about").field("contact"));
        let deal = async {
            match look_ahead.field("account").exists() {
                true => loaders.deal_with_account(uuid).await,
                false => loaders.deal(uuid).await,
            }
        };
        let groups = async {
            match (needs_record || group.exists(), wants_contacts) {
                (true, true) => loaders.prime_groups_with_contacts(&[uuid]).await,
                (true, false) => loaders.prime_groups(&[uuid]).await,
                (false, _) => Ok(()),
            }
        };
        let history = async {
            match needs_record {
                true => loaders.prime_histories(&[uuid]).await,
                false => Ok(()),
            }
        };
        let policy = async {
            match needs_record {
                true => loaders.policy().await.map(|_| ()),
                false => Ok(()),
            }
        };
        let (deal, (), (), ()) = tokio::try_join!(deal, groups, history, policy)?;
        let Some(deal) = deal else {
            return Ok(None);
        };
        Ok(Some(Opportunity(deal)))
    }

    /// The deal board: filter, order (default: most recently updated first) and page both ways.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OpportunityFilter>,
        order_by: Option<OpportunityOrder>,
    ) -> Result<Conn<Opportunity>> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_deals(ctx, args, deal_filter(filter)?, deal_sort(order_by)).await
    }
}
