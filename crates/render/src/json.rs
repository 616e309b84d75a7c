//! `-o json`: the whole report, pretty-printed; the format `cloud502 schema` describes.

use cloud502_model::Report;
use std::io::{self, BufWriter, Write};

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // serde_json writes every token on its own (millions for a large nginx config's report);
    // through `dyn Write` each was a call that could not be inlined. A concrete buffer here takes
    // them inline and hands `out` 64 KiB at a time (issue 19).
    let mut buf = BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut buf, report)?;
    writeln!(buf)?;
    buf.flush()
}
