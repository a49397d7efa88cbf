//! `dts binlog dump`: events as text (like `mariadb-binlog --verbose`) or as
//! JSON lines, from files or from a server's binlog stream; the events come
//! from dts-core and are rendered by `binlog_reader::render`.

use std::io::Write;
use std::process::ExitCode;

use binlog_reader::render::{event_json, event_text};
use dts_core::commands::DumpSource;
use dts_core::config::{CommandLine, TaskConfig};

use crate::DumpArgs;

pub(crate) fn run(args: &DumpArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let server = match (&args.config, &args.source.source) {
        (Some(path), _) => Some(TaskConfig::from_file(path)?.source),
        (None, Some(_)) => Some(
            CommandLine {
                source: args.source.server(&args.tls),
                ..CommandLine::default()
            }
            .source_endpoint()?,
        ),
        (None, None) => None,
    };
    let from = match server {
        Some(source) => DumpSource::Server {
            source: Box::new(source),
            start_file: args.start_file.clone(),
            start_pos: args.start_pos,
            stop_at_end: !args.stop_never,
        },
        None => DumpSource::Files {
            paths: args.files.clone(),
            follow: args.follow,
        },
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(dts_core::commands::binlog_dump(from, |ev| {
        if args.json {
            writeln!(out, "{}", event_json(ev))
        } else {
            writeln!(out, "{}", event_text(ev))
        }
    }))?;
    Ok(ExitCode::SUCCESS)
}
