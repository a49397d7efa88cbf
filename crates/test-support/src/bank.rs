//! The bank workload: transfers between accounts inside multi-statement
//! transactions, plus an insert-mostly log, written to the source while a
//! copy or an apply runs. Its invariant: the sum of the balances never
//! changes, so a target that ever shows another sum holds half a
//! transaction (design rule 13).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{connect, exec, exec_retrying, Server, WriteLimit};

/// The workload's tables: `acct` (the balances) and `log` (one row per
/// movement, some deleted again).
pub const TABLES: [&str; 2] = [
    "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
    "CREATE TABLE log (id BIGINT AUTO_INCREMENT PRIMARY KEY, acct INT, delta INT)",
];

/// Each account's starting balance.
pub const BALANCE: i64 = 1000;

/// Fills `acct` with `accounts` accounts of [`BALANCE`] on a connection
/// whose default database holds the tables.
///
/// # Panics
///
/// When a statement fails.
pub async fn seed(conn: &mut mysql_async::Conn, accounts: u64) {
    exec(conn, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        conn,
        &format!(
            "INSERT INTO acct WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
             WHERE i < {accounts}) SELECT i, {BALANCE} FROM s"
        ),
    )
    .await;
}

/// The `i`-th transfer: 5 from one account to another, both movements
/// logged, and an older log row deleted, in one transaction.
pub fn transfer(i: u64, accounts: u64) -> String {
    let (a, b) = (1 + i * 7919 % accounts, 1 + i * 104_729 % accounts);
    format!(
        "BEGIN; UPDATE acct SET balance = balance - 5 WHERE id = {a};
         UPDATE acct SET balance = balance + 5 WHERE id = {b};
         INSERT INTO log (acct, delta) VALUES ({a}, -5), ({b}, 5);
         DELETE FROM log WHERE id = {i} DIV 2; COMMIT"
    )
}

/// Runs transfers on the source database `db` until `stop` is raised or
/// `limit` is reached; returns how many committed. (A transfer writes about
/// 400 bytes of binlog.)
pub fn writer(
    db: String,
    accounts: u64,
    stop: Arc<AtomicBool>,
    limit: WriteLimit,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut c = connect(Server::Source, Some(&db)).await;
        let deadline = std::time::Instant::now() + limit.within;
        let mut i: u64 = 0;
        while !stop.load(Ordering::SeqCst) && i < limit.max && std::time::Instant::now() < deadline
        {
            i += 1;
            exec_retrying(&mut c, &transfer(i, accounts)).await;
        }
        i
    })
}

/// The sum of the balances the workload keeps.
pub fn total(accounts: u64) -> i64 {
    accounts as i64 * BALANCE
}
