//! Protected paths: never reachable, whatever is granted.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{data, paths, Access, Context, PolicyError};

/// One protected path, expanded for this user and machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protected {
    /// Absolute. When the path exists and is reached through a symlink,
    /// both the written and the resolved form are listed.
    pub path: PathBuf,
    pub category: String,
    pub exists: bool,
    /// May be read and executed when granted, but never written, deleted
    /// or renamed. Unreachable otherwise.
    pub read_only: bool,
}

/// Expands the built-in protected list for this user.
pub fn load(ctx: &Context) -> Result<Vec<Protected>, PolicyError> {
    let groups = data::protected_groups().map_err(|e| PolicyError::BuiltinData(e.to_string()))?;
    // Expand against the home as written and as resolved, so that a home
    // reached through a symlink (/home -> /usr/home) is covered both ways.
    let mut homes = vec![ctx.home.clone()];
    for home in std::iter::once(ctx.home.clone()).chain(other_homes()) {
        for h in [
            Some(home.clone()),
            paths::canonical_and_kind(&home).map(|(c, _)| c),
        ]
        .into_iter()
        .flatten()
        {
            if !homes.contains(&h) {
                homes.push(h);
            }
        }
    }
    let mut lexical: Vec<(PathBuf, &data::ProtectedGroup)> = Vec::new();
    for g in &groups {
        for raw in &g.paths {
            for home in &homes {
                let hctx = Context {
                    home: home.clone(),
                    cwd: ctx.cwd.clone(),
                };
                if let Ok(p) = paths::expand(Path::new(raw), &hctx) {
                    lexical.push((p, g));
                }
            }
        }
    }
    // Announce every path first: the few parents they share (the homes,
    // ~/.config, /etc) are then listed once and no path costs a system
    // call of its own (see `lookup`).
    super::lookup::expect(lexical.iter().map(|(p, _)| p.as_path()));
    let mut out: Vec<Protected> = Vec::new();
    for (p, g) in &lexical {
        for p in expand_glob(p) {
            push(&mut out, &p, &g.category, g.read_only);
        }
    }
    // nono's user profiles, wherever XDG_CONFIG_HOME puts them (see
    // profile::user_dir): writable, they would widen the next sandbox.
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            push(&mut out, &x.join("nono"), "nono configuration", false);
        }
    }
    out.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
    out.dedup_by(|a, b| a.path.as_os_str() == b.path.as_os_str());
    Ok(out)
}

/// Homes besides `$HOME` whose credentials are protected too: the password
/// database's home of the real user and, under sudo, of the user who ran
/// sudo (only adding protection, so trusting SUDO_USER is safe). Under
/// `sudo` HOME is /root: `--allow /home/alice` must not expose alice's
/// ~/.ssh, nor may an overridden HOME expose the real one.
fn other_homes() -> Vec<PathBuf> {
    use nix::unistd::User;
    let mut users = vec![User::from_uid(nix::unistd::getuid()).ok().flatten()];
    if let Some(name) = std::env::var("SUDO_USER").ok().filter(|n| !n.is_empty()) {
        users.push(User::from_name(&name).ok().flatten());
    }
    users
        .into_iter()
        .flatten()
        .map(|u| u.dir)
        .filter(|d| d.is_absolute() && d != Path::new("/") && d.is_dir())
        .collect()
}

fn push(out: &mut Vec<Protected>, p: &Path, category: &str, read_only: bool) {
    let canonical = paths::canonical_and_kind(p).map(|(c, _)| c);
    out.push(Protected {
        path: p.to_path_buf(),
        category: category.to_string(),
        exists: canonical.is_some(),
        read_only,
    });
    if let Some(c) = canonical {
        if c != p {
            out.push(Protected {
                path: c,
                category: category.to_string(),
                exists: true,
                read_only,
            });
        }
    }
}

/// A final component ending in `*` matches the entries of the parent with
/// that prefix (e.g. `/etc/ssh/ssh_host_*`). Without a match the pattern
/// itself is kept, so that it still carves its parent.
fn expand_glob(p: &Path) -> Vec<PathBuf> {
    let Some(name) = p.file_name() else {
        return vec![p.to_path_buf()];
    };
    let Some(prefix) = name.as_bytes().strip_suffix(b"*") else {
        return vec![p.to_path_buf()];
    };
    let parent = p.parent().unwrap_or(Path::new("/"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().as_bytes().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    if found.is_empty() {
        found.push(p.to_path_buf());
    }
    found
}

/// The protected entry that `path` is, or lies inside, if any.
pub fn find<'a>(protected: &'a [Protected], path: &Path) -> Option<&'a Protected> {
    find_where(protected, path, false)
}

/// The read-only protected entry that `path` is, or lies inside, if any.
pub fn find_read_only<'a>(protected: &'a [Protected], path: &Path) -> Option<&'a Protected> {
    find_where(protected, path, true)
}

/// Looks `path` and each of its ancestors up in the list, which `load`
/// keeps sorted by bytes: a few binary searches instead of a scan of every
/// entry for every rule (start-up calls this for each of thousands).
fn find_where<'a>(
    protected: &'a [Protected],
    path: &Path,
    read_only: bool,
) -> Option<&'a Protected> {
    let mut a = path.as_os_str().as_bytes();
    loop {
        if let Ok(i) = protected.binary_search_by(|p| p.path.as_os_str().as_bytes().cmp(a)) {
            // Equal paths are adjacent; in practice there is one per path.
            let same = |p: &&Protected| p.path.as_os_str().as_bytes() == a;
            let hit = protected[..=i]
                .iter()
                .rev()
                .take_while(same)
                .chain(protected[i + 1..].iter().take_while(same))
                .find(|p| p.read_only == read_only);
            if hit.is_some() {
                return hit;
            }
        }
        // The parent, on bytes (paths here are normalized and absolute).
        match a.iter().rposition(|c| *c == b'/') {
            Some(0) if a.len() > 1 => a = b"/",
            Some(i) if i > 0 => a = &a[..i],
            _ => return None,
        }
    }
}

/// True if some protected entry lies strictly beneath `dir` (read-only ones
/// only when `with_read_only`). The paths that start with `dir/` are
/// contiguous in byte order (`/a/b-x` sorts between `/a/b` and `/a/b/c`,
/// so the range starts at `dir/`, not at `dir`).
pub fn any_beneath(protected: &[Protected], dir: &Path, with_read_only: bool) -> bool {
    let mut prefix = dir.as_os_str().as_bytes().to_vec();
    if prefix.last() != Some(&b'/') {
        prefix.push(b'/');
    }
    let start = protected.partition_point(|p| p.path.as_os_str().as_bytes() < prefix.as_slice());
    protected[start..]
        .iter()
        .take_while(|p| p.path.as_os_str().as_bytes().starts_with(&prefix))
        .any(|p| with_read_only || !p.read_only)
}

/// The rights a rule may keep on a path inside a read-only protected one.
pub const READ_ONLY_KEEP: Access = Access::READ_EXEC;

#[cfg(test)]
mod tests {
    use super::*;

    fn list(paths: &[(&str, bool)]) -> Vec<Protected> {
        let mut v: Vec<Protected> = paths
            .iter()
            .map(|(p, ro)| Protected {
                path: PathBuf::from(p),
                category: "c".into(),
                exists: true,
                read_only: *ro,
            })
            .collect();
        v.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        v
    }

    #[test]
    fn lookups_agree_with_a_linear_scan() {
        let l = list(&[
            ("/h/.ssh", false),
            ("/h/.config/gh", false),
            ("/h/.config/git", true),
            ("/h/.config/git/credentials", false),
            ("/h/a-b", false),
            ("/h/a/c", false),
        ]);
        let p = Path::new;
        assert_eq!(find(&l, p("/h/.ssh/id")).unwrap().path, p("/h/.ssh"));
        assert!(find(&l, p("/h/.ssh2")).is_none());
        assert!(find(&l, p("/h/.config/git/x")).is_none());
        assert_eq!(
            find_read_only(&l, p("/h/.config/git/x")).unwrap().path,
            p("/h/.config/git")
        );
        assert_eq!(
            find(&l, p("/h/.config/git/credentials")).unwrap().path,
            p("/h/.config/git/credentials")
        );
        // `/h/a-b` sorts between `/h/a` and `/h/a/c`: still found beneath `/h/a`.
        assert!(any_beneath(&l, p("/h/a"), false));
        assert!(any_beneath(&l, p("/h"), false));
        assert!(any_beneath(&l, p("/"), false));
        assert!(!any_beneath(&l, p("/h/a/c"), true));
        assert!(!any_beneath(&l, p("/h/.ssh"), true));
        // Only read-only beneath: counted only when asked for.
        let ro = list(&[("/h/.gitconfig", true)]);
        assert!(!any_beneath(&ro, p("/h"), false));
        assert!(any_beneath(&ro, p("/h"), true));
    }
}
