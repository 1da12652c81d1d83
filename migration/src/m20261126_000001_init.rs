//! The initial schema. Every table's primary key starts with `tenant_id`, and every foreign
//! key includes it, so a child row can only ever point at a parent of the same tenant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A tenant-owned table: `(tenant_id, id)` primary key, then the given columns.
fn tenant_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(string_len("tenant_id", 64))
        .col(uuid("id"))
        .primary_key(Index::create().col("tenant_id").col("id"))
        .to_owned()
}

/// A composite foreign key `(tenant_id, cols…)` → `parent(tenant_id, parent_cols…)`.
fn tenant_fk(
    child: &'static str,
    cols: &[&'static str],
    parent: &'static str,
    parent_cols: &[&'static str],
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    let mut fk = ForeignKey::create();
    fk.name(format!("fk_{child}_{}", cols.join("_")))
        .from_tbl(child)
        .to_tbl(parent)
        .from_col("tenant_id")
        .to_col("tenant_id")
        .on_delete(on_delete);
    for (c, p) in cols.iter().zip(parent_cols) {
        fk.from_col(*c).to_col(*p);
    }
    fk.to_owned()
}

fn index(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("idx_{table}_{}", cols.join("_"))).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

fn unique(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = index(table, cols);
    idx.name(format!("uq_{table}_{}", cols.join("_"))).unique();
    idx
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict};

        m.create_table(
            tenant_table("accounts")
                .col(string_len("name", 200))
                .col(string_len_null("domain", 253))
                .col(string_len_null("industry", 200))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("accounts", &["tenant_id", "name", "id"])).await?;

        m.create_table(
            tenant_table("contacts")
                .col(uuid("account_id"))
                .col(string_len("full_name", 200))
                .col(string_len_null("title", 200))
                .col(string_len_null("email", 320))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut tenant_fk(
                    "contacts",
                    &["account_id"],
                    "accounts",
                    &["id"],
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("contacts", &["tenant_id", "account_id", "full_name", "id"]))
            .await?;

        m.create_table(
            tenant_table("opportunities")
                .col(uuid("account_id"))
                .col(string_len("name", 200))
                .col(string_len("owner_id", 200))
                .col(string_len("stage", 32))
                .col(big_integer("amount_cents"))
                .col(string_len("currency", 3))
                .col(date_null("expected_close_date"))
                .col(timestamp_with_time_zone("stage_entered_at"))
                .col(timestamp_with_time_zone_null("closed_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(integer("version"))
                .col(integer("risk_score").default(0))
                .col(string_len("risk_level", 16).default("LOW"))
                .col(big_integer("risk_factor_mask").default(0))
                .col(timestamp_with_time_zone_null("risk_assessed_at"))
                .col(integer("risk_group_size").default(0))
                .col(integer("risk_engaged").default(0))
                .foreign_key(&mut tenant_fk(
                    "opportunities",
                    &["account_id"],
                    "accounts",
                    &["id"],
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        for cols in [
            &["tenant_id", "account_id", "id"][..],
            &["tenant_id", "owner_id", "id"],
            &["tenant_id", "stage", "id"],
            &["tenant_id", "risk_score", "id"],
            &["tenant_id", "amount_cents", "id"],
            &["tenant_id", "expected_close_date", "id"],
            &["tenant_id", "updated_at", "id"],
            &["tenant_id", "name", "id"],
            &["tenant_id", "stage_entered_at", "id"],
        ] {
            m.create_index(index("opportunities", cols)).await?;
        }

        for table in ["stage_changes", "close_date_changes"] {
            let (from, to) = if table == "stage_changes" {
                (string_len_null("from_stage", 32), string_len("to_stage", 32))
            } else {
                (date_null("from_date"), date_null("to_date"))
            };
            m.create_table(
                tenant_table(table)
                    .col(uuid("opportunity_id"))
                    .col(from)
                    .col(to)
                    .col(timestamp_with_time_zone("changed_at"))
                    .col(string_len("changed_by", 200))
                    .foreign_key(&mut tenant_fk(
                        table,
                        &["opportunity_id"],
                        "opportunities",
                        &["id"],
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
            m.create_index(index(table, &["tenant_id", "opportunity_id", "changed_at"]))
                .await?;
        }

        m.create_table(
            tenant_table("buying_group_members")
                .col(uuid("opportunity_id"))
                .col(uuid("contact_id"))
                .col(string_len("role", 32))
                .col(string_len("stance", 16))
                .col(boolean("can_veto"))
                .col(string_len("influence", 16))
                .col(string_len("bandwidth", 16))
                .col(text_null("notes"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut tenant_fk(
                    "buying_group_members",
                    &["opportunity_id"],
                    "opportunities",
                    &["id"],
                    Cascade,
                ))
                .foreign_key(&mut tenant_fk(
                    "buying_group_members",
                    &["contact_id"],
                    "contacts",
                    &["id"],
                    Restrict,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique(
            "buying_group_members",
            &["tenant_id", "opportunity_id", "contact_id"],
        ))
        .await?;
        m.create_index(unique("buying_group_members", &["tenant_id", "opportunity_id", "id"]))
            .await?;
        m.create_index(index("buying_group_members", &["tenant_id", "contact_id"]))
            .await?;

        m.create_table(
            tenant_table("interactions")
                .col(uuid("opportunity_id"))
                .col(string_len("kind", 16))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(text_null("summary"))
                .col(string_len("logged_by", 200))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut tenant_fk(
                    "interactions",
                    &["opportunity_id"],
                    "opportunities",
                    &["id"],
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("interactions", &["tenant_id", "opportunity_id", "id"]))
            .await?;
        m.create_index(index(
            "interactions",
            &["tenant_id", "opportunity_id", "occurred_at", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("interaction_members")
                .col(string_len("tenant_id", 64))
                .col(uuid("interaction_id"))
                .col(uuid("member_id"))
                .col(uuid("opportunity_id"))
                .col(boolean("direct"))
                .primary_key(Index::create().col("tenant_id").col("interaction_id").col("member_id"))
                .foreign_key(&mut tenant_fk(
                    "interaction_members",
                    &["opportunity_id", "interaction_id"],
                    "interactions",
                    &["opportunity_id", "id"],
                    Cascade,
                ))
                .foreign_key(&mut tenant_fk(
                    "interaction_members",
                    &["opportunity_id", "member_id"],
                    "buying_group_members",
                    &["opportunity_id", "id"],
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("interaction_members", &["tenant_id", "member_id"]))
            .await?;
        m.create_index(index("interaction_members", &["tenant_id", "opportunity_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("risk_policies")
                .col(string_len("tenant_id", 64).primary_key())
                .col(integer("engagement_window_days"))
                .col(integer("min_engaged_members"))
                .col(double("single_thread_share"))
                .col(integer("min_group_size"))
                .col(text("required_roles"))
                .col(double("coverage_threshold"))
                .col(integer("stall_days"))
                .col(integer("dark_days"))
                .col(integer("max_close_date_pushes"))
                .col(text("weights"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(string_len("updated_by", 200))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("risk_history")
                .col(uuid("opportunity_id"))
                .col(timestamp_with_time_zone("assessed_at"))
                .col(integer("score"))
                .col(string_len("level", 16))
                .col(big_integer("factor_mask"))
                .foreign_key(&mut tenant_fk(
                    "risk_history",
                    &["opportunity_id"],
                    "opportunities",
                    &["id"],
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("risk_history", &["tenant_id", "opportunity_id", "assessed_at"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "risk_history",
            "risk_policies",
            "interaction_members",
            "interactions",
            "buying_group_members",
            "close_date_changes",
            "stage_changes",
            "opportunities",
            "contacts",
            "accounts",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
