//! What a re-executed copy of the test binary does, chosen by
//! [`CHILD_MODE`](crate::CHILD_MODE); without it, `entry` does nothing.

use std::{path::PathBuf, time::Duration};

use rewind_watchdog::Watchdog;

#[path = "../../examples/fd_leak/service.rs"]
mod service;

#[test]
fn entry() {
    let Ok(mode) = std::env::var(crate::CHILD_MODE) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(crate::CHILD_DIR).unwrap());
    match mode.as_str() {
        "panic" => {
            let _dog = install(&dir);
            let v: Vec<u32> = Vec::new();
            // A panic with a recognisable message, from a known place.
            panic!("the watchdog test panics on purpose (len {})", v.len());
        }
        "clean" => {
            let dog = install(&dir);
            std::thread::sleep(Duration::from_millis(50));
            dog.shutdown();
        }
        "fd_leak" => service::run(&service::Options {
            dir,
            fd_margin: 40,
            cooldown: Duration::from_secs(120),
            keep: 5,
            addr: "127.0.0.1:0".to_owned(),
        })
        .unwrap(),
        "bench" => {
            let r = rewind_watchdog::bench::run(&rewind_watchdog::bench::BenchOptions::quick(&dir))
                .unwrap();
            println!("\nbench: {}", serde_json::to_string(&r).unwrap());
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn install(dir: &std::path::Path) -> Watchdog {
    Watchdog::builder(dir)
        .version("7.0.0-test")
        .interval(Duration::from_millis(50))
        .cpu_profile(None)
        .baseline(None)
        .install()
        .unwrap()
}
