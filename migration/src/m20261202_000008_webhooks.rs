//! Webhooks (SPEC §9): a tenant's subscriptions to change events by HTTP, and their outbox —
//! one delivery row per event and webhook, written in the transaction that made the change
//! and sent (and retried) by one sender among the replicas.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, integer_null, string_len, string_len_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null, uuid,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

const WEBHOOKS: &str = "webhooks";
const DELIVERIES: &str = "webhook_deliveries";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(WEBHOOKS)
                .col(string_len("tenant_id", 64))
                .col(uuid("id"))
                .col(string_len("url", 2048))
                // Comma-separated `WebhookEvent` names.
                .col(string_len("events", 64))
                .col(string_len("min_level", 16))
                .col(string_len_null("description", 500))
                // The HMAC key, shown once to the admin who created the webhook.
                .col(string_len("secret", 128))
                .col(timestamp_with_time_zone("created_at"))
                .col(string_len("created_by", 200))
                .primary_key(Index::create().col("tenant_id").col("id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DELIVERIES)
                .col(string_len("tenant_id", 64))
                .col(uuid("id"))
                .col(uuid("webhook_id"))
                .col(uuid("opportunity_id"))
                .col(string_len("event", 32))
                // When the change was made (the body's `at`).
                .col(timestamp_with_time_zone("at"))
                // When the outbox row was written: the order of deliveries per deal.
                .col(timestamp_with_time_zone("enqueued_at"))
                // The exact bytes sent (and signed) at every attempt.
                .col(text("body"))
                .col(integer("attempts"))
                .col(integer_null("status_code"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone_null("last_attempt_at"))
                .col(timestamp_with_time_zone_null("delivered_at"))
                // Due (or leased to a sender until) then; null once delivered or given up.
                .col(timestamp_with_time_zone_null("next_retry_at"))
                .primary_key(Index::create().col("tenant_id").col("id"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_webhook_deliveries_webhook_id")
                        .from_tbl(DELIVERIES)
                        .from_col("tenant_id")
                        .from_col("webhook_id")
                        .to_tbl(WEBHOOKS)
                        .to_col("tenant_id")
                        .to_col("id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // A webhook's deliveries, newest first; and the per-deal order of pending ones.
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_tenant_id_webhook_id_enqueued_at")
                .table(DELIVERIES)
                .col("tenant_id")
                .col("webhook_id")
                .col("enqueued_at")
                .col("id")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_webhook_deliveries_tenant_id_webhook_id_opportunity_id")
                .table(DELIVERIES)
                .col("tenant_id")
                .col("webhook_id")
                .col("opportunity_id")
                .col("enqueued_at")
                .to_owned(),
        )
        .await?;
        // What is due: only pending rows are in it (partial index, both engines).
        let due = "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_retry_at) \
                   WHERE next_retry_at IS NOT NULL";
        m.get_connection().execute_unprepared(due).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DELIVERIES).to_owned()).await?;
        m.drop_table(Table::drop().table(WEBHOOKS).to_owned()).await
    }
}
