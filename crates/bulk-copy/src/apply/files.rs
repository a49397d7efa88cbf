//! Binlog files as the apply's source: the files a server wrote (a backup's
//! archived binlogs, files copied off a managed service) read in binlog
//! order with `binlog_reader::FileReader`, from the checkpoint's file and
//! offset on, into the same queue the server's stream fills.
//!
//! The files must continue the checkpoint and each other:
//! - the names are of one series (`mysql-bin.000007`, ...), taken in
//!   numeric order (`.999999` before `.1000000`, catalogue S3) whatever the
//!   order given;
//! - the checkpoint's file must be among them (files before it are already
//!   applied and are not read), and an event must start exactly at the
//!   checkpoint's offset;
//! - each file must be followed by the file its closing ROTATE names, or,
//!   for a file that ends without one (a STOP or a crash), by the next
//!   number of the series;
//! - every file is written by the same server (the FORMAT_DESCRIPTION's
//!   server id), which the checkpoint records.
//!
//! The names and the checkpoint's file are checked before any event is
//! read; the rest where reading finds it: the apply stops there, with the
//! checkpoint at the last transaction committed before it, as for any error.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::Feed;
use binlog_reader::position::{compare_binlog_file_names, FilePosition};
use binlog_reader::{EventBody, FileReader};

use crate::base::error::CopyError;

/// A file's name, as the server wrote it (the checkpoint's form).
fn file_name(p: &Path) -> Result<String, CopyError> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| CopyError::Unsupported {
            reason: format!(
                "{} is not a binlog file name (a name such as mysql-bin.000001 is needed)",
                p.display()
            ),
        })
}

fn not_a_series(a: &str, b: &str) -> CopyError {
    CopyError::Unsupported {
        reason: format!(
            "the binlog files {a} and {b} are not of one series (a base name and a number, such \
             as mysql-bin.000001): give the binlog files of one server, without its index file"
        ),
    }
}

/// The files in binlog order, each with its name.
pub(crate) fn in_order(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, CopyError> {
    if paths.is_empty() {
        return Err(CopyError::Unsupported {
            reason: "no binlog file was given".into(),
        });
    }
    let mut v = Vec::with_capacity(paths.len());
    for p in paths {
        v.push((file_name(p)?, p.clone()));
    }
    // Every name must compare with the first (one series, numbered).
    let first = v.first().map(|f| f.0.clone()).unwrap_or_default();
    for (n, _) in &v {
        if !has_number(n) || compare_binlog_file_names(&first, n).is_none() {
            return Err(not_a_series(&first, n));
        }
    }
    v.sort_by(|a, b| compare_binlog_file_names(&a.0, &b.0).unwrap_or(Ordering::Equal));
    for w in v.windows(2) {
        if let [a, b] = w {
            if compare_binlog_file_names(&a.0, &b.0) == Some(Ordering::Equal) {
                return Err(CopyError::Unsupported {
                    reason: format!(
                        "the binlog file {} is given twice ({} and {})",
                        a.0,
                        a.1.display(),
                        b.1.display()
                    ),
                });
            }
        }
    }
    Ok(v)
}

fn has_number(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `b` is the file the server creates after `a`: the same base name
/// and the next number (`.999999` is followed by `.1000000`).
pub(crate) fn is_successor(a: &str, b: &str) -> bool {
    let (Some((ba, na)), Some((bb, nb))) = (a.rsplit_once('.'), b.rsplit_once('.')) else {
        return false;
    };
    if ba != bb || !has_number(a) || !has_number(b) {
        return false;
    }
    match (na.parse::<u128>(), nb.parse::<u128>()) {
        (Ok(x), Ok(y)) => x.checked_add(1) == Some(y),
        _ => false,
    }
}

/// The files to read for a checkpoint at `from`: from the checkpoint's file
/// on. Empty when every file given is before it (all applied already).
///
/// # Errors
///
/// When the names are not one series, a name is given twice, or the
/// checkpoint's file is not among them while later files are.
pub(crate) fn plan(
    task: &str,
    paths: &[PathBuf],
    from: &FilePosition,
) -> Result<Vec<(String, PathBuf)>, CopyError> {
    let all = in_order(paths)?;
    let first = all.first().map(|f| f.0.clone()).unwrap_or_default();
    if compare_binlog_file_names(&first, &from.file).is_none() {
        return Err(CopyError::Unsupported {
            reason: format!(
                "task {task:?} is at {from}, but the binlog files given are of another series \
                 ({first}, ...): give the files from {} on, or use another task name",
                from.file
            ),
        });
    }
    let rest: Vec<(String, PathBuf)> = all
        .into_iter()
        .filter(|(n, _)| compare_binlog_file_names(n, &from.file) != Some(Ordering::Less))
        .collect();
    match rest.first() {
        None => Ok(rest),
        Some((n, _)) if *n == from.file => Ok(rest),
        Some((n, _)) => Err(CopyError::Unsupported {
            reason: format!(
                "task {task:?} is at {from}, but the binlog files given start after it, at {n}: \
                 the changes of {} from offset {} on would be lost. Give {} and the files after it",
                from.file, from.offset, from.file
            ),
        }),
    }
}

/// The server id in the first file's FORMAT_DESCRIPTION: the server that
/// wrote the files.
pub(crate) fn server_id(path: &Path) -> Result<u64, CopyError> {
    let mut r = FileReader::new([path]);
    match r.next_event() {
        Ok(Some(ev)) if matches!(ev.body, EventBody::FormatDescription(_)) => {
            Ok(u64::from(ev.header.server_id))
        }
        Ok(Some(ev)) => Err(CopyError::Binlog {
            at: format!("{}:{}", path.display(), ev.pos),
            reason: "the file does not start with a FORMAT_DESCRIPTION event: it is not a \
                     binlog file as a server writes it"
                .into(),
        }),
        Ok(None) => Err(CopyError::Binlog {
            at: format!("{}", path.display()),
            reason: "the file holds no event".into(),
        }),
        Err(e) => Err(read_error(e)),
    }
}

fn read_error(e: binlog_reader::ReadError) -> CopyError {
    let e = match e {
        binlog_reader::ReadError::Decode { path, error } => match super::decode_error(error) {
            Ok((offset, reason)) => {
                return CopyError::Binlog {
                    at: format!("{}:{offset}", path.display()),
                    reason,
                }
            }
            Err(error) => binlog_reader::ReadError::Decode { path, error },
        },
        other => other,
    };
    CopyError::Binlog {
        at: match &e {
            binlog_reader::ReadError::Io { path, .. }
            | binlog_reader::ReadError::Decode { path, .. }
            | binlog_reader::ReadError::Truncated { path, .. } => path.display().to_string(),
            _ => "a binlog file".into(),
        },
        reason: e.to_string(),
    }
}

/// Reads the planned files from `from` on and sends their events to `tx`,
/// stopping at the first error (sent too) or when the receiver is gone.
/// Blocking: run it on a blocking thread.
pub(crate) fn read(
    files: Vec<(String, PathBuf)>,
    from: FilePosition,
    server_id: u64,
    limits: binlog_reader::Limits,
    tx: Feed,
) {
    if let Err(e) = read_files(files, from, server_id, limits, &tx) {
        let _ = tx.blocking_send(Err(e));
    }
}

/// How the files read ended: the last file's name, and the file its ROTATE
/// named, if it ended with one. `None` when the receiver went away first.
pub(crate) type LastFile = Option<(String, Option<String>)>;

/// [`read`], returning how the files ended instead of sending the error.
pub(crate) fn read_files(
    files: Vec<(String, PathBuf)>,
    from: FilePosition,
    server_id: u64,
    limits: binlog_reader::Limits,
    tx: &Feed,
) -> Result<LastFile, CopyError> {
    // The name of the file before, and the file its ROTATE named.
    let mut prev: Option<(String, Option<String>)> = None;
    for (name, path) in files {
        if let Some((p, rotated_to)) = &prev {
            let follows = match rotated_to {
                Some(next) => *next == name,
                None => is_successor(p, &name),
            };
            if !follows {
                return Err(CopyError::Binlog {
                    at: p.clone(),
                    reason: match rotated_to {
                        Some(next) => format!(
                            "the file rotates to {next}, but the next file given is {name}: give \
                             every binlog file of the sequence, none missing"
                        ),
                        None => format!(
                            "the file ends without a ROTATE and the next file given, {name}, is \
                             not the next number: give every binlog file of the sequence, none \
                             missing"
                        ),
                    },
                });
            }
        }
        let skip_to = (name == from.file).then_some(from.offset);
        let mut reached = skip_to.is_none_or(|o| o <= 4);
        // The end of the last event read: a checkpoint may be at the end of
        // the file (nothing after it was written yet).
        let mut end = 4;
        let mut rotated_to = None;
        let mut r = FileReader::new([&path]).configure(|d| d.with_limits(limits));
        loop {
            let ev = match r.next_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => return Err(read_error(e)),
            };
            match &ev.body {
                EventBody::FormatDescription(_) if u64::from(ev.header.server_id) != server_id => {
                    return Err(CopyError::Binlog {
                        at: format!("{name}:{}", ev.pos),
                        reason: format!(
                            "the file was written by the server with server_id {}, the \
                             checkpoint's files by server_id {server_id}: apply the binlogs of \
                             one server per task",
                            ev.header.server_id
                        ),
                    });
                }
                EventBody::Rotate(rot) if !rot.fake => rotated_to = Some(rot.next_file.clone()),
                _ => {}
            }
            if let Some(o) = skip_to {
                // The format description goes out as the server's stream
                // sends it when a dump starts inside a file.
                if !reached && !matches!(ev.body, EventBody::FormatDescription(_)) {
                    if ev.pos < o {
                        // Applied already (the decoder still reads it for
                        // the file's format and table maps).
                        end = ev.end_pos;
                        continue;
                    }
                    if ev.pos > o {
                        return Err(not_a_boundary(&name, o));
                    }
                    reached = true;
                }
            }
            if !tx.blocking_send(Ok(ev)) {
                return Ok(None);
            }
        }
        if !reached && skip_to != Some(end) {
            return Err(not_a_boundary(&name, skip_to.unwrap_or(4)));
        }
        prev = Some((name, rotated_to));
    }
    Ok(prev)
}

/// What an archive of binlog files adds to a server: the archived files
/// from the checkpoint's file up to the first file the server still has
/// (`live`), where the stream takes over at offset 4.
#[derive(Debug)]
pub(crate) struct Bridge {
    /// The archived files to read, in order.
    pub(crate) files: Vec<(String, PathBuf)>,
    /// The server's first file after them.
    pub(crate) live: String,
}

/// The name the server gives the file after `name` (the number plus one,
/// at least as many digits).
fn successor_name(name: &str) -> Option<String> {
    let (base, n) = name.rsplit_once('.')?;
    let v: u128 = n.parse().ok()?;
    Some(format!(
        "{base}.{:0width$}",
        v.checked_add(1)?,
        width = n.len()
    ))
}

/// The binlog files in `dir` of the series of `like`, in order.
fn archive_files(dir: &Path, like: &str) -> Result<Vec<(String, PathBuf)>, CopyError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CopyError::Unsupported {
        reason: format!(
            "the binlog archive {} cannot be read: {e}. Fix [source] binlog_archive",
            dir.display()
        ),
    })?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|e| CopyError::Unsupported {
            reason: format!("listing the binlog archive {}: {e}", dir.display()),
        })?;
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if has_number(&name) && compare_binlog_file_names(&name, like).is_some() {
            v.push((name, e.path()));
        }
    }
    v.sort_by(|a, b| compare_binlog_file_names(&a.0, &b.0).unwrap_or(Ordering::Equal));
    Ok(v)
}

/// What to read from the archive in `dir` for a checkpoint at `from` when
/// the server has the binlog files `on_server` (`SHOW BINARY LOGS`, in
/// order): `None` when the server still has the checkpoint's file.
///
/// # Errors
///
/// [`CopyError::BinlogPurged`] naming the first file that is neither on
/// the server nor in the archive.
pub(crate) fn bridge(
    dir: &Path,
    from: &FilePosition,
    on_server: &[String],
) -> Result<Option<Bridge>, CopyError> {
    if on_server.contains(&from.file) {
        return Ok(None);
    }
    let available = match (on_server.first(), on_server.last()) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "no binary logs".into(),
    };
    let missing = |file: &str| CopyError::BinlogPurged {
        position: FilePosition::new(file, if file == from.file { from.offset } else { 4 }),
        available: format!(
            "{available}, and the binlog archive {} does not have it either",
            dir.display()
        ),
    };
    let Some(live) = on_server
        .iter()
        .find(|n| compare_binlog_file_names(n, &from.file) == Some(Ordering::Greater))
        .cloned()
    else {
        return Err(missing(&from.file));
    };
    let archived = archive_files(dir, &from.file)?;
    let mut files = Vec::new();
    let mut want = from.file.clone();
    while want != live {
        match archived.iter().find(|(n, _)| *n == want) {
            Some(f) => files.push(f.clone()),
            None => return Err(missing(&want)),
        }
        want = match successor_name(&want) {
            Some(n) if compare_binlog_file_names(&n, &live) != Some(Ordering::Greater) => n,
            _ => return Err(missing(&live)),
        };
    }
    Ok(Some(Bridge { files, live }))
}

fn not_a_boundary(name: &str, offset: u64) -> CopyError {
    CopyError::Binlog {
        at: format!("{name}:{offset}"),
        reason: "the checkpoint is at this position, but no event of the file given starts \
                 there: it is not the file the checkpoint was written from"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[(String, PathBuf)]) -> Vec<&str> {
        v.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn s3_files_are_taken_in_numeric_order_across_the_rollover() {
        let given: Vec<PathBuf> = ["d/b.1000000", "d/b.999998", "d/b.999999"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let v = in_order(&given).unwrap();
        assert_eq!(names(&v), ["b.999998", "b.999999", "b.1000000"]);
        assert!(is_successor("b.999999", "b.1000000"));
        assert!(!is_successor("b.999999", "b.999999"));
        assert!(!is_successor("b.000001", "c.000002"));
        let from = FilePosition::new("b.999999", 120);
        assert_eq!(
            names(&plan("t", &given, &from).unwrap()),
            ["b.999999", "b.1000000"]
        );
        // Everything applied already: nothing to read.
        let done = FilePosition::new("b.1000001", 4);
        assert!(plan("t", &given, &done).unwrap().is_empty());
    }

    #[test]
    fn an_archive_bridges_from_the_checkpoint_to_the_first_file_on_the_server() {
        let dir = std::env::temp_dir().join(format!("dts-bridge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["b.999998", "b.999999", "b.index", "other.000001"] {
            std::fs::write(dir.join(n), b"").unwrap();
        }
        let server = ["b.1000000".to_string(), "b.1000001".to_string()];
        let from = FilePosition::new("b.999998", 500);
        let b = bridge(&dir, &from, &server).unwrap().unwrap();
        assert_eq!(names(&b.files), ["b.999998", "b.999999"]);
        assert_eq!(b.live, "b.1000000");
        // On the server still: no bridge.
        let on = FilePosition::new("b.1000000", 4);
        assert!(bridge(&dir, &on, &server).unwrap().is_none());
        // A file missing from both.
        let from = FilePosition::new("b.999997", 900);
        let e = bridge(&dir, &from, &server).unwrap_err().to_string();
        assert!(
            e.contains("b.999997") && e.contains("b.1000000 to b.1000001"),
            "{e}"
        );
        std::fs::remove_file(dir.join("b.999999")).unwrap();
        let from = FilePosition::new("b.999998", 500);
        let e = bridge(&dir, &from, &server).unwrap_err().to_string();
        assert!(e.contains("b.999999 "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_that_do_not_continue_the_checkpoint_are_refused() {
        let given = [PathBuf::from("b.000003"), PathBuf::from("b.000004")];
        let e = plan("t", &given, &FilePosition::new("b.000002", 900))
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.000002:900") && e.contains("b.000003"), "{e}");
        let e = plan("t", &given, &FilePosition::new("other.000002", 4))
            .unwrap_err()
            .to_string();
        assert!(e.contains("another series"), "{e}");
        let e = in_order(&[PathBuf::from("b.000001"), PathBuf::from("b.index")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.index"), "{e}");
        let e = in_order(&[PathBuf::from("x/b.000001"), PathBuf::from("y/b.000001")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
    }
}
