//! nono's own failures, and the exit status each one ends with.

use crate::{exec, policy, profile, sandbox, tmpdir, undo};

/// nono's own failures: exit 125 unless the error says otherwise.
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub hints: Vec<String>,
    /// Standard output was a pipe whose reader went away: end the way a
    /// program killed by SIGPIPE does, without a message.
    pub closed_pipe: bool,
}

impl Failure {
    pub fn new(code: u8, message: impl std::fmt::Display, hints: Vec<String>) -> Failure {
        Failure {
            code,
            message: message.to_string(),
            hints,
            closed_pipe: false,
        }
    }
}

impl From<policy::PolicyError> for Failure {
    fn from(e: policy::PolicyError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<sandbox::SandboxError> for Failure {
    fn from(e: sandbox::SandboxError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<exec::ExecError> for Failure {
    fn from(e: exec::ExecError) -> Failure {
        let hints = e.hints();
        Failure::new(e.exit_code(), e, hints)
    }
}

impl From<profile::ProfileError> for Failure {
    fn from(e: profile::ProfileError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<policy::env::EnvError> for Failure {
    fn from(e: policy::env::EnvError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<undo::UndoError> for Failure {
    fn from(e: undo::UndoError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

#[cfg(target_os = "linux")]
impl From<sandbox::netns::NetError> for Failure {
    fn from(e: sandbox::netns::NetError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}

impl From<tmpdir::TmpError> for Failure {
    fn from(e: tmpdir::TmpError) -> Failure {
        let hints = e.hints();
        Failure::new(125, e, hints)
    }
}
