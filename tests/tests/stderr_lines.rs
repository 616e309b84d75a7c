//! What reaches stderr is one line per message, whatever a file name or a server's text holds:
//! control characters are escaped, so a newline in a name cannot forge an `error:` line and an
//! escape sequence cannot repaint the terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cloud502_e2e::cloud502;

#[test]
fn a_newline_in_a_file_name_cannot_forge_an_extra_error_line() {
    let dir = tempfile::tempdir().unwrap();
    // A name that does not exist: the error names it.
    let forged = dir.path().join("access.log\nerror: forged line\x1b[2J");
    let run = cloud502(&["logs", forged.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {:?}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert!(
        lines[0].contains("access.log\\u{a}error: forged line"),
        "{}",
        lines[0]
    );
    assert!(
        !run.stderr.contains('\x1b'),
        "an escape sequence reached stderr"
    );
    assert!(
        !run.stderr.contains("(hint: )"),
        "an empty hint: {}",
        run.stderr
    );
}
