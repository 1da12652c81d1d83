//! The query root.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result};
use uuid::Uuid;

use super::enums::{OpportunityOrderField, OrderDirection, RiskFactorCode, RiskLevel, Stage};
use super::ids::{self, Kind};
use super::scalars::{Day, Money};
use super::scope;
use super::types::{
    Account, AccountConnection, BuyingGroupMember, Contact, CountQuery, Interaction, Node, Opportunity,
    OpportunityConnection, Viewer, connection, page_cost,
};
use crate::domain::AppResult;
use crate::domain::values;
use crate::store::opportunities::{Filter, Sort, SortField};
use crate::store::page::PageArgs;
use crate::store::{accounts, contacts, interactions, members, opportunities};

/// Narrows the deal board. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    pub stages: Option<Vec<Stage>>,
    /// `true`: open deals only; `false`: closed deals only.
    pub open: Option<bool>,
    pub owner_id: Option<String>,
    pub account_id: Option<ID>,
    /// Stored risk level is one of these.
    pub risk_levels: Option<Vec<RiskLevel>>,
    /// The stored assessment carries this factor.
    pub risk_factor: Option<RiskFactorCode>,
    pub min_amount: Option<Money>,
    pub max_amount: Option<Money>,
    pub currency: Option<String>,
    /// Expected close date on or after this day.
    pub close_date_from: Option<Day>,
    /// Expected close date on or before this day.
    pub close_date_to: Option<Day>,
    /// Case-insensitive part of the deal's name.
    pub name_contains: Option<String>,
}

#[derive(InputObject)]
pub struct OpportunityOrder {
    pub field: OpportunityOrderField,
    pub direction: OrderDirection,
}

/// Validates a client's filter and resolves its IDs.
pub fn resolve_filter(filter: Option<OpportunityFilter>) -> AppResult<Filter> {
    let Some(f) = filter else {
        return Ok(Filter::default());
    };
    let account_id = f.account_id.as_deref().map(|id| ids::decode(Kind::Account, id));
    let cents = |field: &str, m: Option<Money>| m.map(|m| values::amount_cents(field, m.0)).transpose();
    Ok(Filter {
        stages: f.stages.map(|s| s.into_iter().map(Into::into).collect()),
        open: f.open,
        owner_id: f.owner_id,
        // An ID that names no account of ours matches no deal (never an error that reveals why).
        matches_nothing: matches!(account_id, Some(None)),
        account_id: account_id.flatten(),
        risk_levels: f.risk_levels.map(|l| l.into_iter().map(Into::into).collect()),
        risk_factor: f.risk_factor.map(Into::into),
        min_amount_cents: cents("filter.minAmount", f.min_amount)?,
        max_amount_cents: cents("filter.maxAmount", f.max_amount)?,
        currency: f
            .currency
            .as_deref()
            .map(|c| values::currency("filter.currency", c))
            .transpose()?,
        close_date_from: f.close_date_from.map(|d| d.0),
        close_date_to: f.close_date_to.map(|d| d.0),
        name_contains: f.name_contains,
    })
}

fn resolve_sort(order: Option<OpportunityOrder>) -> Sort {
    let Some(order) = order else {
        return Sort::default();
    };
    let field = match order.field {
        OpportunityOrderField::RiskScore => SortField::RiskScore,
        OpportunityOrderField::Amount => SortField::Amount,
        OpportunityOrderField::ExpectedCloseDate => SortField::ExpectedCloseDate,
        OpportunityOrderField::UpdatedAt => SortField::UpdatedAt,
        OpportunityOrderField::Name => SortField::Name,
        OpportunityOrderField::DaysInStage => SortField::DaysInStage,
    };
    Sort {
        field,
        descending: order.direction == OrderDirection::Desc,
    }
}

/// One page of the board; the relations it asks for are loaded for the whole page at once.
pub async fn list_opportunities(
    ctx: &Context<'_>,
    args: PageArgs,
    filter: Filter,
    sort: Sort,
) -> Result<OpportunityConnection> {
    let (scope, store) = scope(ctx)?;
    let window = args.window(&sort.tag())?;
    let page = opportunities::list(&scope.ctx, store.reader(), &filter, sort, &window)
        .await?
        .map(Arc::new);
    let rows: Vec<_> = page.items.iter().map(|(_, m)| Arc::clone(m)).collect();
    scope.loaders.remember_opportunities(&rows);
    // Relations the client asked for are loaded for the whole page at once: one query each,
    // whatever the page size.
    let look_ahead = ctx.look_ahead();
    let (node, nodes) = (look_ahead.field("edges").field("node"), look_ahead.field("nodes"));
    let wants_accounts = node.field("account").exists() || nodes.field("account").exists();
    let (group, group_of_nodes) = (node.field("buyingGroup"), nodes.field("buyingGroup"));
    let wants_groups = group.exists() || group_of_nodes.exists();
    // Names and titles come with the members; whole contacts only when asked for.
    let wants_contacts = super::types::contact_needs_row(group.field("contact"))
        || super::types::contact_needs_row(group_of_nodes.field("contact"));
    let account_ids: Vec<Uuid> = rows.iter().map(|m| m.account_id).collect();
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    // Independent reads, run side by side on two pooled connections.
    let accounts = async {
        match wants_accounts {
            true => scope.loaders.prime_accounts(&account_ids).await,
            false => Ok(()),
        }
    };
    let groups = async {
        match (wants_groups, wants_contacts) {
            (true, true) => scope.loaders.prime_groups_with_contacts(&ids).await,
            (true, false) => scope.loaders.prime_groups(&ids).await,
            (false, _) => Ok(()),
        }
    };
    tokio::try_join!(accounts, groups)?;
    Ok(connection(page, CountQuery::Opportunities { filter }, Opportunity))
}

pub struct Query;

#[Object]
impl Query {
    /// Any entity by its global ID; null if it does not exist in your tenant.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (scope, store) = scope(ctx)?;
        let Some((kind, uuid)) = ids::decode_any(&id) else {
            return Ok(None);
        };
        let (t, db) = (&scope.ctx, store.reader());
        Ok(match kind {
            Kind::Account => accounts::get(t, db, uuid)
                .await?
                .map(|m| Node::Account(Account::from(m))),
            Kind::Contact => contacts::get(t, db, uuid)
                .await?
                .map(|m| Node::Contact(Contact::from(m))),
            Kind::Opportunity => opportunities::get(t, db, uuid)
                .await?
                .map(|m| Node::Opportunity(Opportunity::from(m))),
            Kind::BuyingGroupMember => members::get(t, db, uuid)
                .await?
                .map(|m| Node::BuyingGroupMember(BuyingGroupMember::from(m))),
            Kind::Interaction => interactions::get(t, db, uuid)
                .await?
                .map(|m| Node::Interaction(Interaction::from(m))),
        })
    }

    /// Who you are, as your token says.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let (scope, _) = scope(ctx)?;
        Ok(Viewer {
            user_id: scope.ctx.user_id().to_owned(),
            tenant_id: scope.ctx.tenant().as_str().to_owned(),
            roles: scope.ctx.roles().to_vec(),
        })
    }

    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Account>> {
        let (scope, _) = scope(ctx)?;
        let Some(uuid) = ids::decode(Kind::Account, &id) else {
            return Ok(None);
        };
        Ok(scope.loaders.account(uuid).await?.map(Account))
    }

    /// Accounts by name.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        name_contains: Option<String>,
    ) -> Result<AccountConnection> {
        let (scope, store) = scope(ctx)?;
        let window = PageArgs::forward(first, after).window(accounts::ORDER_TAG)?;
        let page = accounts::list(&scope.ctx, store.reader(), name_contains.as_deref(), &window).await?;
        Ok(connection(page, CountQuery::Accounts { name_contains }, Account::from))
    }

    /// Pipeline health of the deals matching `filter`, from SQL aggregates over the stored
    /// assessments: totals per currency, buckets by stage, risk level and factor, averages,
    /// win rate, and one row per `groupBy` key.
    #[graphql(complexity = 50)]
    async fn pipeline_health(
        &self,
        ctx: &Context<'_>,
        filter: Option<OpportunityFilter>,
        group_by: Option<super::pipeline::PipelineGroupBy>,
    ) -> Result<super::pipeline::PipelineHealth> {
        super::pipeline::pipeline_health(ctx, filter, group_by).await
    }

    /// The tenant's risk policy (defaults until an admin changes it).
    async fn risk_policy(&self, ctx: &Context<'_>) -> Result<super::risk::RiskPolicyOut> {
        super::risk::current_policy(ctx).await
    }

    async fn opportunity(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Opportunity>> {
        let (scope, _) = scope(ctx)?;
        let Some(uuid) = ids::decode(Kind::Opportunity, &id) else {
            return Ok(None);
        };
        let Some(deal) = scope.loaders.opportunity(uuid).await? else {
            return Ok(None);
        };
        // A deal page that shows risk needs the deal's facts; loading them first also serves
        // its buying group, contacts and interaction links without further queries.
        let look_ahead = ctx.look_ahead();
        let group = look_ahead.field("buyingGroup");
        if look_ahead.field("risk").exists()
            || group.field("engagement").exists()
            || group.field("lastDirectInteractionAt").exists()
        {
            scope.loaders.deal_inputs(uuid).await?;
        }
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
    ) -> Result<OpportunityConnection> {
        let filter = resolve_filter(filter)?;
        let sort = resolve_sort(order_by);
        list_opportunities(
            ctx,
            PageArgs {
                first,
                after,
                last,
                before,
            },
            filter,
            sort,
        )
        .await
    }
}
