//! Protected paths: never reachable, whatever is granted.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{data, paths, Context, PolicyError};

/// One protected path, expanded for this user and machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protected {
    /// Absolute. When the path exists and is reached through a symlink,
    /// both the written and the resolved form are listed.
    pub path: PathBuf,
    pub category: String,
    pub exists: bool,
}

/// Expands the built-in protected list for this user.
pub fn load(ctx: &Context) -> Result<Vec<Protected>, PolicyError> {
    let groups = data::protected_groups().map_err(|e| PolicyError::BuiltinData(e.to_string()))?;
    // Expand against the home as written and as resolved, so that a home
    // reached through a symlink (/home -> /usr/home) is covered both ways.
    let mut homes = vec![ctx.home.clone()];
    if let Ok(real) = std::fs::canonicalize(&ctx.home) {
        if real != ctx.home {
            homes.push(real);
        }
    }
    let mut out: Vec<Protected> = Vec::new();
    for g in &groups {
        for raw in &g.paths {
            for home in &homes {
                let hctx = Context {
                    home: home.clone(),
                    cwd: ctx.cwd.clone(),
                };
                let Ok(lexical) = paths::expand(Path::new(raw), &hctx) else {
                    continue;
                };
                for p in expand_glob(&lexical) {
                    push(&mut out, &p, &g.category);
                }
            }
        }
    }
    // nono's user profiles, wherever XDG_CONFIG_HOME puts them (see
    // profile::user_dir): writable, they would widen the next sandbox.
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            push(&mut out, &x.join("nono"), "nono configuration");
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

fn push(out: &mut Vec<Protected>, p: &Path, category: &str) {
    let canonical = std::fs::canonicalize(p).ok();
    out.push(Protected {
        path: p.to_path_buf(),
        category: category.to_string(),
        exists: canonical.is_some(),
    });
    if let Some(c) = canonical {
        if c != p {
            out.push(Protected {
                path: c,
                category: category.to_string(),
                exists: true,
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
    protected.iter().find(|p| path.starts_with(&p.path))
}

/// The protected entries strictly beneath `dir`.
pub fn beneath<'a>(protected: &'a [Protected], dir: &Path) -> Vec<&'a Protected> {
    protected
        .iter()
        .filter(|p| p.path != dir && p.path.starts_with(dir))
        .collect()
}

/// True if `path` is one of `list` or inside one.
pub fn find_exact_or_inside(list: &[&Protected], path: &Path) -> bool {
    list.iter().any(|p| path.starts_with(&p.path))
}
