//! nginx access logs: `log_format` parsing, a lazy field walker and the 5xx classifier (KB 4.4).

use crate::error::{LogError, Result};
use crate::groups::Failure;
use crate::reader::find_byte;
use crate::scan::{Classifier, Counts, Out};
use crate::ts::{self, Ts};
use cloud502_model::LogClass;
use memchr::memrchr;

/// The variables the classifier reads; everything else is skipped over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Status,
    TimeLocal,
    TimeIso8601,
    Msec,
    UpstreamAddr,
    UpstreamStatus,
    UpstreamConnectTime,
    UpstreamHeaderTime,
    UpstreamResponseTime,
    /// Another `$upstream_*` list (`$upstream_response_length`, `$upstream_bytes_received`, ...):
    /// not read, but its `a, b` values must not end it at their first space.
    UpstreamList,
    Other,
}

impl Var {
    fn from_name(name: &str) -> Var {
        match name {
            "status" => Var::Status,
            "time_local" => Var::TimeLocal,
            "time_iso8601" => Var::TimeIso8601,
            "msec" => Var::Msec,
            "upstream_addr" => Var::UpstreamAddr,
            "upstream_status" => Var::UpstreamStatus,
            "upstream_connect_time" => Var::UpstreamConnectTime,
            "upstream_header_time" => Var::UpstreamHeaderTime,
            "upstream_response_time" => Var::UpstreamResponseTime,
            n if n.starts_with("upstream_") => Var::UpstreamList,
            _ => Var::Other,
        }
    }

    /// Variables nginx always writes with the same width.
    #[inline]
    fn width(self) -> Option<usize> {
        match self {
            Var::Status => Some(3),
            Var::TimeLocal => Some(26),
            Var::TimeIso8601 => Some(25),
            _ => None,
        }
    }

    /// `$upstream_*` values list several peers: `a, b` (retries) and `a : b` (internal redirects).
    #[inline]
    fn multi(self) -> bool {
        matches!(
            self,
            Var::UpstreamAddr
                | Var::UpstreamStatus
                | Var::UpstreamConnectTime
                | Var::UpstreamHeaderTime
                | Var::UpstreamResponseTime
                | Var::UpstreamList
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(Box<[u8]>),
    Var(Var),
}

/// A compiled nginx `log_format`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessFormat {
    name: String,
    segs: Vec<Seg>,
    /// Segments to walk to reach `$status` and the time variable (plus the literal that follows).
    fast_end: usize,
    has_addr: bool,
    has_status_list: bool,
    has_connect: bool,
    has_header: bool,
    has_response: bool,
    has_time: bool,
}

/// The fields of one access line the classifier reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AccessFields<'a> {
    pub status: u16,
    pub time: Option<Ts>,
    pub addr: Option<&'a [u8]>,
    pub upstream_status: Option<&'a [u8]>,
    pub connect: Option<&'a [u8]>,
    pub header: Option<&'a [u8]>,
    pub response: Option<&'a [u8]>,
}

/// The last time text parsed and its value: lines mostly share their second with the previous one.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeCache {
    raw: [u8; 32],
    len: usize,
    ts: Option<Ts>,
}

impl TimeCache {
    #[inline]
    fn get(&mut self, raw: &[u8], parse: fn(&[u8]) -> Option<Ts>) -> Option<Ts> {
        if self.ts.is_some() && raw.len() == self.len && self.same(raw) {
            return self.ts;
        }
        let t = parse(raw)?;
        if raw.len() <= self.raw.len() {
            self.raw[..raw.len()].copy_from_slice(raw);
            self.len = raw.len();
            self.ts = Some(t);
        }
        Some(t)
    }

    /// `raw` (of length `self.len`) is the cached text: two overlapping 16-byte compares.
    #[inline]
    fn same(&self, raw: &[u8]) -> bool {
        let old = &self.raw[..self.len];
        if raw.len() >= 16 {
            raw.first_chunk::<16>() == old.first_chunk::<16>()
                && raw.last_chunk::<16>() == old.last_chunk::<16>()
        } else {
            raw == old
        }
    }
}

/// How much of a line to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walk {
    /// Up to `$status` and the time: enough to count a 2xx line.
    Fast,
    /// Every field; trailing text after the format is tolerated.
    Full,
    /// Every field, and the line must end where the format ends (detection).
    Strict,
}

impl AccessFormat {
    /// nginx's predefined `combined` format.
    pub fn combined() -> AccessFormat {
        // the predefined format is valid by construction
        match AccessFormat::parse(
            "combined",
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
             \"$http_referer\" \"$http_user_agent\"",
        ) {
            Ok(f) => f,
            Err(_) => AccessFormat {
                name: "combined".into(),
                segs: vec![Seg::Var(Var::Status)],
                fast_end: 1,
                has_addr: false,
                has_status_list: false,
                has_connect: false,
                has_header: false,
                has_response: false,
                has_time: false,
            },
        }
    }

    /// The formats cloud502 knows without being told, tried after the user's and before
    /// `combined`: ingress-nginx's `upstreaminfo` (its default `log-format-upstream`) in its
    /// versions, and `combined` with upstream timings as published (the NGINX blog's
    /// `upstream_time`, NGINX Amplify's `main_ext`). `combined` itself, and formats that extend it
    /// (the official image's `main`, which adds `"$http_x_forwarded_for"`), are read by
    /// `combined`. JSON lines (`escape=json` formats) are read by a format inferred from a line
    /// ([`AccessFormat::infer_json`]).
    pub fn builtin() -> Vec<AccessFormat> {
        // kubernetes/ingress-nginx internal/ingress/controller/config/config.go, logFormatUpstream
        // (commit 003f04ca4563acb5d4c262ca391dca0ea05bf711; the same since 0.26.0)
        const UPSTREAMINFO: &str = "$remote_addr - $remote_user [$time_local] \"$request\" \
             $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length \
             $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] \
             $upstream_addr $upstream_response_length $upstream_response_time $upstream_status \
             $req_id";
        // before 0.26.0 the line began `$remote_addr - [$the_real_ip] - `; before the alternative
        // upstream (canary) was added it had no `[$proxy_alternative_upstream_name]` (a real line:
        // kubernetes/ingress-nginx#4168)
        const UPSTREAMINFO_0_25: &str = "$remote_addr - [$the_real_ip] - $remote_user \
             [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \
             \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] \
             [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length \
             $upstream_response_time $upstream_status $req_id";
        const UPSTREAMINFO_0_2X: &str = "$remote_addr - [$the_real_ip] - $remote_user \
             [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \
             \"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] \
             $upstream_addr $upstream_response_length $upstream_response_time $upstream_status \
             $req_id";
        // "main with timings": `combined` plus the upstream timings, as published and copied.
        // The NGINX blog's `upstream_time` (https://www.nginx.com/blog/using-nginx-logging-for-
        // application-performance-monitoring/), with no $upstream_addr; copies of it often lose
        // the space before `rt=` (e.g. the nginx.conf found by the code search that defines both
        // `upstream_time` and `upstreamlog`), which nginx then writes as it is.
        const UPSTREAM_TIME: &str = "$remote_addr - $remote_user [$time_local] \"$request\" \
             $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" rt=$request_time \
             uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" \
             urt=\"$upstream_response_time\"";
        const UPSTREAM_TIME_NO_SPACE: &str = "$remote_addr - $remote_user [$time_local] \
             \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"\
             rt=$request_time uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" \
             urt=\"$upstream_response_time\"";
        // NGINX Amplify's `main_ext` (nginxinc/nginx-amplify-doc amplify-guide.md, "Additional
        // NGINX Metrics"; the two spaces before $status are in the published format)
        const MAIN_EXT: &str = "$remote_addr - $remote_user [$time_local] \"$request\"  $status \
             $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\" \
             rt=$request_time ua=\"$upstream_addr\" us=\"$upstream_status\" \
             ut=\"$upstream_response_time\" ul=\"$upstream_response_length\" \
             cs=$upstream_cache_status";
        // a common variant of it in public nginx.conf files (found by code search; the source
        // is not one project), with the host and server name and one space before $status
        const MAIN_EXT_HOST: &str = "$remote_addr - $remote_user [$time_local] \"$request\" \
             $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \
             \"$http_x_forwarded_for\" \"$host\" sn=\"$server_name\" rt=$request_time \
             ua=\"$upstream_addr\" us=\"$upstream_status\" ut=\"$upstream_response_time\" \
             ul=\"$upstream_response_length\" cs=$upstream_cache_status";
        [
            ("upstreaminfo", UPSTREAMINFO),
            ("upstreaminfo-0.25", UPSTREAMINFO_0_25),
            ("upstreaminfo-0.2x", UPSTREAMINFO_0_2X),
            ("upstream_time", UPSTREAM_TIME),
            ("upstream_time-nospace", UPSTREAM_TIME_NO_SPACE),
            ("main_ext", MAIN_EXT),
            ("main_ext-host", MAIN_EXT_HOST),
        ]
        .into_iter()
        .filter_map(|(name, f)| AccessFormat::parse(name, f).ok())
        .collect()
    }

    /// Compile a `log_format` string as nginx concatenates it, e.g.
    /// `$remote_addr - [$time_local] "$request" $status us=$upstream_status urt=$upstream_response_time`.
    /// `${var}` is accepted as well as `$var`. The format must contain `$status`.
    pub fn parse(name: &str, format: &str) -> Result<AccessFormat> {
        let bad = |problem: String| LogError::BadFormat {
            name: name.to_string(),
            problem,
        };
        let b = format.as_bytes();
        let mut segs = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                lit.push(b[i]);
                i += 1;
                continue;
            }
            let at = i;
            i += 1;
            let braced = b.get(i) == Some(&b'{');
            if braced {
                i += 1;
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if i == start {
                return Err(bad(format!(
                    "`$` at byte {at} is not followed by a variable name"
                )));
            }
            let var = &format[start..i];
            if braced {
                if b.get(i) != Some(&b'}') {
                    return Err(bad(format!("the closing bracket of `${{{var}` is missing")));
                }
                i += 1;
            }
            if !lit.is_empty() {
                segs.push(Seg::Lit(std::mem::take(&mut lit).into_boxed_slice()));
            }
            segs.push(Seg::Var(Var::from_name(var)));
        }
        if !lit.is_empty() {
            segs.push(Seg::Lit(lit.into_boxed_slice()));
        }
        AccessFormat::from_segs(name, segs).ok_or_else(|| {
            bad("it has no $status variable, which is needed to find 5xx lines".into())
        })
    }

    /// A format from its segments; `None` without `$status`.
    fn from_segs(name: &str, segs: Vec<Seg>) -> Option<AccessFormat> {
        let pos = |v: Var| segs.iter().position(|s| *s == Seg::Var(v));
        let status_at = pos(Var::Status)?;
        let time_at = [Var::TimeLocal, Var::TimeIso8601, Var::Msec]
            .into_iter()
            .filter_map(pos)
            .min();
        let mut fast_end = status_at.max(time_at.unwrap_or(0)) + 1;
        if matches!(segs.get(fast_end), Some(Seg::Lit(_))) {
            fast_end += 1;
        }
        let has = |v: Var| pos(v).is_some();
        Some(AccessFormat {
            name: name.to_string(),
            fast_end,
            has_addr: has(Var::UpstreamAddr),
            has_status_list: has(Var::UpstreamStatus),
            has_connect: has(Var::UpstreamConnectTime),
            has_header: has(Var::UpstreamHeaderTime),
            has_response: has(Var::UpstreamResponseTime),
            has_time: time_at.is_some(),
            segs,
        })
    }

    /// The format of a JSON access line (an `escape=json` `log_format`, or a hand-written JSON
    /// one), inferred from one line: its keys in their order, each value a variable, the text
    /// between them literal. Keys that name nginx's variables (or common names for them) are
    /// read: `status` (`response_status`, `status_code`), a time (`time_local`, `time_iso8601`,
    /// `@timestamp`, `timestamp`, `time`, `msec`: the value says which of nginx's time variables
    /// it is), `upstream_addr` (`upstreamhost`), `upstream_status`, `upstream_connect_time`,
    /// `upstream_header_time`, `upstream_response_time` (`upstreamtime`). `None` when the line is
    /// not a flat JSON object with a three-digit status. Lines of the same `log_format` differ
    /// only in their values, so the one line gives the format of all.
    pub fn infer_json(line: &[u8]) -> Option<AccessFormat> {
        let mut segs = Vec::new();
        let mut lit = Vec::new();
        let mut seen: Vec<Var> = Vec::new();
        let ws = |b: &[u8], mut i: usize| {
            while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                i += 1;
            }
            i
        };
        let mut i = ws(line, 0);
        if line.get(i) != Some(&b'{') {
            return None;
        }
        // `i`: where the literal before the next value starts; `at`: where its key is looked for
        let mut at = i + 1;
        i = 0;
        loop {
            let k = ws(line, at);
            if line.get(k) != Some(&b'"') {
                return None;
            }
            let key_end = k + 1 + json_string_len(&line[k + 1..])?;
            let key = std::str::from_utf8(&line[k + 1..key_end]).ok()?;
            let colon = ws(line, key_end + 1);
            if line.get(colon) != Some(&b':') {
                return None;
            }
            let v = ws(line, colon + 1);
            let (start, end, after) = match line.get(v)? {
                b'"' => {
                    let end = v + 1 + json_string_len(&line[v + 1..])?;
                    (v + 1, end, end + 1)
                }
                b'{' | b'[' => return None,
                _ => {
                    // a bare value (a number, or nginx's unquoted `0.001, 0.002` list) ends at a
                    // `,` before the next key or at the closing `}`
                    let end = (v..line.len()).find(|&j| match line[j] {
                        b',' => line.get(ws(line, j + 1)) == Some(&b'"'),
                        b'}' => ws(line, j + 1) == line.len(),
                        _ => false,
                    })?;
                    let mut e = end;
                    while e > v && line[e - 1].is_ascii_whitespace() {
                        e -= 1;
                    }
                    (v, e, e)
                }
            };
            let val = &line[start..end];
            let var = match json_key_var(key, val) {
                Some(var) if !seen.contains(&var) => {
                    seen.push(var);
                    var
                }
                Some(Var::UpstreamList) => Var::UpstreamList,
                _ => Var::Other,
            };
            lit.extend_from_slice(&line[i..start]);
            segs.push(Seg::Lit(std::mem::take(&mut lit).into_boxed_slice()));
            segs.push(Seg::Var(var));
            let next = ws(line, after);
            match line.get(next)? {
                b',' => {
                    i = end;
                    at = next + 1;
                }
                b'}' if ws(line, next + 1) == line.len() => {
                    segs.push(Seg::Lit(line[end..].to_vec().into_boxed_slice()));
                    break;
                }
                _ => return None,
            }
        }
        AccessFormat::from_segs("json", segs)
    }

    /// The format's name (`combined`, or the `log_format` name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Does the format log any of `$upstream_connect_time`, `$upstream_header_time`,
    /// `$upstream_response_time`?
    pub fn has_upstream_timing(&self) -> bool {
        self.has_connect || self.has_header || self.has_response
    }

    /// Does the format log a time (`$time_local`, `$time_iso8601` or `$msec`)?
    pub fn has_time(&self) -> bool {
        self.has_time
    }

    /// Does the format log `$upstream_connect_time` (so reused connections can be counted)?
    pub(crate) fn has_connect_time(&self) -> bool {
        self.has_connect
    }

    /// Walk a line along the format. `None` when the line does not fit.
    #[inline]
    pub(crate) fn walk<'a>(
        &self,
        line: &'a [u8],
        how: Walk,
        times: &mut TimeCache,
    ) -> Option<AccessFields<'a>> {
        let upto = match how {
            Walk::Fast => self.fast_end.min(self.segs.len()),
            Walk::Full | Walk::Strict => self.segs.len(),
        };
        let mut f = AccessFields::default();
        let mut got_status = false;
        let mut pos = 0;
        for i in 0..upto {
            match &self.segs[i] {
                Seg::Lit(l) => {
                    if !line[pos..].starts_with(l) {
                        return None;
                    }
                    pos += l.len();
                }
                Seg::Var(v) => {
                    let end = match v.width() {
                        Some(w) => {
                            if pos + w > line.len() {
                                return None;
                            }
                            pos + w
                        }
                        None => match self.segs.get(i + 1) {
                            Some(Seg::Lit(l)) => pos + find_lit(&line[pos..], l, v.multi())?,
                            // two variables back to back: the first one cannot be delimited
                            Some(Seg::Var(_)) => pos,
                            None => line.len(),
                        },
                    };
                    let val = &line[pos..end];
                    match v {
                        Var::Status => {
                            f.status = status(val)?;
                            got_status = true;
                        }
                        Var::TimeLocal => f.time = Some(times.get(val, ts::parse_time_local)?),
                        Var::TimeIso8601 => f.time = Some(times.get(val, ts::parse_iso8601)?),
                        Var::Msec => f.time = Some(times.get(val, ts::parse_msec)?),
                        Var::UpstreamAddr => f.addr = Some(val),
                        Var::UpstreamStatus => f.upstream_status = Some(val),
                        Var::UpstreamConnectTime => f.connect = Some(val),
                        Var::UpstreamHeaderTime => f.header = Some(val),
                        Var::UpstreamResponseTime => f.response = Some(val),
                        Var::UpstreamList | Var::Other => {}
                    }
                    pos = end;
                }
            }
        }
        if how == Walk::Strict && pos != line.len() {
            return None;
        }
        got_status.then_some(f)
    }

    /// The class of an access line, from its status and upstream timings (KB 4.4). `None` for
    /// statuses that are not 499 or 5xx.
    pub(crate) fn classify(&self, f: &AccessFields<'_>) -> Option<LogClass> {
        use LogClass::*;
        Some(match f.status {
            502 => {
                if !self.has_upstream_timing() {
                    Status502
                } else if (self.has_addr && unset(f.addr)) || (self.has_connect && unset(f.connect))
                {
                    Status502NoConnect
                } else if self.has_connect && self.has_header {
                    if unset(f.header) {
                        Status502NoHeader
                    } else {
                        Status502FromUpstream
                    }
                } else if self.has_header && !unset(f.header) {
                    Status502FromUpstream
                } else {
                    Status502
                }
            }
            504 => Status504,
            499 => Status499,
            500..=599 => Status5xx,
            _ => return None,
        })
    }
}

/// The length of a JSON string's body up to its closing quote (escapes skipped).
fn json_string_len(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The variable a JSON access line's key stands for, given its value in one line; `None` for a
/// key that is none of those read.
fn json_key_var(key: &str, val: &[u8]) -> Option<Var> {
    let key = key.to_ascii_lowercase();
    Some(match key.as_str() {
        "status" | "response_status" | "status_code" | "http_status" => {
            status(val)?;
            Var::Status
        }
        "time_local" | "time_iso8601" | "@timestamp" | "timestamp" | "time" | "msec" => {
            if val.len() == 26 && ts::parse_time_local(val).is_some() {
                Var::TimeLocal
            } else if val.len() == 25 && ts::parse_iso8601(val).is_some() {
                Var::TimeIso8601
            } else if ts::parse_msec(val).is_some_and(|t| t.secs >= 1_000_000_000) {
                // `$msec` is seconds since 1970 (from 2001 on): not a duration logged as `time`
                Var::Msec
            } else {
                return None;
            }
        }
        "upstream_addr" | "upstreamhost" | "upstream_host" | "upstream_address" => {
            Var::UpstreamAddr
        }
        "upstream_status" => Var::UpstreamStatus,
        "upstream_connect_time" => Var::UpstreamConnectTime,
        "upstream_header_time" => Var::UpstreamHeaderTime,
        "upstream_response_time" | "upstreamtime" => Var::UpstreamResponseTime,
        k if k.starts_with("upstream") => Var::UpstreamList,
        _ => return None,
    })
}

/// `-` (or nothing) in the last value of a multi-valued upstream variable.
#[inline]
fn unset(v: Option<&[u8]>) -> bool {
    matches!(v.map(last_value), None | Some(b"-") | Some(b""))
}

/// The last value of `a, b : c` (the attempt that decided the response).
#[inline]
fn last_value(v: &[u8]) -> &[u8] {
    match memrchr(b' ', v) {
        Some(i) => &v[i + 1..],
        None => v,
    }
}

#[inline]
fn status(v: &[u8]) -> Option<u16> {
    if v.len() != 3 {
        return None;
    }
    let mut n = 0u16;
    for &c in v {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u16::from(d);
    }
    Some(n)
}

/// Where `lit` next occurs in `hay`. For multi-valued upstream variables, a space that is part of
/// a `, ` or ` : ` separator does not end the value. A quote escaped with `\` (escape=json) does
/// not end a quoted value.
#[inline]
fn find_lit(hay: &[u8], lit: &[u8], multi: bool) -> Option<usize> {
    let first = *lit.first()?;
    let mut from = 0;
    loop {
        let i = from + find_byte(&hay[from..], first)?;
        if hay[i..].starts_with(lit) {
            let skip = match first {
                b' ' if multi => {
                    (i > 0 && hay[i - 1] == b',')
                        || hay[i..].starts_with(b" : ")
                        || (i >= 2 && &hay[i - 2..i] == b" :")
                }
                b'"' => hay[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1,
                _ => false,
            };
            if !skip {
                return Some(i);
            }
        }
        from = i + 1;
    }
}

/// Access lines for the summary loop: every line is counted by `$status`, walked only up to it
/// (and the time); 499 and 5xx lines are then walked to the end, classified by their upstream
/// timings and grouped by the last `$upstream_addr`, with the last `$upstream_status` as detail.
#[derive(Debug)]
pub(crate) struct AccessClassifier<'f> {
    fmt: &'f AccessFormat,
    /// Reused connections can be counted only when the format logs `$upstream_connect_time`.
    reuse_known: bool,
    times: TimeCache,
}

impl<'f> AccessClassifier<'f> {
    pub(crate) fn new(fmt: &'f AccessFormat) -> Self {
        AccessClassifier {
            fmt,
            reuse_known: fmt.has_connect_time(),
            times: TimeCache::default(),
        }
    }
}

impl Classifier for AccessClassifier<'_> {
    type Record<'l> = AccessFields<'l>;

    const COUNTS: Counts = Counts::Status;

    #[inline(always)]
    fn parse<'l>(&mut self, line: &'l [u8]) -> Option<AccessFields<'l>> {
        self.fmt.walk(line, Walk::Fast, &mut self.times)
    }

    #[inline]
    fn time(&self, fast: &AccessFields<'_>) -> Option<Ts> {
        fast.time
    }

    #[inline]
    fn status(&self, fast: &AccessFields<'_>) -> Option<u16> {
        Some(fast.status)
    }

    #[inline(always)]
    fn fold<'l>(&mut self, fast: &AccessFields<'l>, out: Out<'_, 'l>) {
        if fast.status != 499 && !(500..600).contains(&fast.status) {
            if self.fmt.has_status_list && retry_hint(out.line()) {
                self.retried(fast, out);
            }
            return;
        }
        let f = self
            .fmt
            .walk(out.line(), Walk::Full, &mut self.times)
            .unwrap_or(*fast);
        let Some(class) = self.fmt.classify(&f) else {
            return;
        };
        let upstream = f
            .addr
            .map(last_value)
            .filter(|a| !a.is_empty() && *a != b"-");
        let detail = f
            .upstream_status
            .map(last_value)
            .filter(|s| !s.is_empty() && *s != b"-");
        let mut detail_buf = [0u8; 32];
        let detail = detail.map(|s| {
            let prefix = b"upstream_status ";
            let n = (prefix.len() + s.len()).min(detail_buf.len());
            detail_buf[..prefix.len()].copy_from_slice(prefix);
            detail_buf[prefix.len()..n].copy_from_slice(&s[..n - prefix.len()]);
            n
        });
        let failure = Failure {
            class,
            status: Some(f.status),
            upstream,
            key: None,
            level: None,
            reused: self
                .reuse_known
                .then(|| f.connect.map(last_value) == Some(b"0.000")),
            ts: f.time,
        };
        out.failure(&failure, || detail.map(|n| &detail_buf[..n]));
    }
}

impl AccessClassifier<'_> {
    /// A request the client got a non-5xx answer for, after an upstream attempt failed and nginx
    /// tried the next (`$upstream_status` `502, 200`): counted apart, under the peer that failed,
    /// so that it is not taken for a 502 the client saw.
    #[inline(never)]
    fn retried<'l>(&mut self, fast: &AccessFields<'l>, out: Out<'_, 'l>) {
        let Some(f) = self.fmt.walk(out.line(), Walk::Full, &mut self.times) else {
            return;
        };
        let Some(statuses) = f.upstream_status.map(values) else {
            return;
        };
        // the last attempt is the one the client got
        let tried = statuses.len().saturating_sub(1);
        let Some(at) = statuses[..tried]
            .iter()
            .position(|s| s.len() == 3 && s[0] == b'5')
        else {
            return;
        };
        let addrs = f.addr.map(values).unwrap_or_default();
        let upstream = addrs
            .get(at)
            .copied()
            .filter(|a| !a.is_empty() && *a != b"-");
        let failure = Failure {
            class: LogClass::UpstreamRetried,
            status: Some(fast.status),
            upstream,
            key: None,
            level: None,
            reused: None,
            ts: f.time,
        };
        let mut detail_buf = [0u8; 19];
        let prefix = b"upstream_status ";
        detail_buf[..prefix.len()].copy_from_slice(prefix);
        detail_buf[prefix.len()..].copy_from_slice(statuses[at]);
        out.failure(&failure, || Some(&detail_buf[..]));
    }
}

/// The values of an `$upstream_*` list: `a, b : c` gives `a`, `b`, `c` (nginx separates retries
/// with `, ` and internal redirects with ` : `; an address's own `:` has no spaces around it).
pub(crate) fn values(v: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < v.len() {
        let sep = if v[i..].starts_with(b", ") {
            2
        } else if v[i..].starts_with(b" : ") {
            3
        } else {
            0
        };
        if sep > 0 {
            out.push(&v[start..i]);
            i += sep;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&v[start..]);
    out
}

/// Does the line hold a 5xx followed by a list separator (`502, ` or `504 : `)? A cheap look
/// before walking a 2xx line in full: most lines have none.
#[inline]
fn retry_hint(line: &[u8]) -> bool {
    memchr::memmem::find_iter(line, b", ")
        .chain(memchr::memmem::find_iter(line, b" : "))
        .any(|i| {
            i >= 3
                && line[i - 3] == b'5'
                && line[i - 2].is_ascii_digit()
                && line[i - 1].is_ascii_digit()
                && (i == 3 || line[i - 4] == b' ' || line[i - 4] == b'"' || line[i - 4] == b',')
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use LogClass::*;

    const CUSTOM: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" ua=$upstream_addr us=$upstream_status uct=$upstream_connect_time uht=$upstream_header_time urt=$upstream_response_time rid=$request_id";

    fn custom() -> AccessFormat {
        AccessFormat::parse("timed", CUSTOM).unwrap()
    }

    fn line(status: &str, ua: &str, us: &str, uct: &str, uht: &str, urt: &str) -> String {
        format!(
            "203.0.113.9 - - [01/May/2026:12:00:00 +0200] \"GET /api?x=1 HTTP/1.1\" {status} 157 \"-\" \"curl/8.5.0\" ua={ua} us={us} uct={uct} uht={uht} urt={urt} rid=0123456789abcdef"
        )
    }

    #[test]
    fn combined_parses_and_has_no_timing() {
        let f = AccessFormat::combined();
        assert_eq!(f.name(), "combined");
        assert!(!f.has_upstream_timing());
        assert!(f.has_time());
        let l = b"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 502 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"";
        let got = f.walk(l, Walk::Strict, &mut TimeCache::default()).unwrap();
        assert_eq!(got.status, 502);
        assert_eq!(got.time.unwrap().offset, -7 * 3600);
        assert_eq!(f.classify(&got), Some(Status502));
        assert_eq!(
            f.walk(l, Walk::Fast, &mut TimeCache::default())
                .unwrap()
                .status,
            502
        );
        // a longer custom line is not strictly combined, but fits it leniently
        let c = line("200", "10.0.0.1:80", "200", "0.001", "0.002", "0.003");
        assert!(
            f.walk(c.as_bytes(), Walk::Strict, &mut TimeCache::default())
                .is_none()
        );
        assert_eq!(
            f.walk(c.as_bytes(), Walk::Full, &mut TimeCache::default())
                .unwrap()
                .status,
            200
        );
    }

    #[test]
    fn custom_format_with_timings() {
        let f = custom();
        assert!(f.has_upstream_timing());
        let l = line("502", "10.0.0.1:8080", "502", "0.001", "0.120", "0.121");
        let got = f
            .walk(l.as_bytes(), Walk::Strict, &mut TimeCache::default())
            .unwrap();
        assert_eq!(got.status, 502);
        assert_eq!(got.addr, Some(&b"10.0.0.1:8080"[..]));
        assert_eq!(got.upstream_status, Some(&b"502"[..]));
        assert_eq!(got.connect, Some(&b"0.001"[..]));
        assert_eq!(got.header, Some(&b"0.120"[..]));
        assert_eq!(got.response, Some(&b"0.121"[..]));
        assert_eq!(f.classify(&got), Some(Status502FromUpstream));

        let cases = [
            (
                line("502", "10.0.0.1:8080", "502", "-", "-", "0.001"),
                Some(Status502NoConnect),
            ),
            (
                line("502", "backend", "502", "-", "-", "0.000"),
                Some(Status502NoConnect),
            ),
            (
                line("502", "-", "-", "-", "-", "-"),
                Some(Status502NoConnect),
            ),
            (
                line("502", "10.0.0.1:8080", "502", "0.000", "-", "0.004"),
                Some(Status502NoHeader),
            ),
            (
                line("504", "10.0.0.1:8080", "504", "0.001", "-", "60.001"),
                Some(Status504),
            ),
            (
                line("499", "10.0.0.1:8080", "-", "0.001", "-", "3.000"),
                Some(Status499),
            ),
            (
                line("503", "10.0.0.1:8080", "503", "0.001", "0.002", "0.002"),
                Some(Status5xx),
            ),
            (
                line("200", "10.0.0.1:8080", "200", "0.001", "0.002", "0.002"),
                None,
            ),
            (
                line("404", "10.0.0.1:8080", "404", "0.001", "0.002", "0.002"),
                None,
            ),
        ];
        for (l, want) in cases {
            let got = f
                .walk(l.as_bytes(), Walk::Strict, &mut TimeCache::default())
                .unwrap_or_else(|| panic!("{l}"));
            assert_eq!(f.classify(&got), want, "{l}");
        }
    }

    #[test]
    fn multi_value_upstream_vars_use_the_last() {
        let f = custom();
        // a retry: first peer refused, second answered the header
        let l = line(
            "502",
            "10.0.0.1:8080, 10.0.0.2:8080",
            "502, 502",
            "-, 0.001",
            "-, 0.050",
            "0.001, 0.051",
        );
        let got = f
            .walk(l.as_bytes(), Walk::Strict, &mut TimeCache::default())
            .unwrap();
        assert_eq!(got.addr, Some(&b"10.0.0.1:8080, 10.0.0.2:8080"[..]));
        assert_eq!(last_value(got.addr.unwrap()), b"10.0.0.2:8080");
        assert_eq!(f.classify(&got), Some(Status502FromUpstream));
        // the reverse: the last attempt never connected
        let l = line(
            "502",
            "10.0.0.1:8080, 10.0.0.2:8080",
            "502, 502",
            "0.001, -",
            "0.050, -",
            "0.051, 0.001",
        );
        let got = f
            .walk(l.as_bytes(), Walk::Strict, &mut TimeCache::default())
            .unwrap();
        assert_eq!(f.classify(&got), Some(Status502NoConnect));
        // internal redirect separator
        let l = line(
            "502",
            "10.0.0.1:80 : unix:/run/app.sock",
            "404 : 502",
            "0.001 : 0.000",
            "0.002 : -",
            "0.002 : 0.001",
        );
        let got = f
            .walk(l.as_bytes(), Walk::Strict, &mut TimeCache::default())
            .unwrap();
        assert_eq!(last_value(got.addr.unwrap()), b"unix:/run/app.sock");
        assert_eq!(last_value(got.connect.unwrap()), b"0.000");
        assert_eq!(f.classify(&got), Some(Status502NoHeader));
    }

    #[test]
    fn space_separated_upstream_vars() {
        // upstream vars separated only by spaces: the `, ` inside the value is not a delimiter
        let f = AccessFormat::parse(
            "s",
            "$time_iso8601 $status $upstream_addr $upstream_connect_time $upstream_header_time",
        )
        .unwrap();
        assert!(f.has_time() && f.has_upstream_timing());
        let l = b"2026-05-01T12:00:00+00:00 502 10.0.0.1:80, 10.0.0.2:80 0.001, - 0.002, -";
        let got = f.walk(l, Walk::Strict, &mut TimeCache::default()).unwrap();
        assert_eq!(got.addr, Some(&b"10.0.0.1:80, 10.0.0.2:80"[..]));
        assert_eq!(got.connect, Some(&b"0.001, -"[..]));
        assert_eq!(got.header, Some(&b"0.002, -"[..]));
        assert_eq!(f.classify(&got), Some(Status502NoConnect));
    }

    #[test]
    fn braces_iso_time_and_json() {
        let f = AccessFormat::parse(
            "json",
            "{\"t\":\"${time_iso8601}\",\"s\":${status},\"ua\":\"${http_user_agent}\",\"up\":\"$upstream_addr\",\"uct\":\"$upstream_connect_time\",\"uht\":\"$upstream_header_time\"}",
        )
        .unwrap();
        let l = br#"{"t":"2026-05-01T12:00:00+00:00","s":502,"ua":"say \"hi\"","up":"10.0.0.1:80","uct":"0.002","uht":"-"}"#;
        let got = f.walk(l, Walk::Strict, &mut TimeCache::default()).unwrap();
        assert_eq!(got.status, 502);
        assert_eq!(got.addr, Some(&b"10.0.0.1:80"[..]));
        assert_eq!(f.classify(&got), Some(Status502NoHeader));
    }

    #[test]
    fn bad_formats() {
        for (fmt, needle) in [
            ("$remote_addr [$time_local]", "$status"),
            ("$status $", "not followed by a variable name"),
            ("${status", "closing bracket"),
        ] {
            let e = AccessFormat::parse("f", fmt).unwrap_err();
            let s = e.to_string();
            assert!(matches!(e, LogError::BadFormat { .. }));
            assert!(s.contains(needle), "{s}");
            assert!(!s.contains('\n'));
        }
    }

    #[test]
    fn non_fitting_lines() {
        let f = AccessFormat::combined();
        for l in [
            &b""[..],
            b"garbage",
            b"2026/05/01 12:00:00 [error] 1#1: *1 connect() failed",
            b"127.0.0.1 - - [01/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 2x0 1 \"-\" \"-\"",
            b"127.0.0.1 - - [99/May/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
        ] {
            assert!(
                f.walk(l, Walk::Full, &mut TimeCache::default()).is_none(),
                "{}",
                String::from_utf8_lossy(l)
            );
            assert!(
                f.walk(l, Walk::Fast, &mut TimeCache::default()).is_none(),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
    }
}
