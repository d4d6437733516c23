//! One error type for the whole service. Over HTTP every error is an RFC 7807
//! problem+json with a stable `code`; internal causes are logged, never shown.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::workflow::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but a value is wrong (422).
    #[error("{detail}")]
    Invalid {
        field: Option<String>,
        detail: String,
    },
    /// Several fields are wrong (422, with `errors`).
    #[error("{}", .0.iter().map(|(f, c)| format!("{f}: {c}")).collect::<Vec<_>>().join("; "))]
    Fields(Vec<(String, String)>),
    /// The request cannot be read at all (400).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state of a resource (409).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// The ticket's state does not allow this (409).
    #[error("{0}")]
    Transition(Refusal),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Rate limited (429).
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database is out of reach (503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            field: Some(field.to_string()),
            detail: detail.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        AppError::Forbidden(detail.into())
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// A refusal of the request (4xx), not a failure of the system.
    pub fn is_client_error(&self) -> bool {
        self.status_code_of().is_client_error()
    }

    /// The HTTP status of this error (for pages that show it their own way).
    pub fn status_code_of(&self) -> actix_web::http::StatusCode {
        ResponseError::status_code(self)
    }

    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { .. } | AppError::Fields(_) => "invalid-input",
            AppError::BadRequest(_) => "malformed-request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::Conflict { code, .. } => code,
            AppError::Transition(_) => "invalid-transition",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::TooManyRequests(_) => "too-many-requests",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Unavailable(_) => "service-unavailable",
            AppError::Database(diesel::result::Error::NotFound) => "not-found",
            AppError::Database(_) | AppError::Internal(_) => "internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Invalid { .. } | AppError::Fields(_) => "Invalid input",
            AppError::BadRequest(_) => "Malformed request",
            AppError::Unauthorized(_) => "Authentication required",
            AppError::Forbidden(_) => "Not allowed",
            AppError::NotFound(_) => "Not found",
            AppError::Conflict { .. } => "Conflict",
            AppError::Transition(_) => "Transition not allowed",
            AppError::PayloadTooLarge(_) => "Payload too large",
            AppError::TooManyRequests(_) => "Too many requests",
            AppError::UnsupportedMediaType(_) => "Unsupported media type",
            AppError::Unavailable(_) => "Service unavailable",
            AppError::Database(diesel::result::Error::NotFound) => "Not found",
            AppError::Database(_) | AppError::Internal(_) => "Internal error",
        }
    }

    /// Builds the problem document (also used by the CLI for its messages).
    pub fn problem(&self) -> Problem {
        let status = self.status_code().as_u16();
        let detail = match self {
            AppError::Database(diesel::result::Error::NotFound) => {
                "the requested record does not exist".to_string()
            }
            AppError::Database(_) | AppError::Internal(_) => {
                "something went wrong on our side; the request was not applied".to_string()
            }
            AppError::Unavailable(_) => {
                "the database cannot be reached right now; try again shortly".to_string()
            }
            other => other.to_string(),
        };
        let mut p = Problem {
            problem_type: format!("/problems/{}", self.code()),
            title: self.title().to_string(),
            status,
            detail,
            code: self.code().to_string(),
            field: None,
            current_state: None,
            allowed_states: None,
            allowed_actions: None,
            errors: None,
        };
        match self {
            AppError::Invalid { field, .. } => p.field = field.clone(),
            AppError::Fields(list) => {
                p.field = list.first().map(|(f, _)| f.clone());
                p.errors = Some(
                    list.iter()
                        .map(|(f, c)| FieldProblem {
                            field: f.clone(),
                            code: c.clone(),
                        })
                        .collect(),
                );
            }
            AppError::Transition(r) => {
                p.current_state = Some(r.current.as_str().to_string());
                p.allowed_states = Some(
                    r.allowed_states
                        .iter()
                        .map(|s| s.as_str().to_string())
                        .collect(),
                );
                p.allowed_actions = Some(r.allowed_actions.iter().map(|s| s.to_string()).collect());
            }
            _ => {}
        }
        p
    }
}

/// An RFC 7807 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid-transition`.
    pub code: String,
    /// The request field in error, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_states: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
    /// Every field in error, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldProblem>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    /// Stable code, e.g. `required`, `invalid_email`.
    pub code: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Invalid { .. } | AppError::Fields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::Database(diesel::result::Error::NotFound) => {
                StatusCode::NOT_FOUND
            }
            AppError::Conflict { .. } | AppError::Transition(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if self.status_code().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if matches!(self, AppError::Unauthorized(_)) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if matches!(self, AppError::TooManyRequests(_)) {
            res.insert_header((header::RETRY_AFTER, "60"));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        AppError::Transition(r)
    }
}

/// Per-field errors from the domain (call forms) become one 422 naming each field.
impl From<Vec<crate::domain::forms::FieldError>> for AppError {
    fn from(errors: Vec<crate::domain::forms::FieldError>) -> Self {
        AppError::Fields(
            errors
                .into_iter()
                .map(|e| (e.field, e.code.to_string()))
                .collect(),
        )
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<diesel::result::ConnectionError> for AppError {
    fn from(e: diesel::result::ConnectionError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

/// True when a database error is a unique-constraint violation (same on both backends).
pub fn is_unique_violation(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}
