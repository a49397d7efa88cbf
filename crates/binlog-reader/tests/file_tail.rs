//! Tailing a binlog file that is still being written: an incomplete event at
//! the end is a normal state, and every event is read once it is whole.

use std::io::Write;
use std::time::Duration;

use binlog_reader::FileReader;

#[test]
fn tailing_a_growing_file_reads_every_event_once() {
    let src = "/usr/share/mysql/mysql-test/std_data/mdev6020-mysql-bin.000001";
    let bytes = std::fs::read(src).unwrap_or_else(|e| {
        panic!("{src}: {e}; install mariadb-test-data (sudo apt-get install -y mariadb-test-data)")
    });
    // The whole file, read at once, is the reference.
    let expected: Vec<u64> = FileReader::new([src])
        .map(|e| e.expect("reference read").pos)
        .collect();
    assert!(expected.len() > 7000);

    let dir = std::env::temp_dir().join(format!("dts-tail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("growing-bin.000001");
    let mut f = std::fs::File::create(&path).expect("create");
    // Write the first 3 bytes only: even the magic is incomplete.
    f.write_all(&bytes[..3]).expect("write");
    f.flush().expect("flush");
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .expect("open");
            let mut at = 3;
            let mut step = 1;
            while at < bytes.len() {
                // Odd-sized pieces, so events are cut everywhere.
                step = (step * 7 + 13) % 4099 + 1;
                let end = (at + step).min(bytes.len());
                f.write_all(&bytes[at..end]).expect("append");
                f.flush().expect("flush");
                at = end;
                if at % 5 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
    };
    let mut reader = FileReader::new([&path]).tail(Some(Duration::from_millis(2)));
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let ev = reader
            .next_event()
            .expect("tail read")
            .expect("a tailing reader does not end");
        got.push(ev.pos);
    }
    writer.join().expect("writer");
    assert_eq!(got, expected);
    std::fs::remove_dir_all(&dir).ok();
}
