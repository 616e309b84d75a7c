//! A tokenizer and parser for nginx configuration syntax, modelled on nginx's own `ngx_conf_read_token`.

use cloud502_model::SourceLocation;

use crate::error::ConfigError;

type Result<T> = std::result::Result<T, ConfigError>;

/// One directive: `name arg arg;` or `name args { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive name (`proxy_pass`, `location`).
    pub name: String,
    /// The arguments after the name, unquoted and unescaped as nginx does.
    pub args: Vec<String>,
    /// The file and the line where the name starts.
    pub location: SourceLocation,
    /// The block's directives for `name args { ... }`; `None` for a plain directive.
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    /// The block's directives, or nothing for a plain directive.
    pub fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or(&[])
    }

    /// The first argument, if any.
    pub fn arg(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }
}

/// Deep enough for any real config; the limit only stops a hostile input from exhausting the stack.
const MAX_NESTING: usize = 100;

/// Directives one configuration may hold, its includes counted: each costs a few hundred bytes
/// parsed, so 16 MiB of `a;` lines would take 2 GiB. The largest real configs have a few
/// hundred thousand.
pub const MAX_DIRECTIVES: usize = 500_000;

/// Parse one file's text into its top-level directives. `include` is not followed here.
pub(crate) fn parse(text: &str, file: &str) -> Result<Vec<Directive>> {
    let mut left = MAX_DIRECTIVES;
    parse_limited(text, file, &mut left)
}

/// [`parse`], drawing every directive from `left` (shared by a file and its includes); an error
/// once it runs out.
pub(crate) fn parse_limited(text: &str, file: &str, left: &mut usize) -> Result<Vec<Directive>> {
    let mut lexer = Lexer {
        src: text.as_bytes(),
        pos: 0,
        line: 1,
        file,
        left,
    };
    parse_block(&mut lexer, None, 0)
}

/// `open` is the block being parsed (name and line), `None` at file level.
fn parse_block(
    lexer: &mut Lexer<'_>,
    open: Option<(&str, u32)>,
    depth: usize,
) -> Result<Vec<Directive>> {
    let mut out = Vec::new();
    loop {
        let read = lexer.read()?;
        if let Read::Directive(_, line) | Read::BlockStart(_, line) = &read {
            if *lexer.left == 0 {
                return Err(ConfigError::TooManyDirectives {
                    file: lexer.file.to_string(),
                    line: *line,
                    limit: MAX_DIRECTIVES,
                });
            }
            *lexer.left -= 1;
        }
        match read {
            Read::Directive(words, line) => out.push(lexer.directive(words, line, None)),
            Read::BlockStart(words, line) => {
                if depth >= MAX_NESTING {
                    return Err(lexer.error(line, "blocks nested too deeply"));
                }
                let name = words.first().map(String::as_str).unwrap_or_default();
                // Lua code is not nginx syntax; skip it whole so OpenResty configs still load.
                let block = if name.ends_with("_by_lua_block") {
                    lexer.skip_lua_block(line)?;
                    Vec::new()
                } else {
                    parse_block(lexer, Some((name, line)), depth + 1)?
                };
                out.push(lexer.directive(words, line, Some(block)));
            }
            Read::BlockDone(line) => {
                if open.is_none() {
                    return Err(lexer.error(line, "unexpected \"}\""));
                }
                return Ok(out);
            }
            Read::Eof => {
                if let Some((name, line)) = open {
                    // escaped: a name may hold a newline (`a\<newline>{`), which must not split the error
                    let name = name.escape_debug();
                    return Err(lexer.error(
                        lexer.line,
                        &format!(
                            "unexpected end of file, expecting \"}}\" (the \"{name}\" block opened at line {line} is not closed)"
                        ),
                    ));
                }
                return Ok(out);
            }
        }
    }
}

/// What one call to [`Lexer::read`] found.
#[derive(Debug)]
enum Read {
    /// Words ended by `;`, with the line of the first word.
    Directive(Vec<String>, u32),
    /// Words ended by `{`, with the line of the first word.
    BlockStart(Vec<String>, u32),
    /// A `}` (its line).
    BlockDone(u32),
    /// The end of the text.
    Eof,
}

#[derive(Debug)]
struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
    file: &'a str,
    /// Directives still allowed.
    left: &'a mut usize,
}

impl Lexer<'_> {
    fn error(&self, line: u32, message: &str) -> ConfigError {
        ConfigError::Syntax {
            file: self.file.to_string(),
            line,
            message: message.to_string(),
        }
    }

    fn directive(
        &self,
        mut words: Vec<String>,
        line: u32,
        block: Option<Vec<Directive>>,
    ) -> Directive {
        // `read` never returns an empty word list for a directive or block start.
        // the name out and the arguments kept in place: `remove(0)` would shift every argument
        let name = match words.first_mut() {
            Some(first) => std::mem::take(first),
            None => String::new(),
        };
        let args = if words.len() > 1 {
            words.drain(..1);
            // The word list grew by doubling (room for 4 or 8 words); most directives keep one
            // or two arguments, and a large config has 200,000 directives, so the spare room
            // was megabytes of peak RSS (issue 19). Shrinking in place does not copy.
            words.shrink_to_fit();
            words
        } else {
            Vec::new()
        };
        Directive {
            name,
            args,
            location: SourceLocation {
                file: self.file.to_string(),
                line,
            },
            block,
        }
    }

    /// Read words up to the next `;`, `{` or `}`, following nginx's state machine so that what nginx
    /// accepts (and rejects) is accepted (and rejected) here too.
    fn read(&mut self) -> Result<Read> {
        let mut words: Vec<String> = Vec::new();
        let mut first_line = 0;
        let mut start = 0;
        let mut start_line = self.line;
        let mut last_space = true;
        let mut need_space = false;
        let mut sharp_comment = false;
        let mut variable = false;
        let mut quoted = false;
        let mut s_quoted = false;
        let mut d_quoted = false;

        loop {
            let Some(&ch) = self.src.get(self.pos) else {
                if d_quoted || s_quoted {
                    let quote = if d_quoted { '"' } else { '\'' };
                    return Err(self.error(
                        start_line,
                        &format!("unterminated string: missing closing {quote}"),
                    ));
                }
                if !words.is_empty() || !last_space {
                    return Err(self.error(
                        self.line,
                        "unexpected end of file, expecting \";\" or \"}\"",
                    ));
                }
                return Ok(Read::Eof);
            };
            self.pos += 1;

            if ch == b'\n' {
                self.line += 1;
                if sharp_comment {
                    sharp_comment = false;
                }
            }
            if sharp_comment {
                continue;
            }
            if quoted {
                quoted = false;
                continue;
            }

            if need_space {
                match ch {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        last_space = true;
                        need_space = false;
                        continue;
                    }
                    b';' => return Ok(Read::Directive(words, first_line)),
                    b'{' => return Ok(Read::BlockStart(words, first_line)),
                    b')' => {
                        last_space = true;
                        need_space = false;
                    }
                    _ => return Err(self.error(self.line, &unexpected(ch))),
                }
            }

            if last_space {
                start = self.pos - 1;
                start_line = self.line;
                match ch {
                    b' ' | b'\t' | b'\r' | b'\n' => continue,
                    b';' | b'{' => {
                        if words.is_empty() {
                            return Err(self.error(self.line, &unexpected(ch)));
                        }
                        return Ok(if ch == b'{' {
                            Read::BlockStart(words, first_line)
                        } else {
                            Read::Directive(words, first_line)
                        });
                    }
                    b'}' => {
                        if !words.is_empty() {
                            return Err(self.error(self.line, "unexpected \"}\""));
                        }
                        return Ok(Read::BlockDone(self.line));
                    }
                    b'#' => {
                        sharp_comment = true;
                        continue;
                    }
                    b'\\' => {
                        quoted = true;
                        last_space = false;
                        continue;
                    }
                    b'"' => {
                        start += 1;
                        d_quoted = true;
                        last_space = false;
                        continue;
                    }
                    b'\'' => {
                        start += 1;
                        s_quoted = true;
                        last_space = false;
                        continue;
                    }
                    b'$' => {
                        variable = true;
                        last_space = false;
                        continue;
                    }
                    _ => {
                        last_space = false;
                    }
                }
            } else {
                // `${name}`: the brace belongs to the variable, it does not open a block.
                if ch == b'{' && variable {
                    continue;
                }
                variable = false;
                if ch == b'\\' {
                    quoted = true;
                    continue;
                }
                if ch == b'$' {
                    variable = true;
                    continue;
                }

                let mut found = false;
                if d_quoted {
                    if ch == b'"' {
                        d_quoted = false;
                        need_space = true;
                        found = true;
                    }
                } else if s_quoted {
                    if ch == b'\'' {
                        s_quoted = false;
                        need_space = true;
                        found = true;
                    }
                } else if matches!(ch, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{') {
                    last_space = true;
                    found = true;
                }

                if found {
                    if words.is_empty() {
                        first_line = start_line;
                    }
                    words.push(unescape(&self.src[start..self.pos - 1]));
                    if !need_space {
                        if ch == b';' {
                            return Ok(Read::Directive(words, first_line));
                        }
                        if ch == b'{' {
                            return Ok(Read::BlockStart(words, first_line));
                        }
                    }
                }
            }
        }
    }

    /// Skip a `*_by_lua_block { ... }` body up to its matching `}`, minding Lua strings and comments
    /// so braces inside them do not count.
    fn skip_lua_block(&mut self, open_line: u32) -> Result<()> {
        let mut depth = 1usize;
        while let Some(&ch) = self.src.get(self.pos) {
            self.pos += 1;
            match ch {
                b'\n' => self.line += 1,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b'"' | b'\'' => {
                    while let Some(&c) = self.src.get(self.pos) {
                        self.pos += 1;
                        match c {
                            b'\\' => self.pos += 1,
                            b'\n' => self.line += 1,
                            _ if c == ch => break,
                            _ => {}
                        }
                    }
                }
                b'-' if self.src.get(self.pos) == Some(&b'-') => {
                    while let Some(&c) = self.src.get(self.pos) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => {}
            }
        }
        Err(self.error(
            self.line,
            &format!(
                "unexpected end of file, expecting \"}}\" (the Lua block opened at line {open_line} is not closed)"
            ),
        ))
    }
}

fn unexpected(ch: u8) -> String {
    format!("unexpected \"{}\"", char::from(ch).escape_debug())
}

/// nginx's unescaping, applied to every word: `\"`, `\'`, `\\` lose the backslash, `\t` `\r` `\n`
/// become control characters, any other backslash stays (regexes such as `\.php$` rely on it).
fn unescape(raw: &[u8]) -> String {
    // most words have no backslash: one copy, no second pass
    if memchr::memchr(b'\\', raw).is_none() {
        return match std::str::from_utf8(raw) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        };
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            match raw.get(i + 1) {
                Some(b'"' | b'\'' | b'\\') => {
                    out.push(raw[i + 1]);
                    i += 2;
                    continue;
                }
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    // The input came from a &str and only ASCII bytes were touched, so this is lossless.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn words(d: &Directive) -> Vec<&str> {
        std::iter::once(d.name.as_str())
            .chain(d.args.iter().map(String::as_str))
            .collect()
    }

    fn syntax_error(text: &str) -> (u32, String) {
        match parse(text, "t.conf") {
            Err(ConfigError::Syntax {
                file,
                line,
                message,
            }) => {
                assert_eq!(file, "t.conf");
                (line, message)
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn directives_blocks_and_lines() {
        let text = "user www-data;\n\nhttp {\n    server {\n        listen 80;\n        location / { proxy_pass http://app; }\n    }\n}\n";
        let root = parse(text, "n.conf").unwrap();
        assert_eq!(root.len(), 2);
        assert_eq!(words(&root[0]), ["user", "www-data"]);
        assert_eq!(root[0].location.line, 1);
        assert!(root[0].block.is_none());
        let http = &root[1];
        assert_eq!(http.location.line, 3);
        let server = &http.children()[0];
        assert_eq!(server.location.line, 4);
        assert_eq!(server.children()[0].location.line, 5);
        let location = &server.children()[1];
        assert_eq!(words(location), ["location", "/"]);
        assert_eq!(location.location.line, 6);
        assert_eq!(words(&location.children()[0]), ["proxy_pass", "http://app"]);
        assert_eq!(location.children()[0].location.line, 6);
        assert_eq!(location.location.file, "n.conf");
    }

    #[test]
    fn directive_line_is_where_its_name_starts() {
        let root = parse("\n\nlog_format main\n  '$a'\n  '$b';\nx y;", "n.conf").unwrap();
        assert_eq!(root[0].location.line, 3);
        assert_eq!(root[0].args, ["main", "$a", "$b"]);
        assert_eq!(root[1].location.line, 6);
    }

    #[test]
    fn quotes_and_escapes() {
        let root = parse(
            r#"a "x y" 'p q' "" '' "say \"hi\"" 'it\'s' "t\tn\n" \.php$ "back\\slash" "a;b{c}#d";"#,
            "q.conf",
        )
        .unwrap();
        assert_eq!(
            root[0].args,
            [
                "x y",
                "p q",
                "",
                "",
                "say \"hi\"",
                "it's",
                "t\tn\n",
                "\\.php$",
                "back\\slash",
                "a;b{c}#d"
            ]
        );
    }

    #[test]
    fn comments_only_at_word_start() {
        let root = parse(
            "# top comment { ; }\na b#c; # trailing ; {\n  # indented\nd e;",
            "c.conf",
        )
        .unwrap();
        assert_eq!(root.len(), 2);
        assert_eq!(root[0].args, ["b#c"]);
        assert_eq!(words(&root[1]), ["d", "e"]);
        assert_eq!(root[1].location.line, 4);
    }

    #[test]
    fn variables_with_braces_are_words() {
        let root = parse("set $x ${host}_${request_uri};", "v.conf").unwrap();
        assert_eq!(root[0].args, ["$x", "${host}_${request_uri}"]);
        // To nginx an unquoted regex quantifier opens a block, so the braces end up unbalanced.
        let (_, message) = syntax_error("location ~ ^/[a-z]{2,3}$ { return 200; }");
        assert!(message.starts_with("unexpected"), "{message}");
        let root = parse(
            "location ~ \"^/[a-z]{2,3}$\" { return 200; }\nmap $a ${b}c {}",
            "v.conf",
        )
        .unwrap();
        assert_eq!(root[0].args, ["~", "^/[a-z]{2,3}$"]);
        assert_eq!(root[1].args, ["$a", "${b}c"]);
        assert_eq!(root[1].block.as_deref(), Some(&[][..]));
    }

    #[test]
    fn separators_need_no_space() {
        let root = parse("a b;c{d e;}f;", "s.conf").unwrap();
        assert_eq!(root.len(), 3);
        assert_eq!(words(&root[1]), ["c"]);
        assert_eq!(words(&root[1].children()[0]), ["d", "e"]);
        assert_eq!(words(&root[2]), ["f"]);
    }

    #[test]
    fn crlf_line_endings() {
        let root = parse("a b;\r\nc {\r\n  d;\r\n}\r\n", "w.conf").unwrap();
        assert_eq!(root[0].args, ["b"]);
        assert_eq!(root[1].children()[0].location.line, 3);
    }

    #[test]
    fn syntax_errors_carry_file_and_line() {
        assert_eq!(syntax_error("a;\n}\n"), (2, "unexpected \"}\"".to_string()));
        let (line, message) = syntax_error("http {\n  server {\n    listen 80;\n  }\n");
        assert_eq!(line, 5);
        assert!(message.contains("expecting \"}\""), "{message}");
        assert!(
            message.contains("\"http\" block opened at line 1"),
            "{message}"
        );
        let (line, message) = syntax_error("a 'b;\nc;\n");
        assert_eq!(line, 1);
        assert!(message.contains("unterminated string"), "{message}");
        let (line, message) = syntax_error("a \"b\nc\nd");
        assert_eq!(line, 1);
        assert!(message.contains("closing \""), "{message}");
        assert_eq!(
            syntax_error("a b\n"),
            (
                2,
                "unexpected end of file, expecting \";\" or \"}\"".to_string()
            )
        );
        assert_eq!(syntax_error("\n;"), (2, "unexpected \";\"".to_string()));
        assert_eq!(syntax_error("{ a; }"), (1, "unexpected \"{\"".to_string()));
        assert_eq!(
            syntax_error("a \"b\"c;"),
            (1, "unexpected \"c\"".to_string())
        );
        assert_eq!(syntax_error("a b }"), (1, "unexpected \"}\"".to_string()));
    }

    #[test]
    fn lua_blocks_are_skipped() {
        let text = "location / {\n  content_by_lua_block {\n    ngx.say(\"}\") -- }\n    if x then y() end\n  }\n  proxy_pass http://a;\n}\n";
        let root = parse(text, "l.conf").unwrap();
        let children = root[0].children();
        assert_eq!(children[0].name, "content_by_lua_block");
        assert_eq!(children[0].block.as_deref(), Some(&[][..]));
        assert_eq!(children[1].name, "proxy_pass");
        assert_eq!(children[1].location.line, 6);
    }

    #[test]
    fn directives_stop_at_the_cap() {
        let mut left = 3;
        let err = parse_limited("a;\nb { c; }\nd;\n", "big.conf", &mut left).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("big.conf:3: more than {MAX_DIRECTIVES} directives; stopped there")
        );
        let mut left = 4;
        assert!(parse_limited("a;\nb { c; }\nd;\n", "ok.conf", &mut left).is_ok());
        assert_eq!(left, 0);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "a {".repeat(MAX_NESTING + 1);
        let (_, message) = syntax_error(&text);
        assert!(message.contains("nested too deeply"), "{message}");
    }

    #[test]
    fn non_ascii_text_survives() {
        let root = parse("add_header X-Caf\u{e9} \"d\u{e9}j\u{e0} vu\";", "u.conf").unwrap();
        assert_eq!(root[0].args, ["X-Caf\u{e9}", "d\u{e9}j\u{e0} vu"]);
    }
}
