//! Child processes that cannot outlive the test process, free ports and log tails.
//!
//! Children are spawned from one thread that lives as long as the process, with
//! `PR_SET_PDEATHSIG(SIGKILL)`: Linux sends that signal when the *spawning thread* exits,
//! so spawning from a short-lived tokio worker would kill etcd/apiserver too early, while
//! spawning from a process-lifetime thread kills them exactly when the test process dies
//! (even on SIGKILL or a panic that aborts). [`Owned`] also kills on drop.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

type Request = (Command, Sender<std::io::Result<Child>>);

fn spawner() -> &'static Mutex<Sender<Request>> {
    static SPAWNER: OnceLock<Mutex<Sender<Request>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = channel::<Request>();
        std::thread::Builder::new()
            .name("test-support-spawner".into())
            .spawn(move || {
                // Never returns while the process lives: the channel's sender is in a static.
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the child-spawner thread");
        Mutex::new(tx)
    })
}

/// A child process killed (SIGKILL) when dropped or when the test process dies.
#[derive(Debug)]
pub(crate) struct Owned {
    pub name: String,
    child: Mutex<Option<Child>>,
}

impl Owned {
    /// Spawn `cmd` with stdout+stderr appended to `log`, no stdin, and the death signal set.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        let out = File::create(log)?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (tx, rx) = channel();
        spawner().lock().unwrap().send((cmd, tx))?;
        let child = rx.recv()?.map_err(|e| anyhow::anyhow!("cannot start {name}: {e}"))?;
        Ok(Self { name: name.to_string(), child: Mutex::new(Some(child)) })
    }

    /// `Some(status)` if the process has exited.
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut guard = self.child.lock().unwrap();
        guard.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Kill and reap the process (idempotent).
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// klog error/fatal lines (`E1127 ...`, `F1127 ...`) and etcd error lines of a log, at most `max`.
pub(crate) fn error_lines(path: &Path, max: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| {
            let klog = (l.starts_with('E') || l.starts_with('F')) && l.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
            klog || l.contains("\"level\":\"error\"") || l.contains("\"level\":\"fatal\"") || l.starts_with("Error:")
        })
        .collect();
    errors[errors.len().saturating_sub(max)..].join("\n")
}

/// The last `lines` lines of a log file (empty string if unreadable).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
