//! sluice-plugin-abi: third-party plugins as shared libraries — the C ABI they speak, the
//! SDK macro that writes that ABI for an ordinary trait implementation, and the loader.
//!
//! A plugin is a `cdylib` that exports one unmangled symbol, [`abi::ENTRY_SYMBOL`], returning
//! a `#[repr(C)]` [`abi::PluginDeclaration`]: ABI version, plugin API semver, name,
//! capabilities and an append-only [`abi::FunctionTable`]. Requests and replies cross as JSON
//! of the `sluice-core` model types ([`wire`]); nothing Rust-shaped crosses, so a plugin may
//! be built by another compiler version than the host. Plugin authors never touch this:
//! they implement `ProjectReader`, `Builder` or `Deployer` and call [`export_plugin!`].
//!
//! This crate owns the boundary and nothing else: it must not know how projects are read,
//! built or deployed, and it never prints (the loader logs through `tracing` and reports
//! through the caller's `Feedback`). It also decides which project libraries may be opened
//! at all ([`trust`]): opening one runs its code.

// Crossing a C boundary needs `unsafe`: loading a library, calling through its function
// pointers, reading its declaration and handing buffers across. Each unsafe block is small
// and says why it is sound; everything else in the workspace stays unsafe-free.
#![allow(unsafe_code)]

pub mod abi;
mod loader;
mod proxy;
pub mod sdk;
pub mod trust;
pub mod wire;

pub use loader::{
    LoadedPlugin, PluginSource, PluginSpec, RefusedPlugin, home_plugins, load_configured,
    load_for_project, load_for_project_listing, load_into, load_linked, load_listed,
};
pub use proxy::request_cancel;
/// The core crate, re-exported so that a plugin needs only this dependency.
pub use sluice_core;
pub use trust::{ProjectTrust, TrustState, TrustStore};
