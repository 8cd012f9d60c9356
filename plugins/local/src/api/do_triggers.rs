//! DigitalOcean's scheduled-triggers API (openwhisk-api.md §13.3), served so that a project's
//! `triggers:` deploy locally exactly as they do to DigitalOcean:
//! `/v2/functions/namespaces/{ns}/triggers[/{name}]`, Bearer token = the namespace's key
//! (`uuid:key` or the key alone), DigitalOcean's error shape `{"id","message","request_id"}`.
//! The runner's scheduler fires them.

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::LocalError;
use crate::middleware::RequestId;
use crate::names;
use crate::state::AppState;
use crate::store::{DoTrigger, ScheduledDetails, ScheduledRuns, actions, do_triggers};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/functions/namespaces/{ns}/triggers",
            get(list).post(create),
        )
        .route(
            "/v2/functions/namespaces/{ns}/triggers/{name}",
            get(get_one).put(update).delete(delete),
        )
}

/// An error in DigitalOcean's shape.
#[derive(Debug)]
struct DoError {
    status: StatusCode,
    id: &'static str,
    message: String,
    request_id: String,
}

impl IntoResponse for DoError {
    fn into_response(self) -> Response {
        let body = json!({"id": self.id, "message": self.message, "request_id": self.request_id});
        (self.status, Json(body)).into_response()
    }
}

fn err(
    rid: &RequestId,
    status: StatusCode,
    id: &'static str,
    message: impl Into<String>,
) -> DoError {
    DoError {
        status,
        id,
        message: message.into(),
        request_id: rid.0.clone(),
    }
}

/// The namespace the token owns, if it is the one in the path.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    ns: &str,
    rid: &RequestId,
) -> Result<String, DoError> {
    let unauthorized = || {
        err(
            rid,
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unable to authenticate you",
        )
    };
    let subject = state
        .authenticate(headers)
        .await
        .map_err(|_| unauthorized())?
        .ok_or_else(unauthorized)?;
    if subject.namespace != ns {
        return Err(err(
            rid,
            StatusCode::NOT_FOUND,
            "not_found",
            format!("namespace '{ns}' not found"),
        ));
    }
    Ok(subject.namespace)
}

fn store_err(rid: &RequestId, e: LocalError) -> DoError {
    err(
        rid,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        e.to_string(),
    )
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The next time `cron` fires, if it is a valid five-field expression.
fn next_run(cron: &str) -> Result<Option<String>, String> {
    if cron.split_whitespace().count() != 5 {
        return Err(format!(
            "invalid cron expression '{cron}': a schedule has five fields (minute hour day month weekday)"
        ));
    }
    let parsed = croner::Cron::from_str(cron.trim())
        .map_err(|e| format!("invalid cron expression '{cron}': {e}"))?;
    Ok(parsed
        .find_next_occurrence(&Utc::now(), false)
        .ok()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

async fn list(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(ns): Path<String>,
) -> Result<Json<Value>, DoError> {
    let ns = authorize(&state, &headers, &ns, &rid).await?;
    let items = state
        .store
        .call(move |c| do_triggers::list(c, &ns))
        .await
        .map_err(|e| store_err(&rid, e))?;
    Ok(Json(json!({ "triggers": items })))
}

async fn get_one(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Json<Value>, DoError> {
    let ns = authorize(&state, &headers, &ns, &rid).await?;
    let found = state
        .store
        .call(move |c| do_triggers::get(c, &ns, &name))
        .await
        .map_err(|e| store_err(&rid, e))?;
    match found {
        Some(t) => Ok(Json(json!({ "trigger": t }))),
        None => Err(err(
            &rid,
            StatusCode::NOT_FOUND,
            "not_found",
            "trigger not found",
        )),
    }
}

/// `POST` body.
#[derive(Debug, Deserialize)]
struct CreateTrigger {
    name: Option<String>,
    function: Option<String>,
    #[serde(rename = "type")]
    trigger_type: Option<String>,
    is_enabled: Option<bool>,
    scheduled_details: Option<ScheduledDetails>,
}

/// `PUT` body.
#[derive(Debug, Deserialize)]
struct UpdateTrigger {
    is_enabled: Option<bool>,
    scheduled_details: Option<ScheduledDetails>,
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8], rid: &RequestId) -> Result<T, DoError> {
    serde_json::from_slice(body).map_err(|e| {
        err(
            rid,
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("invalid request body: {e}"),
        )
    })
}

async fn create(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(ns): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, DoError> {
    let ns = authorize(&state, &headers, &ns, &rid).await?;
    let req: CreateTrigger = parse_body(&body, &rid)?;
    let invalid = |m: String| err(&rid, StatusCode::BAD_REQUEST, "bad_request", m);
    let name = req.name.unwrap_or_default();
    if !names::is_valid_name(&name) {
        return Err(invalid(format!("invalid trigger name '{name}'")));
    }
    let function = req.function.unwrap_or_default();
    let trigger_type = req.trigger_type.unwrap_or_default().to_ascii_uppercase();
    if trigger_type != "SCHEDULED" {
        return Err(invalid(format!(
            "unsupported trigger type '{trigger_type}': only SCHEDULED is supported"
        )));
    }
    let details = req
        .scheduled_details
        .ok_or_else(|| invalid("scheduled_details with a cron expression is required".into()))?;
    let next = next_run(&details.cron).map_err(invalid)?;
    let now = now_rfc3339();
    let trigger = DoTrigger {
        namespace: ns.clone(),
        function: function.clone(),
        trigger_type,
        name: name.clone(),
        is_enabled: req.is_enabled.unwrap_or(true),
        created_at: now.clone(),
        updated_at: now,
        scheduled_details: details,
        scheduled_runs: ScheduledRuns {
            last_run_at: None,
            next_run_at: next,
        },
    };
    let outcome = state
        .store
        .write(move |tx| {
            let (pkg, fname) = function.rsplit_once('/').unwrap_or(("", &function));
            if fname.is_empty() || actions::get(tx, &ns, pkg, fname, false)?.is_none() {
                return Ok(Err((
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("function '{function}' not found in namespace '{ns}'"),
                )));
            }
            if do_triggers::get(tx, &ns, &name)?.is_some() {
                return Ok(Err((
                    StatusCode::CONFLICT,
                    "conflict",
                    format!("trigger '{name}' already exists"),
                )));
            }
            do_triggers::put(tx, &trigger)?;
            Ok(Ok(trigger))
        })
        .await
        .map_err(|e| store_err(&rid, e))?;
    match outcome {
        Ok(t) => Ok(Json(json!({ "trigger": t }))),
        Err((status, id, message)) => Err(err(&rid, status, id, message)),
    }
}

async fn update(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, DoError> {
    let ns = authorize(&state, &headers, &ns, &rid).await?;
    let req: UpdateTrigger = parse_body(&body, &rid)?;
    let next = match &req.scheduled_details {
        Some(d) => Some(
            next_run(&d.cron).map_err(|m| err(&rid, StatusCode::BAD_REQUEST, "bad_request", m))?,
        ),
        None => None,
    };
    let updated = state
        .store
        .write(move |tx| {
            let Some(mut t) = do_triggers::get(tx, &ns, &name)? else {
                return Ok(None);
            };
            if let Some(e) = req.is_enabled {
                t.is_enabled = e;
            }
            if let Some(d) = req.scheduled_details {
                t.scheduled_details = d;
            }
            if let Some(n) = next {
                t.scheduled_runs.next_run_at = n;
            }
            t.updated_at = now_rfc3339();
            do_triggers::put(tx, &t)?;
            Ok(Some(t))
        })
        .await
        .map_err(|e| store_err(&rid, e))?;
    match updated {
        Some(t) => Ok(Json(json!({ "trigger": t }))),
        None => Err(err(
            &rid,
            StatusCode::NOT_FOUND,
            "not_found",
            "trigger not found",
        )),
    }
}

async fn delete(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path((ns, name)): Path<(String, String)>,
) -> Result<StatusCode, DoError> {
    let ns = authorize(&state, &headers, &ns, &rid).await?;
    let existed = state
        .store
        .write(move |tx| do_triggers::delete(tx, &ns, &name))
        .await
        .map_err(|e| store_err(&rid, e))?;
    if existed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(err(
            &rid,
            StatusCode::NOT_FOUND,
            "not_found",
            "trigger not found",
        ))
    }
}
