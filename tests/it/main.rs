//! The integration tests: one binary, one module per area, as ripgrep's
//! `tests/tests.rs` does. One binary links once (instead of once per area),
//! shares one harness (`common`) and one set of syscall probes (`probe`),
//! and runs as one program in the unprivileged run of `scripts/test`.
//!
//! Select an area with a module path filter:
//! `cargo test --test it -- foundation::` (several filters are ORed).
//! Non-Rust helpers (the mock model server) live in `tests/support/`.

mod common;
#[cfg(target_os = "linux")]
mod json_doc;
#[cfg(target_os = "linux")]
mod probe;

mod agents;
mod blocklist;
mod cli;
mod cost_guard;
mod data_loss;
mod egress;
mod env;
mod escapes;
mod explain;
mod foundation;
mod git_env;
mod hardening;
mod kernel_rules;
#[cfg(target_os = "macos")]
mod macos;
mod macos_paths;
mod mountns;
mod network;
mod output_errors;
mod profiles;
mod programs;
mod readme;
mod robustness;
#[cfg(target_os = "linux")]
mod sandbox_guard;
mod scan_cache;
mod startup_guard;
mod troubleshooting;
mod undo;
