//! When the proxy ends: exactly when no process of the run is left.
//!
//! Two signals, because each alone is not enough:
//! - A pipe whose write end every process of the run inherits (nono keeps
//!   it at a high descriptor across exec, like the TMPDIR lock): when the
//!   last holder ends, the proxy's read end reports POLLHUP at once, with
//!   no polling. PR_SET_PDEATHSIG would see only the command, not a
//!   daemonised grandchild.
//! - A daemon may close every descriptor it inherited and live on. So
//!   after POLLHUP the proxy also looks for any process still in the run's
//!   network namespace (`/proc/PID/ns/net`, compared by inode; processes
//!   inside cannot leave it), and waits for those to end too.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

/// How often the proxy looks for processes once the pipe has closed.
const RESCAN: Duration = Duration::from_millis(200);

/// Returns when the run is over.
pub fn wait_for_end(pipe: &OwnedFd, netns_ino: u64) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
            Ok(_) => {
                let r = fds[0].revents().unwrap_or(PollFlags::empty());
                if r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                    break;
                }
                // Nothing writes to the pipe; data would be a bug in a
                // process of the run: drain it and go on waiting.
                let mut b = [0u8; 64];
                let _ = nix::unistd::read(pipe, &mut b);
            }
        }
    }
    while any_process_in(netns_ino) {
        std::thread::sleep(RESCAN);
    }
}

/// Whether some live process is in the network namespace `ino`.
pub fn any_process_in(ino: u64) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    let want = format!("net:[{ino}]");
    dir.flatten().any(|e| {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .is_ok_and(|l| l.as_os_str() == want.as_str())
    })
}
