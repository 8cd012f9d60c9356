//! `PUT /sluice/v1/slices/{namespace}/{id}`: the upload URL `getUploadUrl` hands out
//! ([`crate::catalog::builder`]). Like the presigned S3 URL of DigitalOcean's builder it
//! takes no credentials: the store accepts one upload per issued name ([`crate::slices`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::http_error::ApiError;
use crate::slices::{self, SliceName, Upload};
use crate::state::AppState;

/// Largest slice accepted: the client's `MAX_SLICE_UPLOAD_SIZE` default (64 MiB) and some.
pub const MAX_SLICE: usize = 80 * 1024 * 1024;

/// Stores the body as the slice, when the name was issued and not uploaded yet.
pub async fn handle(
    State(state): State<AppState>,
    Path((ns, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let name = SliceName::parse(&format!("{ns}/{id}")).map_err(|_| ApiError::not_found())?;
    let data_dir = state.data_dir.clone();
    let stored = tokio::task::spawn_blocking(move || slices::put(&data_dir, &name, &body))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the upload task failed: {e}"),
            )
        })??;
    match stored {
        Upload::Stored => Ok(StatusCode::OK),
        Upload::NotAllowed => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "No upload is allowed to this slice: ask getUploadUrl for a new one.",
        )),
    }
}
