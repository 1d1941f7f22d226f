//! The macOS backend: the Seatbelt profile (a pure generator, built and
//! tested on every platform) and the one FFI call that applies it.

#[cfg(target_os = "macos")]
pub(super) mod ffi;
// Profile generation is pure and built everywhere, so that it is tested on
// every platform; only ffi.rs applies it.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub mod seatbelt;
