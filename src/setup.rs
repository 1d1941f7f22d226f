//! `nono setup`: what this machine can enforce, and what to upgrade.
//!
//! Detection reads the kernel (uname, the Landlock ABI probe, seccomp) and
//! changes nothing. Which contract guarantees hold is a pure function of
//! what was detected ([`guarantees`]), so it is unit-tested for every ABI.

use crate::sandbox::abi::Abi;
pub use crate::sandbox::abi::FEATURES;

/// How far a guarantee holds here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Full,
    Partial,
    None,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Full => "full",
            Level::Partial => "partial",
            Level::None => "none",
        }
    }
}

/// One contract guarantee and how far it holds on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarantee {
    /// Stable identifier (`--json`).
    pub id: &'static str,
    pub title: &'static str,
    pub level: Level,
    pub detail: String,
}

/// seccomp as this process sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seccomp {
    /// The kernel can install seccomp filters (SECCOMP_MODE_FILTER).
    pub filter: bool,
    /// The `Seccomp:` mode of this process (0 none, 1 strict, 2 filter),
    /// when /proc tells.
    pub mode: Option<u8>,
}

/// Landlock as detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landlock {
    /// The kernel's ABI, when Landlock is usable.
    pub kernel_abi: Option<i32>,
    /// The ABI nono uses here (0 when none).
    pub abi: i32,
    /// The newest ABI this nono knows.
    pub target_abi: i32,
    /// Why Landlock cannot be used, when it cannot.
    pub unavailable: Option<String>,
    pub test_cap: Option<i32>,
}

/// Everything `nono setup` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub os: &'static str,
    pub kernel_release: String,
    pub landlock: Landlock,
    pub seccomp: Seccomp,
    pub guarantees: Vec<Guarantee>,
    /// `None` when nono can run commands here; else why it cannot.
    pub refusal: Option<String>,
    pub upgrades: Vec<String>,
    /// The seccomp rules every sandbox gets here (without options).
    pub seccomp_rules: Vec<crate::sandbox::PlannedRule>,
}

impl Report {
    pub fn usable(&self) -> bool {
        self.refusal.is_none()
    }
}

/// Detects what this machine offers. Reads only.
pub fn detect() -> Report {
    let landlock = detect_landlock();
    let seccomp = detect_seccomp();
    let refusal = crate::sandbox::check_baseline()
        .err()
        .map(|e| e.to_string());
    let mut guarantees = guarantees(landlock.abi, &seccomp);
    if refusal.is_some() {
        // nono refuses to run at all: nothing it promises holds here.
        for g in &mut guarantees {
            g.level = Level::None;
            g.detail = format!("nono does not run here; with a usable kernel: {}", g.detail);
        }
    }
    // The hardening line says what the filter refuses here, from the
    // enforcement lines `--dry-run` prints for a sandbox without options.
    if seccomp.filter && refusal.is_none() {
        let lines = crate::sandbox::default_guarantees();
        let parts: Vec<&str> = ["terminal", "io_uring", "keyring", "syscall ABI"]
            .iter()
            .filter_map(|t| lines.iter().find(|g| g.topic == *t))
            .map(|g| g.text.as_str())
            .collect();
        if let Some(g) = guarantees.iter_mut().find(|g| g.id == "hardening") {
            if !parts.is_empty() {
                g.detail = parts.join("; ");
            }
        }
    }
    let mut upgrades = upgrades(&landlock);
    // The mount-namespace layer: on where the kernel lets nono create a
    // user namespace (or nono runs as root); else the Landlock-only
    // sandbox runs.
    let mount = crate::sandbox::mount_layer_available();
    guarantees.push(Guarantee {
        id: "mount_layer",
        title: "mount-namespace layer",
        level: if mount.is_ok() && refusal.is_none() {
            Level::Full
        } else {
            Level::None
        },
        detail: match &mount {
            Ok(()) => "active: protected entries masked (carved directories listable), everything outside the write grants read-only (chmod, chown, utime, xattrs), private /tmp, /var/tmp, /dev/shm and ptys".into(),
            Err(reason) => format!(
                "not available ({reason}): nono runs with Landlock and seccomp only, which loses: {}",
                crate::sandbox::MOUNT_FALLBACK_LOSES
            ),
        },
    });
    if mount.is_err() && cfg!(target_os = "linux") {
        upgrades.extend(
            crate::sandbox::MOUNT_LAYER_ENABLE
                .iter()
                .map(|s| s.to_string()),
        );
    }
    Report {
        os: std::env::consts::OS,
        kernel_release: kernel_release(),
        refusal,
        landlock,
        seccomp,
        guarantees,
        upgrades,
        seccomp_rules: crate::sandbox::default_seccomp_rules(),
    }
}

#[cfg(target_os = "linux")]
fn detect_landlock() -> Landlock {
    let s = crate::sandbox::Support::detect();
    Landlock {
        kernel_abi: (s.kernel_abi > 0).then_some(s.kernel_abi),
        abi: s.abi.max(0),
        target_abi: Abi::TARGET.number(),
        unavailable: s.unavailable_reason(),
        test_cap: s.test_cap,
    }
}

#[cfg(not(target_os = "linux"))]
fn detect_landlock() -> Landlock {
    Landlock {
        kernel_abi: None,
        abi: 0,
        target_abi: 0,
        unavailable: Some("not Linux".into()),
        test_cap: None,
    }
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn detect_seccomp() -> Seccomp {
    let filter = crate::sandbox::seccomp_filter_available();
    // Only Linux has the file; elsewhere the mode is unknown.
    let mode = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Seccomp:"))
                .and_then(|v| v.trim().parse().ok())
        });
    Seccomp { filter, mode }
}

/// Which guarantees hold when nono uses Landlock ABI `abi` (0: none).
pub fn guarantees(abi: i32, seccomp: &Seccomp) -> Vec<Guarantee> {
    let needs = |a: Abi| format!("needs {}", a.needs());
    let mut g = Vec::new();
    g.push(Guarantee {
        id: "filesystem",
        title: "filesystem confinement",
        level: if abi >= Abi::FS {
            Level::Full
        } else {
            Level::None
        },
        detail: if abi >= Abi::FS {
            "only granted paths and system defaults are reachable".into()
        } else {
            needs(Abi::FS)
        },
    });
    let sc = seccomp.filter;
    g.push(Guarantee {
        id: "delete_protection",
        title: "delete protection",
        level: match abi {
            a if a >= Abi::TRUNCATE => Level::Full,
            a if a >= Abi::FS && sc => Level::Full,
            a if a >= Abi::FS => Level::Partial,
            _ => Level::None,
        },
        detail: match abi {
            a if a >= Abi::TRUNCATE => "unlink, rmdir, rename and truncate denied outside --allow-delete".into(),
            a if a >= Abi::FS && sc => format!(
                "unlink, rmdir and rename denied by Landlock, truncation by seccomp everywhere; --allow-delete {}",
                needs(Abi::TRUNCATE)
            ),
            a if a >= Abi::FS => format!("unlink, rmdir and rename denied; truncation {}", needs(Abi::TRUNCATE)),
            _ => needs(Abi::FS),
        },
    });
    g.push(Guarantee {
        id: "truncation_protection",
        title: "truncation protection",
        level: match abi {
            a if a >= Abi::TRUNCATE => Level::Full,
            a if a >= Abi::FS && sc => Level::Full,
            _ => Level::None,
        },
        detail: match abi {
            a if a >= Abi::TRUNCATE => "O_TRUNC and truncate() denied outside --allow-delete".into(),
            a if a >= Abi::FS && sc => format!(
                "by seccomp: every O_TRUNC, creat, truncate and ftruncate fails, even on new files and /dev/null (programs that truncate break); scoped by path {}",
                needs(Abi::TRUNCATE)
            ),
            _ => format!("{} or seccomp", needs(Abi::TRUNCATE)),
        },
    });
    g.push(network_guarantee(abi, seccomp));
    g.push(Guarantee {
        id: "scopes",
        title: "signal and abstract-socket scoping",
        level: match abi {
            a if a >= Abi::SCOPES => Level::Full,
            _ if sc => Level::Partial,
            _ => Level::None,
        },
        detail: match abi {
            a if a >= Abi::SCOPES => "no signals to, and no abstract unix socket connections with, processes outside".into(),
            _ if sc => format!(
                "abstract unix sockets refused by seccomp (no AF_UNIX sockets without a grant); signals to outside processes {}",
                needs(Abi::SCOPES)
            ),
            _ => needs(Abi::SCOPES),
        },
    });
    g.push(Guarantee {
        id: "unix_socket_paths",
        title: "host unix sockets",
        level: match (abi >= Abi::UNIX_PATHS, sc) {
            (true, _) => Level::Full,
            (false, true) => Level::Full,
            (false, false) => Level::None,
        },
        detail: if sc {
            format!(
                "no connection to docker.sock, D-Bus, ssh-agent without --allow-unix-socket (seccomp refuses AF_UNIX sockets; a grant allows all unix sockets until per-path control, which {})",
                needs(Abi::UNIX_PATHS)
            )
        } else {
            format!("connecting to host sockets such as docker.sock is not controlled: {}", needs(Abi::UNIX_PATHS))
        },
    });
    // Partial, never full: other terminals are unreachable, but a pty the
    // command opens itself through /dev/ptmx cannot be used (its
    // /dev/pts/N side has no rule), so script, tmux and pty.openpty fail.
    g.push(Guarantee {
        id: "terminals",
        title: "other terminals",
        level: if abi >= Abi::FS { Level::Partial } else { Level::None },
        detail: if abi >= Abi::FS {
            "only the command's own terminal, /dev/tty and /dev/ptmx: other terminals of the user cannot be read or written; new ptys made inside (script, tmux, pty.openpty) cannot be opened".into()
        } else {
            "needs Landlock".into()
        },
    });
    g.push(Guarantee {
        id: "hardening",
        title: "keystroke injection, io_uring, keyring, x32",
        level: if sc { Level::Full } else { Level::None },
        detail: if sc {
            "TIOCSTI/TIOCLINUX, io_uring, keyctl and AF_VSOCK sockets refused; x32 and foreign-architecture calls kill the process".into()
        } else {
            "needs seccomp filters".into()
        },
    });
    g
}

/// `--net-block` as the kernel can enforce it: seccomp refuses every
/// socket family but Unix on every ABI; Landlock adds TCP control from
/// [`Abi::NET`].
fn network_guarantee(abi: i32, seccomp: &Seccomp) -> Guarantee {
    let (level, detail) = match (abi >= Abi::NET, seccomp.filter) {
        (true, true) => (
            Level::Full,
            "seccomp refuses every IP, packet, netlink and vsock socket; Landlock also denies TCP bind/connect; port grants by Landlock".to_string(),
        ),
        (false, true) => (
            Level::Full,
            format!(
                "seccomp refuses every IP, packet, netlink and vsock socket; port grants need ABI {} (Linux {})",
                Abi::NET,
                Abi::NET.linux()
            ),
        ),
        (true, false) => (
            Level::Partial,
            "TCP only; UDP and other protocols need seccomp, which is unavailable".to_string(),
        ),
        (false, false) => (
            Level::None,
            format!("needs seccomp or Landlock ABI {}", Abi::NET),
        ),
    };
    Guarantee {
        id: "network",
        title: "network air gap (--net-block)",
        level,
        detail,
    }
}

/// What to upgrade, most important first.
fn upgrades(l: &Landlock) -> Vec<String> {
    let mut out = Vec::new();
    let Some(kernel) = l.kernel_abi else {
        out.push(format!(
            "enable Landlock: Linux {} or later with CONFIG_SECURITY_LANDLOCK=y and 'landlock' in the lsm= boot parameter (Linux {} or later avoids the blunt seccomp truncation fallback)",
            Abi::FS.linux(),
            Abi::TRUNCATE.linux()
        ));
        return out;
    };
    for a in Abi::ALL.into_iter().filter(|a| kernel < *a) {
        if !a.worth_upgrading_for() {
            // Not used by nono: nothing to gain from upgrading for them.
            continue;
        }
        let why = if a == Abi::TRUNCATE {
            " (without it seccomp denies every truncation and --allow-delete is refused)"
        } else {
            ""
        };
        out.push(format!("Linux {} adds {}{why}", a.linux(), a.what()));
    }
    if kernel > l.target_abi {
        out.push(format!(
            "this kernel has ABI {kernel}; this nono uses up to ABI {}: a newer nono may use more",
            l.target_abi
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(filter: bool) -> Seccomp {
        Seccomp { filter, mode: None }
    }

    fn level(abi: i32, id: &str) -> Level {
        guarantees(abi, &sec(true))
            .into_iter()
            .find(|g| g.id == id)
            .unwrap()
            .level
    }

    #[test]
    fn guarantees_follow_the_abi() {
        assert_eq!(level(0, "filesystem"), Level::None);
        assert_eq!(level(1, "filesystem"), Level::Full);
        // Below ABI 3 seccomp stands in for truncation control.
        assert_eq!(level(2, "delete_protection"), Level::Full);
        assert_eq!(level(3, "delete_protection"), Level::Full);
        assert_eq!(level(2, "truncation_protection"), Level::Full);
        assert_eq!(level(5, "scopes"), Level::Partial);
        assert_eq!(level(6, "scopes"), Level::Full);
        assert_eq!(level(6, "unix_socket_paths"), Level::Full);
        assert_eq!(level(1, "network"), Level::Full);
        assert_eq!(level(6, "network"), Level::Full);
        let no_seccomp = guarantees(2, &sec(false));
        let at = |id: &str| no_seccomp.iter().find(|g| g.id == id).unwrap().level;
        assert_eq!(at("network"), Level::None);
        assert_eq!(at("truncation_protection"), Level::None);
        assert_eq!(at("delete_protection"), Level::Partial);
    }

    #[test]
    fn upgrades_name_the_kernel() {
        let l = Landlock {
            kernel_abi: Some(2),
            abi: 2,
            target_abi: 6,
            unavailable: None,
            test_cap: None,
        };
        let u = upgrades(&l);
        assert!(
            u[0].contains("Linux 6.2") && u[0].contains("--allow-delete is refused"),
            "{u:?}"
        );
        let none = Landlock {
            kernel_abi: None,
            ..l
        };
        assert!(upgrades(&none)[0].contains("enable Landlock"));
    }
}
