//! Fuzzes the report bundle's manifest check (`report download` reads it
//! from a bucket): any bytes are refused or accepted without panicking, and
//! an accepted manifest names only bundle files, each once, with a hex
//! SHA-256 and a size within the limit.
#![no_main]

use assessor::bundle::{BUNDLE_FILES, Manifest};
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok((manifest, names)) = Manifest::parse(data, LIMIT) else { return };
    assert_eq!(names.len(), manifest.files.len());
    for (i, (name, entry)) in names.iter().zip(&manifest.files).enumerate() {
        assert!(BUNDLE_FILES.contains(name) && entry.name == *name);
        assert!(!names[..i].contains(name), "{name} twice");
        assert!(entry.size <= LIMIT);
        assert!(entry.sha256.len() == 64 && entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    }
});
