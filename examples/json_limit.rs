//! The practical limit of this machine for the benchmark: parse each NDJSON line into a
//! `serde_json::Value` and serialise it again to a file, nothing else. `bench/run` times it
//! on the same records the agent and the peers process.
//!
//! `cargo run --release --example json_limit -- IN.ndjson OUT.ndjson`

use std::io::{BufRead, BufReader, BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: json_limit IN.ndjson OUT.ndjson");
        std::process::exit(2);
    };
    let r = BufReader::with_capacity(1 << 20, std::fs::File::open(input)?);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(output)?);
    let mut n = 0u64;
    for line in r.lines() {
        let line = line?;
        let v: serde_json::Value = serde_json::from_str(&line)?;
        serde_json::to_writer(&mut w, &v)?;
        w.write_all(b"\n")?;
        n += 1;
    }
    w.flush()?;
    w.get_ref().sync_all()?;
    eprintln!("json_limit: {n} records");
    Ok(())
}
