//! The local namespace's REST API over real HTTP on 127.0.0.1: every endpoint and error case
//! (transcripts snapshotted with insta), persistence across restarts, concurrent writes, and
//! the official `openwhisk` npm client (entities, and the standard catalog).

mod actions;
mod catalog;
mod catalog_builder;
mod catalog_npm;
mod concurrency;
mod do_triggers;
mod info;
mod npm_client;
mod packages;
mod persistence;
mod rules;
mod support;
mod triggers;
