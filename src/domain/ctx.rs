//! The caller, as proven by a verified token. There is no other way to build one.

use super::error::AppError;
use super::model::Role;
use super::values::TenantId;

/// Who is calling and for which tenant. Fields are private and there is no `Default`:
/// a `TenantCtx` only comes out of token verification (or the operator CLI via `system`).
#[derive(Debug, Clone)]
pub struct TenantCtx {
    tenant: TenantId,
    user_id: String,
    roles: Vec<Role>,
}

impl TenantCtx {
    /// Built by the auth layer from verified claims. No roles means `analyst` (SPEC §5).
    pub(crate) fn from_verified_claims(tenant: TenantId, user_id: String, mut roles: Vec<Role>) -> Self {
        if roles.is_empty() {
            roles.push(Role::Analyst);
        }
        roles.sort();
        roles.dedup();
        TenantCtx { tenant, user_id, roles }
    }

    /// An admin context for work the server does on a tenant's behalf (the periodic risk
    /// sweep, loading the demo tenant), never for a request.
    pub(crate) fn system(tenant: TenantId) -> Self {
        TenantCtx {
            tenant,
            user_id: "system".into(),
            roles: vec![Role::Admin],
        }
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Creating accounts, contacts and opportunities: sellers and admins.
    pub fn require_writer(&self) -> Result<(), AppError> {
        if self.is_admin() || self.has(Role::Seller) {
            Ok(())
        } else {
            Err(AppError::forbidden("this operation needs the seller or admin role"))
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden("this operation needs the admin role"))
        }
    }

    /// Changing a deal, its buying group or its interactions: admins, or the seller who owns it.
    pub fn require_can_change_deal(&self, owner_id: &str) -> Result<(), AppError> {
        self.require_writer()?;
        if self.is_admin() || owner_id == self.user_id {
            Ok(())
        } else {
            Err(AppError::forbidden("sellers can only change opportunities they own"))
        }
    }

    /// Assigning a deal to `owner_id`: admins to anyone, sellers only to themselves.
    pub fn require_can_assign_owner(&self, owner_id: &str) -> Result<(), AppError> {
        if self.is_admin() || owner_id == self.user_id {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "only admins can assign opportunities to other users",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(roles: &[Role]) -> TenantCtx {
        TenantCtx::from_verified_claims(TenantId::parse("acme").expect("valid"), "u1".into(), roles.to_vec())
    }

    #[test]
    fn no_roles_means_analyst_who_cannot_write() {
        let c = ctx(&[]);
        assert_eq!(c.roles(), &[Role::Analyst]);
        assert!(c.require_writer().is_err());
    }

    #[test]
    fn sellers_change_only_their_own_deals() {
        let c = ctx(&[Role::Seller]);
        assert!(c.require_can_change_deal("u1").is_ok());
        assert!(c.require_can_change_deal("u2").is_err());
        assert!(c.require_can_assign_owner("u2").is_err());
        assert!(c.require_admin().is_err());
    }

    #[test]
    fn admins_change_everything() {
        let c = ctx(&[Role::Admin]);
        assert!(c.require_can_change_deal("someone-else").is_ok());
        assert!(c.require_can_assign_owner("someone-else").is_ok());
        assert!(c.require_admin().is_ok());
    }
}
