//! The work per request (models/README.md, "Work per request"): parsing
//! C10K_WORK and C10K_SIZE, and the two kinds that run on the handling
//! thread itself (cpu= and block=). wait= is tokio::time::sleep, in main.rs.

use std::time::Duration;

pub const ENV_WORK: &str = "C10K_WORK";
pub const ENV_SIZE: &str = "C10K_SIZE";
const DEFAULT_SIZE: usize = 16;

/// What C10K_WORK and C10K_SIZE say; the default is no work (pure echo).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Work {
    pub cpu: Duration,
    pub block: Duration,
    pub wait: Duration,
    /// Bytes per request; 0 when there is no work.
    pub size: usize,
}

impl Work {
    pub fn none(&self) -> bool {
        self.cpu.is_zero() && self.block.is_zero() && self.wait.is_zero()
    }
}

/// Reads C10K_WORK, and C10K_SIZE when there is work. An error is the one
/// line the model prints before exiting with status 2.
pub fn parse(work: Option<&str>, size: Option<&str>) -> Result<Work, String> {
    let mut w = parse_value(work.unwrap_or(""))?;
    if w.none() {
        return Ok(w);
    }
    let size = size.map(str::trim).unwrap_or("");
    w.size = if size.is_empty() {
        DEFAULT_SIZE
    } else {
        let n: i64 = parse_int(size).ok_or_else(|| format!("{ENV_SIZE}={size:?}: not an integer"))?;
        if n < 1 {
            return Err(format!("{ENV_SIZE}={n}: want a positive number of bytes"));
        }
        n as usize
    };
    Ok(w)
}

/// An integer as Go's strconv.Atoi reads it: an optional sign, then digits.
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_value(v: &str) -> Result<Work, String> {
    let v = v.trim();
    let mut w = Work::default();
    if v.is_empty() {
        return Ok(w);
    }
    let mut seen: Vec<&str> = Vec::new();
    for item in v.split(',') {
        let item = item.trim();
        let (kind, ds) = match item.split_once('=') {
            Some(kv) => kv,
            None => return Err(format!("{ENV_WORK}={v:?}: {item:?}: want kind=duration")),
        };
        let slot = match kind {
            "cpu" => &mut w.cpu,
            "wait" => &mut w.wait,
            "block" => &mut w.block,
            _ => return Err(format!("{ENV_WORK}={v:?}: {kind:?}: unknown kind (want cpu, wait or block)")),
        };
        if seen.contains(&kind) {
            return Err(format!("{ENV_WORK}={v:?}: {kind:?}: kind given twice"));
        }
        seen.push(kind);
        *slot = parse_duration(ds).map_err(|e| format!("{ENV_WORK}={v:?}: {item:?}: {e}"))?;
    }
    Ok(w)
}

/// Nanoseconds per unit C10K_WORK allows: Go's time.ParseDuration units
/// less minutes and hours.
fn unit_ns(unit: &str) -> Option<f64> {
    match unit {
        "ns" => Some(1.0),
        "us" | "µs" | "μs" => Some(1e3),
        "ms" => Some(1e6),
        "s" => Some(1e9),
        _ => None,
    }
}

/// A duration in Go's syntax ("200us", "1.5ms", "1ms500us"), above zero.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let unsigned = s.trim_start_matches(['+', '-']);
    for unit in unsigned.split(|c: char| c.is_ascii_digit() || c == '.').filter(|u| !u.is_empty()) {
        if unit_ns(unit).is_none() {
            return Err(format!("unit {unit:?} (want ns, us, ms or s)"));
        }
    }
    let bad = || "not a duration (e.g. 200us, 1.5ms, 50ms)".to_string();
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Err("duration must be > 0".into());
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut ns = 0f64;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(bad());
        }
        let unit_len = rest[num_len..].find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len() - num_len);
        let unit = &rest[num_len..num_len + unit_len];
        let per = unit_ns(unit).ok_or_else(bad)?; // "" is a missing unit
        let value: f64 = format!("{}.{}", if int.is_empty() { "0" } else { int }, if frac.is_empty() { "0" } else { frac })
            .parse()
            .map_err(|_| bad())?;
        ns += value * per;
        rest = &rest[num_len + unit_len..];
    }
    if negative || ns < 1.0 {
        return Err("duration must be > 0".into());
    }
    Ok(Duration::from_nanos(ns as u64))
}

/// The calling thread's CPU time so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Burns d of the calling thread's CPU time (cpu=): it spins reading the
/// thread's CPU clock, so time the thread spends preempted is not counted
/// and no calibration is needed.
pub fn burn(d: Duration) {
    if d.is_zero() {
        return;
    }
    let start = thread_cpu();
    while thread_cpu() - start < d {}
}

/// The naive handler's blocking call (block=): the whole runtime's one
/// thread sleeps, and with it every connection.
pub fn block(d: Duration) {
    if !d.is_zero() {
        std::thread::sleep(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract() {
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        let cases: &[(&str, Option<&str>, Result<Work, &str>)] = &[
            ("", None, Ok(Work::default())),
            ("  ", Some("x"), Ok(Work::default())), // no work: C10K_SIZE unread
            ("wait=50ms", None, Ok(Work { wait: ms(50), size: 16, ..Default::default() })),
            ("cpu=200us, block=1.5ms", Some("12"), Ok(Work { cpu: us(200), block: us(1500), size: 12, ..Default::default() })),
            ("cpu=1ms500us", Some(" 4 "), Ok(Work { cpu: us(1500), size: 4, ..Default::default() })),
            ("wait=2µs", None, Ok(Work { wait: us(2), size: 16, ..Default::default() })),
            ("wait=.5s", None, Ok(Work { wait: ms(500), size: 16, ..Default::default() })),
            ("cpu=5m", None, Err(r#"C10K_WORK="cpu=5m": "cpu=5m": unit "m" (want ns, us, ms or s)"#)),
            ("cpu=5", None, Err(r#"C10K_WORK="cpu=5": "cpu=5": not a duration"#)),
            ("cpu=0", None, Err(r#"C10K_WORK="cpu=0": "cpu=0": duration must be > 0"#)),
            ("cpu=-1ms", None, Err(r#"C10K_WORK="cpu=-1ms": "cpu=-1ms": duration must be > 0"#)),
            ("cpu=1..2ms", None, Err(r#"C10K_WORK="cpu=1..2ms": "cpu=1..2ms": not a duration"#)),
            ("nap=1ms", None, Err(r#"C10K_WORK="nap=1ms": "nap": unknown kind"#)),
            ("cpu", None, Err(r#"C10K_WORK="cpu": "cpu": want kind=duration"#)),
            ("cpu=1ms,cpu=2ms", None, Err(r#"C10K_WORK="cpu=1ms,cpu=2ms": "cpu": kind given twice"#)),
            ("cpu=1ms", Some("0"), Err("C10K_SIZE=0: want a positive number of bytes")),
            ("cpu=1ms", Some("16B"), Err(r#"C10K_SIZE="16B": not an integer"#)),
        ];
        for (work, size, want) in cases {
            let got = parse(Some(work), *size);
            match (want, &got) {
                (Ok(w), Ok(g)) if w == g => {}
                (Err(prefix), Err(e)) if e.starts_with(prefix) => {}
                _ => panic!("parse({work:?}, {size:?}) = {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn burn_uses_the_threads_cpu() {
        let start = thread_cpu();
        burn(Duration::from_millis(20));
        let used = thread_cpu() - start;
        assert!(used >= Duration::from_millis(20), "burned {used:?} of CPU, want at least 20ms");
    }
}
