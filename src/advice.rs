//! Advice for commands that are known to fail in the sandbox in common
//! ways, given by `--dry-run` before anything runs. Each piece names the
//! option that fixes it; README's troubleshooting section explains them
//! and tests/it/troubleshooting.rs checks that the option really does.
//!
//! Only what nono can know in advance from the command name, its
//! arguments and the policy; a pure function of them.

use std::ffi::OsStr;
use std::path::Path;

use crate::exec::Command;
use crate::policy::{Access, Context, Policy};

fn base_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn has(policy: &Policy, path: &Path, need: Access) -> bool {
    policy.rights_at(path).0.contains(need)
}

/// The advice for `cmd` under `policy`, one sentence each.
pub fn for_command(policy: &Policy, cmd: &Command, ctx: &Context) -> Vec<String> {
    // By the name it was invoked as and the file it resolves to: `python3`
    // is often a symlink to `python3.11`.
    let names = [base_name(&cmd.path), base_name(&cmd.resolved)];
    let is = |f: &dyn Fn(&str) -> bool| names.iter().any(|n| f(n));
    let args: Vec<&OsStr> = cmd.argv.iter().skip(1).map(|a| a.as_os_str()).collect();
    let mut out = Vec::new();
    if is(&|n| n == "git") {
        let gitconfig = ctx.home.join(".gitconfig");
        if gitconfig.exists() && !has(policy, &gitconfig, Access::READ) {
            out.push(
                "git runs without ~/.gitconfig (not granted: nono sets GIT_CONFIG_GLOBAL so that git does not stop on it; no user name, email or aliases): add --read ~/.gitconfig"
                    .to_string(),
            );
        }
        let sub = args.first().and_then(|a| a.to_str());
        if matches!(sub, Some("init" | "clone"))
            && has(policy, &ctx.cwd, Access::WRITE)
            && !has(policy, &ctx.cwd, Access::DELETE)
        {
            out.push(
                "git init and git clone save .git/config and HEAD by rename, which delete protection denies ('could not write config file', 'unable to write symref for HEAD'): add --allow-delete . (and remove the stale .git it left, or its .git/*.lock)"
                    .to_string(),
            );
        }
        let dotgit = ctx.cwd.join(".git");
        if dotgit.is_dir()
            && has(policy, &dotgit, Access::WRITE)
            && !has(policy, &dotgit, Access::DELETE)
        {
            out.push(
                "git replaces .git/index and refs by rename, which delete protection denies ('unable to unlink .git/index.lock'): add --allow-delete . (and remove a stale .git/index.lock)"
                    .to_string(),
            );
        }
    }
    if is(&|n| n.starts_with("sqlite")) {
        out.push(
            "sqlite deletes its rollback journal after each transaction ('disk I/O error'): add --allow-delete on the database's directory"
                .to_string(),
        );
    }
    if is(&|n| n.starts_with("python")) {
        let shm = Path::new("/dev/shm");
        if !has(policy, shm, Access::WRITE) {
            out.push(
                "python multiprocessing (Lock, Queue, Pool) creates semaphores in /dev/shm, which is not granted (PermissionError): add --allow /dev/shm --allow-delete /dev/shm"
                    .to_string(),
            );
        }
        let venv = args.windows(2).any(|w| w[0] == "-m" && w[1] == "venv");
        if venv && !has(policy, &ctx.cwd, Access::DELETE) {
            out.push(
                "python -m venv installs pip by writing files and renaming them into place (ensurepip fails): add --allow-delete on the directory that will hold the environment, e.g. --allow-delete ."
                    .to_string(),
            );
        }
    }
    out
}
