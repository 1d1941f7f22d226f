//! `nono man`: the man page, generated from the clap definitions.

use std::process::ExitCode;

use super::out;
use crate::error::Failure;
use crate::manpage;

pub fn man() -> Result<ExitCode, Failure> {
    let page = manpage::render()
        .map_err(|e| Failure::new(125, format!("cannot render the man page: {e}"), vec![]))?;
    out(page)?;
    Ok(ExitCode::SUCCESS)
}
