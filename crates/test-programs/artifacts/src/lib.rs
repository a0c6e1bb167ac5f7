//! Paths of the guest components built from `guests/` for the tests, the
//! benchmarks and the README's quick start.

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
