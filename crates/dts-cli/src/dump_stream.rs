//! `dts binlog dump --source URL`: events from a server's binlog stream.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use binlog_reader::{BinlogStreamReader, StreamConfig, StreamStart};

use crate::DumpArgs;

/// Connection options from a URL, with the password taken from the
/// environment rather than the command line (argv is visible to every user
/// of the machine).
pub(crate) fn opts_from_url(url: &str, password_var: &str) -> anyhow::Result<mysql_async::Opts> {
    let parsed = mysql_async::Opts::from_url(url)
        .map_err(|e| anyhow::anyhow!("invalid URL (expected mysql://user@host:port): {e}"))?;
    if parsed.pass().is_some() {
        bail!(
            "the URL carries a password; put it in the environment variable {password_var} instead \
             (command lines are visible to every user of the machine)"
        );
    }
    let mut b = mysql_async::OptsBuilder::from_opts(parsed);
    if let Ok(p) = std::env::var(password_var) {
        b = b.pass(Some(p));
    }
    Ok(b.into())
}

pub(crate) fn run(args: &DumpArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let opts = match &args.config {
        Some(p) => {
            let cfg = dts_core::config::TaskConfig::from_file(p)?;
            rt.block_on(cfg.source.connect_opts())
        }
        None => opts_from_url(
            args.source.as_deref().unwrap_or_default(),
            "DTS_SOURCE_PASSWORD",
        )?,
    };
    rt.block_on(async {
        let mut cfg = StreamConfig::new(
            opts,
            // A server id no real replica is likely to use.
            4_000_000_000 - std::process::id() % 1000,
            StreamStart::File(args.start_file.clone(), args.start_pos),
        );
        cfg.non_blocking = !args.stop_never;
        let mut reader = BinlogStreamReader::connect(cfg)
            .await
            .context("connecting to the source")?;
        while let Some(ev) = reader.next().await.context("reading the binlog stream")? {
            crate::dump::print_event(&ev, args.json, out)?;
        }
        Ok(ExitCode::SUCCESS)
    })
}
