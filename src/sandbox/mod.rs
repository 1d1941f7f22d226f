//! Turning a [`Policy`] into kernel enforcement. The platform is chosen at
//! the `mod` lines; everything above this module is platform-neutral.

use crate::policy::Policy;

#[cfg(target_os = "linux")]
mod landlock;
#[cfg(target_os = "linux")]
pub use self::landlock::Support;
#[cfg(target_os = "macos")]
mod macos;
// Profile generation is pure and built everywhere, so that it is tested on
// every platform; only macos.rs applies it.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub mod seatbelt;

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
    #[error("Landlock {op} failed: {detail}")]
    Landlock { op: &'static str, detail: String },
    #[error(
        "Landlock reports the ruleset as {0}: refusing to run with less protection than asked for"
    )]
    NotFullyEnforced(String),
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

impl SandboxError {
    pub fn hints(&self) -> Vec<String> {
        match self {
            SandboxError::LandlockUnavailable(_) => vec![
                "nono needs Linux 5.13 or later with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y, 'landlock' in the lsm= boot parameter)".into(),
                "run 'nono setup' to see what this machine supports".into(),
            ],
            SandboxError::MissingFeature { .. } => {
                vec!["upgrade the kernel, or run 'nono setup' to see what this machine supports".into()]
            }
            SandboxError::SeatbeltProfile(_) => vec![
                "Seatbelt takes paths as UTF-8 C strings; nono refuses rather than leave a path out of the profile".into(),
                "rename the path, or grant a directory above it instead".into(),
            ],
            SandboxError::Seatbelt(_) => vec![
                "this is a bug in nono or an incompatibility with this macOS version; please report it with the output of 'nono run --dry-run'".into(),
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
        macos::check(policy)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = policy;
        Err(SandboxError::UnsupportedOs)
    }
}

/// Applies `policy` to this process, irreversibly. On success every process
/// started from here on is confined.
pub fn apply(policy: &Policy) -> Result<Enforced, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        landlock::apply(policy, &Support::detect())
    }
    #[cfg(target_os = "macos")]
    {
        macos::apply(policy)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = policy;
        Err(SandboxError::UnsupportedOs)
    }
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
