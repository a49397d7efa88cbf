//! Copies whole databases with bulk-copy, for benchmarks and trials:
//! `cargo run --release -p bulk-copy --example copy -- SOURCE_URL TARGET_URL DB [READERS]`.
//! The target tables must exist. Passwords go in the URLs here (a trial
//! tool); the real CLI takes them from the environment.

use mysql_async::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, src, tgt, db, rest @ ..] = &args[..] else {
        return Err("usage: copy SOURCE_URL TARGET_URL DB [READERS]".into());
    };
    let readers = rest.first().map(|r| r.parse()).transpose()?.unwrap_or(4);
    let source = mysql_async::Opts::from_url(src)?;
    let target = mysql_async::Opts::from_url(tgt)?;
    let mut c = mysql_async::Conn::new(source.clone()).await?;
    let tables: Vec<String> = c
        .exec(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
            (db,),
        )
        .await?;
    c.disconnect().await?;
    let list: Vec<bulk_copy::CopyTable> = tables
        .iter()
        .map(|t| bulk_copy::CopyTable::same(db, t))
        .collect();
    let options = bulk_copy::CopyOptions {
        readers,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let report = bulk_copy::copy_tables(&source, &target, &list, &options).await?;
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    let bytes: u64 = report.tables.iter().map(|t| t.bytes).sum();
    println!(
        "copied {rows} rows ({:.1} MB of load text) from {} tables in {:.2} s; start position {:?}{}",
        bytes as f64 / 1e6,
        report.tables.len(),
        started.elapsed().as_secs_f64(),
        report.start,
        report
            .overlap_end
            .map(|e| format!(", overlap to {e}"))
            .unwrap_or_default()
    );
    Ok(())
}
