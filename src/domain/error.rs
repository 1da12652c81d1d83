//! One error type for the service, mapped once to GraphQL `extensions.code` at the edge.

/// What went wrong, in terms a client can branch on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist in the caller's tenant (or belongs to another one).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that fails validation; `field` is the offending input field (camelCase path).
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// The caller's tenant is over its share of the server (SPEC §5); try again later.
    #[error("{0}")]
    RateLimited(String),
    /// The database cannot be reached just now; nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// Anything the client cannot fix. The detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    /// The stable `extensions.code` of SPEC §5.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::RateLimited(_) => "RATE_LIMITED",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }
}
