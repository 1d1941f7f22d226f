//! Environment hygiene: the environment the command starts with.
//!
//! Secrets leave a sandbox by two roads: files and the environment. The
//! kernel rules close the first; this module closes the second, by not
//! handing the command the variables that carry credentials (tokens,
//! passwords, API keys, cloud credentials, agent sockets). Which names
//! those are is data (`data/env.toml`), so that the list can be read,
//! reviewed and extended without reading code.
//!
//! [`build`] is the one place where the command's environment is decided:
//! a pure function from nono's own environment and the request (flags and
//! profiles) to the variables the command gets plus a report, one
//! [`Entry`] per name, of what was kept, removed or set and why. `run`
//! execs with [`EnvPlan::command_env`]; `--dry-run` and `why --env` print
//! the same entries, so what they say is what happens.
//!
//! Values are read for exactly one purpose (a URL with a password in it is
//! a secret whatever its name) and are never part of an [`Entry`]: nothing
//! that renders a report can print one.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::spec::Source;

/// The variables nono always sets to the run's private temporary directory.
pub const TMP_VARS: [&str; 3] = ["TMPDIR", "TMP", "TEMP"];

/// `data/env.toml` as compiled by `build.rs` (no run parses it).
struct EnvTables {
    not_secret: &'static [&'static str],
    keep: &'static [&'static str],
    secret: &'static [SecretRow],
}

struct SecretRow {
    category: &'static str,
    patterns: &'static [&'static str],
}

static TABLES: EnvTables = include!(concat!(env!("OUT_DIR"), "/env.rs"));

/// The built-in lists, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvData {
    /// (category, pattern) in file order; the first match names the reason.
    secret: Vec<(String, String)>,
    not_secret: Vec<String>,
    keep: Vec<String>,
}

impl EnvData {
    /// The built-in lists, compiled from `data/env.toml` by `build.rs` (a
    /// malformed file fails the build). The `Result` keeps the callers'
    /// error path; nothing here fails.
    pub fn builtin() -> Result<EnvData, EnvError> {
        let f = &TABLES;
        let mut secret = Vec::new();
        for g in f.secret {
            for p in g.patterns {
                secret.push((g.category.to_string(), p.to_ascii_uppercase()));
            }
        }
        Ok(EnvData {
            secret,
            not_secret: f
                .not_secret
                .iter()
                .map(|n| n.to_ascii_uppercase())
                .collect(),
            keep: f.keep.iter().map(|k| (*k).to_string()).collect(),
        })
    }

    /// The `--env-clear` set.
    pub fn keep(&self) -> &[String] {
        &self.keep
    }

    /// Whether a secret pattern matches NAME.
    pub fn is_secret_name(&self, name: &[u8]) -> bool {
        self.secret(name).is_some()
    }

    /// The secret pattern NAME matches (case-insensitively), if any.
    fn secret(&self, name: &[u8]) -> Option<(&str, &str)> {
        let upper = name.to_ascii_uppercase();
        if self.not_secret.iter().any(|n| n.as_bytes() == upper) {
            return None;
        }
        self.secret
            .iter()
            .find(|(_, p)| glob(p.as_bytes(), &upper))
            .map(|(c, p)| (c.as_str(), p.as_str()))
    }
}

/// A request to keep variables the filter would remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowRequest {
    /// A name or a glob (`*`, `?`), matched exactly, case included.
    pub pattern: String,
    pub source: Source,
}

/// A request to set a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetRequest {
    pub name: String,
    pub value: OsString,
    pub source: Source,
}

/// What flags and profiles ask of the environment, unchecked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvRequest {
    pub allow: Vec<AllowRequest>,
    /// In merge order: a later request for the same name wins.
    pub set: Vec<SetRequest>,
    /// `--env-clear` or `env.clear = true`: who asked first.
    pub clear: Option<Source>,
}

impl EnvRequest {
    /// Parses one `--env NAME=VALUE`. The error never repeats the
    /// argument: a mistyped one may be a bare secret (`--env $TOKEN`).
    pub fn set_arg(&mut self, arg: &OsStr, source: Source) -> Result<(), EnvError> {
        let bytes = arg.as_bytes();
        let Some(eq) = bytes.iter().position(|b| *b == b'=') else {
            return Err(EnvError::NoValue);
        };
        let name = &bytes[..eq];
        check_name(name).map_err(|e| match e {
            EnvError::BadName(_) => EnvError::BadSetName,
            other => other,
        })?;
        self.set.push(SetRequest {
            name: lossy(name),
            value: OsStr::from_bytes(&bytes[eq + 1..]).to_os_string(),
            source,
        });
        Ok(())
    }

    /// The PATH the command will have: set by a request, else nono's own
    /// (no filter removes PATH).
    pub fn command_path(&self, inherited: Option<OsString>) -> Option<OsString> {
        match self.set.iter().rev().find(|s| s.name == "PATH") {
            Some(s) => Some(s.value.clone()),
            None => inherited,
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Why an environment request is refused.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("--env: expected NAME=VALUE")]
    NoValue,
    #[error(
        "--env: invalid variable name: use letters, digits and '_', not starting with a digit"
    )]
    BadSetName,
    #[error("invalid environment variable name '{0}': use letters, digits and '_', not starting with a digit")]
    BadName(String),
    #[error("invalid --allow-env pattern: use a variable name, optionally with '*' and '?'")]
    BadPattern,
    #[error("{0} cannot be set or kept: nono sets it to the run's private temporary directory")]
    TmpVar(String),
}

impl crate::error::Diagnostic for EnvError {
    fn hints(&self) -> Vec<String> {
        match self {
            EnvError::NoValue | EnvError::BadSetName | EnvError::BadPattern => vec![
                "the argument is not repeated here: it may hold a secret".into(),
                "to pass a variable from nono's environment unchanged: --allow-env NAME".into(),
            ],
            EnvError::TmpVar(_) => {
                vec![
                    "write temporary files under $TMPDIR; grant other directories with --allow"
                        .into(),
                ]
            }
            _ => vec![],
        }
    }
}

/// A POSIX variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn check_name(name: &[u8]) -> Result<(), EnvError> {
    let ok = name
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if !ok {
        return Err(EnvError::BadName(lossy(name)));
    }
    if TMP_VARS.iter().any(|t| t.as_bytes() == name) {
        return Err(EnvError::TmpVar(lossy(name)));
    }
    Ok(())
}

/// A name with `*` and `?` allowed.
pub fn check_pattern(p: &str) -> Result<(), EnvError> {
    let ok = !p.is_empty()
        && p.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'*' | b'?'));
    if !ok {
        return Err(EnvError::BadPattern);
    }
    if TMP_VARS.contains(&p) {
        return Err(EnvError::TmpVar(p.to_string()));
    }
    Ok(())
}

/// Glob match: `*` any run of bytes, `?` one byte, everything else itself.
pub fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and the name position it has consumed up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if *c == b'?' || *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|c| *c == b'*')
}

/// What happens to a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Passed from nono's environment unchanged.
    Kept,
    /// Not passed.
    Removed,
    /// Given a value by nono (replacing nono's own, if any).
    Set,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Kept => "kept",
            Action::Removed => "removed",
            Action::Set => "set",
        }
    }
}

/// Why a variable is kept, removed or set. Never holds a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Kept: no secret pattern matches.
    Inherited,
    /// Kept under `--env-clear`: in the minimal set.
    Minimal { pattern: String },
    /// Kept by `--allow-env` or `env.allow`, although `overrides` would
    /// have removed it (`None`: nothing would have).
    Allowed {
        pattern: String,
        source: Source,
        overrides: Option<Box<Reason>>,
    },
    /// Removed: the name matches a secret pattern.
    SecretName { pattern: String, category: String },
    /// Removed: the value is a URL with a password.
    SecretValue,
    /// Removed by `--env-clear`: not in the minimal set.
    Cleared { source: Source },
    /// Set by `--env` or `env.set`.
    Set { source: Source },
    /// Set by nono to the private temporary directory.
    TempDir,
    /// `GIT_CONFIG_GLOBAL`, set by nono: git's user configuration files
    /// `unreadable` exist but the policy does not let the command read
    /// them (`policy::git::user_config_fallback`); `value` is what git
    /// reads instead (a path of nono's choosing, never a secret).
    GitConfig {
        unreadable: Vec<std::path::PathBuf>,
        value: std::path::PathBuf,
    },
    /// `GIT_OPTIONAL_LOCKS=0`, set by nono: in `git_dirs` the command may
    /// create but not delete or rename (`policy::git::lock_trap_dirs`).
    GitLocks { git_dirs: Vec<std::path::PathBuf> },
    /// `PYTHONDONTWRITEBYTECODE=1`, set by nono: in `dirs` the command may
    /// create files but not rename or delete them, so each bytecode file
    /// python saves there (a temporary file renamed into place) would be
    /// left behind as a temporary file.
    PyBytecode { dirs: Vec<std::path::PathBuf> },
}

impl Reason {
    /// Stable code for JSON (docs/json.md).
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Inherited => "inherited",
            Reason::Minimal { .. } => "minimal",
            Reason::Allowed { .. } => "allowed",
            Reason::SecretName { .. } => "secret_name",
            Reason::SecretValue => "secret_value",
            Reason::Cleared { .. } => "cleared",
            Reason::Set { .. } => "set",
            Reason::TempDir => "temp_dir",
            Reason::GitConfig { .. } => "git_config",
            Reason::GitLocks { .. } => "git_optional_locks",
            Reason::PyBytecode { .. } => "python_bytecode",
        }
    }

    /// The reason as a sentence (no value in it, ever).
    pub fn text(&self) -> String {
        match self {
            Reason::Inherited => "no secret pattern matches its name".into(),
            Reason::Minimal { pattern } => {
                format!("in the minimal set --env-clear keeps ({pattern})")
            }
            Reason::Allowed {
                pattern,
                source,
                overrides,
            } => {
                let by = if pattern.contains(['*', '?']) {
                    format!("kept by {source} {pattern}")
                } else {
                    format!("kept by {source}")
                };
                match overrides {
                    Some(r) => format!("{by}, although {}", r.text()),
                    None => by,
                }
            }
            Reason::SecretName { pattern, category } => {
                format!("its name matches the secret pattern {pattern} ({category})")
            }
            Reason::SecretValue => "its value is a URL with a password in it".into(),
            Reason::Cleared { source } => {
                format!("{source} keeps only the minimal set")
            }
            Reason::Set { source } => format!("set by {source}"),
            Reason::TempDir => "set by nono to the run's private temporary directory".into(),
            Reason::PyBytecode { dirs } => {
                let shown: Vec<String> = dirs
                    .iter()
                    .take(3)
                    .map(|p| crate::output::path(p))
                    .collect();
                let more = if dirs.len() > 3 { ", ..." } else { "" };
                format!(
                    "set by nono to 1: the command may create files in {}{more} but not rename or delete them, so every bytecode file python saves there would stay behind as a temporary file (__pycache__/*.pyc.NNN); python reads existing bytecode and compiles the rest in memory (--allow-delete on the directory lets python save it)",
                    shown.join(", ")
                )
            }
            Reason::GitLocks { git_dirs } => {
                let dirs: Vec<String> = git_dirs.iter().map(|p| crate::output::path(p)).collect();
                format!(
                    "set by nono to 0: the command may create files in {} but not delete or rename them, so the index refresh that git status makes on the side would leave index.lock behind and lock the repository; git skips it (--allow-delete on the project lets git write its index)",
                    dirs.join(", ")
                )
            }
            Reason::GitConfig { unreadable, value } => {
                let files: Vec<String> =
                    unreadable.iter().map(|p| crate::output::path(p)).collect();
                format!(
                    "set by nono to {}: the policy does not let the command read {}, and git stops when it cannot read a configuration file it finds (--read {} lets git use it)",
                    crate::output::path(value),
                    files.join(" and "),
                    files.join(" --read "),
                )
            }
        }
    }

    /// A variable nono sets for a tool because of the policy (git,
    /// python): its value is nono's own, never the caller's.
    pub fn for_tools(&self) -> bool {
        matches!(
            self,
            Reason::GitConfig { .. } | Reason::GitLocks { .. } | Reason::PyBytecode { .. }
        )
    }

    pub fn source(&self) -> Option<&Source> {
        match self {
            Reason::Allowed { source, .. }
            | Reason::Cleared { source }
            | Reason::Set { source } => Some(source),
            _ => None,
        }
    }

    pub fn pattern(&self) -> Option<&str> {
        match self {
            Reason::Minimal { pattern }
            | Reason::Allowed { pattern, .. }
            | Reason::SecretName { pattern, .. } => Some(pattern),
            _ => None,
        }
    }

    pub fn category(&self) -> Option<&str> {
        match self {
            Reason::SecretName { category, .. } => Some(category),
            _ => None,
        }
    }
}

/// The decision for one variable name. No value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: OsString,
    pub action: Action,
    pub reason: Reason,
    /// The name is in nono's environment now.
    pub inherited: bool,
}

/// The checked request and the built-in data: decides single names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvPolicy {
    data: EnvData,
    allow: Vec<AllowRequest>,
    /// One per name, the winning request.
    set: Vec<SetRequest>,
    clear: Option<Source>,
}

impl EnvPolicy {
    /// Checks the request (names, patterns) against the data.
    pub fn new(data: EnvData, req: &EnvRequest) -> Result<EnvPolicy, EnvError> {
        for a in &req.allow {
            check_pattern(&a.pattern)?;
        }
        let mut set: Vec<SetRequest> = Vec::new();
        for s in &req.set {
            check_name(s.name.as_bytes())?;
            set.retain(|o| o.name != s.name);
            set.push(s.clone());
        }
        set.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(EnvPolicy {
            data,
            allow: req.allow.clone(),
            set,
            clear: req.clear.clone(),
        })
    }

    pub fn clear(&self) -> Option<&Source> {
        self.clear.as_ref()
    }

    pub fn allow(&self) -> &[AllowRequest] {
        &self.allow
    }

    pub fn data(&self) -> &EnvData {
        &self.data
    }

    /// The decision for NAME, with its VALUE when nono has one (`None`:
    /// what would happen if it were set; the value check then cannot apply).
    pub fn decide(&self, name: &OsStr, value: Option<&OsStr>) -> Entry {
        let entry = |action, reason| Entry {
            name: name.to_os_string(),
            action,
            reason,
            inherited: value.is_some(),
        };
        let bytes = name.as_bytes();
        if TMP_VARS.iter().any(|t| t.as_bytes() == bytes) {
            return entry(Action::Set, Reason::TempDir);
        }
        if let Some(s) = self.set.iter().find(|s| s.name.as_bytes() == bytes) {
            return entry(
                Action::Set,
                Reason::Set {
                    source: s.source.clone(),
                },
            );
        }
        let filtered = if let Some((category, pattern)) = self.data.secret(bytes) {
            Some(Reason::SecretName {
                pattern: pattern.to_string(),
                category: category.to_string(),
            })
        } else if value.is_some_and(|v| url_with_password(v.as_bytes())) {
            Some(Reason::SecretValue)
        } else if let Some(source) = &self.clear {
            match self.data.keep.iter().find(|k| glob(k.as_bytes(), bytes)) {
                Some(k) => return entry(Action::Kept, Reason::Minimal { pattern: k.clone() }),
                None => Some(Reason::Cleared {
                    source: source.clone(),
                }),
            }
        } else {
            None
        };
        if let Some(a) = self
            .allow
            .iter()
            .find(|a| glob(a.pattern.as_bytes(), bytes))
        {
            return entry(
                Action::Kept,
                Reason::Allowed {
                    pattern: a.pattern.clone(),
                    source: a.source.clone(),
                    overrides: filtered.map(Box::new),
                },
            );
        }
        match filtered {
            Some(r) => entry(Action::Removed, r),
            None => entry(Action::Kept, Reason::Inherited),
        }
    }
}

/// The command's environment and the report of how it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvPlan {
    /// Every name of nono's environment, every name set, and the
    /// temporary directory variables, sorted by name.
    pub entries: Vec<Entry>,
    /// The command's variables except the temporary directory ones, in
    /// nono's order, then the set ones.
    vars: Vec<(OsString, OsString)>,
}

impl EnvPlan {
    /// The environment to exec with: [`EnvPlan`]'s variables plus TMPDIR,
    /// TMP and TEMP pointing at `tmp`.
    pub fn command_env(&self, tmp: &Path) -> Vec<(OsString, OsString)> {
        let mut env = self.vars.clone();
        for t in TMP_VARS {
            env.push((t.into(), tmp.as_os_str().to_os_string()));
        }
        env
    }

    /// Gives `name` a value of nono's own, for the reason `reason`, unless
    /// the caller's environment or `--env` has it (theirs is kept). True if
    /// it was set.
    pub fn set_by_nono(&mut self, name: &str, value: OsString, reason: Reason) -> bool {
        if self.entries.iter().any(|e| e.name == name) {
            return false;
        }
        self.vars.push((name.into(), value));
        self.entries.push(Entry {
            name: name.into(),
            action: Action::Set,
            reason,
            inherited: false,
        });
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        true
    }

    pub fn with(&self, action: Action) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.action == action)
    }
}

/// The one function that decides the command's environment: from nono's
/// environment (`inherited`, in its order) and the checked request. A name
/// that appears twice counts once, with its first value (the one `getenv`
/// returns).
pub fn build(inherited: &[(OsString, OsString)], policy: &EnvPolicy) -> EnvPlan {
    let mut entries: Vec<Entry> = Vec::new();
    let mut vars: Vec<(OsString, OsString)> = Vec::new();
    let mut seen: std::collections::BTreeSet<&OsStr> = Default::default();
    for (name, value) in inherited {
        if !seen.insert(name.as_os_str()) {
            continue;
        }
        let e = policy.decide(name, Some(value));
        if e.action == Action::Kept {
            vars.push((name.clone(), value.clone()));
        }
        entries.push(e);
    }
    for s in &policy.set {
        let name = OsStr::new(&s.name);
        if !seen.contains(name) {
            entries.push(policy.decide(name, None));
        }
        vars.push((name.to_os_string(), s.value.clone()));
    }
    for t in TMP_VARS {
        if !seen.contains(OsStr::new(t)) {
            entries.push(policy.decide(OsStr::new(t), None));
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    EnvPlan { entries, vars }
}

/// A value of the form `scheme://user:password@host...`: a credential in a
/// connection string (`DATABASE_URL`, `REDIS_URL`, a proxy with a login).
fn url_with_password(v: &[u8]) -> bool {
    // Every `://` in the value: a URL may follow other text (` https://..`,
    // `--db=postgres://..`, a list of URLs).
    (0..v.len().saturating_sub(2))
        .filter(|&i| &v[i..i + 3] == b"://")
        .any(|sep| has_scheme_before(&v[..sep]) && password_after(&v[sep + 3..]))
}

/// `before` ends in a URL scheme: letters, digits, `+`, `-`, `.`, the
/// first of them a letter.
fn has_scheme_before(before: &[u8]) -> bool {
    let is_scheme = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.');
    let start = before
        .iter()
        .rposition(|c| !is_scheme(c))
        .map_or(0, |i| i + 1);
    // The scheme starts at its first letter.
    before[start..]
        .iter()
        .position(u8::is_ascii_alphabetic)
        .is_some()
}

/// The authority after `://` has `user:password@` with a password.
fn password_after(rest: &[u8]) -> bool {
    let authority = rest
        .iter()
        .position(|c| matches!(c, b'/' | b'?' | b'#' | b' ' | b',' | b';'))
        .map_or(rest, |end| &rest[..end]);
    let Some(at) = authority.iter().rposition(|c| *c == b'@') else {
        return false;
    };
    let userinfo = &authority[..at];
    userinfo
        .iter()
        .position(|c| *c == b':')
        .is_some_and(|colon| colon + 1 < userinfo.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn policy(req: &EnvRequest) -> EnvPolicy {
        EnvPolicy::new(EnvData::builtin().unwrap(), req).unwrap()
    }

    fn secret(pattern: &str, category: &str) -> Reason {
        Reason::SecretName {
            pattern: pattern.into(),
            category: category.into(),
        }
    }

    fn entry(name: &str, action: Action, reason: Reason, inherited: bool) -> Entry {
        Entry {
            name: name.into(),
            action,
            reason,
            inherited,
        }
    }

    #[test]
    fn embedded_data_parses_and_covers_the_well_known_secrets() {
        let d = EnvData::builtin().unwrap();
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_STORAGE_CONNECTION_STRING",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "GITLAB_TOKEN",
            "NPM_TOKEN",
            "NODE_AUTH_TOKEN",
            "npm_config__auth",
            "npm_config_//registry.npmjs.org/:_authToken",
            "PYPI_TOKEN",
            "TWINE_PASSWORD",
            "CARGO_REGISTRY_TOKEN",
            "CARGO_REGISTRIES_MINE_TOKEN",
            "HF_TOKEN",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "FOO_API_KEY",
            "FOO_APIKEY",
            "FOO_SECRET",
            "FOO_PASSWORD",
            "MYSQL_PWD",
            "SMTP_PASS",
            "FOO_PASSWD_FILE",
            "DEPLOY_PRIVATE_KEY",
            "STRIPE_KEY",
            "DOCKER_AUTH_CONFIG",
            "SLACK_WEBHOOK_URL",
            "CI_JOB_JWT",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "SSH_AUTH_SOCK",
            "SSH_AGENT_PID",
            "GPG_AGENT_INFO",
            "DBUS_SESSION_BUS_ADDRESS",
            "KRB5CCNAME",
            "VAULT_TOKEN",
            "OP_SESSION_my",
            "BW_SESSION",
            "github_token",
        ] {
            assert!(d.secret(name.as_bytes()).is_some(), "{name} is not removed");
        }
        for name in [
            "PATH",
            "HOME",
            "PWD",
            "OLDPWD",
            "TERM",
            "LANG",
            "LC_ALL",
            "SHELL",
            "USER",
            "EDITOR",
            "GIT_ASKPASS",
            "SSH_ASKPASS",
            "XAUTHORITY",
            "GIT_AUTHOR_NAME",
            "DISPLAY",
            "XDG_SESSION_TYPE",
            "DESKTOP_SESSION",
            "TOKENIZERS_PARALLELISM",
            "tokenizers_parallelism",
            "CARGO_HOME",
            "NODE_OPTIONS",
            "SSH_CONNECTION",
            "AWS_PROFILE",
            "AWS_REGION",
            "KEYTIMEOUT",
        ] {
            assert_eq!(d.secret(name.as_bytes()), None, "{name} is removed");
        }
        assert!(d.keep().contains(&"LC_*".to_string()));
    }

    /// The compiled tables are exactly `data/env.toml`, parsed afresh.
    #[test]
    fn compiled_data_equals_the_toml() {
        let f: crate::test_support::schema::EnvFile =
            toml::from_str(include_str!("data/env.toml")).unwrap();
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(f.not_secret, strs(TABLES.not_secret));
        assert_eq!(f.clear.keep, strs(TABLES.keep));
        let compiled: Vec<(String, Vec<String>)> = TABLES
            .secret
            .iter()
            .map(|g| (g.category.to_string(), strs(g.patterns)))
            .collect();
        let parsed: Vec<(String, Vec<String>)> = f
            .secret
            .into_iter()
            .map(|g| (g.category, g.patterns))
            .collect();
        assert_eq!(parsed, compiled);
    }

    /// SPEC.md's table of secret patterns is the data file, group by group.
    #[test]
    fn spec_lists_exactly_the_data() {
        let f: crate::test_support::schema::EnvFile =
            toml::from_str(include_str!("data/env.toml")).unwrap();
        let spec = include_str!("../../SPEC.md");
        let section = spec
            .split("## 20. ")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("SPEC.md has section 20");
        let rows: Vec<(String, Vec<String>)> = section
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains('`'))
            .take_while(|l| !l.is_empty())
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
                let patterns = cells[1]
                    .split(", ")
                    .map(|p| p.trim().trim_matches('`').to_string())
                    .collect();
                (cells[0].trim().to_string(), patterns)
            })
            .collect();
        let data: Vec<(String, Vec<String>)> = f
            .secret
            .iter()
            .map(|g| (g.category.clone(), g.patterns.clone()))
            .collect();
        assert_eq!(rows, data, "SPEC.md §20 and data/env.toml disagree");
    }

    #[test]
    fn globs() {
        assert!(glob(b"*", b""));
        assert!(glob(b"*TOKEN*", b"GH_TOKEN"));
        assert!(glob(b"*TOKEN*", b"TOKEN"));
        assert!(glob(b"*_KEY", b"A_KEY"));
        assert!(!glob(b"*_KEY", b"A_KEYS"));
        assert!(glob(b"A?C", b"ABC"));
        assert!(!glob(b"A?C", b"AC"));
        assert!(glob(b"*_AUTH_*", b"SSH_AUTH_SOCK"));
        assert!(!glob(b"*_AUTH_*", b"GIT_AUTHOR_NAME"));
        assert!(glob(b"a*b*c", b"aXbYbZc"));
        assert!(!glob(b"a*b*c", b"aXbYbZ"));
        assert!(!glob(b"FOO", b"FOOBAR"));
    }

    #[test]
    fn urls_with_passwords() {
        for v in [
            "postgres://app:hunter2@db:5432/x",
            "https://x-access-token:ghs_abc@github.com/o/r.git",
            "redis://:pw@localhost",
            "http://u:p@proxy:3128",
            // After other text, and the second of two URLs.
            " https://u:pw@h",
            "--db=postgres://u:pw@db/x",
            "https://a.example,redis://:pw@cache",
        ] {
            assert!(url_with_password(v.as_bytes()), "{v}");
        }
        for v in [
            "postgres://db/x",
            "ssh://git@github.com/o/r",
            "http://proxy:3128",
            "https://example.com/a:b@c",
            "u:p@host",
            "sqlite:///tmp/x.db",
            "postgres://u:@db",
            "://u:p@h",
            "see https://example.com and u:p@host",
            "",
        ] {
            assert!(!url_with_password(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn default_filter_removes_secrets_and_keeps_the_rest() {
        let inherited = os(&[
            ("PATH", "/usr/bin"),
            ("GITHUB_TOKEN", "t"),
            ("TMPDIR", "/tmp"),
            ("DATABASE_URL", "postgres://u:pw@db/x"),
            ("SSH_AUTH_SOCK", "/run/agent"),
            ("PATH", "/evil"),
        ]);
        let plan = build(&inherited, &policy(&EnvRequest::default()));
        assert_eq!(
            plan.entries,
            vec![
                entry("DATABASE_URL", Action::Removed, Reason::SecretValue, true),
                entry(
                    "GITHUB_TOKEN",
                    Action::Removed,
                    secret("*TOKEN*", "tokens"),
                    true
                ),
                entry("PATH", Action::Kept, Reason::Inherited, true),
                entry(
                    "SSH_AUTH_SOCK",
                    Action::Removed,
                    secret("SSH_AUTH_SOCK", "agent sockets"),
                    true
                ),
                entry("TEMP", Action::Set, Reason::TempDir, false),
                entry("TMP", Action::Set, Reason::TempDir, false),
                entry("TMPDIR", Action::Set, Reason::TempDir, true),
            ]
        );
        assert_eq!(
            plan.command_env(Path::new("/r")),
            os(&[
                ("PATH", "/usr/bin"),
                ("TMPDIR", "/r"),
                ("TMP", "/r"),
                ("TEMP", "/r"),
            ])
        );
    }

    #[test]
    fn allow_set_and_clear() {
        let flag = |f: &'static str| Source::Flag(f);
        let prof = Source::Profile {
            name: "p".into(),
            key: "env.allow",
        };
        let mut req = EnvRequest {
            allow: vec![
                AllowRequest {
                    pattern: "FOO_*".into(),
                    source: flag("--allow-env"),
                },
                AllowRequest {
                    pattern: "EDITOR".into(),
                    source: prof.clone(),
                },
            ],
            set: vec![],
            clear: Some(flag("--env-clear")),
        };
        req.set_arg(OsStr::new("BAR=1=2"), flag("--env")).unwrap();
        req.set_arg(OsStr::new("HOME=/h"), flag("--env")).unwrap();
        let inherited = os(&[
            ("FOO_API_KEY", "k"),
            ("EDITOR", "vi"),
            ("HOME", "/home/u"),
            ("LC_ALL", "C"),
            ("PAGER", "less"),
            ("GH_TOKEN", "t"),
        ]);
        let plan = build(&inherited, &policy(&req));
        let cleared = Reason::Cleared {
            source: flag("--env-clear"),
        };
        assert_eq!(
            plan.entries,
            vec![
                entry(
                    "BAR",
                    Action::Set,
                    Reason::Set {
                        source: flag("--env")
                    },
                    false
                ),
                entry(
                    "EDITOR",
                    Action::Kept,
                    Reason::Allowed {
                        pattern: "EDITOR".into(),
                        source: prof,
                        overrides: Some(Box::new(cleared.clone())),
                    },
                    true
                ),
                entry(
                    "FOO_API_KEY",
                    Action::Kept,
                    Reason::Allowed {
                        pattern: "FOO_*".into(),
                        source: flag("--allow-env"),
                        overrides: Some(Box::new(secret("*API_KEY*", "API keys and private keys"))),
                    },
                    true
                ),
                entry(
                    "GH_TOKEN",
                    Action::Removed,
                    secret("*TOKEN*", "tokens"),
                    true
                ),
                entry(
                    "HOME",
                    Action::Set,
                    Reason::Set {
                        source: flag("--env")
                    },
                    true
                ),
                entry(
                    "LC_ALL",
                    Action::Kept,
                    Reason::Minimal {
                        pattern: "LC_*".into()
                    },
                    true
                ),
                entry("PAGER", Action::Removed, cleared, true),
                entry("TEMP", Action::Set, Reason::TempDir, false),
                entry("TMP", Action::Set, Reason::TempDir, false),
                entry("TMPDIR", Action::Set, Reason::TempDir, false),
            ]
        );
        assert_eq!(
            plan.command_env(Path::new("/r")),
            os(&[
                ("FOO_API_KEY", "k"),
                ("EDITOR", "vi"),
                ("LC_ALL", "C"),
                ("BAR", "1=2"),
                ("HOME", "/h"),
                ("TMPDIR", "/r"),
                ("TMP", "/r"),
                ("TEMP", "/r"),
            ])
        );
    }

    #[test]
    fn later_set_wins_and_names_are_checked() {
        let mut req = EnvRequest::default();
        let p = Source::Profile {
            name: "p".into(),
            key: "env.set",
        };
        req.set.push(SetRequest {
            name: "X".into(),
            value: "1".into(),
            source: p,
        });
        req.set_arg(OsStr::new("X=2"), Source::Flag("--env"))
            .unwrap();
        let plan = build(&[], &policy(&req));
        assert_eq!(
            plan.command_env(Path::new("/r"))[0],
            ("X".into(), "2".into())
        );
        assert_eq!(
            plan.entries.iter().find(|e| e.name == "X").unwrap().reason,
            Reason::Set {
                source: Source::Flag("--env")
            }
        );
        for bad in ["=1", "1X=1", "A-B=1", "A B=1", "É=1"] {
            assert!(matches!(
                EnvRequest::default().set_arg(OsStr::new(bad), Source::Flag("--env")),
                Err(EnvError::BadSetName)
            ));
        }
        assert!(matches!(
            EnvRequest::default().set_arg(OsStr::new("NAME"), Source::Flag("--env")),
            Err(EnvError::NoValue)
        ));
        assert!(matches!(
            EnvRequest::default().set_arg(OsStr::new("TMPDIR=/x"), Source::Flag("--env")),
            Err(EnvError::TmpVar(_))
        ));
        for bad in ["", "A=B", "A B", "a/b", "TMP"] {
            let req = EnvRequest {
                allow: vec![AllowRequest {
                    pattern: bad.into(),
                    source: Source::Flag("--allow-env"),
                }],
                ..Default::default()
            };
            assert!(
                EnvPolicy::new(EnvData::builtin().unwrap(), &req).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decide_without_a_value_is_by_name_only() {
        let p = policy(&EnvRequest::default());
        let e = p.decide(OsStr::new("DATABASE_URL"), None);
        assert_eq!((e.action, e.inherited), (Action::Kept, false));
        let e = p.decide(OsStr::new("GITHUB_TOKEN"), None);
        assert_eq!(e.action, Action::Removed);
    }

    #[test]
    fn reasons_never_hold_a_value() {
        let value = "VALUE-MARKER-123";
        let mut req = EnvRequest {
            clear: Some(Source::Flag("--env-clear")),
            ..Default::default()
        };
        req.set_arg(OsStr::new(&format!("S={value}")), Source::Flag("--env"))
            .unwrap();
        let inherited = os(&[
            ("GITHUB_TOKEN", value),
            ("DATABASE_URL", &format!("pg://u:{value}@h")),
            ("OTHER", value),
        ]);
        let plan = build(&inherited, &policy(&req));
        let shown = format!(
            "{:?} {}",
            plan.entries,
            plan.entries
                .iter()
                .map(|e| e.reason.text())
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(!shown.contains(value), "{shown}");
    }

    #[test]
    fn command_path_follows_set_requests() {
        let mut req = EnvRequest::default();
        assert_eq!(req.command_path(Some("/a".into())), Some("/a".into()));
        req.set_arg(OsStr::new("PATH=/b"), Source::Flag("--env"))
            .unwrap();
        assert_eq!(req.command_path(Some("/a".into())), Some("/b".into()));
    }
}
