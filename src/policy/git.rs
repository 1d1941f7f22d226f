//! Existing git repositories inside write grants.
//!
//! What git reads from `.git/config` (`core.fsmonitor`, `core.pager`,
//! `core.hooksPath`, aliases, filters) and the programs in `.git/hooks`
//! run at the user's next git command outside the sandbox; shell prompts
//! run `git status` on every `cd`. So both are read-only by default for
//! the repositories nono finds cheaply (no tree walk):
//!
//! - the repository that contains each write grant (the nearest `.git`
//!   at or above it),
//! - a repository directly at each write grant's root and in each of its
//!   direct subdirectories (`--allow ~` covers `~/project/.git`),
//! - the repository that contains the current directory.
//!
//! For each: `config`, `config.worktree` and `hooks` of the git directory
//! (for a worktree or a `gitdir:` file, of the common directory too), and
//! `config` and `hooks` of each submodule under `modules/`. Deeper
//! repositories and working-tree files (`.gitattributes`, `.gitmodules`,
//! `.envrc`) are not covered (SECURITY.md).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::access::Access;

/// The category protected git files are listed under.
pub const CATEGORY: &str = "git repository configuration and hooks";

/// Direct subdirectories of a grant looked at, at most.
const CHILD_LIMIT: usize = 2000;

/// One repository found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    /// The git directory (`.git`, or where a `gitdir:` file points).
    pub git_dir: PathBuf,
    /// What becomes read-only.
    pub protect: Vec<PathBuf>,
}

/// The repositories of `grants` (canonical write-grant paths) and `cwd`.
pub fn repositories(grants: &[PathBuf], cwd: &Path) -> Vec<Repo> {
    let mut dot_gits: Vec<PathBuf> = Vec::new();
    let mut add = |p: PathBuf| {
        if !dot_gits.contains(&p) {
            dot_gits.push(p);
        }
    };
    for g in grants {
        if let Some(d) = containing(g) {
            add(d);
        }
        if let Ok(entries) = std::fs::read_dir(g) {
            for e in entries.flatten().take(CHILD_LIMIT) {
                let Ok(t) = e.file_type() else { continue };
                if t.is_dir() && !t.is_symlink() {
                    let d = e.path().join(".git");
                    if std::fs::symlink_metadata(&d).is_ok() {
                        add(d);
                    }
                }
            }
        }
    }
    if grants.iter().any(|g| super::paths::is_within(cwd, g)) {
        if let Some(d) = containing(cwd) {
            add(d);
        }
    }
    let mut out: Vec<Repo> = Vec::new();
    for d in dot_gits {
        if let Some(r) = repo_of(&d) {
            if !out.iter().any(|o| o.git_dir == r.git_dir) {
                out.push(r);
            }
        }
    }
    out
}

/// The nearest `.git` at or above `dir`.
fn containing(dir: &Path) -> Option<PathBuf> {
    let mut d = Some(dir);
    while let Some(x) = d {
        let g = x.join(".git");
        if std::fs::symlink_metadata(&g).is_ok() {
            return Some(g);
        }
        d = x.parent();
    }
    None
}

/// Reads a `.git` entry: a directory, or a file `gitdir: PATH`.
fn repo_of(dot_git: &Path) -> Option<Repo> {
    let meta = std::fs::metadata(dot_git).ok()?;
    let git_dir = if meta.is_dir() {
        std::fs::canonicalize(dot_git).ok()?
    } else {
        let text = read_small(dot_git)?;
        let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
        let base = dot_git.parent()?;
        std::fs::canonicalize(base.join(target)).ok()?
    };
    // `config.worktree` is read only when `extensions.worktreeConfig` is
    // set in `config`, which is protected: it is protected where it exists
    // (so that the mount layer can cover every entry it protects).
    let entries = |d: &Path| {
        let mut v = vec![d.join("config"), d.join("hooks")];
        if d.join("config.worktree").exists() {
            v.push(d.join("config.worktree"));
        }
        v
    };
    let mut protect = entries(&git_dir);
    // A linked worktree's configuration and hooks live in the common dir.
    if let Some(common) = read_small(&git_dir.join("commondir")) {
        if let Ok(c) = std::fs::canonicalize(git_dir.join(common.trim())) {
            protect.extend(entries(&c));
            submodules(&c, &mut protect);
        }
    }
    submodules(&git_dir, &mut protect);
    Some(Repo { git_dir, protect })
}

/// `modules/NAME/{config,hooks}` (one level; nested submodules of
/// submodules are not looked at).
fn submodules(git_dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(git_dir.join("modules")) else {
        return;
    };
    for e in entries.flatten().take(CHILD_LIMIT) {
        let p = e.path();
        if p.join("config").exists() {
            out.push(p.join("config"));
            out.push(p.join("hooks"));
        }
    }
}

fn read_small(p: &Path) -> Option<String> {
    use std::io::Read;
    let meta = std::fs::metadata(p).ok()?;
    if !meta.is_file() || meta.len() > 4096 {
        return None;
    }
    let mut s = String::new();
    std::fs::File::open(p).ok()?.read_to_string(&mut s).ok()?;
    Some(s)
}

/// git's user configuration files, in the order git reads them:
/// `$XDG_CONFIG_HOME/git/config` (`~/.config/git/config` where the
/// variable is unset or empty), then `~/.gitconfig`.
fn user_config_files(home: &Path, xdg: Option<&OsStr>) -> [PathBuf; 2] {
    let base = match xdg {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => home.join(".config"),
    };
    [base.join("git/config"), home.join(".gitconfig")]
}

/// git's user configuration where the policy does not let the command read
/// it. git stops ("unable to access ...", then "fatal: unknown error
/// occurred while reading the configuration files") when a configuration
/// file it finds cannot be read, so every `git status` would fail under
/// `--allow .` on a machine with a `~/.gitconfig`. nono then points
/// `GIT_CONFIG_GLOBAL` at the other user file where the command can read
/// that one, otherwise at `/dev/null`: git reads that file instead of both,
/// and the command reads nothing the policy does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserConfigFallback {
    /// The existing user configuration files the command cannot read.
    pub unreadable: Vec<PathBuf>,
    /// The value of `GIT_CONFIG_GLOBAL`.
    pub value: PathBuf,
}

/// The fallback `policy` needs, if any: `None` where every user
/// configuration file that exists is readable under it (or none exists).
pub fn user_config_fallback(
    policy: &super::Policy,
    home: &Path,
    xdg: Option<&OsStr>,
) -> Option<UserConfigFallback> {
    let mut unreadable = Vec::new();
    let mut readable = None;
    for f in user_config_files(home, xdg) {
        // Landlock checks what the name resolves to. A file that does not
        // exist (or that nono cannot see either) is no trouble for git.
        let Ok(real) = std::fs::canonicalize(&f) else {
            continue;
        };
        if policy.rights_at(&real).0.contains(Access::READ) {
            readable.get_or_insert(f);
        } else {
            unreadable.push(f);
        }
    }
    if unreadable.is_empty() {
        return None;
    }
    Some(UserConfigFallback {
        unreadable,
        value: readable.unwrap_or_else(|| PathBuf::from("/dev/null")),
    })
}

/// The git directories (of `git_dirs`, canonical) where the command may
/// create files but not delete or rename them. git takes a lock there
/// for every index write (`index.lock`, renamed over `index` when done); a
/// rename it may not make leaves the lock behind, and every later git
/// command of the user fails on it ("Unable to create .../index.lock: File
/// exists"). `git status` and `git diff` refresh the index as an optional
/// side effect, which `GIT_OPTIONAL_LOCKS=0` turns off; commands that must
/// write the index still fail (and say so) without `--allow-delete`.
pub fn lock_trap_dirs(policy: &super::Policy, git_dirs: &[PathBuf]) -> Vec<PathBuf> {
    git_dirs
        .iter()
        .filter(|d| {
            let (a, _) = policy.rights_at(d);
            a.contains(Access::WRITE) && !a.intersects(Access::DELETE.union(Access::DELETE_FILES))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn user_configuration_files_follow_git_s_order_and_xdg_rule() {
        let h = Path::new("/h");
        assert_eq!(
            user_config_files(h, None),
            [
                PathBuf::from("/h/.config/git/config"),
                PathBuf::from("/h/.gitconfig")
            ]
        );
        // An empty XDG_CONFIG_HOME counts as unset, as in git.
        assert_eq!(
            user_config_files(h, Some(OsStr::new(""))),
            user_config_files(h, None)
        );
        assert_eq!(
            user_config_files(h, Some(OsStr::new("/x")))[0],
            PathBuf::from("/x/git/config")
        );
    }

    #[test]
    fn finds_the_containing_the_root_and_the_child_repositories() {
        let t = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(t.path()).unwrap();
        for d in [
            "outer/.git/hooks",
            "outer/src",
            "grant/.git",
            "grant/child/.git",
            "grant/a/b/.git",
            "wt-main/.git/worktrees/w",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::create_dir_all(root.join("grant/.git/modules/sub")).unwrap();
        fs::write(root.join("grant/.git/modules/sub/config"), "").unwrap();
        fs::write(root.join("wt-main/.git/worktrees/w/commondir"), "../..\n").unwrap();
        fs::create_dir_all(root.join("grant/w")).unwrap();
        fs::write(
            root.join("grant/w/.git"),
            format!(
                "gitdir: {}\n",
                root.join("wt-main/.git/worktrees/w").display()
            ),
        )
        .unwrap();
        let repos = repositories(&[root.join("outer/src"), root.join("grant")], &root);
        let dirs: Vec<PathBuf> = repos.iter().map(|r| r.git_dir.clone()).collect();
        assert!(dirs.contains(&root.join("outer/.git")), "{dirs:?}");
        assert!(dirs.contains(&root.join("grant/.git")));
        assert!(dirs.contains(&root.join("grant/child/.git")));
        assert!(dirs.contains(&root.join("wt-main/.git/worktrees/w")));
        // Two levels below the grant root: not looked at (documented).
        assert!(!dirs.contains(&root.join("grant/a/b/.git")));
        let grant = repos
            .iter()
            .find(|r| r.git_dir == root.join("grant/.git"))
            .unwrap();
        assert!(grant.protect.contains(&root.join("grant/.git/config")));
        assert!(grant.protect.contains(&root.join("grant/.git/hooks")));
        assert!(grant
            .protect
            .contains(&root.join("grant/.git/modules/sub/config")));
        let wt = repos
            .iter()
            .find(|r| r.git_dir == root.join("wt-main/.git/worktrees/w"))
            .unwrap();
        assert!(wt.protect.contains(&root.join("wt-main/.git/config")));
        assert!(wt.protect.contains(&root.join("wt-main/.git/hooks")));
    }
}
