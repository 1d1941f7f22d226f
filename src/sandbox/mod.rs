//! Turning a [`Policy`] into kernel enforcement: the one facade above the
//! platform backends. The platform is chosen once, at the `type Platform`
//! lines below; every function here delegates to it, and everything above
//! this module is platform-neutral. [`abi`] is the table of kernel
//! features, [`plan`] what each layer will enforce (what every report
//! reads).

use std::path::{Path, PathBuf};

use crate::policy::{Policy, Rule};

pub mod abi;
pub mod plan;

pub use self::plan::{Guarantee, KernelPlan, MountLine, PlannedRule};

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use self::linux::landlock::Support;
#[cfg(target_os = "linux")]
pub use self::linux::{namespaces, netns};
mod macos;

/// The backend of this platform.
#[cfg(target_os = "linux")]
type Platform = linux::Linux;
#[cfg(target_os = "macos")]
type Platform = macos::MacOs;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
type Platform = Unsupported;

/// What a platform backend provides. Implemented once per platform
/// (`linux::Linux`, `macos::MacOs`, [`Unsupported`]).
trait Backend {
    /// The mount layer's plan; an uninhabited type where there is no mount
    /// layer.
    type MountPlan: MountPlanApi + Clone + std::fmt::Debug;
    fn check(policy: &Policy) -> Result<(), SandboxError>;
    fn check_baseline() -> Result<(), SandboxError>;
    fn apply(policy: &Policy) -> Result<Enforced, SandboxError>;
    fn drop_capabilities() -> Result<bool, SandboxError>;
    fn privileged() -> bool;
    fn truncation_refused_everywhere() -> bool;
    fn seccomp_filter_available() -> bool;
    fn kernel_plan(policy: &Policy) -> Option<KernelPlan>;
    fn default_seccomp_rules() -> Vec<PlannedRule>;
    fn guarantees(policy: &Policy, keep_caps: bool) -> Vec<Guarantee>;
    fn default_guarantees() -> Vec<Guarantee>;
    fn mount_available() -> Result<(), String>;
    fn mount_plan(policy: &Policy, run_dir: Option<&Path>) -> Result<Self::MountPlan, String>;
    /// Only Linux has a mount layer to apply.
    #[cfg(target_os = "linux")]
    fn apply_mount(plan: &Self::MountPlan) -> Result<Result<(), String>, SandboxError>;
}

/// What the reports ask of a mount plan.
trait MountPlanApi {
    /// Where the layer masks the blocked programs: their directories'
    /// per-file execute rules give way to whole-directory ones.
    fn mask_programs(&self, policy: &mut Policy);
    fn rules(&self) -> Vec<Rule>;
    fn why_rules(&self) -> Vec<Rule>;
    fn note_for(&self, path: &Path) -> Option<String>;
    fn tmpdir(&self) -> Option<PathBuf>;
    fn lines(&self) -> Vec<MountLine>;
}

/// A platform without a mount layer: no plan can exist.
#[derive(Clone, Debug)]
#[cfg_attr(target_os = "linux", expect(dead_code))]
enum NoMountLayer {}

impl MountPlanApi for NoMountLayer {
    fn mask_programs(&self, _: &mut Policy) {
        match *self {}
    }
    fn rules(&self) -> Vec<Rule> {
        match *self {}
    }
    fn why_rules(&self) -> Vec<Rule> {
        match *self {}
    }
    fn note_for(&self, _: &Path) -> Option<String> {
        match *self {}
    }
    fn tmpdir(&self) -> Option<PathBuf> {
        match *self {}
    }
    fn lines(&self) -> Vec<MountLine> {
        match *self {}
    }
}

/// Why the sandbox could not be applied. Every variant means: the command
/// was not run. Variants exist on the platforms that construct them.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[cfg(target_os = "linux")]
    #[error("Landlock is not available: {0}")]
    LandlockUnavailable(String),
    #[cfg(target_os = "linux")]
    #[error("this kernel cannot enforce {feature}: it needs {}, this kernel has ABI {have}", abi.needs())]
    MissingFeature {
        feature: &'static str,
        abi: abi::Abi,
        have: i32,
    },
    #[cfg(target_os = "linux")]
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
    #[cfg(target_os = "linux")]
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
    #[cfg(target_os = "linux")]
    #[error("cannot drop capabilities: {op} failed: {source}")]
    Capabilities {
        op: &'static str,
        source: std::io::Error,
    },
    /// The mount-namespace layer failed after it started changing the
    /// mounts.
    #[error(transparent)]
    #[cfg(target_os = "linux")]
    MountLayer(linux::mountns::MountError),
    /// `--require-isolation` and the layer is not available.
    #[error("the mount-namespace layer is not available here: {0}")]
    IsolationRequired(String),
    #[cfg(not(target_os = "linux"))]
    #[error("sandboxing is not supported on this operating system yet")]
    UnsupportedOs,
    /// The policy cannot be written as a Seatbelt profile.
    #[cfg(target_os = "macos")]
    #[error("{0}")]
    SeatbeltProfile(macos::seatbelt::SeatbeltError),
    /// sandbox_init refused the profile; the message is Seatbelt's own.
    #[cfg(target_os = "macos")]
    #[error("Seatbelt refused the sandbox profile: {0}")]
    Seatbelt(String),
}

impl crate::error::Diagnostic for SandboxError {
    fn hints(&self) -> Vec<String> {
        match self {
            #[cfg(target_os = "linux")]
            SandboxError::LandlockUnavailable(_) => vec![
                format!("nono needs Linux {} or later with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y, 'landlock' in the lsm= boot parameter)", abi::Abi::FS.linux()),
                "run 'nono setup' to see what this machine supports".into(),
            ],
            #[cfg(target_os = "linux")]
            SandboxError::MissingFeature { .. } => {
                vec!["upgrade the kernel, or run 'nono setup' to see what this machine supports".into()]
            }
            #[cfg(target_os = "linux")]
            SandboxError::Capabilities { .. } => vec![
                "nono drops every capability of a root caller before running the command".into(),
                "run nono as a normal user, or pass --keep-caps to run with the capabilities kept".into(),
            ],
            #[cfg(target_os = "linux")]
            SandboxError::Seccomp { .. }
            | SandboxError::SeccompCompile { .. }
            | SandboxError::SeccompRules(_) => vec![
                format!("nono needs seccomp filters (CONFIG_SECCOMP_FILTER, Linux {} or later) in addition to Landlock", abi::SECCOMP_FILTER.linux),
            ],
            #[cfg(target_os = "macos")]
            SandboxError::SeatbeltProfile(_) => vec![
                "Seatbelt takes paths as UTF-8 C strings; nono refuses rather than leave a path out of the profile".into(),
                "rename the path, or grant a directory above it instead".into(),
            ],
            #[cfg(target_os = "macos")]
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
            #[cfg(target_os = "linux")]
            SandboxError::OpenRule { source, .. }
                if source.raw_os_error() == Some(libc::ENOSYS) =>
            {
                vec![format!(
                    "nono opens every rule's path with {} (Linux {} or later)",
                    abi::OPENAT2.name,
                    abi::OPENAT2.linux
                )]
            }
            #[cfg(target_os = "linux")]
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
    /// What the user must know about what could not be enforced as asked
    /// (printed by the caller, which owns nono's stderr).
    pub warnings: Vec<String>,
}

/// Checks, without changing anything, that this kernel can enforce
/// everything `policy` asks for.
pub fn check(policy: &Policy) -> Result<(), SandboxError> {
    Platform::check(policy)
}

/// Checks that this machine can enforce the baseline every sandbox has
/// (what `nono setup` reports), whatever the policy.
pub fn check_baseline() -> Result<(), SandboxError> {
    Platform::check_baseline()
}

/// Applies `policy` to this process, irreversibly. On success every process
/// started from here on is confined.
pub fn apply(policy: &Policy) -> Result<Enforced, SandboxError> {
    Platform::apply(policy)
}

/// Drops every capability of a privileged caller (root, or any capability
/// held). Returns whether something was dropped. The last step before exec.
pub fn drop_capabilities() -> Result<bool, SandboxError> {
    Platform::drop_capabilities()
}

/// Whether the caller holds privilege that `drop_capabilities` would drop.
pub fn privileged() -> bool {
    Platform::privileged()
}

/// Whether seccomp refuses truncation everywhere on this kernel (Landlock
/// ABI < 3): then even a descriptor opened before the sandbox cannot be
/// truncated.
pub fn truncation_refused_everywhere() -> bool {
    Platform::truncation_refused_everywhere()
}

/// Whether this kernel can install seccomp filters (probed without
/// installing one), for `setup`.
pub fn seccomp_filter_available() -> bool {
    Platform::seccomp_filter_available()
}

/// The seccomp rules of a sandbox without options on this kernel, for
/// `nono setup` (options add rules; `--dry-run` lists them all).
pub fn default_seccomp_rules() -> Vec<PlannedRule> {
    Platform::default_seccomp_rules()
}

/// What the kernel layers will receive for `policy` (`None` where there is
/// no Landlock to receive it).
pub fn kernel_plan(policy: &Policy) -> Option<KernelPlan> {
    Platform::kernel_plan(policy)
}

/// What this kernel enforces for `policy`, layer by layer.
pub fn guarantees(policy: &Policy, keep_caps: bool) -> Vec<Guarantee> {
    Platform::guarantees(policy, keep_caps)
}

/// The enforcement lines of a sandbox without options on this kernel, for
/// `setup`: the same lines `--dry-run` prints.
pub fn default_guarantees() -> Vec<Guarantee> {
    Platform::default_guarantees()
}

/// What enforces the sandbox on this platform, for `--dry-run` on systems
/// without Landlock's detailed report.
#[cfg(not(target_os = "linux"))]
pub fn backend_summary() -> String {
    #[cfg(target_os = "macos")]
    {
        macos::summary()
    }
    #[cfg(not(target_os = "macos"))]
    {
        "no supported sandbox backend".into()
    }
}

/// The mount-namespace layer as planned for one run.
#[derive(Debug, Clone)]
pub struct MountLayer {
    plan: <Platform as Backend>::MountPlan,
}

impl MountLayer {
    /// Puts the layer's Landlock side into `policy`, for a layer that is
    /// set up (or, for `--dry-run` and `why`, would be): where it masks
    /// the blocked programs, their directories' per-file execute rules
    /// give way to whole-directory ones; then the layer's own rules
    /// ([`MountLayer::rules`], or for `why` [`MountLayer::why_rules`]).
    pub fn install(&self, policy: &mut Policy, for_why: bool) {
        MountPlanApi::mask_programs(&self.plan, policy);
        policy.add_rules(if for_why {
            self.why_rules()
        } else {
            self.rules()
        });
    }

    /// The Landlock rules the layer adds (made after the mounts).
    pub fn rules(&self) -> Vec<crate::policy::Rule> {
        MountPlanApi::rules(&self.plan)
    }

    /// The rules `why` adds (the private directories' are left out).
    pub fn why_rules(&self) -> Vec<crate::policy::Rule> {
        MountPlanApi::why_rules(&self.plan)
    }

    /// What the layer means for `path`, for a `why` note.
    pub fn note_for(&self, path: &std::path::Path) -> Option<String> {
        MountPlanApi::note_for(&self.plan, path)
    }

    /// Where TMPDIR points: the private /tmp, if there is one.
    pub fn tmpdir(&self) -> Option<std::path::PathBuf> {
        MountPlanApi::tmpdir(&self.plan)
    }

    /// The plan, one line per path, in the order it is applied.
    pub fn lines(&self) -> Vec<MountLine> {
        MountPlanApi::lines(&self.plan)
    }
}

/// What the Landlock-only fallback loses, for `--dry-run` and `setup`.
pub const MOUNT_FALLBACK_LOSES: &str = "carved directories (e.g. ~ under --allow ~) cannot be listed; chmod, chown, utime and xattr changes are not confined to the write grants; no private /tmp, /var/tmp, /dev/shm or ptys";

/// Whether the mount-namespace layer can be used here and, if so, its
/// plan for `policy`; else why not. Changes nothing (the kernel's support
/// is found out in a short-lived child process).
pub fn mount_layer(policy: &Policy) -> Result<MountLayer, String> {
    Platform::mount_available()?;
    mount_layer_plan(policy, None)
}

/// Whether the mount-namespace layer can be set up here (for `setup`).
pub fn mount_layer_available() -> Result<(), String> {
    Platform::mount_available()
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
    Ok(MountLayer {
        plan: Platform::mount_plan(policy, run_dir)?,
    })
}

/// Sets the plan up in the mount namespace the caller has just entered
/// (`namespaces::enter` with `mount: true`, one call with the other layers'
/// namespaces). `Ok(Err(reason))`: the kernel cannot provide the layer and
/// nothing visible was changed, so the Landlock-only sandbox may still be
/// applied. `Err`: the layer failed half-way; the command must not run.
#[cfg(target_os = "linux")]
pub fn apply_mount_layer(layer: &MountLayer) -> Result<Result<(), String>, SandboxError> {
    Platform::apply_mount(&layer.plan)
}

/// A platform nono has no backend for: every request is refused.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
struct Unsupported;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
impl Backend for Unsupported {
    type MountPlan = NoMountLayer;
    fn check(_: &Policy) -> Result<(), SandboxError> {
        Err(SandboxError::UnsupportedOs)
    }
    fn check_baseline() -> Result<(), SandboxError> {
        Err(SandboxError::UnsupportedOs)
    }
    fn apply(_: &Policy) -> Result<Enforced, SandboxError> {
        Err(SandboxError::UnsupportedOs)
    }
    fn drop_capabilities() -> Result<bool, SandboxError> {
        Err(SandboxError::UnsupportedOs)
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

#[cfg(test)]
mod tests {
    /// Every raw system call of the backends is behind `linux/sys.rs` (and
    /// the one Seatbelt call behind `macos/ffi.rs`): no other file of the
    /// sandbox has an `unsafe` block or calls `libc::syscall`.
    #[test]
    fn raw_system_calls_stay_behind_sys() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sandbox");
        let mut stack = vec![root.clone()];
        let mut checked = 0;
        // Spelled in pieces so that this file does not match itself.
        let needles = [["uns", "afe"].concat(), ["libc::", "syscall"].concat()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let rel = path.strip_prefix(&root).unwrap();
                if rel == std::path::Path::new("linux/sys.rs")
                    || rel == std::path::Path::new("macos/ffi.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    assert!(
                        !needles.iter().any(|n| code.contains(n.as_str())),
                        "{}:{}: raw system call outside sys.rs: {line}",
                        rel.display(),
                        i + 1
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 10, "only {checked} files checked");
    }
}
