//! Profiles: named, reusable policy requests in TOML.
//!
//! Lookup of `-p NAME|FILE`: a value containing `/` or ending in `.toml` is a
//! file path (relative to the current directory, or, inside `extends`, to
//! the extending file). Any other value is a name: the user's
//! `$XDG_CONFIG_HOME/nono/profiles/NAME.toml` (default
//! `~/.config/nono/profiles`) if it exists, else the built-in profile. A
//! user profile may shadow a built-in one of the same name; inside it,
//! `extends = ["NAME"]` means the built-in, so a user can add to a built-in
//! profile without copying it.
//!
//! Merge order: the profiles a profile extends come first (depth-first, in
//! the listed order, each profile once), then the profile itself, then the
//! next `-p`, then the command-line flags. Everything adds up: grants are
//! unions, `network.block` and `env.clear` are sticky (nothing can turn
//! them off again), port, command and `env.allow` lists are unions, and a
//! later `env.set` of a name replaces an earlier one.

pub mod agents;
pub mod expand;
pub mod format;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::policy::spec::CommandRequest;
use crate::policy::{Access, Context, DeleteRequest, PolicySpec, Source};
use expand::Vars;
use format::{ProfileFile, TextError, MAX_PROFILE_BYTES};

/// The built-in profiles, embedded in the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("claude-code", include_str!("builtin/claude-code.toml")),
    ("codex", include_str!("builtin/codex.toml")),
    ("gemini-cli", include_str!("builtin/gemini-cli.toml")),
    ("go", include_str!("builtin/go.toml")),
    ("node", include_str!("builtin/node.toml")),
    ("opencode", include_str!("builtin/opencode.toml")),
    ("python", include_str!("builtin/python.toml")),
    ("rust", include_str!("builtin/rust.toml")),
];

/// A built-in profile as `build.rs` compiled it from the same text: the
/// `ProfileFile` the TOML parser gives, spans included, without parsing.
/// `None` for a name that is not built in.
pub(crate) fn compiled_builtin(name: &str) -> Option<ProfileFile> {
    #[allow(unused_imports)] // OneOrMany: only a built-in with `extends` uses it
    use format::{Agent, Commands, Env, Filesystem, Network, OneOrMany};
    use std::collections::BTreeMap;
    use toml::Spanned;
    include!(concat!(env!("OUT_DIR"), "/profiles.rs"))
}

/// Where a profile was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileOrigin {
    Builtin,
    /// In the user's profile directory.
    User(PathBuf),
    /// Named by path.
    File(PathBuf),
}

impl ProfileOrigin {
    pub fn label(&self) -> &'static str {
        match self {
            ProfileOrigin::Builtin => "builtin",
            ProfileOrigin::User(_) => "user",
            ProfileOrigin::File(_) => "file",
        }
    }
}

/// One profile file, parsed.
#[derive(Debug)]
pub struct Loaded {
    pub name: String,
    pub origin: ProfileOrigin,
    pub file: ProfileFile,
    /// Applied automatically because the command is this agent (or
    /// extended by such a profile): rule origins say `NAME (auto)`.
    pub auto: bool,
    /// The text, kept to turn spans into lines for later errors.
    text: String,
}

impl Loaded {
    /// How errors name this file: its path, or `builtin:NAME.toml`.
    pub fn display(&self) -> String {
        display_of(&self.name, &self.origin)
    }

    fn identity(&self) -> String {
        match &self.origin {
            ProfileOrigin::Builtin => format!("builtin:{}", self.name),
            ProfileOrigin::User(p) | ProfileOrigin::File(p) => p.display().to_string(),
        }
    }

    fn error(&self, span: std::ops::Range<usize>, message: String) -> ProfileError {
        ProfileError::Text {
            file: self.display(),
            err: format::error_at(&self.text, span, message),
        }
    }
}

fn display_of(name: &str, origin: &ProfileOrigin) -> String {
    match origin {
        ProfileOrigin::Builtin => format!("builtin:{name}.toml"),
        ProfileOrigin::User(p) | ProfileOrigin::File(p) => p.display().to_string(),
    }
}

/// Why a profile could not be used. Every variant names the profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("profile not found: {name}")]
    NotFound { name: String, user_dir: PathBuf },
    #[error("invalid profile name '{0}': use letters, digits, '-', '_' and '.', or a path to a .toml file")]
    BadName(String),
    #[error("cannot read profile {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {}: not a regular file", .0.display())]
    NotAFile(PathBuf),
    #[error("profile {}: larger than {} bytes", .0.display(), MAX_PROFILE_BYTES)]
    TooLarge(PathBuf),
    #[error("profile {}: not valid UTF-8", .0.display())]
    NotUtf8(PathBuf),
    #[error("{file}:{err}")]
    Text { file: String, err: TextError },
    #[error("profiles extend each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

impl crate::error::Diagnostic for ProfileError {
    fn hints(&self) -> Vec<String> {
        match self {
            ProfileError::NotFound { user_dir, .. } => vec![
                "'nono profile list' shows the built-in and user profiles".into(),
                format!(
                    "user profiles live in {}/NAME.toml; name a file by path (./x.toml)",
                    user_dir.display()
                ),
            ],
            ProfileError::Text { err, .. } if err.message.contains("does not exist") => vec![
                "a trailing '?' marks a path optional: it is skipped when it does not exist".into(),
            ],
            _ => vec![],
        }
    }
}

/// The user's profile directory.
pub fn user_dir(vars: &Vars<'_>) -> PathBuf {
    let base = (vars.env)("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| vars.ctx.home.join(".config"));
    base.join("nono").join("profiles")
}

fn is_path(value: &str) -> bool {
    value.contains('/') || value.ends_with(".toml")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads a profile file, refusing anything but a regular file of at most
/// [`MAX_PROFILE_BYTES`].
fn read_capped(path: &Path) -> Result<String, ProfileError> {
    let io = |source| ProfileError::Io {
        path: path.to_path_buf(),
        source,
    };
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    // Refused by its name first, so a FIFO or device is never opened (an
    // open of a FIFO blocks until a writer comes; a device open can have
    // effects). A symlink to a regular file is fine: it is followed.
    let before = std::fs::metadata(path).map_err(io)?;
    if !before.is_file() {
        return Err(ProfileError::NotAFile(path.to_path_buf()));
    }
    // Then opened without blocking and checked again on the open file: the
    // name may have been replaced by a FIFO in between.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let after = f.metadata().map_err(io)?;
    if !after.is_file() || after.dev() != before.dev() || after.ino() != before.ino() {
        return Err(ProfileError::NotAFile(path.to_path_buf()));
    }
    let mut buf = Vec::new();
    f.take(MAX_PROFILE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() > MAX_PROFILE_BYTES {
        return Err(ProfileError::TooLarge(path.to_path_buf()));
    }
    String::from_utf8(buf).map_err(|_| ProfileError::NotUtf8(path.to_path_buf()))
}

/// Parses profile text found at `origin` under `name`.
pub fn parse(name: &str, origin: ProfileOrigin, text: String) -> Result<Loaded, ProfileError> {
    if text.len() > MAX_PROFILE_BYTES {
        let p = match &origin {
            ProfileOrigin::User(p) | ProfileOrigin::File(p) => p.clone(),
            ProfileOrigin::Builtin => PathBuf::from(name),
        };
        return Err(ProfileError::TooLarge(p));
    }
    // A built-in profile's text was parsed by `build.rs` (a malformed one
    // fails the build); the compiled form is used only for exactly the
    // embedded text, so it is the file the parser would give.
    let compiled = match origin {
        ProfileOrigin::Builtin => BUILTIN
            .iter()
            .any(|(n, t)| *n == name && *t == text)
            .then(|| compiled_builtin(name))
            .flatten(),
        _ => None,
    };
    let file = match compiled {
        Some(f) => f,
        None => format::parse(&text).map_err(|err| ProfileError::Text {
            file: display_of(name, &origin),
            err,
        })?,
    };
    let mut name = name.to_string();
    if let Some(n) = &file.name {
        match origin {
            // A named profile's `name` must agree with how it is found, or
            // `-p x` could load something calling itself `y`.
            ProfileOrigin::Builtin | ProfileOrigin::User(_) if n.get_ref() != &name => {
                let loaded = Loaded {
                    name: name.clone(),
                    origin,
                    file: ProfileFile::empty(),
                    auto: false,
                    text,
                };
                return Err(loaded.error(
                    n.span(),
                    format!(
                        "name '{}' does not match the file name '{}'",
                        n.get_ref(),
                        name
                    ),
                ));
            }
            ProfileOrigin::File(_) => {
                if !valid_name(n.get_ref()) {
                    return Err(ProfileError::BadName(n.get_ref().clone()));
                }
                name = n.get_ref().clone();
            }
            _ => {}
        }
    }
    Ok(Loaded {
        name,
        origin,
        file,
        auto: false,
        text,
    })
}

impl ProfileFile {
    fn empty() -> ProfileFile {
        ProfileFile {
            name: None,
            description: None,
            extends: None,
            filesystem: Default::default(),
            network: Default::default(),
            commands: Default::default(),
            env: Default::default(),
            snapshot: None,
            agent: Default::default(),
        }
    }
}

/// Finds and parses one profile. `base` is the directory relative paths are
/// taken from; `skip_user` looks past a user profile of that name (a user
/// profile extending the built-in it shadows).
fn find(
    value: &str,
    base: &Path,
    vars: &Vars<'_>,
    skip_user: bool,
) -> Result<Loaded, ProfileError> {
    if is_path(value) {
        let raw = Path::new(value);
        let path = crate::policy::paths::expand(
            raw,
            &Context {
                home: vars.ctx.home.clone(),
                cwd: base.to_path_buf(),
            },
        )
        .map_err(|_| ProfileError::BadName(value.to_string()))?;
        let text = read_capped(&path)?;
        // The name shown in rule origins: the file stem, with anything
        // outside the profile-name alphabet replaced, so that a crafted
        // file name cannot put control characters into the output.
        let stem: String = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        return parse(&stem, ProfileOrigin::File(path), text);
    }
    if !valid_name(value) {
        return Err(ProfileError::BadName(value.to_string()));
    }
    let dir = user_dir(vars);
    if !skip_user {
        let p = dir.join(format!("{value}.toml"));
        match std::fs::symlink_metadata(&p) {
            Ok(_) => {
                let text = read_capped(&p)?;
                return parse(value, ProfileOrigin::User(p), text);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ProfileError::Io { path: p, source: e }),
        }
    }
    match BUILTIN.iter().find(|(n, _)| *n == value) {
        Some((n, text)) => parse(n, ProfileOrigin::Builtin, (*text).to_string()),
        None => Err(ProfileError::NotFound {
            name: value.to_string(),
            user_dir: dir,
        }),
    }
}

/// Loads the profiles named on the command line with everything they
/// extend, in merge order, each once.
pub fn load_all(values: &[String], vars: &Vars<'_>) -> Result<Vec<Loaded>, ProfileError> {
    let mut out: Vec<Loaded> = Vec::new();
    for v in values {
        let top = find(v, &vars.ctx.cwd, vars, false)?;
        let mut stack: Vec<String> = Vec::new();
        visit(top, vars, &mut stack, &mut out)?;
    }
    Ok(out)
}

/// Depth-first: the extended profiles, then the profile. `stack` holds the
/// identities on the current path, to name a cycle.
fn visit(
    p: Loaded,
    vars: &Vars<'_>,
    stack: &mut Vec<String>,
    out: &mut Vec<Loaded>,
) -> Result<(), ProfileError> {
    let id = p.identity();
    if let Some(pos) = stack.iter().position(|s| *s == id) {
        let mut cycle: Vec<String> = stack[pos..].to_vec();
        cycle.push(id);
        return Err(ProfileError::Cycle(cycle));
    }
    if out.iter().any(|o| o.identity() == id) {
        return Ok(());
    }
    stack.push(id);
    let base = match &p.origin {
        ProfileOrigin::User(f) | ProfileOrigin::File(f) => {
            f.parent().unwrap_or(Path::new("/")).to_path_buf()
        }
        ProfileOrigin::Builtin => vars.ctx.cwd.clone(),
    };
    if let Some(ext) = &p.file.extends {
        for e in &ext.get_ref().0 {
            // Built-in profiles only extend built-in profiles: what a
            // built-in grants must not depend on files a user (or an agent
            // that could write them) placed.
            let child = if p.origin == ProfileOrigin::Builtin {
                if is_path(e) {
                    return Err(p.error(
                        ext.span(),
                        format!("built-in profiles cannot extend a file ('{e}')"),
                    ));
                }
                match BUILTIN.iter().find(|(n, _)| n == e) {
                    Some((n, text)) => parse(n, ProfileOrigin::Builtin, (*text).to_string())?,
                    None => return Err(p.error(ext.span(), format!("no built-in profile '{e}'"))),
                }
            } else {
                let skip_user = matches!(p.origin, ProfileOrigin::User(_)) && *e == p.name;
                match find(e, &base, vars, skip_user) {
                    Err(ProfileError::NotFound { .. }) | Err(ProfileError::BadName(_)) => {
                        return Err(p.error(ext.span(), format!("extends unknown profile '{e}'")))
                    }
                    other => other?,
                }
            };
            visit(child, vars, stack, out)?;
        }
    }
    stack.pop();
    out.push(p);
    Ok(())
}

/// Whether `filesystem.create` directories are made (only `nono run`
/// does; `--dry-run`, `why` and `profile show` change nothing and treat
/// them as absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateDirs {
    Yes,
    No,
}

/// The one place where profiles become a policy request. Appends to `spec`
/// in merge order, each request attributed to its profile and key. Returns
/// the `filesystem.create` directories that are missing (and, with
/// [`CreateDirs::Yes`], were created).
pub fn apply(
    profiles: &[Loaded],
    vars: &Vars<'_>,
    spec: &mut PolicySpec,
    create: CreateDirs,
    checks: PathChecks,
) -> Result<Vec<PathBuf>, ProfileError> {
    let mut missing = Vec::new();
    for p in profiles {
        apply_filesystem(p, vars, spec, create, checks, &mut missing)?;
        apply_network(p, spec)?;
        apply_commands(p, spec)?;
        apply_env(p, &mut spec.env)?;
        spec.snapshot |= p.file.snapshot == Some(true);
        apply_agent(p, vars, spec)?;
        spec.profiles.push(if p.auto {
            format!("{} (auto)", p.name)
        } else {
            p.name.clone()
        });
    }
    Ok(missing)
}

/// The `[filesystem]` table: directories to create, grants, delete
/// grants, overlays, protected paths, git configuration.
fn apply_filesystem(
    p: &Loaded,
    vars: &Vars<'_>,
    spec: &mut PolicySpec,
    create: CreateDirs,
    checks: PathChecks,
    missing: &mut Vec<PathBuf>,
) -> Result<(), ProfileError> {
    let fs = &p.file.filesystem;
    for entry in &fs.create {
        if let Some(dir) = create_dir(p, entry, vars, create)? {
            missing.push(dir);
        }
    }
    let grants: [(&'static str, &[toml::Spanned<String>], Access); 3] = [
        ("filesystem.allow", &fs.allow, Access::READ_WRITE),
        ("filesystem.read", &fs.read, Access::READ_EXEC),
        ("filesystem.write", &fs.write, Access::WRITE),
    ];
    for (key, list, access) in grants {
        for entry in list {
            if let Some(path) = expand_path(p, entry, vars, checks)? {
                spec.grant(path, access, source(p, key));
            }
        }
    }
    for entry in &fs.allow_delete {
        if let Some(path) = expand_path(p, entry, vars, checks)? {
            spec.allow_delete.push(DeleteRequest {
                path,
                source: source(p, "filesystem.allow_delete"),
            });
        }
    }
    for entry in &fs.overlay {
        if let Some(path) = expand_path(p, entry, vars, checks)? {
            spec.overlays.push(crate::policy::spec::OverlayRequest {
                path,
                profile: p.name.clone(),
                source: source(p, "filesystem.overlay"),
            });
        }
    }

    for entry in &fs.protect {
        let raw = entry.get_ref();
        let raw = raw.strip_suffix('?').unwrap_or(raw);
        if raw.is_empty() || raw.contains('\0') {
            return Err(p.error(entry.span(), "not a path".into()));
        }
        let path = expand::expand(raw, vars).map_err(|e| p.error(entry.span(), e.to_string()))?;
        let lexical = crate::policy::paths::expand(&path, vars.ctx)
            .map_err(|e| p.error(entry.span(), e.to_string()))?;
        if lexical == std::path::Path::new("/") {
            return Err(p.error(
                entry.span(),
                "protecting / would leave nothing to run".into(),
            ));
        }
        spec.protect
            .push((lexical, source(p, "filesystem.protect")));
    }
    if fs.allow_git_config == Some(true) {
        spec.allow_git_config = true;
    }
    Ok(())
}

/// The `[network]` table: block, ports, hosts.
fn apply_network(p: &Loaded, spec: &mut PolicySpec) -> Result<(), ProfileError> {
    let net = &p.file.network;
    if net.block == Some(true) {
        if let Some(port) = net.connect.first().or(net.bind.first()) {
            return Err(p.error(
                port.span(),
                "network.block = true leaves no network to open ports in".into(),
            ));
        }
        spec.net_block = true;
    }
    for (list, target) in [
        (&net.connect, &mut spec.allow_connect),
        (&net.bind, &mut spec.allow_bind),
    ] {
        for port in list {
            let Some(n) = u16::try_from(*port.get_ref()).ok().filter(|n| *n != 0) else {
                return Err(p.error(
                    port.span(),
                    format!("{} is not a TCP port (1-65535)", port.get_ref()),
                ));
            };
            if !target.contains(&n) {
                target.push(n);
            }
        }
    }

    for h in &net.allow_hosts {
        let entry = h.get_ref();
        // Checked here so that the error names the file and line.
        let checked = match entry.strip_prefix('@') {
            Some(name) => crate::proxy::groups::all()
                .ok()
                .filter(|g| g.iter().any(|g| g.name == name))
                .map(|_| ())
                .ok_or_else(|| format!("{entry:?}: no such built-in host group")),
            None => crate::proxy::allow::parse_rule(entry)
                .map(|_| ())
                .map_err(|e| e.why),
        };
        if let Err(why) = checked {
            return Err(p.error(h.span(), why));
        }
        spec.allow_hosts
            .push((entry.clone(), source(p, "network.allow_hosts")));
    }
    Ok(())
}

/// The `[commands]` table: names taken off or added to the blocklist.
fn apply_commands(p: &Loaded, spec: &mut PolicySpec) -> Result<(), ProfileError> {
    let cmds = &p.file.commands;
    for (key, list, target) in [
        ("commands.allow", &cmds.allow, &mut spec.allow_commands),
        ("commands.block", &cmds.block, &mut spec.block_commands),
    ] {
        for c in list {
            let name = c.get_ref();
            if name.is_empty()
                || name.contains('/')
                || name.chars().any(|ch| ch.is_control() || ch.is_whitespace())
            {
                return Err(p.error(
                    c.span(),
                    format!("{name:?} is not a command name (a program's file name, without '/')"),
                ));
            }
            target.push(CommandRequest {
                name: name.clone(),
                source: source(p, key),
            });
        }
    }
    Ok(())
}

/// The `[agent]` table: state directories in the environment, arguments.
fn apply_agent(p: &Loaded, vars: &Vars<'_>, spec: &mut PolicySpec) -> Result<(), ProfileError> {
    let agent = &p.file.agent;
    for (name, value) in &agent.state_env {
        if !valid_env_name(name) {
            return Err(p.error(
                value.span(),
                format!("{name:?} is not an environment variable name"),
            ));
        }
        let raw = value.get_ref();
        if raw.is_empty() || raw.contains('\0') || raw.ends_with('?') {
            return Err(p.error(value.span(), "expected a path".into()));
        }
        let path = expand::expand(raw, vars).map_err(|e| p.error(value.span(), e.to_string()))?;
        let path = crate::policy::paths::expand(&path, vars.ctx)
            .map_err(|e| p.error(value.span(), e.to_string()))?;
        spec.agent_env.push(crate::policy::spec::AgentEnv {
            name: name.clone(),
            value: path,
            source: source(p, "agent.state_env"),
        });
    }
    if !agent.args.is_empty() {
        spec.agent_args.push((p.name.clone(), agent.args.clone()));
    }
    Ok(())
}

/// The `[env]` table: checked here, where the file and line are known.
fn apply_env(p: &Loaded, req: &mut crate::policy::env::EnvRequest) -> Result<(), ProfileError> {
    use crate::policy::env;
    let e = &p.file.env;
    for a in &e.allow {
        env::check_pattern(a.get_ref()).map_err(|err| p.error(a.span(), err.to_string()))?;
        req.allow.push(env::AllowRequest {
            pattern: a.get_ref().clone(),
            source: source(p, "env.allow"),
        });
    }
    for (name, value) in &e.set {
        env::check_name(name.as_bytes()).map_err(|err| p.error(value.span(), err.to_string()))?;
        if value.get_ref().contains('\0') {
            return Err(p.error(
                value.span(),
                format!("the value of {name} contains a NUL byte"),
            ));
        }
        req.set.push(env::SetRequest {
            name: name.clone(),
            value: value.get_ref().into(),
            source: source(p, "env.set"),
        });
    }
    // Sticky, like network.block: a later profile cannot hand back what an
    // earlier one took away.
    if e.clear == Some(true) && req.clear.is_none() {
        req.clear = Some(source(p, "env.clear"));
    }
    Ok(())
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Creates one `filesystem.create` directory if it is missing. Refuses a
/// protected path before touching anything.
fn create_dir(
    p: &Loaded,
    entry: &toml::Spanned<String>,
    vars: &Vars<'_>,
    create: CreateDirs,
) -> Result<Option<PathBuf>, ProfileError> {
    let raw = entry.get_ref();
    if raw.is_empty() || raw.contains('\0') || raw.ends_with('?') {
        return Err(p.error(
            entry.span(),
            "expected the path of a directory (no '?': a missing one is created)".into(),
        ));
    }
    let path = expand::expand(raw, vars).map_err(|e| p.error(entry.span(), e.to_string()))?;
    let lexical = crate::policy::paths::expand(&path, vars.ctx)
        .map_err(|e| p.error(entry.span(), e.to_string()))?;
    if std::fs::symlink_metadata(&lexical).is_ok() {
        return Ok(None);
    }
    // `..` means what the filesystem says only for names that exist: a
    // missing `x/../.ssh/planted` would be created as `.ssh/planted`.
    if lexical
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(p.error(
            entry.span(),
            "a directory to create may not contain '..'".into(),
        ));
    }
    // Where it would really be made: symlinks in the existing part are
    // followed (a `link -> ~/.ssh` made `link/planted` inside ~/.ssh).
    let resolved = crate::policy::decide::canonical_prefix(&lexical);
    let protected = crate::policy::protected::load(vars.ctx)
        .map_err(|e| p.error(entry.span(), e.to_string()))?;
    for candidate in [&lexical, &resolved] {
        let hit = crate::policy::protected::find(&protected, candidate)
            .or_else(|| crate::policy::protected::find_read_only(&protected, candidate));
        if let Some(hit) = hit {
            return Err(p.error(
                entry.span(),
                format!(
                    "refusing to create {}: it is a protected path ({})",
                    candidate.display(),
                    hit.category
                ),
            ));
        }
    }
    if create == CreateDirs::Yes {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&resolved)
            .map_err(|e| {
                p.error(
                    entry.span(),
                    format!("cannot create {}: {e}", lexical.display()),
                )
            })?;
        tracing::debug!(profile = %p.name, dir = %lexical.display(), "created");
    }
    Ok(Some(lexical))
}

fn source(p: &Loaded, key: &'static str) -> Source {
    Source::Profile {
        name: if p.auto {
            format!("{} (auto)", p.name)
        } else {
            p.name.clone()
        },
        key,
    }
}

/// Whether required paths are checked for existence while the profiles are
/// applied. [`PathChecks::Deferred`] leaves it to the policy builder, which
/// resolves every grant anyway (a `stat` per entry doubled the cost of
/// large profiles): `nono run` defers, and on a missing path applies the
/// profiles again with [`PathChecks::Now`], for the error with file and
/// line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathChecks {
    Now,
    Deferred,
}

/// Expands one path entry. `Ok(None)` for an optional (`?`-suffixed) path
/// that does not exist. A required path that does not exist is an error
/// here, where the file and line are known.
fn expand_path(
    p: &Loaded,
    entry: &toml::Spanned<String>,
    vars: &Vars<'_>,
    checks: PathChecks,
) -> Result<Option<PathBuf>, ProfileError> {
    let raw = entry.get_ref();
    let (raw, optional) = match raw.strip_suffix('?') {
        Some(r) => (r, true),
        None => (raw.as_str(), false),
    };
    if raw.is_empty() {
        return Err(p.error(entry.span(), "empty path".into()));
    }
    if raw.contains('\0') {
        return Err(p.error(entry.span(), "path contains a NUL byte".into()));
    }
    let path = expand::expand(raw, vars).map_err(|e| p.error(entry.span(), e.to_string()))?;
    let lexical = crate::policy::paths::expand(&path, vars.ctx)
        .map_err(|e| p.error(entry.span(), e.to_string()))?;
    if !optional && checks == PathChecks::Deferred {
        return Ok(Some(path));
    }
    match std::fs::metadata(&lexical) {
        Ok(_) => Ok(Some(path)),
        Err(_) if optional => {
            tracing::debug!(profile = %p.name, path = %lexical.display(), "optional path absent, skipped");
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(p.error(
            entry.span(),
            format!("path does not exist: {}", lexical.display()),
        )),
        // Anything else (permission denied on a parent, a loop) is left to
        // the policy builder, which names the path and the error.
        Err(_) => Ok(Some(path)),
    }
}

/// Applies `-p` values to a fresh spec: the profiles part of
/// `spec_from_args`.
/// Also returns the `filesystem.create` directories that were missing.
/// `auto` is the profile chosen for a known agent; it is used only when no
/// profile was named.
pub fn spec_for(
    values: &[String],
    auto: Option<&str>,
    vars: &Vars<'_>,
    create: CreateDirs,
    checks: PathChecks,
) -> Result<(PolicySpec, Vec<PathBuf>), ProfileError> {
    let mut spec = PolicySpec::default();
    let loaded = match auto {
        Some(name) if values.is_empty() => {
            let mut l = load_all(&[name.to_string()], vars)?;
            for p in &mut l {
                p.auto = true;
            }
            l
        }
        _ => load_all(values, vars)?,
    };
    let missing = apply(&loaded, vars, &mut spec, create, checks)?;
    Ok((spec, missing))
}

/// One line of `nono profile list`.
#[derive(Debug)]
pub struct Listed {
    pub name: String,
    pub origin: ProfileOrigin,
    /// The description, or why the file could not be read.
    pub description: Result<String, String>,
    /// A user profile that shadows a built-in one.
    pub shadows: bool,
}

/// Every built-in and user profile, by name.
pub fn list(vars: &Vars<'_>) -> Vec<Listed> {
    let mut by_name: BTreeMap<String, Listed> = BTreeMap::new();
    for (name, text) in BUILTIN {
        let description = parse(name, ProfileOrigin::Builtin, (*text).to_string())
            .map(|l| l.file.description.unwrap_or_default())
            .map_err(|e| e.to_string());
        by_name.insert(
            name.to_string(),
            Listed {
                name: name.to_string(),
                origin: ProfileOrigin::Builtin,
                description,
                shadows: false,
            },
        );
    }
    let dir = user_dir(vars);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    for path in entries {
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if !valid_name(&name) {
            continue;
        }
        let description = read_capped(&path)
            .and_then(|t| parse(&name, ProfileOrigin::User(path.clone()), t))
            .map(|l| l.file.description.unwrap_or_default())
            .map_err(|e| e.to_string());
        let shadows = by_name.contains_key(&name);
        by_name.insert(
            name.clone(),
            Listed {
                name,
                origin: ProfileOrigin::User(path),
                description,
                shadows,
            },
        );
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests;
