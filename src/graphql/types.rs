//! Output types of the contract (SPEC §3). Each wraps a stored row; related rows come from
//! the request's [`Loaders`](super::loaders::Loaders).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, Interface, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{account, buying_group_member, contact, interaction, opportunity, stage_change};
use std::sync::Arc;

use uuid::Uuid;

use super::enums::{
    Bandwidth, BuyingRole, Engagement, Influence, InteractionKind, RiskFactorCode, RiskLevel, Role, Stage, Stance,
};
use super::ids::{Kind, encode};
use super::scalars::{Day, Money, Timestamp};
use super::scope;
use crate::domain::model;
use crate::domain::values::cents_to_decimal;
use crate::domain::{AppError, AppResult};
use crate::store::opportunities::{Filter, Sort, parse_stored};
use crate::store::page::{Page, PageArgs};
use crate::store::{accounts, contacts, interactions, opportunities};

/// Relay connections with a lazily counted `totalCount`.
pub type AccountConnection = Connection<String, Account, TotalCount>;
pub type ContactConnection = Connection<String, Contact, TotalCount>;
pub type OpportunityConnection = Connection<String, Opportunity, TotalCount>;
pub type InteractionConnection = Connection<String, Interaction, TotalCount>;

/// The query cost of a paginated field: its page size times the cost of one node.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let size = first
        .or(last)
        .unwrap_or(crate::store::page::DEFAULT_PAGE_SIZE)
        .clamp(1, 100) as usize;
    1 + size.saturating_mul(child)
}

/// How many members a buying-group list is assumed to hold when costing a query.
pub const GROUP_COST_FACTOR: usize = 12;

/// What `totalCount` counts, evaluated only when a client asks for it.
pub enum CountQuery {
    Accounts { name_contains: Option<String> },
    Contacts { account_id: Uuid },
    Opportunities { filter: Filter },
    Interactions { opportunity_id: Uuid },
}

pub struct TotalCount(pub CountQuery);

#[Object]
impl TotalCount {
    /// How many items the whole list holds (all pages).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i32> {
        let (scope, store) = scope(ctx)?;
        let (t, db) = (&scope.ctx, store.reader());
        let n = match &self.0 {
            CountQuery::Accounts { name_contains } => accounts::count(t, db, name_contains.as_deref()).await?,
            CountQuery::Contacts { account_id } => contacts::count_for_account(t, db, *account_id).await?,
            CountQuery::Opportunities { filter } => opportunities::count(t, db, filter).await?,
            CountQuery::Interactions { opportunity_id } => {
                interactions::count_for_opportunity(t, db, *opportunity_id).await?
            }
        };
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}

/// Builds a Relay connection from a store page.
pub fn connection<T, N>(page: Page<T>, count: CountQuery, node: impl Fn(T) -> N) -> Connection<String, N, TotalCount>
where
    N: async_graphql::OutputType,
{
    let mut conn = Connection::with_additional_fields(page.has_previous_page, page.has_next_page, TotalCount(count));
    conn.edges
        .extend(page.items.into_iter().map(|(cursor, row)| Edge::new(cursor, node(row))));
    conn
}

fn stored<T: std::str::FromStr>(raw: &str) -> AppResult<T> {
    parse_stored(raw)
}

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global ID; `node(id:)` resolves it."))]
pub enum Node {
    Account(Account),
    Contact(Contact),
    Opportunity(Opportunity),
    BuyingGroupMember(BuyingGroupMember),
    Interaction(Interaction),
}

/// The caller, as their token says.
pub struct Viewer {
    pub user_id: String,
    pub tenant_id: String,
    pub roles: Vec<model::Role>,
}

#[Object]
impl Viewer {
    async fn user_id(&self) -> &str {
        &self.user_id
    }
    async fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
    async fn roles(&self) -> Vec<Role> {
        self.roles.iter().map(|r| (*r).into()).collect()
    }
}

/// A customer company.
pub struct Account(pub Arc<account::Model>);

impl From<account::Model> for Account {
    fn from(row: account::Model) -> Self {
        Account(Arc::new(row))
    }
}

#[Object]
impl Account {
    async fn id(&self) -> ID {
        encode(Kind::Account, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// The account's people, by name.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ContactConnection> {
        let (scope, store) = scope(ctx)?;
        let window = PageArgs::forward(first, after).window(contacts::ORDER_TAG)?;
        let page = contacts::list_for_account(&scope.ctx, store.reader(), self.0.id, &window).await?;
        Ok(connection(
            page,
            CountQuery::Contacts { account_id: self.0.id },
            Contact::from,
        ))
    }

    /// The account's deals, most recently changed first.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<super::query::OpportunityFilter>,
    ) -> Result<OpportunityConnection> {
        let mut filter = super::query::resolve_filter(filter)?;
        if filter.account_id.is_some_and(|a| a != self.0.id) {
            filter.matches_nothing = true;
        }
        filter.account_id = Some(self.0.id);
        super::query::list_opportunities(ctx, PageArgs::forward(first, after), filter, Sort::default()).await
    }
}

/// A person at an account: a whole contact row, or the copy of its name and title a
/// buying-group member carries (enough for boards; the rest is loaded when asked for).
pub enum Contact {
    Row(Arc<contact::Model>),
    OfMember(Arc<buying_group_member::Model>),
}

impl From<contact::Model> for Contact {
    fn from(row: contact::Model) -> Self {
        Contact::Row(Arc::new(row))
    }
}

impl Contact {
    fn contact_id(&self) -> Uuid {
        match self {
            Contact::Row(row) => row.id,
            Contact::OfMember(member) => member.contact_id,
        }
    }

    /// The whole row: at hand, or from the request's loaders (which the lists of members
    /// fill for the whole page when a query asks for more than names).
    async fn row(&self, ctx: &Context<'_>) -> Result<Arc<contact::Model>> {
        match self {
            Contact::Row(row) => Ok(Arc::clone(row)),
            Contact::OfMember(member) => {
                let (scope, _) = scope(ctx)?;
                let row = scope.loaders.contact(member.contact_id).await?;
                Ok(row.ok_or_else(|| AppError::Internal("member without contact".into()))?)
            }
        }
    }
}

/// Whether a `contact { … }` selection needs more than the name and title members carry.
pub fn contact_needs_row(contact: async_graphql::Lookahead<'_>) -> bool {
    ["account", "email", "createdAt"]
        .iter()
        .any(|field| contact.field(field).exists())
}

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        encode(Kind::Contact, self.contact_id())
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let account_id = self.row(ctx).await?.account_id;
        let (scope, _) = scope(ctx)?;
        let row = scope.loaders.account(account_id).await?;
        Ok(Account(
            row.ok_or_else(|| AppError::Internal("contact without account".into()))?,
        ))
    }
    async fn full_name(&self) -> &str {
        match self {
            Contact::Row(row) => &row.full_name,
            Contact::OfMember(member) => &member.contact_name,
        }
    }
    async fn title(&self) -> Option<&str> {
        match self {
            Contact::Row(row) => row.title.as_deref(),
            Contact::OfMember(member) => member.contact_title.as_deref(),
        }
    }
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.row(ctx).await?.email.clone())
    }
    async fn created_at(&self, ctx: &Context<'_>) -> Result<Timestamp> {
        Ok(Timestamp(self.row(ctx).await?.created_at))
    }
}

/// A move from one stage to another (`from` is null for the stage the deal started in).
#[derive(SimpleObject)]
pub struct StageChange {
    pub from: Option<Stage>,
    pub to: Stage,
    pub at: Timestamp,
    pub by: String,
}

impl StageChange {
    fn from_row(row: stage_change::Model) -> AppResult<StageChange> {
        let from = row.from_stage.as_deref().map(stored::<model::Stage>).transpose()?;
        Ok(StageChange {
            from: from.map(Into::into),
            to: stored::<model::Stage>(&row.to_stage)?.into(),
            at: Timestamp(row.changed_at),
            by: row.changed_by,
        })
    }
}

/// A deal.
pub struct Opportunity(pub Arc<opportunity::Model>);

impl From<opportunity::Model> for Opportunity {
    fn from(row: opportunity::Model) -> Self {
        Opportunity(Arc::new(row))
    }
}

/// Whole days from `since` to `now` (never negative).
pub fn whole_days(since: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    i32::try_from((now - since).num_days().max(0)).unwrap_or(i32::MAX)
}

#[Object]
impl Opportunity {
    async fn id(&self) -> ID {
        encode(Kind::Opportunity, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let (scope, _) = scope(ctx)?;
        let row = scope.loaders.account(self.0.account_id).await?;
        Ok(Account(row.ok_or_else(|| {
            AppError::Internal("opportunity without account".into())
        })?))
    }
    async fn owner_id(&self) -> &str {
        &self.0.owner_id
    }
    async fn stage(&self) -> Result<Stage> {
        Ok(stored::<model::Stage>(&self.0.stage)?.into())
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

    /// The people who decide, in the order they were added.
    #[graphql(complexity = "1 + GROUP_COST_FACTOR * child_complexity")]
    async fn buying_group(&self, ctx: &Context<'_>) -> Result<Vec<BuyingGroupMember>> {
        let (scope, _) = scope(ctx)?;
        let group = scope.loaders.group(self.0.id).await?;
        if contact_needs_row(ctx.look_ahead().field("contact")) {
            // One query for the group's contacts (none if a page already loaded them).
            let contact_ids: Vec<Uuid> = group.iter().map(|m| m.contact_id).collect();
            scope.loaders.prime_contacts(&contact_ids).await?;
        }
        Ok(group.iter().map(|m| BuyingGroupMember(Arc::clone(m))).collect())
    }

    /// What the seller did with the buying group, newest first.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<InteractionConnection> {
        let (scope, store) = scope(ctx)?;
        let window = PageArgs::forward(first, after).window(interactions::ORDER_TAG)?;
        let page = interactions::list_for_opportunity(&scope.ctx, store.reader(), self.0.id, &window).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|(_, i)| i.id).collect();
        if !ids.is_empty() {
            scope.loaders.prime_links(&ids).await?;
            let node = ctx.look_ahead().field("edges").field("node");
            if contact_needs_row(node.field("participants").field("contact"))
                || contact_needs_row(node.field("about").field("contact"))
            {
                scope.loaders.prime_groups_with_contacts(&[self.0.id]).await?;
            } else {
                scope.loaders.prime_groups(&[self.0.id]).await?;
            }
        }
        scope.loaders.remember_opportunities(std::slice::from_ref(&self.0));
        Ok(connection(
            page,
            CountQuery::Interactions {
                opportunity_id: self.0.id,
            },
            Interaction::from,
        ))
    }

    /// Every stage the deal went through, oldest first, with who moved it and when.
    async fn stage_history(&self, ctx: &Context<'_>) -> Result<Vec<StageChange>> {
        let (scope, store) = scope(ctx)?;
        let rows = opportunities::stage_history(&scope.ctx, store.reader(), &[self.0.id]).await?;
        Ok(rows.into_iter().map(StageChange::from_row).collect::<AppResult<_>>()?)
    }

    /// Stored risk score (0–100), refreshed with every change and by the periodic sweep.
    async fn risk_score(&self) -> i32 {
        self.0.risk_score
    }
    /// Stored risk level.
    async fn risk_level(&self) -> Result<RiskLevel> {
        Ok(stored::<model::RiskLevel>(&self.0.risk_level)?.into())
    }
    /// Codes of the stored assessment's factors.
    async fn risk_factor_codes(&self) -> Vec<RiskFactorCode> {
        crate::store::risk::codes_of_mask(self.0.risk_factor_mask)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Risk computed live at `asOf` (default: now), every factor explained. `asOf` may lie in
    /// the future: "what will this deal look like in 60 days if nothing happens?"
    #[graphql(complexity = "5 + 3 * child_complexity")]
    async fn risk(&self, ctx: &Context<'_>, as_of: Option<Timestamp>) -> Result<super::risk::RiskAssessmentOut> {
        let (scope, _) = scope(ctx)?;
        let inputs = scope.loaders.deal_inputs(self.0.id).await?;
        let policy = scope.loaders.policy().await?;
        let as_of = as_of.map_or_else(crate::service::now, |t| t.0);
        Ok(super::risk::assess_explained(&inputs, &policy, as_of))
    }

    /// How the stored assessment changed over time, oldest first (from `since`, if given).
    async fn risk_history(
        &self,
        ctx: &Context<'_>,
        since: Option<Timestamp>,
    ) -> Result<Vec<super::risk::RiskSnapshot>> {
        let (scope, store) = scope(ctx)?;
        let rows = crate::store::risk::history(&scope.ctx, store.reader(), self.0.id, since.map(|t| t.0)).await?;
        Ok(rows
            .into_iter()
            .map(super::risk::RiskSnapshot::from_row)
            .collect::<AppResult<_>>()?)
    }
}

/// A person in a deal's buying group.
pub struct BuyingGroupMember(pub Arc<buying_group_member::Model>);

impl From<buying_group_member::Model> for BuyingGroupMember {
    fn from(row: buying_group_member::Model) -> Self {
        BuyingGroupMember(Arc::new(row))
    }
}

#[Object]
impl BuyingGroupMember {
    async fn id(&self) -> ID {
        encode(Kind::BuyingGroupMember, self.0.id)
    }
    /// The person; name and title come with the member, the rest is loaded if asked for.
    async fn contact(&self) -> Contact {
        Contact::OfMember(Arc::clone(&self.0))
    }
    async fn role(&self) -> Result<BuyingRole> {
        Ok(stored::<model::BuyingRole>(&self.0.role)?.into())
    }
    async fn stance(&self) -> Result<Stance> {
        Ok(stored::<model::Stance>(&self.0.stance)?.into())
    }
    /// Whether this person can block the purchase on their own.
    async fn can_veto(&self) -> bool {
        self.0.can_veto
    }
    async fn influence(&self) -> Result<Influence> {
        Ok(stored::<model::Influence>(&self.0.influence)?.into())
    }
    async fn bandwidth(&self) -> Result<Bandwidth> {
        Ok(stored::<model::Bandwidth>(&self.0.bandwidth)?.into())
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }

    /// How the seller reached this member in the policy's engagement window ending at `asOf`
    /// (default: now): `DIRECT` (took part), `PROXY_ONLY` (only discussed), or `NONE`.
    async fn engagement(&self, ctx: &Context<'_>, as_of: Option<Timestamp>) -> Result<Engagement> {
        let (scope, _) = scope(ctx)?;
        let inputs = scope.loaders.deal_inputs(self.0.opportunity_id).await?;
        let policy = scope.loaders.policy().await?;
        let as_of = as_of.map_or_else(crate::service::now, |t| t.0);
        let index = inputs.member_index(self.0.id).map(usize::from);
        let engagement = inputs.with_facts(|facts| {
            index
                .and_then(|i| {
                    crate::domain::risk::member_engagement(facts, &policy, as_of)
                        .get(i)
                        .map(|m| m.engagement)
                })
                .unwrap_or(model::Engagement::None)
        });
        Ok(engagement.into())
    }

    /// The latest interaction this member took part in directly.
    async fn last_direct_interaction_at(&self, ctx: &Context<'_>) -> Result<Option<Timestamp>> {
        let (scope, _) = scope(ctx)?;
        let inputs = scope.loaders.deal_inputs(self.0.opportunity_id).await?;
        let Some(index) = inputs.member_index(self.0.id) else {
            return Ok(None);
        };
        Ok(inputs
            .with_facts(|facts| crate::domain::risk::last_direct_interaction(facts, index, None))
            .map(Timestamp))
    }
}

/// Something the seller did with members of the buying group.
pub struct Interaction(pub Arc<interaction::Model>);

impl From<interaction::Model> for Interaction {
    fn from(row: interaction::Model) -> Self {
        Interaction(Arc::new(row))
    }
}

impl Interaction {
    async fn members(&self, ctx: &Context<'_>, direct: bool) -> Result<Vec<BuyingGroupMember>> {
        let (scope, _) = scope(ctx)?;
        let links = scope.loaders.links(self.0.id).await?;
        let group = scope.loaders.group(self.0.opportunity_id).await?;
        if contact_needs_row(ctx.look_ahead().field("contact")) {
            let contact_ids: Vec<Uuid> = group.iter().map(|m| m.contact_id).collect();
            scope.loaders.prime_contacts(&contact_ids).await?;
        }
        // In the order the members joined the group, which is stable for clients.
        Ok(group
            .iter()
            .filter(|m| links.iter().any(|l| l.member_id == m.id && l.direct == direct))
            .map(|m| BuyingGroupMember(Arc::clone(m)))
            .collect())
    }
}

#[Object]
impl Interaction {
    async fn id(&self) -> ID {
        encode(Kind::Interaction, self.0.id)
    }
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Opportunity> {
        let (scope, _) = scope(ctx)?;
        let row = scope.loaders.opportunity(self.0.opportunity_id).await?;
        Ok(Opportunity(row.ok_or_else(|| {
            AppError::Internal("interaction without opportunity".into())
        })?))
    }
    async fn kind(&self) -> Result<InteractionKind> {
        Ok(stored::<model::InteractionKind>(&self.0.kind)?.into())
    }
    async fn occurred_at(&self) -> Timestamp {
        Timestamp(self.0.occurred_at)
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// Who logged it (the token's `sub`).
    async fn logged_by(&self) -> &str {
        &self.0.logged_by
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// Members engaged directly.
    #[graphql(complexity = "1 + GROUP_COST_FACTOR * child_complexity")]
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<BuyingGroupMember>> {
        self.members(ctx, true).await
    }
    /// Members discussed but not present: reached only through the participants.
    #[graphql(complexity = "1 + GROUP_COST_FACTOR * child_complexity")]
    async fn about(&self, ctx: &Context<'_>) -> Result<Vec<BuyingGroupMember>> {
        self.members(ctx, false).await
    }
}
