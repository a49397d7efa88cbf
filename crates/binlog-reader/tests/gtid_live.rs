//! GTID positions on real MariaDB servers started by the tests: the GTID
//! state the tracker computes from a binlog with several domains (catalogue
//! S5) against the server's own `BINLOG_GTID_POS`, and the failover
//! answers (catalogue S4) fed with the facts a promoted replica reports.

use binlog_reader::position::{
    resume_on, Boundary, Candidate, GtidState, GtidTracker, MariadbGtidPosition, ResumePlan,
    ResumeRefusal,
};
use binlog_reader::{Decoder, Event, Step};
use dts_test_support::replication::{
    binlog_files, conn_in_domain, gtid_positions, mariadb_candidate, purge_binlogs_but_current,
    ReplicationPair,
};
use dts_test_support::{exec, Instance};
use mysql_async::prelude::Queryable;

/// Decodes a whole binlog file.
fn decode(name: &str, bytes: &[u8]) -> Vec<Event> {
    let mut d = Decoder::for_file(Some(name.into()));
    let mut rest = bytes;
    let mut out = Vec::new();
    loop {
        match d.decode(rest).unwrap_or_else(|e| panic!("{name}: {e}")) {
            Step::Magic { consumed } => rest = &rest[consumed..],
            Step::Event { event, consumed } => {
                out.push(event);
                rest = &rest[consumed..];
            }
            Step::NeedMore { .. } => return out,
        }
    }
}

/// What a failover decision needs of a MariaDB server.
async fn facts(c: &mut mysql_async::Conn) -> Candidate {
    Candidate::Mariadb(mariadb_candidate(c).await)
}

fn pos(text: &str) -> MariadbGtidPosition {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_the_gtid_state_after_every_transaction_of_a_binlog_in_several_domains_is_the_servers() {
    // Without gtid_strict_mode, so that a domain's sequence numbers can go
    // back (a GTID logged with a lower gtid_seq_no).
    let server = Instance::start(&["--log-bin=binlog", "--binlog-format=ROW", "--server-id=1"]);
    let mut c = server.conn().await;
    exec(&mut c, "CREATE DATABASE g").await;
    exec(
        &mut c,
        "CREATE TABLE g.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB",
    )
    .await;
    let mut d2 = conn_in_domain(&server, 2).await;
    let mut d5 = conn_in_domain(&server, 5).await;
    for i in 0..4 {
        exec(&mut c, &format!("INSERT INTO g.t VALUES ({i}, 0)")).await;
        exec(&mut d2, &format!("INSERT INTO g.t VALUES ({}, 2)", 100 + i)).await;
        if i % 2 == 0 {
            exec(&mut d5, &format!("INSERT INTO g.t VALUES ({}, 5)", 500 + i)).await;
        }
    }
    // Another server id in domain 2, a transaction of several statements
    // in domain 5, and a rotation.
    exec(&mut d2, "SET SESSION server_id = 7").await;
    exec(&mut d2, "UPDATE g.t SET v = 22 WHERE id = 100").await;
    exec(
        &mut d5,
        "BEGIN; INSERT INTO g.t VALUES (600, 5); DELETE FROM g.t WHERE id = 500; COMMIT",
    )
    .await;
    exec(&mut c, "FLUSH BINARY LOGS").await;
    // Server 9 writes sequence number 7 in domain 0, then server 1 takes
    // the domain back to 3: the position follows the last GTID, not the
    // highest, and so does the next file's GTID_LIST. The server then
    // goes on from its highest number.
    exec(&mut c, "SET SESSION server_id = 9").await;
    exec(&mut c, "INSERT INTO g.t VALUES (40, 0)").await;
    exec(&mut c, "SET SESSION server_id = 1").await;
    exec(&mut c, "SET SESSION gtid_seq_no = 3").await;
    exec(&mut c, "INSERT INTO g.t VALUES (50, 0)").await;
    exec(&mut c, "FLUSH BINARY LOGS").await;
    exec(&mut c, "ALTER TABLE g.t ADD COLUMN w INT").await;
    exec(&mut d5, "INSERT INTO g.t VALUES (700, 5, 1)").await;

    let mut tracker = GtidTracker::new(GtidState::None);
    let mut commits = 0;
    let mut states = Vec::new();
    for name in binlog_files(&mut c).await {
        let bytes = std::fs::read(server.dir.join("data").join(&name)).unwrap();
        for event in decode(&name, &bytes) {
            if tracker.observe(&event).unwrap() != Boundary::Commit {
                continue;
            }
            commits += 1;
            // The server's own GTID position at the offset just past the
            // transaction.
            let at: Option<String> = c
                .exec_first(
                    "SELECT BINLOG_GTID_POS(?, ?)",
                    (name.as_str(), event.end_pos),
                )
                .await
                .unwrap();
            let GtidState::Mariadb(ours) = tracker.state() else {
                panic!("{name}:{}: {:?}", event.end_pos, tracker.state());
            };
            assert_eq!(
                ours,
                &pos(&at.unwrap_or_default()),
                "{name}:{}",
                event.end_pos
            );
            states.push(ours.to_string());
        }
    }
    // 2 DDL, 4 + 4 + 2 inserts, the update, the transaction, then two
    // inserts, an ALTER and an insert.
    assert_eq!(commits, 2 + 10 + 2 + 4);
    assert_eq!(
        states[14..],
        [
            "0-9-7,2-7-5,5-1-3",
            "0-1-3,2-7-5,5-1-3",
            "0-1-8,2-7-5,5-1-3",
            "0-1-8,2-7-5,5-1-4"
        ]
    );
    let GtidState::Mariadb(last) = tracker.state() else {
        panic!("{:?}", tracker.state());
    };
    assert_eq!(last, &gtid_positions(&mut c).await.binlog_pos);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_a_promoted_replica_continues_a_checkpoint_it_holds_and_refuses_one_it_lacks() {
    let pair = ReplicationPair::start().await;
    let mut d0 = conn_in_domain(pair.primary(), 0).await;
    let mut d2 = conn_in_domain(pair.primary(), 2).await;
    exec(&mut d0, "CREATE DATABASE f").await;
    exec(
        &mut d0,
        "CREATE TABLE f.t (id INT PRIMARY KEY) ENGINE=InnoDB",
    )
    .await;
    for i in 0..3 {
        exec(&mut d0, &format!("INSERT INTO f.t VALUES ({i})")).await;
        exec(&mut d2, &format!("INSERT INTO f.t VALUES ({})", 100 + i)).await;
    }
    // A checkpoint the replica holds.
    let held = pair.wait_caught_up().await;
    assert_eq!(held.to_string(), "0-1-5,2-1-3");
    // The replica is cut off; the primary goes on, and a reader of its
    // binlog checkpoints past what the replica has.
    pair.stop_replication().await;
    exec(&mut d0, "INSERT INTO f.t VALUES (3)").await;
    exec(&mut d0, "INSERT INTO f.t VALUES (4)").await;
    let mut d5 = conn_in_domain(pair.primary(), 5).await;
    exec(&mut d5, "INSERT INTO f.t VALUES (500)").await;
    let mut p = pair.primary().conn().await;
    let ahead = gtid_positions(&mut p).await.binlog_pos;
    assert_eq!(ahead.to_string(), "0-1-7,2-1-3,5-1-1");
    pair.promote_replica().await;
    let mut r = pair.replica().conn().await;
    let on_replica = |state: &MariadbGtidPosition, candidate: &Candidate| {
        resume_on(&GtidState::Mariadb(state.clone()), candidate)
    };

    let candidate = facts(&mut r).await;
    assert_eq!(
        on_replica(&held, &candidate),
        Ok(ResumePlan::Mariadb {
            start: held.clone(),
            ahead: vec![]
        })
    );
    let refused = on_replica(&ahead, &candidate).unwrap_err().to_string();
    assert!(
        refused.contains("domain 0: the target has applied 0-1-7, which the candidate's binlog lacks (it is behind: its last is 0-1-5)"),
        "{refused}"
    );
    assert!(
        refused.contains("domain 5: the target has applied 5-1-1, which the candidate's binlog lacks (it has nothing of the domain)"),
        "{refused}"
    );
    assert!(!refused.contains("domain 2"), "{refused}");

    // The promoted replica writes: the held checkpoint continues with its
    // transactions; the one it lacks is now a divergence in domain 0.
    let mut n0 = conn_in_domain(pair.replica(), 0).await;
    for i in 0..3 {
        exec(&mut n0, &format!("INSERT INTO f.t VALUES ({})", 10 + i)).await;
    }
    let candidate = facts(&mut r).await;
    let Ok(ResumePlan::Mariadb { ahead: behind, .. }) = on_replica(&held, &candidate) else {
        panic!("{:?}", on_replica(&held, &candidate));
    };
    assert_eq!(behind.len(), 1);
    assert_eq!(behind[0].candidate_last.to_string(), "0-2-8");
    let refused = on_replica(&ahead, &candidate).unwrap_err();
    let ResumeRefusal::Mariadb { problems } = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(
        problems.iter().map(|p| p.domain()).collect::<Vec<_>>(),
        vec![0, 5]
    );
    assert!(
        refused
            .to_string()
            .contains("(it diverged: its last is 0-2-8, but of server 1 only 0-1-5)"),
        "{refused}"
    );

    // Its binlogs purged: the held checkpoint's later transactions are
    // gone; its current position still continues.
    purge_binlogs_but_current(&mut r).await;
    let candidate = facts(&mut r).await;
    let refused = on_replica(&held, &candidate).unwrap_err().to_string();
    assert!(
        refused.contains("domain 0: the candidate purged the transactions after 0-1-5 up to 0-2-8, which the target has not applied"),
        "{refused}"
    );
    let now = gtid_positions(&mut r).await.binlog_pos;
    assert!(on_replica(&now, &candidate).is_ok());
}
