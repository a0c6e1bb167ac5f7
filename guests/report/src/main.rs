//! A legacy `wasi:cli/run` command of the kind most programs still are: it
//! reads its input and writes its output by path. `report TABLE OUT` reads
//! a `city,lat,lon` CSV table and writes a plain-text report to OUT.
//!
//! In `examples/report/pipeline.toml` it is the first step of a pipeline:
//! it writes into the pod's in-memory filesystem, and the next step, a
//! typed component taking a `stream<u8>`, is fed from that file by the host.

use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, out] = args.as_slice() else {
        eprintln!("usage: report TABLE OUT");
        exit(2);
    };
    let text = match std::fs::read_to_string(table) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("report: cannot read {table}: {e}");
            exit(1);
        }
    };
    let mut rows: Vec<(String, f64, f64)> = text
        .lines()
        .filter_map(|line| {
            let mut f = line.split(',');
            let (city, lat, lon) = (f.next()?, f.next()?, f.next()?);
            Some((city.trim().to_string(), lat.trim().parse().ok()?, lon.trim().parse().ok()?))
        })
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut report = format!("Cities, north to south ({})\n", rows.len());
    for (city, lat, lon) in &rows {
        report += &format!("{city:<14} {lat:>8.3} {lon:>9.3}\n");
    }
    if let Err(e) = std::fs::write(out, report) {
        eprintln!("report: cannot write {out}: {e}");
        exit(1);
    }
}
