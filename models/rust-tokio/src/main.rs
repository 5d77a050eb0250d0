//! rust-tokio: an echo server on tokio's current-thread runtime, one
//! process, one thread (README.md). The contract is models/README.md's.

mod report;
mod work;

use std::cell::{Cell, RefCell};
use std::env;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use report::{Reporter, KIND_ACCEPT, KIND_READ, KIND_WRITE};
use work::Work;

const MODEL: &str = "rust-tokio";

/// Read buffer shared by every connection: a task reads into it only after
/// the socket is readable and copies out only what it cannot write at
/// once, so an idle connection holds no buffer at all.
const READ_BUF: usize = 64 << 10;

/// The most room a connection with work keeps for an incomplete request
/// between reads (more only while a request is larger).
const KEEP_PENDING: usize = 4 << 10;

/// How long accepting pauses after a failure for lack of a resource
/// (EMFILE...): mio's listener is edge-triggered and stays ready, so
/// retrying at once would spin on the same error.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The contract's common variables (models/README.md).
struct Config {
    addr: SocketAddr,
    backlog: u32,
    reuseport: bool,
    instance: i64,
    work: Work,
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn load_config() -> Result<Config, String> {
    let addr_s = var("C10K_ADDR").unwrap_or_else(|| "127.0.0.1:9999".into());
    let addr = addr_s.parse().map_err(|e| format!("C10K_ADDR={addr_s:?}: want ip:port: {e}"))?;
    let int = |name: &str, def: i64| -> Result<i64, String> {
        match var(name) {
            None => Ok(def),
            Some(v) => v.parse().map_err(|_| format!("{name}={v:?}: not an integer")),
        }
    };
    let backlog = int("C10K_BACKLOG", 4096)?;
    let backlog = u32::try_from(backlog).map_err(|_| format!("C10K_BACKLOG={backlog}: want a non-negative number"))?;
    let reuseport = match var("C10K_REUSEPORT").as_deref() {
        None | Some("0" | "f" | "F" | "false" | "FALSE" | "False") => false,
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => true,
        Some(v) => return Err(format!("C10K_REUSEPORT={v:?}: not a boolean")),
    };
    if let Some(p) = var("C10K_PRESET") {
        return Err(format!("C10K_PRESET={p:?}: rust-tokio has no presets"));
    }
    let work = work::parse(env::var(work::ENV_WORK).ok().as_deref(), env::var(work::ENV_SIZE).ok().as_deref())?;
    Ok(Config { addr, backlog, reuseport, instance: int("C10K_INSTANCE", 0)?, work })
}

fn main() {
    let cfg = match load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{MODEL}: {e}");
            std::process::exit(2);
        }
    };
    // SIGTERM keeps its default action: the kernel ends the process at
    // once, even while the thread is inside a block= sleep or a cpu= spin,
    // where a handler on the runtime would wait its turn.
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{MODEL}: start the tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let local = tokio::task::LocalSet::new();
    // serve returns only when it cannot listen: exit status 2, as a bad
    // configuration, like the other models.
    if let Err(e) = local.block_on(&rt, serve(cfg)) {
        eprintln!("{MODEL}: {e}");
        std::process::exit(2);
    }
}

fn listen(cfg: &Config) -> io::Result<TcpListener> {
    let sock = if cfg.addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    sock.set_reuseaddr(true)?;
    if cfg.reuseport {
        sock.set_reuseport(true)?;
    }
    sock.bind(cfg.addr).map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", cfg.addr)))?;
    sock.listen(cfg.backlog)
}

/// What every connection's task shares; the runtime has one thread.
struct Shared {
    buf: RefCell<Vec<u8>>,
    live: Cell<u64>,
    rep: Reporter,
    work: Work,
}

async fn serve(cfg: Config) -> io::Result<()> {
    let listener = listen(&cfg)?;
    let sh = Rc::new(Shared {
        buf: RefCell::new(vec![0; READ_BUF]),
        live: Cell::new(0),
        rep: Reporter::new(MODEL, cfg.instance),
        work: cfg.work,
    });
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Echoes go out at once, not held back by Nagle's algorithm
                // for an earlier echo's ACK, as Go's net does by default.
                let _ = stream.set_nodelay(true);
                let sh = sh.clone();
                sh.live.set(sh.live.get() + 1);
                tokio::task::spawn_local(async move {
                    let mut stream = stream;
                let res = if sh.work.none() { echo(&mut stream, &sh).await } else { echo_work(&mut stream, &sh).await };
                    sh.live.set(sh.live.get() - 1);
                    if let Err(e) = res {
                        sh.rep.report(e.kind, &e.err, sh.live.get());
                    }
                });
            }
            Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                sh.rep.report(KIND_ACCEPT, &e, sh.live.get());
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
}

/// A connection's failure, with the report kind it is.
struct ConnError {
    kind: &'static str,
    err: io::Error,
}

fn read_err(err: io::Error) -> ConnError {
    ConnError { kind: KIND_READ, err }
}

fn write_err(err: io::Error) -> ConnError {
    ConnError { kind: KIND_WRITE, err }
}

/// One read into the shared buffer once the socket is readable: Ok(None)
/// at the client's FIN, else what was read, handed to f while the buffer
/// is borrowed.
async fn read_some<T>(s: &TcpStream, sh: &Shared, mut f: impl FnMut(&[u8]) -> T) -> Result<Option<T>, ConnError> {
    loop {
        s.readable().await.map_err(read_err)?;
        let mut buf = sh.buf.borrow_mut();
        match s.try_read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => return Ok(Some(f(&buf[..n]))),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(read_err(e)),
        }
    }
}

/// Writes all of data, the socket buffer taking what it can at once and
/// the task awaiting room for the rest.
async fn write_all(s: &mut TcpStream, data: &[u8]) -> Result<(), ConnError> {
    s.write_all(data).await.map_err(write_err)
}

/// The client half-closed: everything has been echoed, so close our side
/// too (the socket closes when the task drops it).
async fn finish(s: &mut TcpStream) -> Result<(), ConnError> {
    match s.shutdown().await {
        Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(write_err(e)),
        _ => Ok(()),
    }
}

/// Pure echo: what the socket takes at once is written straight from the
/// shared buffer; only a remainder (the client is slow to read) is copied
/// and written when there is room, while this connection reads nothing
/// more.
async fn echo(s: &mut TcpStream, sh: &Shared) -> Result<(), ConnError> {
    loop {
        let rs: &TcpStream = s;
        let rest = read_some(rs, sh, |data| match rs.try_write(data) {
            Ok(n) if n == data.len() => Ok(Vec::new()),
            Ok(n) => Ok(data[n..].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(data.to_vec()),
            Err(e) => Err(write_err(e)),
        })
        .await?;
        match rest {
            None => return finish(s).await,
            Some(rest) => {
                let rest = rest?;
                if !rest.is_empty() {
                    write_all(s, &rest).await?;
                }
            }
        }
    }
}

/// Echo with work (C10K_WORK): the stream is cut into requests of
/// work.size bytes, each handled in turn: cpu= and block= on the runtime's
/// one thread, so every connection waits for them, wait= with
/// tokio::time::sleep, which lets the runtime serve the others. While a
/// request is in hand the task reads nothing, so later requests wait in
/// the kernel's socket buffer.
async fn echo_work(s: &mut TcpStream, sh: &Shared) -> Result<(), ConnError> {
    let w = sh.work;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let more = read_some(s, sh, |data| pending.extend_from_slice(data)).await?;
        let mut done = 0;
        while pending.len() - done >= w.size {
            work::burn(w.cpu);
            work::block(w.block);
            if !w.wait.is_zero() {
                tokio::time::sleep(w.wait).await;
            }
            write_all(s, &pending[done..done + w.size]).await?;
            done += w.size;
        }
        pending.drain(..done);
        if more.is_none() {
            // The client's FIN: an incomplete request goes back as it is.
            if !pending.is_empty() {
                write_all(s, &pending).await?;
            }
            return finish(s).await;
        }
        // A burst grew it: an idle connection keeps at most a request's room.
        if pending.capacity() > KEEP_PENDING.max(w.size) {
            pending.shrink_to(w.size.max(pending.len()));
        }
    }
}
