//! What every layer will enforce, as data: the Landlock rights handled and
//! the port rules, every seccomp rule with its reasons, the mount plan's
//! lines, and the guarantees they add up to. Each is derived by the
//! backend from the very values it installs (`landlock::handled_for`,
//! `landlock::port_rules`, `seccomp::build`, `mountns::plan`), so
//! `--dry-run`, `setup`, `why` and SPEC.md's generated tables read what the
//! kernel receives, never a second description.
//!
//! Platform-neutral types; the backend (`linux/mod.rs`) fills them.

/// One line of the `--dry-run` "enforcement" section: a guarantee (or a
/// gap) and the kernel layer that provides it on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarantee {
    pub topic: &'static str,
    pub text: String,
}

/// One installed seccomp rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRule {
    pub syscall: &'static str,
    pub errno: &'static str,
    /// Refused whatever the arguments (else only for some).
    pub always: bool,
    /// The filter's own reasons (`SyscallRule.why`), one per merged rule.
    pub why: Vec<&'static str>,
}

/// One Landlock network rule: a TCP port and the rights granted on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortRule {
    pub port: u16,
    /// As the landlock crate spells them (`BindTcp`, `ConnectTcp`).
    pub rights: Vec<String>,
}

/// What the kernel layers will receive for a policy: built by the same
/// functions `apply` uses, so the description cannot leave out a rule
/// that is installed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelPlan {
    pub abi: i32,
    pub landlock_fs: Vec<String>,
    pub landlock_net: Vec<String>,
    pub landlock_scopes: Vec<String>,
    /// The port rules added to the ruleset (empty unless ports are granted
    /// and the network is handled).
    pub landlock_ports: Vec<PortRule>,
    pub seccomp: Vec<PlannedRule>,
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

/// SPEC.md's generated blocks: each sits between
/// `<!-- generated: NAME (cargo test; NONO_UPDATE_SPEC=1 rewrites it) -->`
/// and `<!-- end generated: NAME -->`, and a unit test holds it equal to
/// the text generated from the code.
#[cfg(test)]
pub mod spec_block {
    fn spec_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("SPEC.md")
    }

    fn markers(name: &str) -> (String, String) {
        (
            format!("<!-- generated: {name} (cargo test; NONO_UPDATE_SPEC=1 rewrites it) -->\n"),
            format!("<!-- end generated: {name} -->"),
        )
    }

    /// Asserts that SPEC.md's block `name` is `want` (or rewrites it when
    /// NONO_UPDATE_SPEC=1).
    pub fn check(name: &str, want: &str) {
        let path = spec_path();
        let spec = std::fs::read_to_string(&path).unwrap();
        let (open, close) = markers(name);
        let start = spec
            .find(&open)
            .unwrap_or_else(|| panic!("SPEC.md has no block {open:?}"))
            + open.len();
        let end = start
            + spec[start..]
                .find(&close)
                .unwrap_or_else(|| panic!("SPEC.md: block {name} is not closed"));
        if &spec[start..end] == want {
            return;
        }
        if std::env::var_os("NONO_UPDATE_SPEC").is_some_and(|v| v == "1") {
            let new = format!("{}{want}{}", &spec[..start], &spec[end..]);
            std::fs::write(&path, new).unwrap();
            return;
        }
        panic!(
            "SPEC.md's block {name} differs from the code; review with NONO_UPDATE_SPEC=1 cargo test --bin nono spec_ && git diff SPEC.md\n--- SPEC.md\n{}\n--- generated\n{want}",
            &spec[start..end]
        );
    }
}
