//! The macOS backend: the Seatbelt profile (a pure generator, built and
//! tested on every platform) and the one FFI call that applies it.

#[cfg(target_os = "macos")]
mod ffi;
// Profile generation is pure: built on macOS, and for the unit tests on
// every platform.
#[cfg(any(target_os = "macos", test))]
pub mod seatbelt;

#[cfg(target_os = "macos")]
pub(super) use self::ffi::summary;

#[cfg(target_os = "macos")]
mod backend {
    use std::path::Path;

    use super::ffi;
    use crate::policy::Policy;
    use crate::sandbox::{
        Backend, Enforced, Guarantee, KernelPlan, NoMountLayer, PlannedRule, SandboxError,
    };

    /// Seatbelt: one profile applied in-process before exec.
    pub struct MacOs;

    impl Backend for MacOs {
        type MountPlan = NoMountLayer;
        fn check(policy: &Policy) -> Result<(), SandboxError> {
            ffi::check(policy)
        }
        fn check_baseline() -> Result<(), SandboxError> {
            // What `setup` checks is the Linux baseline: on macOS it
            // reports no Landlock and exits 1, as SPEC says.
            Err(SandboxError::UnsupportedOs)
        }
        fn apply(policy: &Policy) -> Result<Enforced, SandboxError> {
            ffi::apply(policy)
        }
        fn drop_capabilities() -> Result<bool, SandboxError> {
            // No capability sets to empty. Root stays root under Seatbelt,
            // which nono cannot drop: refused (fail closed), as before;
            // every other caller has nothing to drop.
            if Self::privileged() {
                return Err(SandboxError::UnsupportedOs);
            }
            Ok(false)
        }
        fn privileged() -> bool {
            nix::unistd::geteuid().is_root()
        }
        fn truncation_refused_everywhere() -> bool {
            false
        }
        fn seccomp_filter_available() -> bool {
            false
        }
        fn kernel_plan(_: &Policy) -> Option<KernelPlan> {
            None
        }
        fn default_seccomp_rules() -> Vec<PlannedRule> {
            Vec::new()
        }
        fn guarantees(_: &Policy, _: bool) -> Vec<Guarantee> {
            Vec::new()
        }
        fn default_guarantees() -> Vec<Guarantee> {
            Vec::new()
        }
        fn mount_available() -> Result<(), String> {
            Err("mount namespaces are a Linux feature".into())
        }
        fn mount_plan(_: &Policy, _: Option<&Path>) -> Result<NoMountLayer, String> {
            Err("mount namespaces are a Linux feature".into())
        }
    }
}
#[cfg(target_os = "macos")]
pub(super) use self::backend::MacOs;
