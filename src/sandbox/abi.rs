//! The one table of kernel features nono relies on: each Landlock ABI as a
//! type ([`Abi`]: its number, the Linux release that brought it, what it
//! adds and whether nono uses it), and the other kernel interfaces the
//! layers need ([`KERNEL`]). Every threshold in the backends, every
//! "needs Linux X" in a message and every table in `setup`, `--dry-run`
//! and SPEC.md reads these, so a version appears once in the code.
//!
//! Platform-neutral data: built everywhere (macOS reports "no Landlock"
//! from the same table).

use std::cmp::Ordering;
use std::fmt;

/// A Landlock ABI version. Ordered: a kernel with ABI n has every feature
/// of the versions below n.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    /// Linux 5.13: filesystem access control (read, write, execute,
    /// make, remove, per hierarchy).
    V1 = 1,
    /// Linux 5.19: REFER, rename and link across directories (denied
    /// with EXDEV on ABI 1).
    V2 = 2,
    /// Linux 6.2: TRUNCATE, truncation controlled per path.
    V3 = 3,
    /// Linux 6.7: TCP bind and connect controlled per port.
    V4 = 4,
    /// Linux 6.10: IOCTL_DEV, ioctl on device files.
    V5 = 5,
    /// Linux 6.12: scopes, signals and abstract Unix sockets reach only
    /// the sandbox.
    V6 = 6,
    /// Linux 6.15: audit logging of denials (not used by nono).
    V7 = 7,
    /// Linux 7.0: restricting all threads of a process at once (not used
    /// by nono, which restricts itself before it starts threads).
    V8 = 8,
    /// Linux 7.1: connect() to pathname Unix sockets controlled per path
    /// (not used yet: a Unix socket grant is all-or-nothing).
    V9 = 9,
    /// Linux 7.2: UDP bind and send controlled per port (not used yet).
    V10 = 10,
}

impl Abi {
    /// Every version, oldest first.
    pub const ALL: [Abi; 10] = [
        Abi::V1,
        Abi::V2,
        Abi::V3,
        Abi::V4,
        Abi::V5,
        Abi::V6,
        Abi::V7,
        Abi::V8,
        Abi::V9,
        Abi::V10,
    ];

    /// The newest ABI nono handles. Newer kernels are used at this ABI:
    /// their extra rights are not handled, i.e. behave as before. ABI 7
    /// and 8 add nothing nono needs; 9 and 10 are not used yet.
    pub const TARGET: Abi = Abi::V6;
    /// Filesystem rules at all.
    pub const FS: Abi = Abi::V1;
    /// Truncation per path: below it seccomp refuses truncation
    /// everywhere and `--allow-delete` is refused.
    pub const TRUNCATE: Abi = Abi::V3;
    /// TCP port rules: below it port grants are refused and `--net-block`
    /// is seccomp's alone.
    pub const NET: Abi = Abi::V4;
    /// Signal and abstract-socket scopes.
    pub const SCOPES: Abi = Abi::V6;
    /// Per-path control of connect() to Unix sockets.
    pub const UNIX_PATHS: Abi = Abi::V9;

    /// The ABI number the kernel reports.
    pub const fn number(self) -> i32 {
        self as i32
    }

    /// The first Linux release that has it.
    pub const fn linux(self) -> &'static str {
        match self {
            Abi::V1 => "5.13",
            Abi::V2 => "5.19",
            Abi::V3 => "6.2",
            Abi::V4 => "6.7",
            Abi::V5 => "6.10",
            Abi::V6 => "6.12",
            Abi::V7 => "6.15",
            Abi::V8 => "7.0",
            Abi::V9 => "7.1",
            Abi::V10 => "7.2",
        }
    }

    /// Stable short name (`setup --json`).
    pub const fn name(self) -> &'static str {
        match self {
            Abi::V1 => "fs",
            Abi::V2 => "refer",
            Abi::V3 => "truncate",
            Abi::V4 => "tcp",
            Abi::V5 => "ioctl_dev",
            Abi::V6 => "scopes",
            Abi::V7 => "audit",
            Abi::V8 => "tsync",
            Abi::V9 => "unix_socket_paths",
            Abi::V10 => "udp",
        }
    }

    /// What the version adds.
    pub const fn what(self) -> &'static str {
        match self {
            Abi::V1 => "filesystem access control",
            Abi::V2 => "rename and link across directories",
            Abi::V3 => "truncation control",
            Abi::V4 => "TCP bind and connect control",
            Abi::V5 => "ioctl control on device files",
            Abi::V6 => "signal and abstract unix socket scoping",
            Abi::V7 => "audit logging of denials",
            Abi::V8 => "sandboxing all threads of a process at once",
            Abi::V9 => "connect control for pathname unix sockets",
            Abi::V10 => "UDP bind and send control",
        }
    }

    /// Whether a newer kernel with this version would give nono more
    /// (audit logging and thread sync would not).
    pub const fn worth_upgrading_for(self) -> bool {
        !matches!(self, Abi::V7 | Abi::V8)
    }

    /// The version numbered `n`, if nono knows it.
    pub fn from_number(n: i32) -> Option<Abi> {
        Abi::ALL.into_iter().find(|a| a.number() == n)
    }

    /// "Landlock ABI n (Linux x.y)", for messages.
    pub fn needs(self) -> String {
        format!("Landlock ABI {} (Linux {})", self.number(), self.linux())
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

// The ABI in use is an `i32` (0 when there is none, negative for a probe
// error): compare it with a version directly, `abi >= Abi::TRUNCATE`.
impl PartialEq<Abi> for i32 {
    fn eq(&self, other: &Abi) -> bool {
        *self == other.number()
    }
}

impl PartialOrd<Abi> for i32 {
    fn partial_cmp(&self, other: &Abi) -> Option<Ordering> {
        Some(self.cmp(&other.number()))
    }
}

/// One Landlock ABI version and what it brings, as `setup` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub abi: i32,
    /// Stable short name (`--json`).
    pub name: &'static str,
    /// The first Linux release that has it.
    pub linux: &'static str,
    pub what: &'static str,
}

const fn feature(a: Abi) -> Feature {
    Feature {
        abi: a.number(),
        name: a.name(),
        linux: a.linux(),
        what: a.what(),
    }
}

/// Every Landlock ABI version known to nono, oldest first.
pub const FEATURES: [Feature; 10] = [
    feature(Abi::V1),
    feature(Abi::V2),
    feature(Abi::V3),
    feature(Abi::V4),
    feature(Abi::V5),
    feature(Abi::V6),
    feature(Abi::V7),
    feature(Abi::V8),
    feature(Abi::V9),
    feature(Abi::V10),
];

/// The Linux kernel interfaces besides Landlock (Linux only: macOS has
/// none of them).
#[cfg(target_os = "linux")]
mod interfaces {
    /// A kernel interface other than Landlock that a layer relies on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct KernelFeature {
        pub name: &'static str,
        /// The first Linux release that has it.
        pub linux: &'static str,
        /// What nono uses it for, and what happens without it.
        pub why: &'static str,
    }

    /// seccomp filters: the layer that covers what Landlock cannot see.
    pub const SECCOMP_FILTER: KernelFeature = KernelFeature {
        name: "seccomp filters",
        linux: "3.5",
        why: "socket families, io_uring, terminal ioctls, the keyring, setuid bits, mounts and namespaces; without them nono refuses",
    };
    /// openat2 with RESOLVE_NO_SYMLINKS: every Landlock rule's path is opened
    /// without following a symlink planted after resolution.
    pub const OPENAT2: KernelFeature = KernelFeature {
        name: "openat2",
        linux: "5.6",
        why: "each rule's path is opened without following symlinks; without it no rule can be added and nono refuses",
    };
    /// The mount API (fsopen, fsmount, open_tree, move_mount).
    pub const MOUNT_API: KernelFeature = KernelFeature {
        name: "mount API",
        linux: "5.2",
        why: "the mount layer's private tmpfs and masks; without it the Landlock-only sandbox runs",
    };
    /// mount_setattr: read-only and nosuid binds, recursively.
    pub const MOUNT_SETATTR: KernelFeature = KernelFeature {
        name: "mount_setattr",
        linux: "5.12",
        why: "the mount layer's read-only view; without it the Landlock-only sandbox runs",
    };
    /// Every kernel interface nono relies on besides Landlock, oldest first,
    /// for SPEC.md's generated table.
    #[cfg(test)]
    pub const KERNEL: [KernelFeature; 4] = [SECCOMP_FILTER, MOUNT_API, OPENAT2, MOUNT_SETATTR];

    /// The other kernel interfaces as Markdown, for SPEC.md.
    #[cfg(test)]
    pub fn kernel_table() -> String {
        let mut s = String::from("| interface | Linux | what nono uses it for |\n|---|---|---|\n");
        for k in KERNEL {
            s += &format!("| {} | {} | {} |\n", k.name, k.linux, k.why);
        }
        s
    }
}
#[cfg(target_os = "linux")]
pub use self::interfaces::*;

/// The Landlock table as Markdown, for SPEC.md (a test keeps SPEC's copy
/// equal to it).
#[cfg(test)]
pub fn landlock_table() -> String {
    let mut s = String::from("| ABI | Linux | adds | nono |\n|---|---|---|---|\n");
    for a in Abi::ALL {
        let used = if a <= Abi::TARGET {
            "used".to_string()
        } else {
            format!("not used (treated as ABI {})", Abi::TARGET)
        };
        s += &format!(
            "| {} | {} | {} (`{}`) | {used} |\n",
            a.number(),
            a.linux(),
            a.what(),
            a.name()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_in_order() {
        for (i, a) in Abi::ALL.iter().enumerate() {
            assert_eq!(a.number(), i as i32 + 1);
            assert_eq!(Abi::from_number(a.number()), Some(*a));
            assert_eq!(FEATURES[i].abi, a.number());
        }
        assert_eq!(Abi::from_number(0), None);
        assert!(3 >= Abi::TRUNCATE && 2 < Abi::TRUNCATE && 6 == Abi::TARGET);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_table_is_oldest_first() {
        let v = |s: &str| -> Vec<u32> { s.split('.').filter_map(|p| p.parse().ok()).collect() };
        for w in KERNEL.windows(2) {
            assert!(v(w[0].linux) <= v(w[1].linux), "{w:?}");
        }
    }
}

#[cfg(test)]
mod spec_tests {
    #[test]
    fn spec_landlock_table_is_generated() {
        crate::sandbox::plan::spec_block::check("landlock-abi", &super::landlock_table());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn spec_kernel_table_is_generated() {
        crate::sandbox::plan::spec_block::check("kernel-interfaces", &super::kernel_table());
    }
}
