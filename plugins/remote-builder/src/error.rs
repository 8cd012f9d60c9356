//! One error type for the remote builder; each variant says which function (or slice) it
//! is about, and the texts are the original deployer's where it had one.

use std::path::PathBuf;

/// A remote build step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory holds a local build's output (spec §6.4).
    #[error(
        "Remote build is requested for '{}' but it appears to have been built locally.  Remove derived artifacts first.",
        dir.display()
    )]
    BuiltLocally { dir: PathBuf },
    /// The function's `.include` breaks a rule (an absolute path, `..` outside `lib/`).
    #[error("{source}")]
    Include {
        entity: String,
        #[source]
        source: sluice_core::Error,
    },
    /// The slice is larger than the upload limit.
    #[error(
        "Remote build upload for '{file}' is too large.  Make sure the directory is free of derived artifacts"
    )]
    TooLarge { file: String },
    /// Neither `runtime:` nor the slice's files name a runtime.
    #[error(
        "Could not determine runtime for remote build of '{entity}'.  You may need to specify it in 'project.yml'"
    )]
    NoRuntime { entity: String },
    /// A file of the slice could not be read, or the zip could not be written.
    #[error("Could not make the remote build slice for '{entity}' ({}): {source}", path.display())]
    Io {
        entity: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The zip writer failed.
    #[error("Could not make the remote build slice for '{entity}': {message}")]
    Zip { entity: String, message: String },
    /// The slice config could not be written as YAML or read back.
    #[error("The remote build slice config of '{entity}' is not valid: {message}")]
    Config { entity: String, message: String },
    /// The slice config could not be decrypted (wrong key, damaged text).
    #[error(
        "Could not decrypt the slice config: {message}; check that ENCRYPTION_KEY is the key sent with the build request"
    )]
    Decrypt { message: String },
    /// The slice could not be found or unpacked (spec §12.5: `Could not fetch slice`).
    #[error("Could not fetch slice '{slice}': {message}")]
    Fetch { slice: String, message: String },
    /// The namespace has no `getUploadUrl` action: it offers no remote builds.
    #[error(
        "The namespace at {apihost} has no remote build service ('/{builder_ns}/builder/getUploadUrl' was not found); build the function on this machine instead (set 'localBuild: true' for it in project.yml, or deploy without --remote-build)"
    )]
    NoUploadService { apihost: String, builder_ns: String },
    /// `getUploadUrl` did not answer in time.
    #[error("Timed out awaiting permission to upload remote build for '{tag}'")]
    UploadPermissionTimeout { tag: String },
    /// `getUploadUrl` failed (the message comes from the activation).
    #[error("{message}")]
    UploadPermission { tag: String, message: String },
    /// `getUploadUrl` answered without `url` and `sliceName`.
    #[error("Unexpected response from getUploadUrl")]
    UnexpectedUploadResponse { tag: String },
    /// The upload was refused.
    #[error("Remote build upload for '{tag}' failed with HTTP status {status}")]
    Upload { tag: String, status: u16 },
    /// No `build_<runtime>` action exists.
    #[error(
        "Remote build service is not available for runtime '{runtime}' on this platform instance."
    )]
    NoBuildService { runtime: String },
    /// The builder answered with a server error.
    #[error("Remote build service returned error status.")]
    BuildServiceStatus { status: u16 },
    /// Any other HTTP status from the namespace.
    #[error("The namespace answered {url} with HTTP status {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    /// The namespace could not be reached.
    #[error("Could not reach the namespace at {url}: {message}")]
    Http { url: String, message: String },
    /// Waiting for the remote build's activation failed.
    #[error("{message}")]
    Poll { message: String },
    /// The remote build did not finish within the poll limit.
    #[error("Build timed out")]
    BuildTimeout,
    /// The remote build's activation failed (the message comes from the activation).
    #[error("{message}")]
    BuildFailed {
        message: String,
        /// The whole activation record, as the original attaches it to the error.
        activation: serde_json::Value,
    },
    /// The remote build's activation succeeded without `{transcript, outcome}`.
    #[error("Remote build failed to provide a result")]
    NoResult,
}

/// The remote builder's result type.
pub type Result<T> = std::result::Result<T, Error>;
