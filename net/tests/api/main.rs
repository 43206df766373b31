//! The REST API over an in-memory backend, driven through the router.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod admin;
mod bad_input;
mod lifecycle;
mod openapi;
