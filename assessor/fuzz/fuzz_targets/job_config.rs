//! Fuzzes the job config parser (the appliance's user data is this TOML):
//! any text must parse into a config or fail with listed problems, never
//! panic; an accepted config's paths obey the strict path rule, and no
//! problem message is empty.
#![no_main]

use std::path::Path;

use assessor::config::JobConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match JobConfig::parse(text, Path::new("job.toml")) {
        Ok(config) => {
            let dir = config.job.session_dir.to_string_lossy();
            assert!(dir.starts_with('/'), "accepted a relative session_dir");
            assert!(
                !dir.contains("/../") && !dir.ends_with("/..") && !dir.contains('$'),
                "accepted {dir:?}"
            );
        }
        Err(e) => {
            assert!(!e.problems.is_empty());
            assert!(e.problems.iter().all(|p| !p.is_empty()));
        }
    }
});
