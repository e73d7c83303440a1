//! Prints the parser's observations for one script (a development aid for
//! writing catalog patterns): `cargo run --example observations -- FILE [FROM_LINE TO_LINE]`.

use assessor::source::{LineIndex, decode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: observations FILE [FROM_LINE TO_LINE]")?;
    let from: u32 = args.get(1).map_or(Ok(0), |s| s.parse())?;
    let to: u32 = args.get(2).map_or(Ok(u32::MAX), |s| s.parse())?;
    let text = decode(&std::fs::read(path)?)?.text;
    let index = LineIndex::new(&text);
    let script = assessor::tsql::parse_script(&text);
    for o in &script.observations {
        let (line, col) = index.position(&text, o.offset);
        if line < from || line > to {
            continue;
        }
        println!(
            "{line}:{col} {:?} {:?} detail={:?} stmt={:?}",
            o.kind, o.name, o.detail, o.statement
        );
    }
    for s in &script.objects {
        let (a, _) = index.position(&text, s.start);
        let (b, _) = index.position(&text, s.end);
        if b >= from && a <= to {
            println!("object {:?} lines {a}-{b}", s.object);
        }
    }
    Ok(())
}
