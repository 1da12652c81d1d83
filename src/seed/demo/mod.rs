//! The demo tenant `demo`: a small pipeline whose deals tell the story dealgraph exists for.
//!
//! The headline deal, "Northwind — Finance platform", is the field story of
//! `why-buying-groups.txt`: four months stalled in negotiation, the seller meets only the
//! overloaded mobilizer (Sam Patel) and asks him to "handle" the controller (Dana Ruiz), who
//! holds a veto and opposes the deal, while the CFO has never been met. Around it, twenty deals
//! of varied health across eight accounts, three currencies and four sellers: healthy ones
//! where the seller works the whole group, and others at risk for one or two clear reasons
//! (going dark, a slipped close date, no mobilizer, a thin group, a single thread), so every
//! risk level and most factors show up on the board.
//!
//! The content ([`content`]) is data; [`load`] turns it into records dated relative to the
//! day it is loaded — deals created months ago, stage moves, close-date pushes and
//! interactions at their own times, attributed to the owning seller — and writes them with the
//! store's bulk writer in one transaction (a failed load leaves nothing behind). Risk is then
//! assessed as the periodic sweep would have done, weekly over the last eight weeks and once
//! now, so `riskHistory` shows how each deal got where it is.

mod content;

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::domain::model::{RiskFactorCode, Stage};
use crate::domain::records::{
    Account, CloseDateChange, Contact, Deal, Interaction, Link, Member, StageChange, StoredRisk,
};
use crate::domain::values::TenantId;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::service::risk::refresh_open_deals;
use crate::store::bulk::{self, Batch};
use crate::store::{Store, accounts};
use content::{ACCOUNTS, DEALS};

/// The demo's tenant.
pub const TENANT: &str = "demo";

/// The name of the field-story deal, for the welcome text's example query.
pub const STORY_DEAL: &str = "Northwind — Finance platform";

/// What [`load`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DemoReport {
    pub accounts: usize,
    pub contacts: usize,
    pub opportunities: usize,
    /// Opportunities not in a closed stage.
    pub open_opportunities: usize,
    pub members: usize,
    pub interactions: usize,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo tenant `{TENANT}` loaded: {} accounts, {} contacts, {} opportunities ({} open), \
             {} buying-group members, {} interactions",
            self.accounts, self.contacts, self.opportunities, self.open_opportunities, self.members, self.interactions
        )
    }
}

/// One demo deal's name with the factors its stored assessment is meant to carry (none for
/// healthy and closed deals), as the demo's content promises them under the default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedRisk {
    pub deal: &'static str,
    pub stage: Stage,
    pub factors: &'static [RiskFactorCode],
}

/// What each demo deal is meant to show: the test suite holds the stored assessments to it,
/// so a change to the rules that breaks the demo's story is noticed.
pub fn expected_risks() -> Vec<ExpectedRisk> {
    DEALS
        .iter()
        .map(|d| ExpectedRisk {
            deal: d.name,
            stage: d.final_stage(),
            factors: d.expect,
        })
        .collect()
}

/// Loads the demo tenant. Refuses with `CONFLICT` if tenant `demo` already has an account,
/// so it never mixes with (or duplicates) data that is there.
pub async fn load(store: &Store) -> AppResult<DemoReport> {
    let system = TenantCtx::system(TenantId::parse(TENANT)?);
    let clock = Clock::new(crate::service::now());
    let (batch, report) = records(&clock)?;
    store
        .write(async |tx| {
            if accounts::count(&system, tx, None).await? > 0 {
                return Err(AppError::Conflict(format!(
                    "tenant `{TENANT}` already has data; the demo only loads into an empty tenant"
                )));
            }
            bulk::write(&system, tx, &batch).await?;
            // As the periodic sweep would have: weekly over the last eight weeks (each deal
            // once it exists), then now. Each change of score, level or factors becomes a
            // `riskHistory` point, so the history shows, say, the story deal sliding into
            // CRITICAL.
            for weeks_ago in (0..=8).rev() {
                refresh_open_deals(&system, tx, clock.now - TimeDelta::weeks(weeks_ago)).await?;
            }
            Ok(report)
        })
        .await
}

/// The content as records, dated by `clock`.
fn records(clock: &Clock) -> AppResult<(Batch, DemoReport)> {
    let mut batch = Batch::default();
    let mut report = DemoReport::default();

    // Accounts and their people.
    let mut account_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut people: HashMap<(&str, &str), (Uuid, &str)> = HashMap::new();
    for account in ACCOUNTS {
        let created = clock.at(account.since);
        let id = Uuid::now_v7();
        batch.accounts.push(Account {
            external_id: None,
            id,
            name: account.name.to_owned(),
            domain: Some(account.domain.to_owned()),
            industry: Some(account.industry.to_owned()),
            created_at: created,
        });
        account_ids.insert(account.name, id);
        for (i, (full_name, title)) in account.contacts.iter().enumerate() {
            let contact = Contact {
                external_id: None,
                id: Uuid::now_v7(),
                account_id: id,
                full_name: (*full_name).to_owned(),
                title: Some((*title).to_owned()),
                email: Some(email(full_name, account.domain)),
                created_at: created + minutes(i),
            };
            people.insert((account.name, *full_name), (contact.id, *title));
            batch.contacts.push(contact);
        }
    }
    report.accounts = batch.accounts.len();
    report.contacts = batch.contacts.len();

    // Deals, each worked by the seller who owns it (so `changedBy` and `loggedBy` name them).
    for deal in DEALS {
        let account_id = *account_ids
            .get(deal.account)
            .ok_or_else(|| bad_data(deal.name, deal.account))?;
        let record = deal_record(clock, deal, account_id, &mut batch);
        report.opportunities += 1;
        if !record.stage.is_closed() {
            report.open_opportunities += 1;
        }

        let mut member_ids: HashMap<&str, Uuid> = HashMap::new();
        for (i, m) in deal.members.iter().enumerate() {
            let (contact_id, title) = *people
                .get(&(deal.account, m.contact))
                .ok_or_else(|| bad_data(deal.name, m.contact))?;
            let member = Member {
                external_id: None,
                id: Uuid::now_v7(),
                opportunity_id: record.id,
                contact_id,
                contact_name: m.contact.to_owned(),
                contact_title: Some(title.to_owned()),
                role: m.role,
                stance: m.stance,
                can_veto: m.veto,
                influence: m.influence,
                bandwidth: m.bandwidth,
                notes: m.notes.map(str::to_owned),
                created_at: record.created_at + minutes(i + 1),
                removed_at: None,
            };
            member_ids.insert(m.contact, member.id);
            batch.members.push(member);
            report.members += 1;
        }

        for touch in deal.log {
            let occurred_at = clock.at(touch.days_ago);
            let interaction = Interaction {
                external_id: None,
                id: Uuid::now_v7(),
                opportunity_id: record.id,
                kind: touch.kind,
                occurred_at,
                summary: Some(touch.summary.to_owned()),
                logged_by: deal.owner.to_owned(),
                // Logged a couple of hours after it happened.
                created_at: (occurred_at + TimeDelta::hours(2)).min(clock.now),
            };
            let people_in = touch
                .with
                .iter()
                .map(|n| (n, true))
                .chain(touch.about.iter().map(|n| (n, false)));
            for (name, direct) in people_in {
                let member_id = *member_ids.get(name).ok_or_else(|| bad_data(deal.name, name))?;
                batch.links.push(Link {
                    interaction_id: interaction.id,
                    member_id,
                    opportunity_id: record.id,
                    direct,
                });
            }
            batch.interactions.push(interaction);
            report.interactions += 1;
        }
        batch.deals.push(record);
    }
    Ok((batch, report))
}

/// A deal as it stands after its stage moves and close-date pushes, whose history goes into
/// `batch`: created in its first stage (with its first close date), then each move and push
/// at its own time, oldest first (a push an hour after any stage move of the same day), each
/// one a new version.
fn deal_record(clock: &Clock, deal: &content::Deal, account_id: Uuid, batch: &mut Batch) -> Deal {
    let created = clock.at(deal.created);
    let mut record = Deal {
        external_id: None,
        id: Uuid::now_v7(),
        account_id,
        name: deal.name.to_owned(),
        owner_id: deal.owner.to_owned(),
        stage: deal.stage,
        amount_cents: deal.amount * 100,
        currency: deal.currency.to_owned(),
        expected_close_date: deal.close.map(|offset| clock.date(offset)),
        stage_entered_at: created,
        closed_at: deal.stage.is_closed().then_some(created),
        created_at: created,
        updated_at: created,
        version: 1,
        risk: StoredRisk::UNASSESSED,
    };
    let by = || deal.owner.to_owned();
    batch.stage_changes.push(StageChange {
        id: Uuid::now_v7(),
        opportunity_id: record.id,
        from: None,
        to: deal.stage,
        at: created,
        by: by(),
    });
    if record.expected_close_date.is_some() {
        batch.close_date_changes.push(CloseDateChange {
            id: Uuid::now_v7(),
            opportunity_id: record.id,
            from: None,
            to: record.expected_close_date,
            at: created,
            by: by(),
        });
    }
    enum Event {
        Move(Stage),
        Push(NaiveDate),
    }
    let mut events: Vec<(DateTime<Utc>, Event)> = Vec::new();
    events.extend(
        deal.moves
            .iter()
            .map(|&(days_ago, stage)| (clock.at(days_ago), Event::Move(stage))),
    );
    events.extend(deal.pushes.iter().map(|&(days_ago, offset)| {
        (
            clock.at(days_ago) + TimeDelta::hours(1),
            Event::Push(clock.date(offset)),
        )
    }));
    events.sort_by_key(|(at, _)| *at);
    for (at, event) in events {
        record.version += 1;
        record.updated_at = at;
        match event {
            Event::Move(stage) if stage != record.stage => {
                batch.stage_changes.push(StageChange {
                    id: Uuid::now_v7(),
                    opportunity_id: record.id,
                    from: Some(record.stage),
                    to: stage,
                    at,
                    by: by(),
                });
                record.stage = stage;
                record.stage_entered_at = at;
                record.closed_at = stage.is_closed().then_some(at);
            }
            Event::Push(date) if Some(date) != record.expected_close_date => {
                batch.close_date_changes.push(CloseDateChange {
                    id: Uuid::now_v7(),
                    opportunity_id: record.id,
                    from: record.expected_close_date,
                    to: Some(date),
                    at,
                    by: by(),
                });
                record.expected_close_date = Some(date);
            }
            Event::Move(_) | Event::Push(_) => {}
        }
    }
    record
}

/// A demo-content mistake (a name that points nowhere); caught by the tests, never by users.
fn bad_data(deal: &str, name: &str) -> AppError {
    AppError::Internal(format!("demo data: {deal:?} refers to unknown {name:?}"))
}

fn minutes(n: usize) -> TimeDelta {
    TimeDelta::minutes(i64::try_from(n).unwrap_or(0))
}

/// `Dana Ruiz` at `northwindhealth.com` → `dana.ruiz@northwindhealth.com`.
fn email(full_name: &str, domain: &str) -> String {
    let local: Vec<String> = full_name
        .split_whitespace()
        .map(|part| part.chars().filter(char::is_ascii_alphanumeric).collect::<String>())
        .filter(|part| !part.is_empty())
        .collect();
    format!("{}@{domain}", local.join(".").to_ascii_lowercase())
}

/// Turns "N days ago" into instants and "in N days" into dates, relative to the load.
struct Clock {
    now: DateTime<Utc>,
    midnight: DateTime<Utc>,
    today: NaiveDate,
}

impl Clock {
    fn new(now: DateTime<Utc>) -> Clock {
        let today = now.date_naive();
        Clock {
            now,
            midnight: today.and_time(NaiveTime::MIN).and_utc(),
            today,
        }
    }

    /// A working-hours instant `days_ago` days before today (09:00–16:45 UTC, fixed per day).
    ///
    /// With `days_ago` ≥ 1 it is always in the past, between `days_ago` days − 17 h and
    /// `days_ago` days + 15 h before now, whatever the time of day. So the content keeps clear
    /// of the default policy's thresholds: ≤ 13 days is recent, ≥ 15 is dark, ≤ 29 is inside
    /// the 30-day window, ≥ 31 outside it; a stage entered ≤ 59 days ago is not stalled, ≥ 61 is.
    fn at(&self, days_ago: i64) -> DateTime<Utc> {
        let hour = 9 + (days_ago * 5).rem_euclid(8);
        let minute = (days_ago * 7).rem_euclid(4) * 15;
        let at = self.midnight - TimeDelta::days(days_ago) + TimeDelta::hours(hour) + TimeDelta::minutes(minute);
        at.min(self.now)
    }

    /// Today plus `offset` days (negative: in the past).
    fn date(&self, offset: i64) -> NaiveDate {
        self.today + TimeDelta::days(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use content::DEALS;

    /// The content is consistent before any database sees it: names resolve, history runs
    /// forward from each deal's creation, and everything lies in the past.
    #[test]
    fn content_is_consistent() {
        let contacts: Vec<(&str, &str)> = ACCOUNTS
            .iter()
            .flat_map(|a| a.contacts.iter().map(move |(name, _)| (a.name, *name)))
            .collect();
        for deal in DEALS {
            assert!(ACCOUNTS.iter().any(|a| a.name == deal.account), "{}", deal.name);
            let mut previous = deal.created;
            for &(days_ago, _) in deal.moves {
                assert!(days_ago < previous && days_ago >= 1, "{}: moves run forward", deal.name);
                previous = days_ago;
            }
            for &(days_ago, _) in deal.pushes {
                assert!(days_ago < deal.created && days_ago >= 1, "{}", deal.name);
            }
            for member in deal.members {
                assert!(
                    contacts.contains(&(deal.account, member.contact)),
                    "{}: {}",
                    deal.name,
                    member.contact
                );
            }
            for touch in deal.log {
                assert!(touch.days_ago < deal.created && touch.days_ago >= 1, "{}", deal.name);
                for name in touch.with.iter().chain(touch.about) {
                    assert!(deal.members.iter().any(|m| m.contact == *name), "{}: {name}", deal.name);
                }
                assert!(!touch.with.is_empty(), "{}: someone takes part", deal.name);
            }
        }
        let story: Vec<_> = DEALS.iter().filter(|d| d.name == STORY_DEAL).collect();
        assert_eq!(story.len(), 1);
    }

    #[test]
    fn emails_are_derived_from_names() {
        assert_eq!(
            email("Dana Ruiz", "northwindhealth.com"),
            "dana.ruiz@northwindhealth.com"
        );
        assert_eq!(
            email("Megan O'Connor", "globexretail.com"),
            "megan.oconnor@globexretail.com"
        );
        assert_eq!(
            email("Pieter de Vries", "adatum-financial.eu"),
            "pieter.de.vries@adatum-financial.eu"
        );
    }

    #[test]
    fn clock_keeps_content_in_the_past_and_clear_of_thresholds() {
        for now in ["2026-03-10T00:00:00Z", "2026-03-10T12:34:56Z", "2026-03-10T23:59:59Z"] {
            let now = DateTime::parse_from_rfc3339(now).expect("time").to_utc();
            let clock = Clock::new(now);
            for days in 1..400 {
                let elapsed = now - clock.at(days);
                assert!(elapsed > TimeDelta::days(days) - TimeDelta::hours(17), "{now} {days}");
                assert!(elapsed < TimeDelta::days(days) + TimeDelta::hours(15), "{now} {days}");
            }
            assert_eq!(clock.date(-1).to_string(), "2026-03-09");
        }
    }
}
