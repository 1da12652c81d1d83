//! Live updates: the committed changes of the caller's tenant, as they are announced (SPEC §9).

use std::sync::Arc;

use tokio::sync::broadcast;

use super::Services;
use crate::domain::TenantCtx;
use crate::domain::events::ChangeEvent;

/// The caller's tenant's change events from now on (another tenant's never reach it).
pub fn changes(ctx: &TenantCtx, svc: &Services) -> broadcast::Receiver<Arc<ChangeEvent>> {
    svc.store.bus().subscribe(ctx.tenant().as_str())
}

/// Changes each time this process's feed of change events is interrupted (see
/// `store::changes::Bus::interruptions`): its live subscribers may have missed events.
pub fn interruptions(svc: &Services) -> tokio::sync::watch::Receiver<u64> {
    svc.store.bus().interruptions()
}
