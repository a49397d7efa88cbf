//! Every binlog file that `mariadb-test-data` installs goes through
//! `dts binlog dump --json` without a panic or a hang. For each file that
//! `mariadb-binlog` reads without error, every event start it prints
//! (`# at N`) is among ours; the others end in a precise error (exit code 2
//! with a message naming the file), never a crash.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TEST_DATA: &str = "/usr/share/mysql/mysql-test";

fn binlog_files() -> Vec<PathBuf> {
    let root = Path::new(TEST_DATA);
    assert!(
        root.is_dir(),
        "{TEST_DATA} is missing: install MariaDB's test data with \
         `sudo apt-get install -y mariadb-test-data` (scripts/ensure-mariadb does)"
    );
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let mut magic = [0u8; 4];
                if let Ok(mut f) = std::fs::File::open(&p) {
                    use std::io::Read;
                    if f.read_exact(&mut magic).is_ok() && &magic == b"\xfebin" {
                        out.push(p);
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// Runs a command with a deadline; returns (exit code, stdout, stderr).
fn run_with_deadline(cmd: &mut Command, deadline: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let out_pipe = child.stdout.take();
    let err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = out_pipe {
            use std::io::Read;
            let mut b = Vec::new();
            p.read_to_end(&mut b).ok();
            s = String::from_utf8_lossy(&b).into_owned();
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = err_pipe {
            use std::io::Read;
            p.read_to_string(&mut s).ok();
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if start.elapsed() > deadline {
            child.kill().ok();
            panic!("{cmd:?} hung for more than {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (
        status.code(),
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default(),
    )
}

#[test]
fn every_test_binlog_dumps_without_panic_and_matches_mariadb_binlog() {
    let files = binlog_files();
    assert!(
        files.len() >= 20,
        "expected the test binlogs of mariadb-test-data, found {}",
        files.len()
    );
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for f in &files {
        let (code, out, err) = run_with_deadline(
            Command::new(env!("CARGO_BIN_EXE_dts"))
                .args(["binlog", "dump", "--json"])
                .arg(f),
            Duration::from_secs(60),
        );
        // Exit 0, or exit 2 with a message: never a signal or a panic.
        assert!(
            matches!(code, Some(0) | Some(2)),
            "{}: dts exited with {code:?}\nstderr: {err}",
            f.display()
        );
        assert!(
            !err.contains("panicked"),
            "{}: dts panicked: {err}",
            f.display()
        );
        if code == Some(2) {
            assert!(
                err.contains(&*f.to_string_lossy()) && err.contains("byte"),
                "{}: the error must name the file and the offset: {err}",
                f.display()
            );
        }
        let mut ours = BTreeSet::new();
        for l in out.lines() {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", f.display()));
            for key in ["pos", "end_pos", "type"] {
                assert!(v.get(key).is_some(), "{}: no {key:?} in {l}", f.display());
            }
            if let Some(p) = v["pos"].as_u64() {
                ours.insert(p);
            }
        }
        // mariadb-binlog as the reference.
        let (mcode, mout, _) = run_with_deadline(
            Command::new("mariadb-binlog").arg("--no-defaults").arg(f),
            Duration::from_secs(60),
        );
        let theirs: BTreeSet<u64> = mout
            .lines()
            .filter_map(|l| l.strip_prefix("# at "))
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        let missing: Vec<&u64> = theirs.difference(&ours).collect();
        report.push(format!(
            "{}: dts exit {:?} ({} events), mariadb-binlog exit {:?} ({} events){}",
            f.display(),
            code,
            ours.len(),
            mcode,
            theirs.len(),
            if code == Some(2) {
                format!(" — {}", err.trim())
            } else {
                String::new()
            }
        ));
        if mcode == Some(0) && !missing.is_empty() {
            failures.push(format!(
                "{}: mariadb-binlog read it without error, but these event starts are missing from ours: {:?}\n  dts stderr: {}",
                f.display(),
                missing.iter().take(10).collect::<Vec<_>>(),
                err.trim()
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
