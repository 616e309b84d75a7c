//! `-o json`: the whole report, pretty-printed; the format `cloud502 schema` describes.

use cloud502_model::Report;
use std::io::{self, Write};

pub(crate) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
