//! Uploaded people files, CSV or XLSX (told apart by content): rows or a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(rows) = keyward::services::import::read("upload", bytes) {
        assert!(!rows.is_empty() && rows.len() <= keyward::services::import::MAX_ROWS);
    }
});
