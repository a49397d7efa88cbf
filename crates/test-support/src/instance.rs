//! Throwaway MariaDB servers for tests that need server settings the shared
//! test servers must keep (binlog format, retention, read_only, TLS, ...).
//!
//! [`Instance::start`] starts the installed `mariadbd` on a free loopback
//! port with the given options, in a data directory of its own under the
//! system's temporary directory, and stops it (and removes the directory)
//! when dropped. The data directory is copied from a template made once by
//! `mariadb-install-db` and kept under the temporary directory, so a start
//! takes about a second. Like `scripts/testenv`, it runs `mariadbd
//! --no-defaults` and lets root connect over TCP from 127.0.0.1 without a
//! password.
//!
//! The server runs under a small shell that stops it when its standard
//! input closes, so a test process that dies (a panic that aborts, a kill)
//! leaves no server behind.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn find_bin(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/libexec"].map(PathBuf::from));
    for n in names {
        for d in &dirs {
            let p = d.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn mariadbd() -> PathBuf {
    find_bin(&["mariadbd", "mysqld"]).unwrap_or_else(|| {
        panic!(
            "mariadbd was not found, and this test starts a throwaway MariaDB server of its own. \
             Install MariaDB with:\n    sudo apt-get update && sudo apt-get install -y \
             mariadb-server mariadb-client\n(or run scripts/ensure-mariadb)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The template data directory (made once per machine and mariadbd
/// version).
fn template() -> PathBuf {
    let server = mariadbd();
    let version = Command::new(&server)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let tag: String = version
        .split_whitespace()
        .nth(2)
        .unwrap_or("unknown")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("dts-mariadb-template-{tag}"));
    if dir.join("mysql").is_dir() {
        return dir;
    }
    let install = find_bin(&["mariadb-install-db", "mysql_install_db"]).unwrap_or_else(|| {
        panic!("mariadb-install-db was not found; install the package mariadb-server")
    });
    // Install into a directory of our own, then rename it into place: two
    // test processes doing this at once both succeed, one rename wins.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!(
        "dts-mariadb-template-{tag}.{}.{n}",
        std::process::id()
    ));
    let mut cmd = Command::new(install);
    cmd.arg("--no-defaults");
    if is_root() {
        cmd.arg("--user=root");
    }
    let out = cmd
        .arg(format!("--datadir={}", tmp.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run mariadb-install-db: {e}"));
    if !out.status.success() {
        panic!(
            "mariadb-install-db failed for the throwaway server template:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another process made it first.
        std::fs::remove_dir_all(&tmp).ok();
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cp: {e}"));
    assert!(status.success(), "copying {} failed", from.display());
}

fn free_port() -> u16 {
    // Ports of the shared test servers are never handed out by the OS for
    // an ephemeral bind, so any port it gives is free of them.
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"));
    l.local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A throwaway MariaDB server, stopped and removed on drop.
#[derive(Debug)]
pub struct Instance {
    /// The loopback port it listens on.
    pub port: u16,
    /// Its directory (data, socket, error log).
    pub dir: PathBuf,
    options: Vec<String>,
    child: Option<(Child, ChildStdin)>,
}

impl Instance {
    /// Starts a server with these extra `mariadbd` options (e.g.
    /// `--log-bin`, `--binlog-format=STATEMENT`), which come after the
    /// defaults and so override them.
    ///
    /// # Panics
    ///
    /// When mariadbd is missing (with how to install it) or the server does
    /// not start (with its error log).
    pub fn start(options: &[&str]) -> Instance {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dts-instance-{}-{n}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(dir.join("tmp"))
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        copy_dir(&template(), &dir.join("data"));
        let init = dir.join("init.sql");
        std::fs::write(
            &init,
            "SET sql_log_bin = 0;\n\
             CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';\n\
             GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n",
        )
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", init.display()));
        let mut i = Instance {
            port: 0,
            dir,
            options: options.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        i.launch();
        i
    }

    /// Stops the server and starts it again with other extra options (the
    /// data is kept): for settings that cannot change at run time.
    pub fn restart(&mut self, options: &[&str]) {
        self.stop();
        self.options = options.iter().map(|s| s.to_string()).collect();
        self.launch();
    }

    /// `mysql://root@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Connection options as root.
    pub fn opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some("root"))
            .prefer_socket(false)
            .into()
    }

    /// Connects as root.
    ///
    /// # Panics
    ///
    /// When the server does not answer.
    pub async fn conn(&self) -> mysql_async::Conn {
        mysql_async::Conn::new(self.opts())
            .await
            .unwrap_or_else(|e| {
                panic!("cannot connect to the throwaway server {}: {e}", self.url())
            })
    }

    fn error_log(&self) -> PathBuf {
        self.dir.join("error.log")
    }

    /// Kills the server with SIGKILL, as a crash would: no shutdown, so
    /// InnoDB recovers at the next start ([`Instance::start_again`]).
    ///
    /// # Panics
    ///
    /// When the server's pid cannot be read or `kill` cannot run.
    pub fn kill9(&mut self) {
        let pid = std::fs::read_to_string(self.dir.join("mariadbd.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no pid file in {}", self.dir.display()));
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -9 {pid} failed");
        if let Some((mut child, stdin)) = self.child.take() {
            drop(stdin);
            child.wait().ok();
        }
    }

    /// Starts the server again after [`Instance::kill9`], with the same
    /// options and on the same port, so that clients reconnect to it.
    pub fn start_again(&mut self) {
        self.launch_on(self.port);
    }

    fn launch(&mut self) {
        self.launch_on(free_port());
    }

    fn launch_on(&mut self, port: u16) {
        self.port = port;
        let d = &self.dir;
        let mut args: Vec<String> = vec!["--no-defaults".into()];
        if is_root() {
            args.push("--user=root".into());
        }
        args.extend([
            format!("--datadir={}", d.join("data").display()),
            format!("--socket={}", d.join("mariadbd.sock").display()),
            format!("--pid-file={}", d.join("mariadbd.pid").display()),
            format!("--log-error={}", self.error_log().display()),
            format!("--port={}", self.port),
            "--bind-address=127.0.0.1".into(),
            "--skip-name-resolve".into(),
            format!("--init-file={}", d.join("init.sql").display()),
            // A tmpdir of its own: at start a server deletes every `#sql*`
            // file in its tmpdir, which would pull the temporary tables
            // from under other servers sharing /tmp.
            format!("--tmpdir={}", d.join("tmp").display()),
            "--innodb-buffer-pool-size=16M".into(),
            "--innodb-log-file-size=8M".into(),
            "--character-set-server=utf8mb4".into(),
            "--collation-server=utf8mb4_general_ci".into(),
            "--local-infile=1".into(),
            "--server-id=100".into(),
            "--event-scheduler=OFF".into(),
            "--max-allowed-packet=256M".into(),
            "--performance-schema=OFF".into(),
        ]);
        args.extend(self.options.iter().cloned());
        std::fs::write(self.error_log(), b"").ok();
        // The shell stops the server when our end of its stdin closes
        // (drop, or this process dying).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("\"$@\" </dev/null >/dev/null 2>&1 & pid=$!; read _ignored; kill $pid; wait $pid")
            .arg("sh")
            .arg(mariadbd())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mariadbd: {e}"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        self.child = Some((child, stdin));
        let start = Instant::now();
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && std::fs::read_to_string(self.error_log())
                    .is_ok_and(|l| l.contains("ready for connections"))
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|(c, _)| c.try_wait().ok().flatten().is_some());
            if exited || start.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.error_log()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                self.stop();
                panic!(
                    "the throwaway mariadbd with options {:?} did not start; its error log \
                     ends:\n{}",
                    self.options,
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some((mut child, mut stdin)) = self.child.take() {
            stdin.write_all(b"stop\n").ok();
            drop(stdin);
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(30) {
                    child.kill().ok();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            child.wait().ok();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
