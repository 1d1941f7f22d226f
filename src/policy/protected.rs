//! Protected paths: never reachable, whatever is granted.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{data, paths, Access, Context, PolicyError};

/// Category of a directory on `$PATH` (see [`path_dirs`]).
pub const PATH_CATEGORY: &str = "programs on the user's PATH ($PATH)";

/// Category of the git files made read-only (see `policy::git`).
pub const GIT_CATEGORY: &str = super::git::CATEGORY;

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
    let contexts: Vec<Context> = homes
        .iter()
        .map(|home| Context {
            home: home.clone(),
            cwd: ctx.cwd.clone(),
        })
        .collect();
    let mut lexical: Vec<(PathBuf, &data::ProtectedGroup)> =
        Vec::with_capacity(groups.iter().map(|g| g.paths.len()).sum::<usize>() * homes.len());
    for g in &groups {
        for raw in &g.paths {
            for hctx in &contexts {
                if let Ok(p) = paths::expand(Path::new(raw), hctx) {
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
    for (p, category, read_only) in from_environment(&|k| std::env::var_os(k)) {
        for q in expand_glob(&p) {
            push(&mut out, &q, category, read_only);
        }
    }
    // The snapshot store (see undo::store::location), wherever
    // XDG_STATE_HOME puts it.
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            push(&mut out, &x.join("nono"), "nono state", false);
        }
    }
    // The upper directories of overlaid caches: what is there shows up in
    // every later run's cache.
    push(
        &mut out,
        &super::overlay_base(&ctx.home),
        "nono overlay state",
        false,
    );
    finish(&mut out)?;
    Ok(out)
}

/// Adds `extra` entries (from a profile's `protect`, the PATH, git
/// repositories) to a loaded list, with the same treatment as the
/// built-in ones: the would-be targets of symlinks and the other names
/// the mount table shows.
pub fn extend(
    list: &mut Vec<Protected>,
    extra: &[(PathBuf, String, bool)],
) -> Result<(), PolicyError> {
    if extra.is_empty() {
        return Ok(());
    }
    // Only the new entries can have names not listed yet: the loaded
    // list's other names were added when it was finished.
    let mut added = Vec::new();
    for (p, category, read_only) in extra {
        for q in expand_glob(p) {
            push(&mut added, &q, category, *read_only);
        }
    }
    finish(&mut added)?;
    list.append(&mut added);
    sort(list);
    Ok(())
}

/// Sorts and deduplicates, after adding for every entry what its name
/// would lead to (a dangling symlink's target, a missing path below a
/// symlinked directory) and its other names through bind mounts.
fn finish(out: &mut Vec<Protected>) -> Result<(), PolicyError> {
    sort(out);
    // Other names through bind mounts: read from Linux's mount table
    // (`mounts`). macOS has no bind mounts.
    #[cfg(target_os = "linux")]
    {
        let aliases = super::mounts::aliases(out)?;
        if !aliases.is_empty() {
            out.extend(aliases);
            sort(out);
        }
    }
    Ok(())
}

fn sort(out: &mut Vec<Protected>) {
    // Full protection before read-only for the same path, so that dedup
    // keeps the stronger entry.
    // Then an entry that exists before one that does not: the mount
    // layer masks existing entries (a mask that cannot be made refuses
    // the run), and keeps a directory carved around missing ones. The
    // whole entry is the key (the category last), so the unstable sort's
    // result does not depend on the input's order.
    out.sort_unstable_by(|a, b| {
        a.path
            .as_os_str()
            .cmp(b.path.as_os_str())
            .then(a.read_only.cmp(&b.read_only))
            .then(b.exists.cmp(&a.exists))
            .then_with(|| a.category.cmp(&b.category))
    });
    out.dedup_by(|a, b| a.path.as_os_str() == b.path.as_os_str());
}

/// Where resolving a path stops at a missing component: that component's
/// path, when a symlink was followed on the way. `~/.aws -> stuff/aws`
/// with `stuff/aws` absent gives `~/stuff/aws`: a sandbox that could
/// create that would have created `~/.aws/...`. Everything after the first
/// missing component is covered by protecting it (it cannot be created,
/// so nothing below it can be reached). `None` when the chain is longer
/// than the kernel follows (40 links).
fn first_missing(path: &Path) -> Option<Option<PathBuf>> {
    use std::path::Component;
    let mut todo: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .rev()
        .collect();
    let mut done = PathBuf::from("/");
    let mut links = 0;
    // A `..` moves the walk away from the path as written, like a symlink:
    // `~/x/../t5/bin` is created at `~/t5/bin`, which no prefix of the
    // written path covers.
    let mut moved = false;
    while let Some(c) = todo.pop() {
        if c == ".." {
            done.pop();
            moved = true;
            continue;
        }
        let next = done.join(&c);
        match std::fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return None;
                }
                let target = std::fs::read_link(&next).ok()?;
                if target.is_absolute() {
                    done = PathBuf::from("/");
                }
                for t in target.components().rev() {
                    match t {
                        Component::Normal(n) => todo.push(n.to_os_string()),
                        Component::ParentDir => todo.push("..".into()),
                        _ => {}
                    }
                }
            }
            Ok(_) => done = next,
            // Without a symlink on the way the missing component lies
            // below an ancestor of the protected path, which carving
            // splits anyway: nothing more to protect.
            Err(_) => return Some((links > 0 || moved).then_some(next)),
        }
    }
    Some(None)
}

/// The path a protected path that does not resolve would be created at
/// (see [`first_missing`]); `None` when it resolves.
pub fn would_be(path: &Path) -> Option<PathBuf> {
    first_missing(path)?
}

/// Protected paths named by environment variables that relocate them:
/// zsh's start-up files under `$ZDOTDIR`, user units under
/// `$XDG_DATA_HOME`, cargo's and go's homes and caches, npm's cache.
fn from_environment(
    var: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<(PathBuf, &'static str, bool)> {
    let abs = |k: &str| {
        var(k)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute() && p != Path::new("/"))
    };
    let mut out = Vec::new();
    if let Some(z) = abs("ZDOTDIR") {
        for f in [".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout"] {
            out.push((z.join(f), "shell start-up files", false));
        }
        out.push((z.join(".zsh_history"), "shell history", false));
    }
    if let Some(d) = abs("XDG_DATA_HOME") {
        out.push((d.join("systemd/user"), "shell and session start-up", true));
        out.push((d.join("applications"), "shell and session start-up", true));
        out.push((d.join("nvim"), "editor start-up", true));
        out.push((d.join("keyrings"), "keyrings and browser profiles", false));
        out.push((d.join("kwalletd"), "keyrings and browser profiles", false));
        out.push((d.join("direnv"), "shell and session start-up", true));
    }
    if let Some(c) = abs("XDG_CONFIG_HOME") {
        for (rel, category, ro) in [
            ("git", "git configuration", true),
            ("nvim", "editor start-up", true),
            ("emacs", "editor start-up", true),
            ("fish", "shell start-up files", false),
            ("autostart", "autostart and user services", false),
            ("systemd", "autostart and user services", false),
            ("environment.d", "autostart and user services", false),
            ("direnv", "shell and session start-up", true),
            ("pip", "interpreter and tool start-up", true),
            ("gh", "tokens and passwords", false),
            ("gcloud", "cloud credentials", false),
        ] {
            out.push((c.join(rel), category, ro));
        }
    }
    if let Some(c) = abs("CARGO_HOME") {
        out.push((c.join("bin"), "programs on the user's PATH", true));
        for rel in ["env", "config", "config.toml"] {
            out.push((c.join(rel), "interpreter and tool start-up", true));
        }
        for rel in ["registry", "git"] {
            out.push((c.join(rel), "package caches that run in later builds", true));
        }
        for rel in ["credentials", "credentials.toml"] {
            out.push((c.join(rel), "tokens and passwords", false));
        }
    }
    if let Some(r) = abs("RUSTUP_HOME") {
        out.push((r, "toolchains and version managers", true));
    }
    if let Some(g) = abs("GOPATH") {
        out.push((g.join("bin"), "programs on the user's PATH", true));
        out.push((
            g.join("pkg/mod"),
            "package caches that run in later builds",
            true,
        ));
    }
    if let Some(m) = abs("GOMODCACHE") {
        out.push((m, "package caches that run in later builds", true));
    }
    if let Some(n) = abs("npm_config_cache") {
        out.push((
            n.join("_npx"),
            "package caches that run in later builds",
            true,
        ));
    }
    if let Some(p) = abs("PYENV_ROOT") {
        out.push((p, "toolchains and version managers", true));
    }
    if let Some(n) = abs("NVM_DIR") {
        out.push((n, "toolchains and version managers", true));
    }
    if let Some(p) = abs("PYTHONUSERBASE") {
        out.push((p.join("lib/python*"), "interpreter and tool start-up", true));
        out.push((p.join("bin"), "programs on the user's PATH", true));
    }
    out
}

/// Homes besides `$HOME` whose credentials are protected too: the password
/// database's home of the real user and, under sudo, of the user who ran
/// sudo (only adding protection, so trusting SUDO_USER is safe). Under
/// `sudo` HOME is /root: `--allow /home/alice` must not expose alice's
/// ~/.ssh, nor may an overridden HOME expose the real one.
fn other_homes() -> Vec<PathBuf> {
    use super::passwd::{home, Who};
    let mut homes = vec![home(Who::Uid(nix::unistd::getuid().as_raw()))];
    if let Some(name) = std::env::var("SUDO_USER").ok().filter(|n| !n.is_empty()) {
        homes.push(home(Who::Name(&name)));
    }
    homes
        .into_iter()
        .flatten()
        .filter(|d| d.is_absolute() && d != Path::new("/") && d.is_dir())
        .collect()
}

fn push(out: &mut Vec<Protected>, p: &Path, category: &str, read_only: bool) {
    let (found, missing_plainly) = paths::lookup(p);
    let canonical = found.map(|(c, _)| c);
    out.push(Protected {
        path: p.to_path_buf(),
        category: category.to_string(),
        exists: canonical.is_some(),
        read_only,
    });
    if canonical.as_deref() == Some(p) {
        // No symlink on the way: nothing else names it.
        return;
    }
    if let Some(c) = &canonical {
        out.push(Protected {
            path: c.clone(),
            category: category.to_string(),
            exists: true,
            read_only,
        });
    }
    // Missing: protect the path where resolving it breaks, so that it
    // cannot be created. (Symlinks on the way are not listed: a symlink
    // such as /home -> /usr/home would protect everything below it.)
    if canonical.is_some() || missing_plainly {
        return;
    }
    if let Some(m) = would_be(p) {
        if m != p {
            out.push(Protected {
                path: m,
                category: category.to_string(),
                exists: false,
                read_only,
            });
        }
    }
}

/// A final component ending in `*` matches the entries of the parent with
/// that prefix (e.g. `/etc/ssh/ssh_host_*`). The pattern itself is kept
/// too, as an entry that does not exist: it stands for the names that may
/// match later (`~/.local/lib/python3.12` made by the command), so its
/// parent stays carved, and the mount layer never gives the parent its
/// create rights back on the strength of the matches it could mask.
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
    found.push(p.to_path_buf());
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
    fn duplicates_keep_the_stronger_entry_whatever_the_order() {
        let e = |cat: &str, exists: bool, ro: bool| Protected {
            path: PathBuf::from("/h/.ssh"),
            category: cat.into(),
            exists,
            read_only: ro,
        };
        let entries = [
            e("b", false, false),
            e("a", true, true),
            e("c", true, false),
            e("a", false, false),
        ];
        // Every order of the four gives the same survivor: fully
        // protected, existing.
        for i in 0..entries.len() {
            for j in 0..entries.len() {
                let mut v = entries.to_vec();
                v.swap(0, i);
                v.swap(1, j);
                sort(&mut v);
                assert_eq!(v, vec![e("c", true, false)], "order {i} {j}");
            }
        }
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

#[cfg(test)]
mod would_be_tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn follows_symlinks_as_far_as_they_go() {
        let t = tempfile::tempdir().unwrap();
        let h = std::fs::canonicalize(t.path()).unwrap();
        std::fs::create_dir_all(h.join("stuff")).unwrap();
        std::fs::create_dir_all(h.join("dotfiles/config")).unwrap();
        symlink("stuff/aws", h.join(".aws")).unwrap();
        symlink("dotfiles/config", h.join(".config")).unwrap();
        symlink("../x/../stuff/hop", h.join("stuff/rel")).unwrap();
        symlink("rel", h.join("stuff/chain")).unwrap();
        symlink("loop", h.join("loop")).unwrap();
        assert_eq!(would_be(&h.join(".aws")), Some(h.join("stuff/aws")));
        assert_eq!(would_be(&h.join(".aws/config")), Some(h.join("stuff/aws")));
        assert_eq!(
            would_be(&h.join(".config/gh")),
            Some(h.join("dotfiles/config/gh"))
        );
        // Stops at the first missing component: `x` cannot be created, so
        // `x/..` cannot be redirected either.
        assert_eq!(would_be(&h.join("stuff/chain")), Some(h.join("x")));
        assert_eq!(would_be(&h.join("stuff")), None, "exists");
        // A `..` in the written path moves like a symlink: the missing
        // name is where it would be created, not below the written path.
        assert_eq!(
            would_be(&h.join("dotfiles/../stuff/bin")),
            Some(h.join("stuff/bin"))
        );
        // Without a symlink or a `..` the written path is the place.
        assert_eq!(would_be(&h.join("stuff/bin")), None);
        assert_eq!(
            would_be(&h.join("loop")),
            None,
            "a loop is not followed forever"
        );
    }

    #[test]
    fn relocating_variables_add_entries() {
        let vars = |k: &str| match k {
            "ZDOTDIR" => Some("/z".into()),
            "CARGO_HOME" => Some("/c".into()),
            "GOPATH" => Some("relative".into()),
            _ => None,
        };
        let got = from_environment(&vars);
        let has = |p: &str, ro: bool| got.iter().any(|(q, _, r)| q == Path::new(p) && *r == ro);
        assert!(has("/z/.zshrc", false));
        assert!(has("/c/registry", true));
        assert!(has("/c/credentials.toml", false));
        assert!(!got.iter().any(|(q, _, _)| q.starts_with("relative")));
    }
}
