//! `lightning-net-tokio` sits between the operating system's TCP sockets and
//! `lightning-core`'s `PeerManager`: it owns the tokio sockets, feeds what it
//! reads to `read_event`, writes what the peer manager hands back (waiting for
//! the socket to be writable when the kernel buffer is full), pauses reading
//! when the peer manager asks for back-pressure, and runs the peer manager's
//! timer and event processing. It depends only on `lightning-core` and `tokio`.
//!
//! Use [`setup_inbound`] for accepted connections, [`connect_outbound`] (or
//! [`setup_outbound`] for a stream you connected yourself) for outbound ones,
//! and [`PeerManagerDriver`] to run `timer_tick_occurred` and `process_events`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use lightning_core::bitcoin::secp256k1::PublicKey;
use lightning_core::ln::msgs::SocketAddress;
use lightning_core::ln::peer_handler::APeerManager;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Bytes read from a socket per `read_event` call.
const READ_BUFFER_SIZE: usize = 8192;
/// How long [`connect_outbound`] waits for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(0);

/// State shared by a connection's descriptor and its tasks.
struct Connection {
    stream: TcpStream,
    /// A duplicate of the socket handle, used to shut it down from
    /// `disconnect_socket` without owning the tokio stream mutably.
    std_handle: std::net::TcpStream,
    /// Signalled when `send_data` could not write everything.
    write_wanted: Notify,
    /// Signalled when reading may resume.
    resume_read: Notify,
    read_paused: AtomicBool,
    /// Set when the peer manager asked to close: it already forgot the peer.
    closed_by_peer_manager: AtomicBool,
    /// Signalled when the connection is closing.
    closing: Notify,
    closed: AtomicBool,
}

impl Connection {
    fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.std_handle.shutdown(std::net::Shutdown::Both);
        }
        self.closing.notify_waiters();
        self.closing.notify_one();
        self.resume_read.notify_one();
        self.write_wanted.notify_one();
    }
}

/// A tokio TCP connection as the peer manager sees it.
#[derive(Clone)]
pub struct SocketDescriptor {
    id: u64,
    conn: Arc<Connection>,
}

impl PartialEq for SocketDescriptor {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for SocketDescriptor {}
impl Hash for SocketDescriptor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl lightning_core::ln::peer_handler::SocketDescriptor for SocketDescriptor {
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize {
        if resume_read {
            // Always signal: the reader may be about to pause (the peer
            // manager decides under its own lock), and a stored permit makes it
            // resume at once rather than wait forever.
            self.conn.resume_read.notify_one();
        }
        if data.is_empty() || self.conn.closed.load(Ordering::Acquire) {
            return 0;
        }
        match self.conn.stream.try_write(data) {
            Ok(written) => {
                if written < data.len() {
                    self.conn.write_wanted.notify_one();
                }
                written
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.conn.write_wanted.notify_one();
                0
            }
            // The socket is broken: the reader sees it and reports the
            // disconnect.
            Err(_) => 0,
        }
    }

    fn disconnect_socket(&mut self) {
        self.conn.closed_by_peer_manager.store(true, Ordering::Release);
        self.conn.close();
    }
}

/// Builds the connection state and spawns its reader and writer tasks; returns
/// the descriptor and a future that ends when the connection is closed.
fn spawn_connection<PM>(
    peer_manager: Arc<PM>, std_stream: std::net::TcpStream,
) -> std::io::Result<(SocketDescriptor, impl Future<Output = ()>)>
where
    PM: APeerManager<Descriptor = SocketDescriptor> + Send + Sync + 'static,
{
    std_stream.set_nonblocking(true)?;
    let _ = std_stream.set_nodelay(true);
    let std_handle = std_stream.try_clone()?;
    let stream = TcpStream::from_std(std_stream)?;
    let conn = Arc::new(Connection {
        stream,
        std_handle,
        write_wanted: Notify::new(),
        resume_read: Notify::new(),
        read_paused: AtomicBool::new(false),
        closed_by_peer_manager: AtomicBool::new(false),
        closing: Notify::new(),
        closed: AtomicBool::new(false),
    });
    let descriptor = SocketDescriptor { id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed), conn };
    let writer = tokio::spawn(write_loop(peer_manager.clone(), descriptor.clone()));
    let reader = read_loop(peer_manager, descriptor.clone());
    let done = async move {
        reader.await;
        let _ = writer.await;
    };
    Ok((descriptor, done))
}

/// Waits for writability whenever a send was short, then lets the peer
/// manager write more.
async fn write_loop<PM>(peer_manager: Arc<PM>, mut descriptor: SocketDescriptor)
where
    PM: APeerManager<Descriptor = SocketDescriptor> + Send + Sync + 'static,
{
    let conn = descriptor.conn.clone();
    loop {
        conn.write_wanted.notified().await;
        if conn.closed.load(Ordering::Acquire) {
            return;
        }
        if conn.stream.writable().await.is_err() || conn.closed.load(Ordering::Acquire) {
            return;
        }
        if peer_manager.write_buffer_space_avail(&mut descriptor).is_err() {
            conn.close();
            return;
        }
        peer_manager.process_events();
    }
}

/// Reads until the socket closes, feeding the peer manager and honouring its
/// requests to pause.
async fn read_loop<PM>(peer_manager: Arc<PM>, mut descriptor: SocketDescriptor)
where
    PM: APeerManager<Descriptor = SocketDescriptor> + Send + Sync + 'static,
{
    let conn = descriptor.conn.clone();
    let mut buf = vec![0u8; READ_BUFFER_SIZE];
    let mut forgotten = false;
    loop {
        if conn.closed.load(Ordering::Acquire) {
            break;
        }
        if conn.read_paused.load(Ordering::Acquire) {
            tokio::select! {
                _ = conn.resume_read.notified() => {
                    conn.read_paused.store(false, Ordering::Release);
                    continue;
                }
                _ = conn.closing.notified() => break,
            }
        }
        tokio::select! {
            ready = conn.stream.readable() => {
                if ready.is_err() {
                    break;
                }
            }
            _ = conn.closing.notified() => break,
        }
        match conn.stream.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => match peer_manager.read_event(&mut descriptor, &buf[..n]) {
                Ok(pause) => {
                    if pause {
                        conn.read_paused.store(true, Ordering::Release);
                    }
                    peer_manager.process_events();
                }
                Err(_) => {
                    forgotten = true;
                    break;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => break,
        }
    }
    if !forgotten && !conn.closed_by_peer_manager.load(Ordering::Acquire) {
        peer_manager.socket_disconnected(&descriptor);
    }
    conn.close();
}

fn remote_address(stream: &std::net::TcpStream) -> Option<SocketAddress> {
    stream.peer_addr().ok().map(SocketAddress::from)
}

/// Serves an accepted connection until it closes. The returned future must be
/// polled (spawn it) on a tokio runtime with I/O enabled; it ends when the
/// connection is gone. Nothing touches the runtime before the future is
/// first polled, so it may be created outside one.
pub fn setup_inbound<PM>(peer_manager: Arc<PM>, stream: std::net::TcpStream) -> impl Future<Output = ()>
where
    PM: APeerManager<Descriptor = SocketDescriptor> + Send + Sync + 'static,
{
    let remote = remote_address(&stream);
    async move {
        // Registering the socket and spawning the writer need a runtime:
        // done here, inside the future, not when it is created.
        let Ok((descriptor, done)) = spawn_connection(peer_manager.clone(), stream) else { return };
        if peer_manager.new_inbound_connection(descriptor.clone(), remote).is_err() {
            descriptor.conn.close();
        }
        done.await;
    }
}

/// Runs an outbound connection to `their_node_id` over a stream you connected,
/// until it closes. The returned future must be polled (spawn it) on a tokio
/// runtime with I/O enabled; like [`setup_inbound`], it does nothing until
/// first polled, so it may be created outside one.
pub fn setup_outbound<PM>(
    peer_manager: Arc<PM>, their_node_id: PublicKey, stream: std::net::TcpStream,
) -> impl Future<Output = ()>
where
    PM: APeerManager<Descriptor = SocketDescriptor> + Send + Sync + 'static,
{
    let remote = remote_address(&stream);
    async move {
        let Ok((mut descriptor, done)) = spawn_connection(peer_manager.clone(), stream) else { return };
        match peer_manager.new_outbound_connection(their_node_id, descriptor.clone(), remote) {
            Ok(act_one) => {
                // Act one is the very first data on the socket; it is small
                // enough for any fresh socket buffer, and a short write is
                // retried by the writer task like any other.
                write_initial(&mut descriptor, &act_one).await;
            }
            Err(_) => descriptor.conn.close(),
        }
        done.await;
    }
}

async fn write_initial(descriptor: &mut SocketDescriptor, mut data: &[u8]) {
    use lightning_core::ln::peer_handler::SocketDescriptor as _;
    while !data.is_empty() {
        let n = descriptor.send_data(data, false);
        data = &data[n..];
        if !data.is_empty() && descriptor.conn.stream.writable().await.is_err() {
            descriptor.conn.close();
            return;
        }
    }
}

/// Connects to `addr` (waiting at most [`CONNECT_TIMEOUT`]) and returns the
/// future running the connection, or `None` if the TCP connection failed or
/// timed out. The BOLT 8 handshake happens inside the returned future.
pub async fn connect_outbound<PM>(
    peer_manager: Arc<PM>, their_node_id: PublicKey, addr: SocketAddr,
) -> Option<impl Future<Output = ()>>
where
    PM: APeerManager<Descriptor = SocketDescriptor> + Send + Sync + 'static,
{
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await.ok()?.ok()?;
    let std_stream = stream.into_std().ok()?;
    Some(setup_outbound(peer_manager, their_node_id, std_stream))
}

/// Runs a peer manager's periodic work: `timer_tick_occurred` every
/// `tick_interval` (about ten seconds in production) and `process_events`
/// whenever [`PeerManagerDriver::notify`] is called (after the node queued
/// messages, e.g. on a user action) or at least every `events_interval`.
pub struct PeerManagerDriver {
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl PeerManagerDriver {
    /// Spawns the driver task on the current tokio runtime.
    pub fn spawn<PM>(peer_manager: Arc<PM>, tick_interval: Duration, events_interval: Duration) -> Self
    where
        PM: APeerManager + Send + Sync + 'static,
    {
        let notify = Arc::new(Notify::new());
        let wake = notify.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(tick_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            let mut events = tokio::time::interval(events_interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => peer_manager.timer_tick_occurred(),
                    _ = events.tick() => {}
                    _ = wake.notified() => {}
                }
                peer_manager.process_events();
            }
        });
        PeerManagerDriver { notify, task }
    }

    /// Asks for `process_events` to run soon.
    pub fn notify(&self) {
        self.notify.notify_one();
    }
}

impl Drop for PeerManagerDriver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
