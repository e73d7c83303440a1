//! Fuzzes decoding and parsing: any bytes must decode or fail cleanly, and
//! any decoded text must parse without panicking into observations and
//! objects that lie inside the text, in order, not overlapping.
#![no_main]

use assessor::source::decode;
use assessor::tsql::parse_script;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = decode(data) else { return };
    let text = decoded.text;
    let script = parse_script(&text);
    for o in &script.observations {
        let end = o.offset + o.len;
        assert!(end <= text.len());
        assert!(text.is_char_boundary(o.offset) && text.is_char_boundary(end));
    }
    assert!(script.observations.windows(2).all(|w| w[0].offset <= w[1].offset));
    for s in &script.objects {
        assert!(s.start <= s.end && s.end <= text.len());
    }
    assert!(script.objects.windows(2).all(|w| w[0].end <= w[1].start));
    // Also as raw UTF-8 when it is valid (no decode heuristics in between).
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_script(s);
    }
});
