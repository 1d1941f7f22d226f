//! The Linux backend: Landlock, seccomp, capabilities and the namespace
//! layers (user, mount, network). Compiled on Linux only; the facade in
//! `sandbox/mod.rs` is the only way in.

pub(super) mod caps;
pub(super) mod hardening;
pub(super) mod landlock;
pub mod mountns;
pub mod namespaces;
pub mod netns;
pub mod seccomp;
