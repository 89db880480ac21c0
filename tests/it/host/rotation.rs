//! The file sink's output rotated under the running agent, both ways logrotate does it:
//! renamed away (the sink goes on in a new file at its path, no SIGHUP needed) and copied
//! then truncated in place (`copytruncate`: the sink goes on at the new end, never leaving
//! a hole of zero bytes). Every record ends up in exactly one of the files, once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use o365fwd::record::ContentType;

use super::until;
use crate::harness::{Env, read_ids_settled, sim_config, tail};

fn no_hole(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        !bytes.contains(&0),
        "{} holds zero bytes (a hole)",
        path.display()
    );
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: sends a signal to our own child process.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_sink_follows_rename_and_copytruncate_rotation() {
    let mut sim = sim_config(1, &[ContentType::General]);
    sim.live = true;
    sim.backlog = Duration::from_secs(60);
    sim.blob_interval = Duration::from_secs(1);
    let env = Env::start(sim, "").await;
    let agent = env.spawn();
    let pid = agent.child.id();
    assert!(env.wait_for(&env.expected(), Duration::from_secs(60)).await);

    // Rotation by rename (logrotate without copytruncate): new records go to a new file.
    let renamed = env.dir.path().join("out.ndjson.1");
    std::fs::rename(&env.out, &renamed).unwrap();
    let followed = until(Duration::from_secs(30), || {
        !read_ids_settled(&env.out).is_empty()
    })
    .await;
    assert!(
        followed,
        "a new file at the path; log:\n{}",
        tail(&env.log(), 20)
    );

    // copytruncate, done while the agent cannot write so no record falls between the copy
    // and the truncation (logrotate itself has that window, see docs/config.md).
    let copied = env.dir.path().join("out.ndjson.2");
    signal(pid, libc::SIGSTOP);
    std::fs::copy(&env.out, &copied).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&env.out)
        .unwrap()
        .set_len(0)
        .unwrap();
    signal(pid, libc::SIGCONT);
    let before = read_ids_settled(&copied);
    let wrote = until(Duration::from_secs(30), || {
        read_ids_settled(&env.out)
            .keys()
            .any(|id| !before.contains_key(id))
    })
    .await;
    assert!(
        wrote,
        "writes after the truncation: {}",
        tail(&env.log(), 20)
    );
    let want = env.expected();
    let union = || {
        let mut ids = read_ids_settled(&env.out);
        ids.extend(read_ids_settled(&renamed));
        ids.extend(read_ids_settled(&copied));
        ids
    };
    let all_in = until(Duration::from_secs(60), || {
        let got = union();
        want.iter().all(|id| got.contains_key(id))
    })
    .await;
    assert!(all_in, "{}", tail(&env.log(), 20));
    agent.stop();

    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    for f in [&renamed, &copied, &env.out] {
        no_hole(f);
        for (id, n) in crate::harness::read_ids(f) {
            *all.entry(id).or_default() += n;
        }
    }
    let dups: Vec<_> = all.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    assert!(
        want.iter().all(|id| all.contains_key(id)),
        "every record kept"
    );
    let log = env.log();
    assert!(log.contains("moved away or replaced"), "{}", tail(&log, 20));
    assert!(
        log.contains("truncated outside o365fwd"),
        "{}",
        tail(&log, 20)
    );
}
