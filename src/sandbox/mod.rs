//! Turning a [`Policy`] into kernel enforcement. The platform is chosen at
//! the `mod` lines; everything above this module is platform-neutral.

use crate::policy::Policy;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use self::linux::landlock::{Support, TARGET_ABI};
#[cfg(target_os = "linux")]
use self::linux::{caps, hardening, landlock};
#[cfg(target_os = "linux")]
pub use self::linux::{mountns, namespaces, netns, seccomp};
mod macos;
#[cfg(target_os = "macos")]
use self::macos::ffi as macos_ffi;
pub use self::macos::seatbelt;

/// Why the sandbox could not be applied. Every variant means: the command
/// was not run.
#[derive(Debug, thiserror::Error)]
// The Landlock variants are constructed on Linux only.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub enum SandboxError {
    #[error("Landlock is not available: {0}")]
    LandlockUnavailable(String),
    #[error("this kernel cannot enforce {feature}: it needs Landlock ABI {abi} (Linux {linux}), this kernel has ABI {have}")]
    MissingFeature {
        feature: &'static str,
        abi: i32,
        linux: &'static str,
        have: i32,
    },
    #[error("cannot open {} to attach a rule: {source}", path.display())]
    OpenRule {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("Landlock {op} failed: {source}")]
    #[cfg(target_os = "linux")]
    Landlock {
        op: &'static str,
        #[source]
        source: ::landlock::RulesetError,
    },
    /// A Landlock system call nono makes itself failed.
    #[error("Landlock {op} failed: {}{source}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    #[cfg(target_os = "linux")]
    LandlockCall {
        op: &'static str,
        path: Option<std::path::PathBuf>,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "Landlock reports the ruleset as {0}: refusing to run with less protection than asked for"
    )]
    NotFullyEnforced(String),
    #[error("seccomp {op} failed: {source}")]
    #[cfg(target_os = "linux")]
    Seccomp {
        op: &'static str,
        #[source]
        source: seccompiler::Error,
    },
    #[error("seccomp compile failed: {source}")]
    #[cfg(target_os = "linux")]
    SeccompCompile {
        #[source]
        source: seccompiler::BackendError,
    },
    /// The filter cannot be built from the rules (nothing else failed).
    #[error("seccomp compile failed: {0}")]
    #[cfg(target_os = "linux")]
    SeccompRules(String),
    #[error("cannot drop capabilities: {op} failed: {source}")]
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Capabilities {
        op: &'static str,
        source: std::io::Error,
    },
    /// The mount-namespace layer failed after it started changing the
    /// mounts.
    #[error(transparent)]
    #[cfg(target_os = "linux")]
    MountLayer(mountns::MountError),
    /// `--require-isolation` and the layer is not available.
    #[error("the mount-namespace layer is not available here: {0}")]
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    IsolationRequired(String),
    #[error("sandboxing is not supported on this operating system yet")]
    #[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
    UnsupportedOs,
    /// The policy cannot be written as a Seatbelt profile.
    #[error("{0}")]
    #[cfg_attr(not(target_os = "macos"), allow(dead_code))]
    SeatbeltProfile(seatbelt::SeatbeltError),
    /// sandbox_init refused the profile; the message is Seatbelt's own.
    #[error("Seatbelt refused the sandbox profile: {0}")]
    #[cfg_attr(not(target_os = "macos"), allow(dead_code))]
    Seatbelt(String),
}

impl crate::error::Diagnostic for SandboxError {
    fn hints(&self) -> Vec<String> {
        match self {
            SandboxError::LandlockUnavailable(_) => vec![
                "nono needs Linux 5.13 or later with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y, 'landlock' in the lsm= boot parameter)".into(),
                "run 'nono setup' to see what this machine supports".into(),
            ],
            SandboxError::MissingFeature { .. } => {
                vec!["upgrade the kernel, or run 'nono setup' to see what this machine supports".into()]
            }
            SandboxError::Capabilities { .. } => vec![
                "nono drops every capability of a root caller before running the command".into(),
                "run nono as a normal user, or pass --keep-caps to run with the capabilities kept".into(),
            ],
            #[cfg(target_os = "linux")]
            SandboxError::Seccomp { .. }
            | SandboxError::SeccompCompile { .. }
            | SandboxError::SeccompRules(_) => vec![
                "nono needs seccomp filters (CONFIG_SECCOMP_FILTER) in addition to Landlock".into(),
            ],
            SandboxError::SeatbeltProfile(_) => vec![
                "Seatbelt takes paths as UTF-8 C strings; nono refuses rather than leave a path out of the profile".into(),
                "rename the path, or grant a directory above it instead".into(),
            ],
            SandboxError::Seatbelt(_) => vec![
                "this is a bug in nono or an incompatibility with this macOS version; please report it with the output of 'nono run --dry-run'".into(),
            ],
            #[cfg(target_os = "linux")]
            SandboxError::MountLayer(_) => vec![
                "the command was not run; this is a bug in nono or an unusual mount table: please report it with the output of 'nono run --dry-run'".into(),
            ],
            SandboxError::IsolationRequired(_) => vec![
                "run 'nono setup' to see how to enable user namespaces here".into(),
                "or run without --require-isolation to accept the Landlock-only sandbox".into(),
            ],
            SandboxError::OpenRule { .. } => {
                vec!["the path changed between resolution and enforcement; run nono again".into()]
            }
            _ => vec![],
        }
    }
}

/// What was enforced, for logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enforced {
    pub abi: i32,
    pub rules: usize,
    /// seccomp filters installed.
    pub filters: usize,
}

/// Checks, without changing anything, that this kernel can enforce
/// everything `policy` asks for.
pub fn check(policy: &Policy) -> Result<(), SandboxError> {
    #[cfg(target_os = "linux")]
    {
        landlock::check(policy, &Support::detect())
    }
    #[cfg(target_os = "macos")]
    {
        macos_ffi::check(policy)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = policy;
        Err(SandboxError::UnsupportedOs)
    }
}

/// Checks that this machine can enforce the baseline every sandbox has
/// (what `nono setup` reports), whatever the policy.
pub fn check_baseline() -> Result<(), SandboxError> {
    #[cfg(target_os = "linux")]
    {
        landlock::check_baseline(&Support::detect())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(SandboxError::UnsupportedOs)
    }
}

/// Applies `policy` to this process, irreversibly. On success every process
/// started from here on is confined.
pub fn apply(policy: &Policy) -> Result<Enforced, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        let support = Support::detect();
        let mut enforced = landlock::apply(policy, &support)?;
        // After Landlock (which set no_new_privs), right before exec: the
        // filter also confines whatever nono still does, so nothing else
        // may happen in between.
        use std::io::Write as _;
        let inputs = seccomp_inputs(policy, support.abi);
        if inputs.truncate_fallback {
            // Printed, not logged: without it a failing '>' is a mystery.
            // A failed write to stderr has nowhere to be reported.
            let _ = writeln!(
                std::io::stderr(),
                "nono: warning: Landlock ABI {} cannot limit truncation to paths: opening with O_TRUNC is denied everywhere ('>' fails, '>>' works); Linux 6.2 lifts this",
                support.abi
            );
        }
        let spec = seccomp::build(inputs);
        enforced.filters = seccomp::install(&spec)?;
        Ok(enforced)
    }
    #[cfg(target_os = "macos")]
    {
        macos_ffi::apply(policy)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = policy;
        Err(SandboxError::UnsupportedOs)
    }
}

/// Drops every capability of a privileged caller (root, or any capability
/// held). Returns whether something was dropped. The last step before exec.
pub fn drop_capabilities() -> Result<bool, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        Ok(caps::drop_all()?.is_some())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(SandboxError::UnsupportedOs)
    }
}

/// Whether the caller holds privilege that `drop_capabilities` would drop.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn privileged() -> bool {
    #[cfg(target_os = "linux")]
    {
        caps::privileged().unwrap_or(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        nix::unistd::geteuid().is_root()
    }
}

/// One line of the `--dry-run` "enforcement" section: a guarantee (or a
/// gap) and the kernel layer that provides it on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarantee {
    pub topic: &'static str,
    pub text: String,
}

#[cfg(target_os = "linux")]
fn seccomp_inputs(policy: &Policy, abi: i32) -> seccomp::Inputs {
    seccomp::Inputs::new(&policy.net, abi)
}

/// Whether seccomp refuses truncation everywhere on this kernel (Landlock
/// ABI < 3): then even a descriptor opened before the sandbox cannot be
/// truncated.
pub fn truncation_refused_everywhere() -> bool {
    #[cfg(target_os = "linux")]
    {
        Support::detect().abi < seccomp::ABI_TRUNCATE
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// One installed seccomp rule, for `--dry-run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRule {
    pub syscall: &'static str,
    pub errno: &'static str,
    /// Refused whatever the arguments (else only for some).
    pub always: bool,
    pub why: Vec<&'static str>,
}

/// What the kernel layers will receive for `policy`: built by the same
/// functions `apply` uses (`landlock::handled_for`, `seccomp::build`), so
/// the description cannot leave out a rule that is installed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelPlan {
    pub abi: i32,
    pub landlock_fs: Vec<String>,
    pub landlock_net: Vec<String>,
    pub landlock_scopes: Vec<String>,
    pub seccomp: Vec<PlannedRule>,
}

#[cfg(target_os = "linux")]
fn planned_rules(spec: &seccomp::FilterSpec) -> Vec<PlannedRule> {
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

/// The seccomp rules of a sandbox without options on this kernel, for
/// `nono setup` (options add rules; `--dry-run` lists them all).
pub fn default_seccomp_rules() -> Vec<PlannedRule> {
    #[cfg(target_os = "linux")]
    {
        let abi = Support::detect().abi.max(1);
        let net = crate::policy::NetPolicy::default();
        planned_rules(&seccomp::build(seccomp::Inputs::new(&net, abi)))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}

pub fn kernel_plan(policy: &Policy) -> Option<KernelPlan> {
    #[cfg(target_os = "linux")]
    {
        let abi = Support::detect().abi;
        if abi <= 0 {
            return None;
        }
        use landlock::FlagNames as _;
        let h = landlock::handled_for(policy, abi);
        let rules = planned_rules(&seccomp::build(seccomp_inputs(policy, abi)));
        Some(KernelPlan {
            abi,
            landlock_fs: h.fs.names(),
            landlock_net: h.net.names(),
            landlock_scopes: h.scopes.names(),
            seccomp: rules,
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = policy;
        None
    }
}

/// What this kernel enforces for `policy`, layer by layer.
pub fn guarantees(policy: &Policy, keep_caps: bool) -> Vec<Guarantee> {
    #[cfg(target_os = "linux")]
    {
        let abi = Support::detect().abi;
        hardening::guarantees(policy, abi, keep_caps, privileged())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (policy, keep_caps);
        vec![]
    }
}

/// What enforces the sandbox on this platform, for `--dry-run` on systems
/// without Landlock's detailed report.
#[cfg(not(target_os = "linux"))]
pub fn backend_summary() -> String {
    #[cfg(target_os = "macos")]
    {
        macos_ffi::summary()
    }
    #[cfg(not(target_os = "macos"))]
    {
        "no supported sandbox backend".into()
    }
}

/// One line of the mount plan, for `--dry-run` and `why`: what the mount
/// layer does at `path` (`masked`, `read_only`, `writable`, `private`,
/// `listable`, `pts`) and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountLine {
    pub path: std::path::PathBuf,
    pub what: &'static str,
    pub detail: String,
}

/// The mount-namespace layer as planned for one run.
#[derive(Debug, Clone)]
pub struct MountLayer {
    #[cfg(target_os = "linux")]
    plan: mountns::MountPlan,
}

impl MountLayer {
    /// Puts the layer's Landlock side into `policy`, for a layer that is
    /// set up (or, for `--dry-run` and `why`, would be): where it masks
    /// the blocked programs, their directories' per-file execute rules
    /// give way to whole-directory ones; then the layer's own rules
    /// ([`MountLayer::rules`], or for `why` [`MountLayer::why_rules`]).
    pub fn install(&self, policy: &mut Policy, for_why: bool) {
        #[cfg(target_os = "linux")]
        if let Some(whole) = &self.plan.whole_exec {
            let masked = self.plan.programs.iter().map(|p| p.path.clone()).collect();
            policy.mask_programs(masked, whole.clone());
        }
        policy.add_rules(if for_why {
            self.why_rules()
        } else {
            self.rules()
        });
    }

    /// The Landlock rules the layer adds (made after the mounts).
    pub fn rules(&self) -> Vec<crate::policy::Rule> {
        #[cfg(target_os = "linux")]
        {
            self.plan.rules()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }

    /// The rules `why` adds (the private directories' are left out).
    pub fn why_rules(&self) -> Vec<crate::policy::Rule> {
        #[cfg(target_os = "linux")]
        {
            self.plan.why_rules()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }

    /// What the layer means for `path`, for a `why` note.
    pub fn note_for(&self, path: &std::path::Path) -> Option<String> {
        #[cfg(target_os = "linux")]
        {
            if let Some((dir, upper)) = self.plan.overlay_of(path) {
                return Some(format!(
                    "mount layer: {} is overlaid: the command's changes land in {}, the real directory is not written",
                    crate::output::path(dir),
                    crate::output::path(upper)
                ));
            }
            if let Some(dir) = self.plan.private_dir_of(path) {
                return Some(format!(
                    "mount layer: {} is private to the run: the host's files there are not visible, and what the command writes there stays out of the host's {}",
                    crate::output::path(dir),
                    crate::output::path(dir)
                ));
            }
            self.lines()
                .into_iter()
                .filter(|l| {
                    l.what == "masked"
                        || (l.what == "read_only" && l.path != std::path::Path::new("/"))
                })
                .find(|l| crate::policy::paths::is_within(path, &l.path))
                .map(|l| format!("mount layer: {} {}", crate::output::path(&l.path), l.detail))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = path;
            None
        }
    }

    /// Where TMPDIR points: the private /tmp, if there is one.
    pub fn tmpdir(&self) -> Option<std::path::PathBuf> {
        #[cfg(target_os = "linux")]
        {
            self.plan.tmpdir().map(|p| p.to_path_buf())
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// The plan, one line per path, in the order it is applied.
    pub fn lines(&self) -> Vec<MountLine> {
        #[cfg(target_os = "linux")]
        {
            self.plan.lines()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Vec::new()
        }
    }
}

/// What the Landlock-only fallback loses, for `--dry-run` and `setup`.
pub const MOUNT_FALLBACK_LOSES: &str = "carved directories (e.g. ~ under --allow ~) cannot be listed; chmod, chown, utime and xattr changes are not confined to the write grants; no private /tmp, /var/tmp, /dev/shm or ptys";

/// Whether the mount-namespace layer can be used here and, if so, its
/// plan for `policy`; else why not. Changes nothing (the kernel's support
/// is found out in a short-lived child process).
pub fn mount_layer(policy: &Policy) -> Result<MountLayer, String> {
    #[cfg(target_os = "linux")]
    {
        if mount_layer_forced_off() {
            return Err("turned off for testing (NONO_TEST_NO_MOUNT_NS)".into());
        }
        mountns::probe().map_err(|e| e.to_string())?;
        mount_layer_plan(policy, None)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = policy;
        Err("mount namespaces are a Linux feature".into())
    }
}

/// Whether the mount-namespace layer can be set up here (for `setup`).
pub fn mount_layer_available() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        if mount_layer_forced_off() {
            return Err("turned off for testing (NONO_TEST_NO_MOUNT_NS)".into());
        }
        mountns::probe()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("mount namespaces are a Linux feature".into())
    }
}

/// How to let nono create user namespaces here, for `setup`.
pub const MOUNT_LAYER_ENABLE: [&str; 3] = [
    "allow unprivileged user namespaces: 'sysctl -w kernel.unprivileged_userns_clone=1' (Debian kernels) and a non-zero 'user.max_user_namespaces'",
    "on Ubuntu 23.10 and later, AppArmor restricts them: install the profile printed by 'nono setup --apparmor-profile' as /etc/apparmor.d/nono and run 'apparmor_parser -r /etc/apparmor.d/nono' (or set kernel.apparmor_restrict_unprivileged_userns=0 for every program)",
    "in a container: run it with user namespaces allowed (e.g. without a seccomp profile that refuses unshare/clone with CLONE_NEWUSER)",
];

/// An AppArmor profile that lets the nono binary at `exe` create user
/// namespaces and changes nothing else (the `unconfined` flag).
pub fn apparmor_profile(exe: &std::path::Path) -> String {
    format!(
        "# nono: allow creating user namespaces for its mount-namespace layer.\n\
         abi <abi/4.0>,\n\
         include <tunables/global>\n\n\
         profile nono {} flags=(unconfined) {{\n  userns,\n\n  include if exists <local/nono>\n}}\n",
        exe.display()
    )
}

/// The plan, without probing the kernel (a real run finds out by trying).
/// `run_dir`: the run's private directory, bound on /tmp where /tmp is
/// made private (`None` for descriptions: a tmpfs stands in).
pub fn mount_layer_plan(
    policy: &Policy,
    run_dir: Option<&std::path::Path>,
) -> Result<MountLayer, String> {
    #[cfg(target_os = "linux")]
    {
        if mount_layer_forced_off() {
            return Err("turned off for testing (NONO_TEST_NO_MOUNT_NS)".into());
        }
        let table = mountns::mount_table().map_err(|e| e.to_string())?;
        Ok(MountLayer {
            plan: mountns::plan(policy, &table, run_dir),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (policy, run_dir);
        Err("mount namespaces are a Linux feature".into())
    }
}

/// Sets the plan up in the mount namespace the caller has just entered
/// (`namespaces::enter` with `mount: true`, one call with the other layers'
/// namespaces). `Ok(Err(reason))`: the kernel cannot provide the layer and
/// nothing visible was changed, so the Landlock-only sandbox may still be
/// applied. `Err`: the layer failed half-way; the command must not run.
pub fn apply_mount_layer(layer: &MountLayer) -> Result<Result<(), String>, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        match mountns::apply(&layer.plan) {
            Ok(()) => Ok(Ok(())),
            Err(e @ mountns::MountError::Unavailable { .. }) => Ok(Err(e.to_string())),
            Err(e) => Err(SandboxError::MountLayer(e)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = layer;
        Ok(Err("mount namespaces are a Linux feature".into()))
    }
}

/// The test-only switch that forces the Landlock-only fallback, so that
/// the whole suite runs on both paths (honoured only in test builds).
#[cfg(all(target_os = "linux", feature = "test-abi-cap"))]
fn mount_layer_forced_off() -> bool {
    std::env::var_os("NONO_TEST_NO_MOUNT_NS").is_some_and(|v| v == "1")
}

#[cfg(all(target_os = "linux", not(feature = "test-abi-cap")))]
fn mount_layer_forced_off() -> bool {
    false
}
