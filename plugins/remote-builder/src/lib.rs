//! The client side of remote builds (deployer spec §12): a function that must be built
//! where its runtime lives (Go and Swift by default, anything with `--remote-build` or
//! `remoteBuild: true`) is sent as a *project slice* to the namespace's builder actions,
//! which build and deploy it there and answer with a transcript and a deploy outcome.
//!
//! What this crate owns: the slice (a zip of project-relative entries with their modes, the
//! generated `build.sh` of `remote-default`, `lib/`, and the encrypted slice config), the
//! slice config's encryption, and the conversation with `/<BUILDER_NS>/builder`:
//! `getUploadUrl`, the upload, `build_<runtime>`, and activation polling with the spec's
//! limits and progress lines. On the builder's side it unpacks and decrypts a slice for the
//! slice deployer (`sluice deploy slice:<name>`, [`open_slice`]).
//!
//! What it must not do: read `project.yml`, deploy entities itself, print, or exit. Progress
//! goes through [`sluice_core::Feedback`]; failures are [`Error`] values carrying the
//! function they are about, with the original deployer's texts.
//!
//! Why it is built this way:
//! - The slice is made in memory and checked against a size limit before anything is sent,
//!   so a directory full of derived artifacts fails before it costs an upload.
//! - The config is a [`DeployStructure`](sluice_core::DeployStructure) — the slice deployer
//!   reads it with the same reader as any project — encrypted because it holds credentials.
//! - Polling has explicit limits and an interval the caller may shorten (tests do), never
//!   an unbounded wait.

mod client;
mod crypt;
mod error;
mod plugin;
mod slice;
mod unpack;

pub use client::{
    BUILD_POLLS, BuilderClient, RemoteResult, UPLOAD_PERMISSION_POLLS, build_action_name,
    builder_namespace,
};
pub use crypt::{decrypt_config, encrypt_config, new_key};
pub use error::{Error, Result};
pub use plugin::{InSlice, RemoteBuild};
pub use slice::{DEFAULT_MAX_SLICE_SIZE, Slice, SliceRequest, make_slice, slice_config};
pub use unpack::{DEFAULT_BUILD, OpenedSlice, open_slice, slices_cache_dir};
