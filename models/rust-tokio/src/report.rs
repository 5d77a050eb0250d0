//! Failure reports (models/README.md, "Failure reports"): JSON lines on
//! stdout, the first of a kind and errno at once, later ones summed and
//! written at most once a second, as every model coalesces them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const KIND_ACCEPT: &str = "accept";
pub const KIND_READ: &str = "read";
pub const KIND_WRITE: &str = "write";

const EVERY: Duration = Duration::from_secs(1);

type Key = (&'static str, String); // kind, errno

struct Pending {
    count: u64,
    conns: u64,
    msg: String,
}

struct State {
    last: HashMap<Key, Instant>,
    pending: HashMap<Key, Pending>,
    armed: bool, // a flush is scheduled
}

/// Reporter writes one instance's reports; clones share the state. The
/// runtime has one thread, so Rc and RefCell suffice.
#[derive(Clone)]
pub struct Reporter {
    model: &'static str,
    instance: i64,
    state: Rc<RefCell<State>>,
}

impl Reporter {
    pub fn new(model: &'static str, instance: i64) -> Self {
        let state = State { last: HashMap::new(), pending: HashMap::new(), armed: false };
        Reporter { model, instance, state: Rc::new(RefCell::new(state)) }
    }

    /// Reports one failure of kind, with the connections held then. Must be
    /// called inside the runtime's LocalSet (the coalesced flush is a task).
    pub fn report(&self, kind: &'static str, err: &io::Error, conns: u64) {
        let key = (kind, errno_name(err));
        let now = Instant::now();
        let mut st = self.state.borrow_mut();
        let due = st.last.get(&key).map_or(true, |t| now.duration_since(*t) >= EVERY);
        if due {
            let earlier = st.pending.remove(&key).map_or(0, |p| p.count);
            self.write(&key, earlier + 1, conns, &err.to_string());
            st.last.insert(key, now);
            return;
        }
        let p = st.pending.entry(key).or_insert(Pending { count: 0, conns: 0, msg: String::new() });
        p.count += 1;
        p.conns = conns;
        p.msg = err.to_string();
        if !st.armed {
            st.armed = true;
            let me = self.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(EVERY).await;
                me.flush();
            });
        }
    }

    fn flush(&self) {
        let mut st = self.state.borrow_mut();
        st.armed = false;
        let now = Instant::now();
        for (key, p) in std::mem::take(&mut st.pending) {
            self.write(&key, p.count, p.conns, &p.msg);
            st.last.insert(key, now);
        }
    }

    fn write(&self, key: &Key, count: u64, conns: u64, msg: &str) {
        let mut line = format!(
            r#"{{"time":"{}","model":"{}","instance":{},"kind":"{}","count":{},"conns":{}"#,
            rfc3339_now(),
            self.model,
            self.instance,
            key.0,
            count,
            conns
        );
        if !key.1.is_empty() {
            line += &format!(r#","errno":"{}""#, key.1);
        }
        if !msg.is_empty() {
            line += &format!(r#","msg":{}"#, json_string(msg));
        }
        line += "}\n";
        // A runner that stopped reading loses reports, not the model.
        let _ = io::stdout().lock().write_all(line.as_bytes());
    }
}

/// The symbolic name of err's errno ("EMFILE"), "" when it has none.
pub fn errno_name(err: &io::Error) -> String {
    let n = match err.raw_os_error() {
        Some(n) => n,
        None => return String::new(),
    };
    let name = match n {
        libc::EMFILE => "EMFILE",
        libc::ENFILE => "ENFILE",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOMEM => "ENOMEM",
        libc::ECONNRESET => "ECONNRESET",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::EPIPE => "EPIPE",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::EPERM => "EPERM",
        libc::EPROTO => "EPROTO",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENOTCONN => "ENOTCONN",
        _ => return n.to_string(),
    };
    name.to_string()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Now in UTC as RFC 3339 with milliseconds: 2026-11-25T10:00:00.123Z.
fn rfc3339_now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86400) as i64);
    let s = secs % 86400;
    format!("{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", s / 3600, s / 60 % 60, s % 60, d.subsec_millis())
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the
/// well-known era arithmetic: 400-year eras of 146097 days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for (days, want) in [(0, (1970, 1, 1)), (11016, (2000, 2, 29)), (20416, (2025, 11, 24)), (-1, (1969, 12, 31))] {
            assert_eq!(civil_from_days(days), want, "day {days}");
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn errnos() {
        assert_eq!(errno_name(&io::Error::from_raw_os_error(libc::EMFILE)), "EMFILE");
        assert_eq!(errno_name(&io::Error::new(io::ErrorKind::Other, "x")), "");
    }
}
