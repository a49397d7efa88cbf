//! Benchmarks of dts against its peers. The benchmarks themselves live in
//! `benches/benches/` (criterion) and `benches/*.sh` (side-by-side runs with
//! mydumper, native replication and other peers).
