//! The Linux backend: Landlock, seccomp, capabilities and the namespace
//! layers (user, mount, network). Compiled on Linux only; the facade in
//! `sandbox/mod.rs` is the only way in. Every raw system call and kernel
//! struct of these modules is in `sys.rs`.

pub(super) mod caps;
pub(super) mod hardening;
pub(super) mod landlock;
pub mod mountns;
pub mod namespaces;
pub mod netns;
pub mod seccomp;
mod sys;

use std::path::{Path, PathBuf};

use self::landlock::{FlagNames as _, Support};
use super::abi::Abi;
use super::plan::PortRule;
use super::{
    Backend, Enforced, Guarantee, KernelPlan, MountLine, MountPlanApi, PlannedRule, SandboxError,
};
use crate::policy::{Policy, Rule};

/// Landlock + seccomp + capabilities + namespaces.
pub(super) struct Linux;

impl Backend for Linux {
    type MountPlan = mountns::MountPlan;

    fn check(policy: &Policy) -> Result<(), SandboxError> {
        landlock::check(policy, &Support::detect())
    }

    fn check_baseline() -> Result<(), SandboxError> {
        landlock::check_baseline(&Support::detect())
    }

    fn apply(policy: &Policy) -> Result<Enforced, SandboxError> {
        let support = Support::detect();
        let mut enforced = landlock::apply(policy, &support)?;
        // After Landlock (which set no_new_privs), right before exec: the
        // filter also confines whatever nono still does, so nothing else
        // may happen in between.
        let inputs = seccomp_inputs(policy, support.abi);
        if inputs.truncate_fallback {
            // Shown, not logged: without it a failing '>' is a mystery.
            enforced.warnings.push(format!(
                "nono: warning: Landlock ABI {} cannot limit truncation to paths: opening with O_TRUNC is denied everywhere ('>' fails, '>>' works); Linux {} lifts this",
                support.abi,
                Abi::TRUNCATE.linux()
            ));
        }
        let spec = seccomp::build(inputs);
        enforced.filters = seccomp::install(&spec)?;
        Ok(enforced)
    }

    fn drop_capabilities() -> Result<bool, SandboxError> {
        Ok(caps::drop_all()?.is_some())
    }

    fn privileged() -> bool {
        caps::privileged().unwrap_or(true)
    }

    fn truncation_refused_everywhere() -> bool {
        Support::detect().abi < Abi::TRUNCATE
    }

    fn seccomp_filter_available() -> bool {
        sys::seccomp_filter_supported()
    }

    fn kernel_plan(policy: &Policy) -> Option<KernelPlan> {
        let abi = Support::detect().abi;
        if abi <= 0 {
            return None;
        }
        let h = landlock::handled_for(policy, abi);
        let ports = if h.net.is_empty() {
            Vec::new()
        } else {
            landlock::port_rules(&policy.net)
                .into_iter()
                .map(|(port, rights)| PortRule {
                    port,
                    rights: rights.names(),
                })
                .collect()
        };
        Some(KernelPlan {
            abi,
            landlock_fs: h.fs.names(),
            landlock_net: h.net.names(),
            landlock_scopes: h.scopes.names(),
            landlock_ports: ports,
            seccomp: planned_rules(&seccomp::build(seccomp_inputs(policy, abi))),
        })
    }

    fn default_seccomp_rules() -> Vec<PlannedRule> {
        let abi = Support::detect().abi.max(1);
        let net = crate::policy::NetPolicy::default();
        planned_rules(&seccomp::build(seccomp::Inputs::new(&net, abi)))
    }

    fn guarantees(policy: &Policy, keep_caps: bool) -> Vec<Guarantee> {
        let abi = Support::detect().abi;
        let rules = planned_rules(&seccomp::build(seccomp_inputs(policy, abi.max(1))));
        hardening::guarantees(&policy.net, abi, &rules, keep_caps, Self::privileged())
    }

    fn default_guarantees() -> Vec<Guarantee> {
        let abi = Support::detect().abi;
        let net = crate::policy::NetPolicy::default();
        let rules = planned_rules(&seccomp::build(seccomp::Inputs::new(&net, abi.max(1))));
        hardening::guarantees(&net, abi, &rules, false, Self::privileged())
    }

    fn mount_available() -> Result<(), String> {
        if mount_layer_forced_off() {
            return Err("turned off for testing (NONO_TEST_NO_MOUNT_NS)".into());
        }
        mountns::probe()
    }

    fn mount_plan(policy: &Policy, run_dir: Option<&Path>) -> Result<mountns::MountPlan, String> {
        if mount_layer_forced_off() {
            return Err("turned off for testing (NONO_TEST_NO_MOUNT_NS)".into());
        }
        let table = mountns::mount_table().map_err(|e| e.to_string())?;
        Ok(mountns::plan(policy, &table, run_dir))
    }

    fn apply_mount(plan: &mountns::MountPlan) -> Result<Result<(), String>, SandboxError> {
        // What is set up, from the plan applied below: tests compare it
        // with --dry-run's list.
        for l in mountns::MountPlan::lines(plan) {
            tracing::debug!(path = %l.path.display(), what = l.what, "mount entry");
        }
        match mountns::apply(plan) {
            Ok(()) => Ok(Ok(())),
            Err(e @ mountns::MountError::Unavailable { .. }) => Ok(Err(e.to_string())),
            Err(e) => Err(SandboxError::MountLayer(e)),
        }
    }
}

impl MountPlanApi for mountns::MountPlan {
    fn mask_programs(&self, policy: &mut Policy) {
        if let Some(whole) = &self.whole_exec {
            let masked = self.programs.iter().map(|p| p.path.clone()).collect();
            policy.mask_programs(masked, whole.clone());
        }
    }

    fn rules(&self) -> Vec<Rule> {
        mountns::MountPlan::rules(self)
    }

    fn why_rules(&self) -> Vec<Rule> {
        mountns::MountPlan::why_rules(self)
    }

    fn note_for(&self, path: &Path) -> Option<String> {
        if let Some((dir, upper)) = self.overlay_of(path) {
            return Some(format!(
                "mount layer: {} is overlaid: the command's changes land in {}, the real directory is not written",
                crate::output::path(dir),
                crate::output::path(upper)
            ));
        }
        if let Some(dir) = self.private_dir_of(path) {
            return Some(format!(
                "mount layer: {} is private to the run: the host's files there are not visible, and what the command writes there stays out of the host's {}",
                crate::output::path(dir),
                crate::output::path(dir)
            ));
        }
        mountns::MountPlan::lines(self)
            .into_iter()
            .filter(|l| l.what == "masked" || (l.what == "read_only" && l.path != Path::new("/")))
            .find(|l| crate::policy::paths::is_within(path, &l.path))
            .map(|l| format!("mount layer: {} {}", crate::output::path(&l.path), l.detail))
    }

    fn tmpdir(&self) -> Option<PathBuf> {
        mountns::MountPlan::tmpdir(self).map(Path::to_path_buf)
    }

    fn lines(&self) -> Vec<MountLine> {
        mountns::MountPlan::lines(self)
    }
}

fn seccomp_inputs(policy: &Policy, abi: i32) -> seccomp::Inputs {
    seccomp::Inputs::new(&policy.net, abi)
}

/// The filter's rules as the reports list them, with the filter's own
/// reasons: the one conversion from what `seccomp::install` receives.
pub(super) fn planned_rules(spec: &seccomp::FilterSpec) -> Vec<PlannedRule> {
    let mut rules = Vec::new();
    for (list, errno) in [(&spec.eperm, "EPERM"), (&spec.enosys, "ENOSYS")] {
        for r in list {
            rules.push(PlannedRule {
                syscall: r.name,
                errno,
                always: r.when.is_empty(),
                why: r.why.clone(),
            });
        }
    }
    rules
}

/// The test-only switch that forces the Landlock-only fallback, so that
/// the whole suite runs on both paths (honoured only in test builds).
#[cfg(feature = "test-abi-cap")]
fn mount_layer_forced_off() -> bool {
    std::env::var_os("NONO_TEST_NO_MOUNT_NS").is_some_and(|v| v == "1")
}

#[cfg(not(feature = "test-abi-cap"))]
fn mount_layer_forced_off() -> bool {
    false
}
