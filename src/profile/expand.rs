//! Variables in profile paths.
//!
//! `$NAME` and `${NAME}` take the value of an environment variable;
//! `${NAME:-default}` uses `default` (literal text) when it is unset or empty;
//! `$$` is a literal `$`. Two names are not read from the environment:
//! `$CWD` is nono's working directory and `$HOME` the home directory nono
//! uses for `~` (so the two always agree). An unset or empty variable
//! without a default is an error naming it: an empty `$XDG_CONFIG_HOME`
//! silently turning `$XDG_CONFIG_HOME/x` into `/x` would grant the wrong
//! directory. `~` is left in place for the policy's own path expansion.
//! A variable whose name matches a secret pattern (`policy::env`) is never
//! expanded: its value would end up in rule paths that `--dry-run`, `why`
//! and error messages print.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use crate::policy::Context;

/// Where variable values come from.
pub struct Vars<'a> {
    pub ctx: &'a Context,
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<OsString> {
        let v = match name {
            "CWD" => Some(self.ctx.cwd.clone().into_os_string()),
            "HOME" => Some(self.ctx.home.clone().into_os_string()),
            _ => (self.env)(name),
        };
        v.filter(|v| !v.is_empty())
    }
}

/// The process environment.
pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Why a path could not be expanded; the caller adds file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    Unset(String),
    BadSyntax(String),
    Secret(String),
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::Unset(n) => write!(
                f,
                "variable ${n} is not set (or empty); use ${{{n}:-default}} to give a default"
            ),
            ExpandError::BadSyntax(m) => f.write_str(m),
            ExpandError::Secret(n) => write!(
                f,
                "${n} is not expanded in a path: its name matches a secret pattern, and rule paths are printed"
            ),
        }
    }
}

/// Refuses NAME when the environment filter treats it as a secret.
/// `CWD` and `HOME` are nono's own values, never secrets.
fn refuse_secret(name: &str) -> Result<(), ExpandError> {
    static DATA: std::sync::OnceLock<Option<crate::policy::env::EnvData>> =
        std::sync::OnceLock::new();
    let data = DATA.get_or_init(|| crate::policy::env::EnvData::builtin().ok());
    // Without the data (a build defect, caught by its unit test), refuse:
    // expanding an unknown variable could print a secret.
    let secret = match data {
        Some(d) => d.is_secret_name(name.as_bytes()),
        None => true,
    };
    if secret && name != "CWD" && name != "HOME" {
        return Err(ExpandError::Secret(name.into()));
    }
    Ok(())
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Expands the variables in `raw`.
pub fn expand(raw: &str, vars: &Vars<'_>) -> Result<PathBuf, ExpandError> {
    let b = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b.get(i) {
            Some(b'$') => {
                out.push(b'$');
                i += 1;
            }
            Some(b'{') => {
                let Some(close) = b[i..].iter().position(|&c| c == b'}') else {
                    return Err(ExpandError::BadSyntax("unclosed '${'".into()));
                };
                let inner = &raw[i + 1..i + close];
                i += close + 1;
                let (name, default) = match inner.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (inner, None),
                };
                check_name(name)?;
                refuse_secret(name)?;
                match (vars.get(name), default) {
                    (Some(v), _) => out.extend_from_slice(v.as_bytes()),
                    (None, Some(d)) => out.extend_from_slice(d.as_bytes()),
                    (None, None) => return Err(ExpandError::Unset(name.into())),
                }
            }
            Some(&c) if is_name_start(c) => {
                let start = i;
                while i < b.len() && is_name_char(b[i]) {
                    i += 1;
                }
                let name = &raw[start..i];
                refuse_secret(name)?;
                match vars.get(name) {
                    Some(v) => out.extend_from_slice(v.as_bytes()),
                    None => return Err(ExpandError::Unset(name.into())),
                }
            }
            _ => {
                return Err(ExpandError::BadSyntax(
                    "'$' must start a variable ($NAME, ${NAME}) or be written '$$'".into(),
                ))
            }
        }
    }
    Ok(PathBuf::from(OsString::from_vec(out)))
}

fn check_name(name: &str) -> Result<(), ExpandError> {
    let b = name.as_bytes();
    if b.first().is_some_and(|&c| is_name_start(c)) && b.iter().all(|&c| is_name_char(c)) {
        Ok(())
    } else {
        Err(ExpandError::BadSyntax(format!(
            "invalid variable name {:?}",
            OsStr::new(name)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::fixed_ctx as ctx;
    use std::path::Path;

    fn env(name: &str) -> Option<OsString> {
        match name {
            "XDG_CACHE_HOME" => Some("/cache".into()),
            "EMPTY" => Some("".into()),
            "CWD" | "HOME" => Some("/from-env".into()),
            _ => None,
        }
    }

    fn x(raw: &str) -> Result<PathBuf, ExpandError> {
        let c = ctx();
        expand(raw, &Vars { ctx: &c, env: &env })
    }

    #[test]
    fn expands_variables() {
        assert_eq!(x("$CWD/target").unwrap(), Path::new("/work/p/target"));
        assert_eq!(x("${HOME}/.x").unwrap(), Path::new("/home/u/.x"));
        assert_eq!(x("$XDG_CACHE_HOME/a").unwrap(), Path::new("/cache/a"));
        assert_eq!(
            x("${XDG_DATA_HOME:-~/.local/share}/app").unwrap(),
            Path::new("~/.local/share/app")
        );
        assert_eq!(
            x("${XDG_CACHE_HOME:-~/.cache}").unwrap(),
            Path::new("/cache")
        );
        assert_eq!(x("/a$$b").unwrap(), Path::new("/a$b"));
        assert_eq!(x("~/.cargo").unwrap(), Path::new("~/.cargo"));
    }

    #[test]
    fn unset_or_empty_is_an_error_naming_it() {
        assert_eq!(x("$NOPE/x"), Err(ExpandError::Unset("NOPE".into())));
        assert_eq!(x("${EMPTY}/x"), Err(ExpandError::Unset("EMPTY".into())));
        assert!(x("$NOPE").unwrap_err().to_string().contains("$NOPE"));
    }

    #[test]
    fn bad_syntax_is_an_error() {
        for bad in ["${", "${X", "$", "a$ b", "${1X}", "${}", "${A B}"] {
            assert!(
                matches!(x(bad), Err(ExpandError::BadSyntax(_))),
                "{bad}: {:?}",
                x(bad)
            );
        }
    }
}
