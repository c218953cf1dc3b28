//! InfluxDB subscriptions: every point line protocol writes to a database and retention
//! policy with subscriptions is sent on to their destinations, as InfluxDB's subscriber
//! service sends it (to Kapacitor, say) — line protocol with nanosecond timestamps, over UDP
//! (datagrams of whole lines, at most 64,000 bytes) or HTTP (`POST /write?db=&rp=
//! &precision=ns`). Mode ALL sends each write to every destination, ANY to one, in turn.
//!
//! Sending never holds up a write: a write's lines are queued after it is stored, and one
//! thread sends them. The queue is bounded ([`QUEUE_BYTES`]); past it a write's points are
//! dropped for its subscriptions and counted as write failures, as InfluxDB drops them when
//! its channel is full. HTTPS destinations are refused when the subscription is created
//! (this build has no TLS client). Only the whole store's catalog has subscriptions that
//! send (a tenant's are kept, not sent).

use std::collections::{HashMap, VecDeque};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use strata_ingest::line_protocol::{self, Precision};

/// Bytes of lines waiting to be sent, at most.
const QUEUE_BYTES: usize = 64 << 20;
/// A UDP datagram's payload, at most (InfluxDB's default).
const UDP_PAYLOAD: usize = 64_000;

/// One write's lines for one destination.
#[derive(Debug)]
struct Job {
    destination: String,
    database: String,
    policy: String,
    lines: Arc<String>,
    points: u64,
}

/// The queue, the sender thread and the figures SHOW STATS reports (module `subscriber`).
#[derive(Debug, Default)]
pub struct Subscriber {
    queue: Mutex<(VecDeque<Job>, usize)>,
    wake: Condvar,
    stop: AtomicBool,
    /// The queue's bound in bytes (`None`: [`QUEUE_BYTES`]; tests set a small one).
    bound: Option<usize>,
    /// ANY subscriptions' next destination, by (database, policy, name).
    turns: Mutex<HashMap<(String, String, String), usize>>,
    points_written: AtomicU64,
    write_failures: AtomicU64,
    create_failures: AtomicU64,
}

/// What the sender has done since start (InfluxDB's `subscriber` statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Points a destination took.
    pub points_written: u64,
    /// Points dropped: the queue was full or the destination failed.
    pub write_failures: u64,
    /// The sender thread or its UDP socket could not be made.
    pub create_failures: u64,
}

impl Subscriber {
    /// Starts the sender thread.
    pub fn start() -> Arc<Subscriber> {
        let subscriber = Arc::new(Subscriber::default());
        let sender = subscriber.clone();
        let spawned = std::thread::Builder::new().name("subscriber".into()).spawn(move || sender.send_loop());
        if spawned.is_err() {
            subscriber.create_failures.fetch_add(1, Relaxed);
        }
        subscriber
    }

    /// What it has done since start.
    pub fn figures(&self) -> Figures {
        Figures {
            points_written: self.points_written.load(Relaxed),
            write_failures: self.write_failures.load(Relaxed),
            create_failures: self.create_failures.load(Relaxed),
        }
    }

    /// Stops the sender thread (what is queued is dropped).
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
        self.wake.notify_all();
    }

    /// Queues a stored write's lines (`body` in `precision`, received at `now_ns`) for the
    /// subscriptions of `database` and `policy`.
    pub fn forward(
        &self,
        subscriptions: &[strata_influxql::Subscription],
        (database, policy): (&str, &str),
        body: &[u8],
        precision: Precision,
        now_ns: i64,
    ) {
        if subscriptions.is_empty() {
            return;
        }
        let (lines, points) = nanosecond_lines(body, precision, now_ns);
        if points == 0 {
            return;
        }
        let lines = Arc::new(lines);
        for s in subscriptions {
            for destination in self.destinations_of(s, database, policy) {
                let job = Job {
                    destination,
                    database: database.to_string(),
                    policy: policy.to_string(),
                    lines: lines.clone(),
                    points,
                };
                self.enqueue(job);
            }
        }
    }

    fn destinations_of(
        &self,
        s: &strata_influxql::Subscription,
        database: &str,
        policy: &str,
    ) -> Vec<String> {
        if !s.any || s.destinations.len() <= 1 {
            return s.destinations.clone();
        }
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        let turn = turns.entry((database.to_string(), policy.to_string(), s.name.clone())).or_default();
        let destination = s.destinations[*turn % s.destinations.len()].clone();
        *turn = turn.wrapping_add(1);
        vec![destination]
    }

    fn enqueue(&self, job: Job) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.1 + job.lines.len() > self.bound.unwrap_or(QUEUE_BYTES) {
            self.write_failures.fetch_add(job.points, Relaxed);
            return;
        }
        queue.1 += job.lines.len();
        queue.0.push_back(job);
        self.wake.notify_one();
    }

    fn send_loop(&self) {
        let udp = UdpSocket::bind("0.0.0.0:0").ok();
        if udp.is_none() {
            self.create_failures.fetch_add(1, Relaxed);
        }
        let http = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
        loop {
            let job = {
                let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if self.stop.load(Relaxed) {
                        return;
                    }
                    if let Some(job) = queue.0.pop_front() {
                        queue.1 -= job.lines.len();
                        break job;
                    }
                    queue = self.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
            };
            let sent = match job.destination.strip_prefix("udp://") {
                Some(address) => send_udp(udp.as_ref(), address, &job.lines),
                None => send_http(&http, &job),
            };
            match sent {
                Ok(()) => self.points_written.fetch_add(job.points, Relaxed),
                Err(e) => {
                    tracing::warn!(destination = %job.destination, error = %e, "subscription write failed");
                    self.write_failures.fetch_add(job.points, Relaxed)
                }
            };
        }
    }
}

/// The lines of `body` that parse, with nanosecond timestamps (the receipt time for those
/// without), and how many points (field values) they hold.
fn nanosecond_lines(body: &[u8], precision: Precision, now_ns: i64) -> (String, u64) {
    let mut out = String::new();
    let mut points = 0u64;
    let mut fields = Vec::new();
    let text = String::from_utf8_lossy(body);
    for (i, line) in text.split('\n').enumerate() {
        let Ok(Some(point)) = line_protocol::scan_line(line, i + 1, precision, &mut fields) else { continue };
        let ns = match point.timestamp {
            None => Some(now_ns),
            Some(ms) => ms.checked_mul(1_000_000).and_then(|t| t.checked_add(i64::from(point.sub_ms_ns))),
        };
        let Some(ns) = ns else { continue };
        points += (fields.len() + point.string_fields) as u64;
        out.push_str(point.series);
        out.push(' ');
        out.push_str(point.fields);
        out.push(' ');
        out.push_str(&ns.to_string());
        out.push('\n');
    }
    (out, points)
}

fn send_udp(socket: Option<&UdpSocket>, address: &str, lines: &str) -> Result<(), String> {
    let socket = socket.ok_or("no UDP socket could be opened")?;
    let mut datagram = String::new();
    for line in lines.split_inclusive('\n') {
        if !datagram.is_empty() && datagram.len() + line.len() > UDP_PAYLOAD {
            socket.send_to(datagram.as_bytes(), address).map_err(|e| e.to_string())?;
            datagram.clear();
        }
        datagram.push_str(line);
    }
    if !datagram.is_empty() {
        socket.send_to(datagram.as_bytes(), address).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn send_http(agent: &ureq::Agent, job: &Job) -> Result<(), String> {
    let url = format!("{}/write", job.destination.trim_end_matches('/'));
    let sent = agent
        .post(&url)
        .query("db", &job.database)
        .query("rp", &job.policy)
        .query("precision", "ns")
        .set("Content-Type", "text/plain; charset=utf-8")
        .send_string(&job.lines);
    match sent {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, response)) => {
            Err(format!("HTTP {code}: {}", response.into_string().unwrap_or_default()))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_forwarded_in_nanoseconds_and_bad_ones_left_out() {
        let body = b"cpu,host=a v=1,s=\"x\" 1500\nbad line\ncpu v=2i\n";
        let (lines, points) = nanosecond_lines(body, Precision::Milliseconds, 42);
        assert_eq!(lines, "cpu,host=a v=1,s=\"x\" 1500000000\ncpu v=2i 42\n");
        assert_eq!(points, 3);
        let (lines, _) = nanosecond_lines(b"m v=1 1700000000123456789", Precision::Nanoseconds, 0);
        assert_eq!(lines, "m v=1 1700000000123456789\n");
    }

    #[test]
    fn past_the_queue_bound_points_are_dropped_and_counted() {
        // No sender thread: the queue only fills.
        let subscriber = Subscriber { bound: Some(50), ..Subscriber::default() };
        let s = strata_influxql::Subscription {
            name: "s".into(),
            policy: "autogen".into(),
            any: true,
            destinations: vec!["udp://127.0.0.1:1".into(), "udp://127.0.0.1:2".into()],
        };
        let body = b"cpu v=1 1\ncpu v=2 2\n"; // 20 bytes in nanoseconds, 2 points
        for _ in 0..4 {
            subscriber.forward(std::slice::from_ref(&s), ("db0", "autogen"), body, Precision::Nanoseconds, 0);
        }
        let queue = subscriber.queue.lock().unwrap();
        assert_eq!(queue.0.len(), 2, "two writes fit in 50 bytes");
        let destinations: Vec<&str> = queue.0.iter().map(|j| j.destination.as_str()).collect();
        assert_eq!(destinations, ["udp://127.0.0.1:1", "udp://127.0.0.1:2"], "ANY takes turns");
        assert_eq!(subscriber.write_failures.load(Relaxed), 4, "two writes of two points dropped");
    }

    #[test]
    fn udp_datagrams_hold_whole_lines() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let line = format!("m v=1 {}\n", "1".repeat(18));
        let lines = line.repeat(5_000); // about 130 KB: three datagrams
        send_udp(Some(&sender), &receiver.local_addr().unwrap().to_string(), &lines).unwrap();
        let mut got = String::new();
        let mut buffer = vec![0u8; 65_536];
        while got.len() < lines.len() {
            let n = receiver.recv(&mut buffer).unwrap();
            assert!(n <= UDP_PAYLOAD);
            let datagram = std::str::from_utf8(&buffer[..n]).unwrap();
            assert!(datagram.ends_with('\n'), "whole lines only");
            got.push_str(datagram);
        }
        assert_eq!(got, lines);
    }
}
