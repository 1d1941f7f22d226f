//! The refusals the orchestration makes itself: option combinations that
//! only make sense across layers, and writing to standard output.

use std::path::PathBuf;

use crate::error::{Diagnostic, Exit};
use crate::output;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// COMMAND is on the blocklist: the message names it and its category.
    #[error("{message}")]
    Blocked {
        message: String,
        allow_flags: String,
    },
    #[error("--keep-caps cannot be combined with host-allowlist mode: the kept capabilities could take the command out of its network namespace")]
    KeepCapsInHostMode,
    #[error("--net-log needs host-allowlist mode: only connections through the proxy are logged")]
    NetLogWithoutHosts,
    #[error("cannot open the --net-log file {}: {source}", output::path(path))]
    NetLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Host-allowlist mode needs network namespaces.
    #[cfg(not(target_os = "linux"))]
    #[error("host-allowlist mode (--allow-host) is not available on this operating system yet")]
    HostModeUnsupported,
    #[error("refusing to create the private temporary directory in {}: it lies in a protected path ({category})", output::path(base))]
    ProtectedTmpBase { base: PathBuf, category: String },
    #[error("cannot find nono's own path: {0}")]
    OwnPath(#[source] std::io::Error),
    #[error("cannot render the man page: {0}")]
    ManPage(#[source] std::io::Error),
    #[error("ask one question at a time: --env NAME, or a PATH, --command, --connect or --bind")]
    OneQuestion,
    #[error("nothing to ask about: give a PATH or --command NAME")]
    NothingToAsk,
    /// Writing a report failed; a closed pipe ends nono quietly.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
}

impl Diagnostic for AppError {
    fn exit(&self) -> Exit {
        match self {
            AppError::Blocked { .. } => Exit::CannotRun,
            AppError::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::ClosedPipe,
            _ => Exit::Failure,
        }
    }

    fn hints(&self) -> Vec<String> {
        match self {
            AppError::Blocked { allow_flags, .. } => {
                vec![format!("to run it anyway: {allow_flags}")]
            }
            AppError::KeepCapsInHostMode => {
                vec!["drop --keep-caps, or --allow-host for an unrestricted network".into()]
            }
            AppError::NetLogWithoutHosts => vec![
                "add --allow-host HOST[:PORT] (or a profile with [network] allow_hosts)".into(),
            ],
            #[cfg(not(target_os = "linux"))]
            AppError::HostModeUnsupported => {
                vec!["use --net-block, or --net-allow to run without a host list".into()]
            }
            AppError::ProtectedTmpBase { .. } => vec![
                "set TMPDIR to a directory outside the protected paths, e.g. TMPDIR=/tmp".into(),
            ],
            AppError::OneQuestion => vec![
                "--env NAME=VALUE (with '=') sets a variable for the sandbox asked about".into(),
            ],
            _ => Vec::new(),
        }
    }
}
