#!/usr/bin/env bash
# Writes a large binlog from the test source server for the decode benchmark:
# sysbench-shaped rows plus a table of mixed types, inserted, updated and
# deleted, with binlog_row_metadata=FULL. Output: target/bench/bench.binlog.
# Needs `scripts/testenv up` (a local source on 127.0.0.1:3307).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=${DTS_TESTENV_SOURCE_PORT:-3307}
datadir=${DTS_TESTENV_DIR:-target/testenv}/source/data
sql() { mariadb --no-defaults --default-character-set=utf8mb4 -h127.0.0.1 -P"$port" -uroot "$@"; }
rows=${ROWS:-200000}
sql -e "SET GLOBAL binlog_row_metadata = 'FULL'"
sql -e "FLUSH BINARY LOGS"
file=$(sql -N -e "SHOW MASTER STATUS" | awk '{print $1}')
sql <<SQL
DROP DATABASE IF EXISTS dts_bench;
CREATE DATABASE dts_bench;
USE dts_bench;
CREATE TABLE sbtest (id INT UNSIGNED PRIMARY KEY, k INT UNSIGNED NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL);
CREATE TABLE mixed (id BIGINT PRIMARY KEY, d DOUBLE, dec1 DECIMAL(20,6), dt DATETIME(6), ts TIMESTAMP(3) NULL,
                    tm TIME(2), e ENUM('a','b','c'), s SET('x','y'), j JSON, b BLOB);
SET SESSION max_recursive_iterations = 100000000;
INSERT INTO sbtest WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
  SELECT i, i * 7 % 100000, REPEAT(CONCAT(i, '-'), 12), REPEAT('p', 59) FROM n;
INSERT INTO mixed WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows / 4)
  SELECT i, i / 3, i * 1.000001, '2024-01-02 03:04:05.678901', FROM_UNIXTIME(i), '-12:34:56.78',
         ELT(1 + i % 3, 'a', 'b', 'c'), 'x,y', CONCAT('{"i": ', i, ', "a": [1, 2, "x"]}'), REPEAT('b', 100) FROM n;
UPDATE sbtest SET k = k + 1 WHERE id % 2 = 0;
DELETE FROM mixed WHERE id % 3 = 0;
SQL
sql -e "FLUSH BINARY LOGS; SET GLOBAL binlog_row_metadata = 'NO_LOG'"
mkdir -p target/bench
cp "$datadir/$file" target/bench/bench.binlog
ls -l target/bench/bench.binlog
