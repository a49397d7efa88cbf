//! The source's binlog, for incremental migration: `source.log_bin`,
//! `source.binlog_format`, `source.binlog_row_image`,
//! `source.binlog_row_value_options`, `source.binlog_compress`,
//! `source.binlog_checksum`, `source.server_id`, `source.gtid_mode`,
//! `source.binlog_retention`, `source.binlog_archive`.

use crate::config::{MigrationType, TaskConfig};

use super::facts::ServerFacts;
use super::gather::Ctx;
use super::report::{fail, pass, warn, Check};

fn retention_seconds(src: &ServerFacts) -> Option<u64> {
    let secs = src.num("binlog_expire_logs_seconds").unwrap_or(0);
    if secs > 0 {
        return Some(secs);
    }
    let days: f64 = src.var("expire_logs_days").trim().parse().unwrap_or(0.0);
    if days > 0.0 {
        return Some((days * 86400.0) as u64);
    }
    None
}

/// The copy rate the retention estimate assumes (bytes per second).
pub const ESTIMATED_COPY_RATE: u64 = 20_000_000;

/// Every binlog check (all pass, as not needed, without incremental
/// migration).
pub(super) fn binlog_checks(task: &TaskConfig, src: &ServerFacts, ctx: &Ctx, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let full = task.migration.has(MigrationType::Full);
    out.push(archive(task, incremental));
    let ids = [
        "source.log_bin",
        "source.binlog_format",
        "source.binlog_row_image",
        "source.binlog_row_value_options",
        "source.binlog_compress",
        "source.binlog_checksum",
        "source.server_id",
        "source.gtid_mode",
        "source.binlog_retention",
    ];
    if !incremental {
        for id in ids {
            out.push(pass(id, "not needed: no incremental migration"));
        }
        return;
    }
    let persist = "(and the same in the [mysqld] section of its option file, so a restart keeps \
                   it)";
    // log_bin, or on PolarDB polar_log_bin (its cluster parameter
    // loose_polar_log_bin). A PolarDB too old to report polardb_version is
    // still known by that variable.
    let polar = src.version.is_polardb() || src.has_var("polar_log_bin");
    let dialect = if polar && !src.version.is_polardb() {
        server_dialect::Dialect::new(schema_diff::ServerVersion {
            polardb: Some("before polardb_version".into()),
            ..src.version.clone()
        })
    } else {
        src.dialect()
    };
    // The variable the dialect names, where the server shows it; log_bin
    // otherwise (a PolarDB that shows only log_bin is judged by it).
    let switch = if src.has_var(dialect.binlog_enabled_variable()) {
        dialect.binlog_enabled_variable()
    } else {
        "log_bin"
    };
    let fix = dialect.binlog_enable_fix();
    if src.on(switch) {
        out.push(pass("source.log_bin", format!("{switch} ON")));
    } else {
        out.push(fail(
            "source.log_bin",
            format!(
                "{switch} is {}: the source writes no binlog",
                if src.var(switch).is_empty() {
                    "missing"
                } else {
                    src.var(switch)
                }
            ),
            fix,
        ));
    }
    let fmt = src.var("binlog_format").to_ascii_uppercase();
    if fmt == "ROW" {
        out.push(pass("source.binlog_format", "binlog_format ROW"));
    } else {
        out.push(fail(
            "source.binlog_format",
            format!("binlog_format {fmt}"),
            format!(
                "SET GLOBAL binlog_format = 'ROW' on the source {persist}; sessions already \
                 open keep their format until they reconnect"
            ),
        ));
    }
    let image = src.var("binlog_row_image").to_ascii_uppercase();
    if image == "FULL" || image.is_empty() {
        out.push(pass(
            "source.binlog_row_image",
            format!(
                "binlog_row_image {}",
                if image.is_empty() {
                    "FULL (5.5 default)"
                } else {
                    "FULL"
                }
            ),
        ));
    } else {
        out.push(fail(
            "source.binlog_row_image",
            format!("binlog_row_image {image}"),
            format!("SET GLOBAL binlog_row_image = 'FULL' on the source {persist}"),
        ));
    }
    // PARTIAL_JSON: MySQL logs a JSON update as diffs against the before
    // image. With a full before image the apply computes the after value
    // exactly (it applies the diffs as the server does); without one it
    // cannot.
    let rvo = src.var("binlog_row_value_options").to_ascii_uppercase();
    if rvo.contains("PARTIAL_JSON") && image != "FULL" && !image.is_empty() {
        out.push(fail(
            "source.binlog_row_value_options",
            format!(
                "binlog_row_value_options {rvo} with binlog_row_image {image}: JSON updates are \
                 logged as diffs against a before image that lacks columns"
            ),
            format!(
                "SET GLOBAL binlog_row_value_options = '' on the source, or SET GLOBAL \
                 binlog_row_image = 'FULL' {persist}"
            ),
        ));
    } else if rvo.contains("PARTIAL_JSON") {
        out.push(pass(
            "source.binlog_row_value_options",
            format!(
                "binlog_row_value_options {rvo} with binlog_row_image FULL: the apply applies \
                 the JSON diffs over the full before image"
            ),
        ));
    } else {
        out.push(pass(
            "source.binlog_row_value_options",
            if src.has_var("binlog_row_value_options") {
                format!("binlog_row_value_options '{rvo}'")
            } else {
                "the server has no partial JSON logging".into()
            },
        ));
    }
    let mut compress = Vec::new();
    if src.on("log_bin_compress") {
        compress.push("log_bin_compress ON (MariaDB compressed events)");
    }
    if src.on("binlog_transaction_compression") {
        compress.push(
            "binlog_transaction_compression ON (zstd TRANSACTION_PAYLOAD events, each decoded \
             whole: at most [incremental] max_uncompressed_bytes uncompressed)",
        );
    }
    out.push(pass(
        "source.binlog_compress",
        if compress.is_empty() {
            "binlog events are not compressed".to_string()
        } else {
            format!(
                "{}: the reader decompresses them and applies every event inside",
                compress.join(", ")
            )
        },
    ));
    let sum = src.var("binlog_checksum").to_ascii_uppercase();
    if sum == "NONE" {
        out.push(warn(
            "source.binlog_checksum",
            "binlog_checksum NONE: corrupted events cannot be detected",
            format!("SET GLOBAL binlog_checksum = 'CRC32' on the source {persist}"),
        ));
    } else {
        out.push(pass(
            "source.binlog_checksum",
            format!("binlog_checksum {sum}"),
        ));
    }
    if src.num("server_id") == Some(0) {
        out.push(fail(
            "source.server_id",
            "server_id 0",
            format!(
                "SET GLOBAL server_id = 1 on the source (any id unused in its cluster) {persist}"
            ),
        ));
    } else {
        out.push(pass(
            "source.server_id",
            format!("server_id {}", src.var("server_id")),
        ));
    }
    if src.version.is_mariadb() {
        out.push(pass(
            "source.gtid_mode",
            format!(
                "MariaDB always writes GTIDs (gtid_binlog_pos {:?})",
                src.var("gtid_binlog_pos")
            ),
        ));
    } else if src.var("gtid_mode").eq_ignore_ascii_case("ON") {
        out.push(pass("source.gtid_mode", "gtid_mode ON"));
    } else {
        out.push(warn(
            "source.gtid_mode",
            format!(
                "gtid_mode {}: positions are file offsets tied to this server",
                if src.var("gtid_mode").is_empty() {
                    "(none)"
                } else {
                    src.var("gtid_mode")
                }
            ),
            "SET GLOBAL enforce_gtid_consistency = ON; SET GLOBAL gtid_mode = OFF_PERMISSIVE; \
             SET GLOBAL gtid_mode = ON_PERMISSIVE; (wait for ONGOING_ANONYMOUS_TRANSACTION_COUNT \
             = 0) SET GLOBAL gtid_mode = ON; and the same in the option file; or acknowledge \
             source.gtid_mode when the source will not fail over",
        ));
    }
    // Retention.
    let need = if full { 7 * 86400 } else { 86400 + 1 };
    let bytes: u64 = ctx.tables.iter().map(|t| t.stats.data_length).sum();
    let estimate = bytes / ESTIMATED_COPY_RATE;
    let est = format!(
        "the full copy of {:.1} MB is estimated at {} at {} MB/s",
        bytes as f64 / 1e6,
        human(estimate),
        ESTIMATED_COPY_RATE / 1_000_000
    );
    let var = if src.has_var("binlog_expire_logs_seconds") {
        "binlog_expire_logs_seconds"
    } else {
        "expire_logs_days"
    };
    let fix = |secs: u64| {
        if var == "binlog_expire_logs_seconds" {
            format!("SET GLOBAL binlog_expire_logs_seconds = {secs} on the source {persist}")
        } else {
            format!(
                "SET GLOBAL expire_logs_days = {} on the source {persist}",
                secs.div_ceil(86400)
            )
        }
    };
    match retention_seconds(src) {
        None => out.push(pass(
            "source.binlog_retention",
            format!("binlogs never expire; {est}"),
        )),
        Some(r) if r < need => out.push(fail(
            "source.binlog_retention",
            format!(
                "binlogs are kept {}; this task needs {} ({}); {est}",
                human(r),
                if full {
                    "at least 7 days"
                } else {
                    "more than 24 hours"
                },
                if full {
                    "full + incremental"
                } else {
                    "incremental only"
                }
            ),
            fix(if full { 7 * 86400 } else { 2 * 86400 }),
        )),
        Some(r) if full && estimate * 2 > r => out.push(warn(
            "source.binlog_retention",
            format!("binlogs are kept {}; {est}: less than twice that", human(r)),
            fix((estimate * 2).max(7 * 86400)),
        )),
        Some(r) => out.push(pass(
            "source.binlog_retention",
            format!("binlogs are kept {}; {est}", human(r)),
        )),
    }
}

fn human(secs: u64) -> String {
    if secs >= 86400 {
        format!("{:.1} days", secs as f64 / 86400.0)
    } else if secs >= 3600 {
        format!("{:.1} hours", secs as f64 / 3600.0)
    } else {
        format!("{secs} s")
    }
}

/// `source.binlog_archive`: the directory is readable and holds binlog
/// files (by their magic bytes), and the task reads binlogs at all.
pub(super) fn archive(task: &TaskConfig, incremental: bool) -> Check {
    let id = "source.binlog_archive";
    let Some(dir) = &task.source.binlog_archive else {
        return pass(
            id,
            "no archive: binlogs the source purges past the task's checkpoint stop the task",
        );
    };
    if !incremental {
        return fail(
            id,
            format!(
                "binlog_archive = {:?} is set, but the task has no incremental migration to \
                 read it",
                dir.display()
            ),
            "remove binlog_archive from [source], or add incremental to [migration] types",
        );
    }
    let fix = "give binlog_archive the directory holding the source's purged binlog files \
               (readable by this user)";
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            return fail(
                id,
                format!("the binlog archive {} cannot be read: {e}", dir.display()),
                fix,
            )
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let mut magic = [0u8; 4];
        match std::fs::File::open(&p).and_then(|mut f| {
            use std::io::Read;
            f.read_exact(&mut magic)
        }) {
            Ok(()) if &magic == b"\xfebin" => names.push(name),
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => unreadable.push(format!("{name} ({e})")),
        }
    }
    if !unreadable.is_empty() {
        return fail(
            id,
            format!(
                "the binlog archive {} has files this user cannot read: {}",
                dir.display(),
                unreadable.join(", ")
            ),
            fix,
        );
    }
    names.sort_by(|a, b| {
        binlog_reader::position::compare_binlog_file_names(a, b).unwrap_or_else(|| a.cmp(b))
    });
    match (names.first(), names.last()) {
        (Some(a), Some(b)) => pass(
            id,
            format!(
                "the binlog archive {} holds {} binlog files, {a} to {b}",
                dir.display(),
                names.len()
            ),
        ),
        _ => fail(
            id,
            format!("the binlog archive {} holds no binlog file", dir.display()),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{ctx, facts, status, task};
    use super::*;
    use schema_diff::model::Schema;

    use crate::precheck::Status;

    fn binlog(vars: &[(&str, &str)]) -> Vec<Check> {
        binlog_of("8.0.36", vars)
    }

    #[test]
    fn the_binlog_archive_must_be_a_readable_directory_of_binlog_files() {
        let mut t = task();
        let a = archive(&t, true);
        assert_eq!(a.status, Status::Pass, "{a:?}");
        assert!(a.found.contains("no archive"), "{a:?}");
        let dir = std::env::temp_dir().join(format!("dts-archive-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        t.source.binlog_archive = Some(dir.join("missing"));
        let a = archive(&t, true);
        assert_eq!(
            status(std::slice::from_ref(&a), "source.binlog_archive"),
            Status::Failure
        );
        assert!(a.found.contains("cannot be read"), "{a:?}");
        t.source.binlog_archive = Some(dir.clone());
        std::fs::write(dir.join("notes.txt"), "not a binlog").unwrap();
        let a = archive(&t, true);
        assert_eq!(a.status, Status::Failure);
        assert!(a.found.contains("holds no binlog file"), "{a:?}");
        for n in ["mysql-bin.1000000", "mysql-bin.999999"] {
            std::fs::write(dir.join(n), b"\xfebin\0\0").unwrap();
        }
        let a = archive(&t, true);
        assert_eq!(a.status, Status::Pass);
        assert!(
            a.found
                .contains("holds 2 binlog files, mysql-bin.999999 to mysql-bin.1000000"),
            "{a:?}"
        );
        // Accepted, it must act: without incremental migration it cannot.
        let a = archive(&t, false);
        assert_eq!(
            status(std::slice::from_ref(&a), "source.binlog_archive"),
            Status::Failure
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn binlog_of(version: &str, vars: &[(&str, &str)]) -> Vec<Check> {
        let src = facts(version, vars);
        let c = ctx(src.clone(), facts("8.0.36", &[]), Schema::default());
        let mut out = vec![];
        binlog_checks(&task(), &src, &c, &mut out);
        out
    }

    const GOOD: &[(&str, &str)] = &[
        ("log_bin", "ON"),
        ("binlog_format", "ROW"),
        ("binlog_row_image", "FULL"),
        ("binlog_row_value_options", ""),
        ("binlog_checksum", "CRC32"),
        ("server_id", "1"),
        ("gtid_mode", "ON"),
        ("binlog_expire_logs_seconds", "2592000"),
    ];

    fn with(over: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = GOOD
            .iter()
            .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
            .copied()
            .collect();
        v.extend_from_slice(over);
        v
    }

    #[test]
    fn mysql_binlog_settings() {
        let out = binlog(GOOD);
        assert!(out.iter().all(|c| c.status == Status::Pass), "{out:#?}");
        // PARTIAL_JSON: applied exactly over a full before image, refused
        // with either fix otherwise.
        let out = binlog(&with(&[("binlog_row_value_options", "PARTIAL_JSON")]));
        assert_eq!(
            status(&out, "source.binlog_row_value_options"),
            Status::Pass
        );
        let out = binlog(&with(&[
            ("binlog_row_value_options", "PARTIAL_JSON"),
            ("binlog_row_image", "MINIMAL"),
        ]));
        assert_eq!(
            status(&out, "source.binlog_row_value_options"),
            Status::Failure
        );
        let c = check(&out, "source.binlog_row_value_options");
        assert!(
            c.fix.contains("binlog_row_value_options = ''")
                && c.fix.contains("binlog_row_image = 'FULL'"),
            "{c:?}"
        );
        let out = binlog(&with(&[
            ("binlog_row_value_options", "PARTIAL_JSON"),
            ("binlog_row_image", "NOBLOB"),
        ]));
        assert_eq!(
            status(&out, "source.binlog_row_value_options"),
            Status::Failure
        );
        let out = binlog(&with(&[("gtid_mode", "OFF")]));
        assert_eq!(status(&out, "source.gtid_mode"), Status::Warning);
        let out = binlog(&with(&[("server_id", "0")]));
        assert_eq!(status(&out, "source.server_id"), Status::Failure);
        let out = binlog(&with(&[("binlog_transaction_compression", "ON")]));
        assert_eq!(status(&out, "source.binlog_compress"), Status::Pass);
        // PolarDB: loose_polar_log_bin shows as polar_log_bin.
        let out = binlog(&with(&[("polar_log_bin", "OFF")]));
        assert_eq!(status(&out, "source.log_bin"), Status::Failure);
        let c = out.iter().find(|c| c.id == "source.log_bin").unwrap();
        assert!(c.fix.contains("loose_polar_log_bin"), "{c:?}");
        let out = binlog(&with(&[("polar_log_bin", "ON"), ("log_bin", "OFF")]));
        assert_eq!(status(&out, "source.log_bin"), Status::Pass);
    }

    fn check<'a>(out: &'a [Check], id: &str) -> &'a Check {
        out.iter().find(|c| c.id == id).unwrap()
    }

    #[test]
    fn polardb_binlog_is_judged_by_polar_log_bin_and_fixed_by_its_parameter() {
        // A PolarDB for MySQL 8.0.2 cluster (MySQL 8.0.18): polardb_version
        // identifies it, polar_log_bin is its binlog switch.
        let polar = |over: &[(&'static str, &'static str)]| {
            let mut v = with(over);
            v.push(("polardb_version", "8.0.2.2.19"));
            binlog_of("8.0.18", &v)
        };
        let out = polar(&[("polar_log_bin", "OFF"), ("log_bin", "ON")]);
        let c = check(&out, "source.log_bin");
        assert_eq!(c.status, Status::Failure);
        assert!(c.found.contains("polar_log_bin is OFF"), "{c:?}");
        assert!(c.fix.contains("loose_polar_log_bin = ON"), "{c:?}");
        let out = polar(&[("polar_log_bin", "ON"), ("log_bin", "OFF")]);
        assert_eq!(check(&out, "source.log_bin").found, "polar_log_bin ON");
        // A PolarDB that shows only log_bin is judged by it, and still
        // gets the PolarDB fix.
        let out = polar(&[("log_bin", "OFF")]);
        let c = check(&out, "source.log_bin");
        assert_eq!(c.status, Status::Failure);
        assert!(c.found.starts_with("log_bin is OFF"), "{c:?}");
        assert!(c.fix.contains("loose_polar_log_bin"), "{c:?}");
        // Compressed transactions and partial JSON over a full image pass
        // on PolarDB as on MySQL.
        let out = polar(&[
            ("polar_log_bin", "ON"),
            ("binlog_transaction_compression", "ON"),
            ("binlog_row_value_options", "PARTIAL_JSON"),
        ]);
        assert!(out.iter().all(|c| c.status == Status::Pass), "{out:#?}");
        // Plain MySQL is never told about PolarDB's parameter.
        let out = binlog(&with(&[("log_bin", "OFF")]));
        let c = check(&out, "source.log_bin");
        assert_eq!(c.status, Status::Failure);
        assert!(!c.fix.contains("polar"), "{c:?}");
    }

    #[test]
    fn binlog_settings_per_flavour_and_version() {
        for version in ["5.7.44-log", "8.0.21", "8.0.36", "8.4.3", "9.1.0"] {
            let out = binlog_of(version, GOOD);
            assert!(
                out.iter().all(|c| c.status == Status::Pass),
                "{version}: {out:#?}"
            );
        }
        // MariaDB: no gtid_mode, no binlog_row_value_options, compressed
        // events (log_bin_compress) decoded.
        let maria: Vec<_> = GOOD
            .iter()
            .filter(|(k, _)| *k != "gtid_mode" && *k != "binlog_row_value_options")
            .copied()
            .chain([("log_bin_compress", "ON")])
            .collect();
        for version in ["10.3.39-MariaDB", "10.11.6-MariaDB-log", "11.4.2-MariaDB"] {
            let out = binlog_of(version, &maria);
            assert!(
                out.iter().all(|c| c.status == Status::Pass),
                "{version}: {out:#?}"
            );
            assert!(check(&out, "source.binlog_compress")
                .found
                .contains("log_bin_compress"));
        }
    }
}
