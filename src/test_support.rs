//! Fixture builders shared by the unit tests (compiled only for tests): a
//! temporary tree to build homes and projects in, the path contexts, and
//! the policy requests most tests start from. One copy here instead of one
//! per test module, so a fixture means the same thing everywhere.

use std::fs;
use std::path::{Path, PathBuf};

use crate::policy::{Access, Context, PolicySpec, Source};

/// The shapes of the built-in TOML data files (also read by `build.rs`),
/// for the tests that compare each compiled table with a fresh parse.
#[path = "builtin_schema.rs"]
pub mod schema;

/// A temporary directory, removed on drop. `root` is canonical: policy
/// building resolves symbolic links (macOS's /var is one), and tests
/// compare the paths it returns with paths under `root`.
pub struct TempTree {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl TempTree {
    pub fn new() -> TempTree {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        TempTree { _dir: dir, root }
    }

    /// `rel` under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Creates each directory (with its parents) under the root.
    pub fn dirs(&self, rels: &[&str]) -> &TempTree {
        for d in rels {
            fs::create_dir_all(self.path(d)).unwrap();
        }
        self
    }

    /// Writes each file under the root; its directory must exist.
    pub fn files(&self, files: &[(&str, &str)]) -> &TempTree {
        for (f, content) in files {
            fs::write(self.path(f), content).unwrap();
        }
        self
    }
}

/// A context whose home and working directory are both `dir`.
pub fn ctx_in(dir: &Path) -> Context {
    Context {
        home: dir.to_path_buf(),
        cwd: dir.to_path_buf(),
    }
}

/// A context of paths that need not exist, for pure path arithmetic.
pub fn fixed_ctx() -> Context {
    Context {
        home: PathBuf::from("/home/u"),
        cwd: PathBuf::from("/work/p"),
    }
}

/// A request with these grants, each as if given by `--allow`.
pub fn spec_with_grants(grants: &[(&str, Access)]) -> PolicySpec {
    let mut s = PolicySpec::default();
    for (p, a) in grants {
        s.grant(*p, *a, Source::Flag("--allow"));
    }
    s
}

/// `spec` built with home and working directory `dir`.
#[cfg(target_os = "linux")]
pub fn policy_in(spec: &PolicySpec, dir: &Path) -> crate::policy::Policy {
    crate::policy::Policy::build(spec, &ctx_in(dir)).unwrap()
}
