//! `tpm serve` tested from outside: a real `tpm serve` on a free loopback port, real
//! processes in a scratch store, requests over TCP, the event stream read as a browser
//! reads it, and the dashboard in a real headless Chromium.
//!
//! One test binary with a module per behaviour keeps link time down.

mod api;
mod apps;
mod browser;
mod events;
mod limits;
mod prometheus;
mod security;
mod serve_command;
mod support;
