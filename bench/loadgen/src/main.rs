//! A closed-loop HTTP load generator for dealgraph's benchmark (`bench/run.sh`).
//!
//! `--concurrency` clients each POST the next request body as soon as they have read the
//! previous answer in full, for `--warmup` seconds (not recorded) and then `--duration`
//! seconds (recorded). Bodies are taken in turn from `--bodies` (one JSON body per line), so
//! a run can rotate over many deals. A response counts as an error unless it is HTTP 2xx with
//! no `"errors"` member. With `--pid`, the server's resident memory (VmRSS in
//! /proc/<pid>/status) is sampled every 50 ms while recording, and the peak is reported.
//!
//! With `--rounds N` it records N windows back to back (the warm-up precedes the first).
//! Prints one JSON line per round — label, concurrency, round, requests, errors, rps,
//! p50/p95/p99/max/mean in milliseconds, rss_max_mib — and, for several rounds, one more with
//! `"round":"median"` (each figure's median; the peak for max and RSS). `--max-requests`
//! caps each round. Exits 3 when any response was an error.
//!
//! It runs on one thread on purpose: the server, PostgreSQL and this share a 2-core machine,
//! and the load generator should take as little of it as it can.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const USAGE: &str = "usage: loadgen --url URL --token TOKEN --bodies FILE [--concurrency N] [--duration SECS] \
                     [--warmup SECS] [--rounds N] [--max-requests N] [--pid PID] [--label NAME]";

struct Args {
    url: hyper::Uri,
    authorization: String,
    bodies: Vec<Bytes>,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    max_requests: u64,
    rounds: usize,
    pid: Option<u32>,
    label: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: hyper::Uri::from_static("http://127.0.0.1:8080/graphql"),
        authorization: String::new(),
        bodies: Vec::new(),
        concurrency: 1,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        max_requests: 10_000_000,
        rounds: 1,
        pid: None,
        label: "run".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--url" => args.url = value.parse().map_err(|e| format!("--url: {e}"))?,
            "--token" => args.authorization = format!("Bearer {value}"),
            "--bodies" => {
                let text = std::fs::read_to_string(&value).map_err(|e| format!("cannot read {value}: {e}"))?;
                args.bodies = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Bytes::from(l.to_owned()))
                    .collect();
            }
            "--concurrency" => args.concurrency = number(&value)? as usize,
            "--duration" => args.duration = Duration::from_secs_f64(number(&value)?),
            "--warmup" => args.warmup = Duration::from_secs_f64(number(&value)?),
            "--max-requests" => args.max_requests = number(&value)? as u64,
            "--rounds" => args.rounds = (number(&value)? as usize).clamp(1, 20),
            "--pid" => args.pid = Some(number(&value)? as u32),
            "--label" => args.label = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.bodies.is_empty() {
        return Err("a non-empty --bodies file is required".into());
    }
    if args.concurrency == 0 || args.concurrency > 256 {
        return Err("--concurrency must be between 1 and 256".into());
    }
    // Bounded in time whatever the caller asks: this is a benchmark, not a soak test.
    if args.duration > Duration::from_secs(600) || args.warmup > Duration::from_secs(120) {
        return Err("--duration is at most 600 s and --warmup at most 120 s".into());
    }
    Ok(args)
}

#[derive(Default)]
struct Stats {
    /// Latencies of recorded requests, in microseconds.
    latencies: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// One recorded window.
struct Round {
    seconds: f64,
    requests: usize,
    errors: u64,
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    mean: f64,
    rss_mib: f64,
}

impl Round {
    fn json(&self, label: &str, concurrency: usize, round: &str) -> String {
        format!(
            "{{\"label\":\"{}\",\"concurrency\":{concurrency},\"round\":\"{round}\",\"seconds\":{:.1},\
             \"requests\":{},\"errors\":{},\"rps\":{:.1},\"p50_ms\":{:.2},\"p95_ms\":{:.2},\"p99_ms\":{:.2},\
             \"max_ms\":{:.2},\"mean_ms\":{:.2},\"rss_max_mib\":{:.1}}}",
            label.replace('"', "'"),
            self.seconds,
            self.requests,
            self.errors,
            self.rps,
            self.p50,
            self.p95,
            self.p99,
            self.max,
            self.mean,
            self.rss_mib
        )
    }

    /// The median of each figure over the rounds (the middle one, or the mean of the two).
    fn median(rounds: &[Round]) -> Round {
        let med = |f: fn(&Round) -> f64| {
            let mut v: Vec<f64> = rounds.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => 0.0,
                n if n % 2 == 1 => v[n / 2],
                n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            }
        };
        Round {
            seconds: rounds.iter().map(|r| r.seconds).sum(),
            requests: rounds.iter().map(|r| r.requests).sum(),
            errors: rounds.iter().map(|r| r.errors).sum(),
            rps: med(|r| r.rps),
            p50: med(|r| r.p50),
            p95: med(|r| r.p95),
            p99: med(|r| r.p99),
            max: rounds.iter().map(|r| r.max).fold(0.0, f64::max),
            mean: med(|r| r.mean),
            // Memory: the peak of all rounds, not a median.
            rss_mib: rounds.iter().map(|r| r.rss_mib).fold(0.0, f64::max),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(args) => Arc::new(args),
        Err(err) => {
            eprintln!("loadgen: {err}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build_http();
    let mut rounds = Vec::with_capacity(args.rounds);
    let mut first_error = None;
    let mut record_from = Instant::now() + args.warmup;
    for i in 0..args.rounds {
        let (round, error) = measure(&client, &args, record_from).await;
        println!("{}", round.json(&args.label, args.concurrency, &(i + 1).to_string()));
        first_error = first_error.or(error);
        rounds.push(round);
        record_from = Instant::now();
    }
    if rounds.len() > 1 {
        println!(
            "{}",
            Round::median(&rounds).json(&args.label, args.concurrency, "median")
        );
    }
    let errors: u64 = rounds.iter().map(|r| r.errors).sum();
    if errors > 0 {
        if let Some(sample) = first_error {
            eprintln!("loadgen: {errors} errors; the first: {sample}");
        }
        std::process::exit(3);
    }
}

/// Runs the clients until `record_from + duration`, recording from `record_from` on.
async fn measure(client: &HttpClient, args: &Arc<Args>, record_from: Instant) -> (Round, Option<String>) {
    let end = record_from + args.duration;
    let next = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let rss = args.pid.map(|pid| tokio::spawn(sample_rss(pid, record_from, end)));
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (client, args, next, sent) = (client.clone(), Arc::clone(args), Arc::clone(&next), Arc::clone(&sent));
            tokio::spawn(async move { worker(client, args, next, sent, record_from, end).await })
        })
        .collect();
    let mut stats = Stats::default();
    for worker in workers {
        match worker.await {
            Ok(s) => {
                stats.latencies.extend(s.latencies);
                stats.errors += s.errors;
                stats.first_error = stats.first_error.or(s.first_error);
            }
            Err(err) => {
                eprintln!("loadgen: a client task failed: {err}");
                std::process::exit(2);
            }
        }
    }
    let recorded = Instant::now()
        .min(end)
        .saturating_duration_since(record_from)
        .max(Duration::from_millis(1));
    let rss_max_kib = match rss {
        Some(task) => task.await.unwrap_or(0),
        None => 0,
    };
    let mut lat = stats.latencies;
    lat.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    let pct = |q: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let rank = ((q * lat.len() as f64).ceil() as usize).clamp(1, lat.len());
        ms(lat[rank - 1])
    };
    let round = Round {
        seconds: recorded.as_secs_f64(),
        requests: lat.len(),
        errors: stats.errors,
        rps: lat.len() as f64 / recorded.as_secs_f64(),
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
        max: lat.last().map_or(0.0, |us| ms(*us)),
        mean: if lat.is_empty() {
            0.0
        } else {
            ms(lat.iter().sum::<u64>()) / lat.len() as f64
        },
        rss_mib: rss_max_kib as f64 / 1024.0,
    };
    (round, stats.first_error)
}

async fn worker(
    client: HttpClient,
    args: Arc<Args>,
    next: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
    record_from: Instant,
    end: Instant,
) -> Stats {
    let mut stats = Stats::default();
    loop {
        let began = Instant::now();
        if began >= end || sent.fetch_add(1, Ordering::Relaxed) >= args.max_requests {
            return stats;
        }
        let body = args.bodies[next.fetch_add(1, Ordering::Relaxed) % args.bodies.len()].clone();
        let outcome = match tokio::time::timeout(Duration::from_secs(60), exchange(&client, &args, body)).await {
            Ok(result) => result,
            Err(_) => Err("no answer within 60 s".into()),
        };
        let took = began.elapsed();
        if began < record_from {
            continue;
        }
        match outcome {
            Ok(()) => stats
                .latencies
                .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
            Err(err) => {
                stats.errors += 1;
                if stats.first_error.is_none() {
                    stats.first_error = Some(err.chars().take(400).collect());
                }
            }
        }
    }
}

/// One request, its whole answer read; `Err` unless HTTP 2xx without GraphQL errors.
async fn exchange(client: &HttpClient, args: &Args, body: Bytes) -> Result<(), String> {
    let request = hyper::Request::post(args.url.clone())
        .header("authorization", &args.authorization)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .map_err(|e| format!("building the request: {e}"))?;
    let response = client.request(request).await.map_err(|e| format!("sending: {e}"))?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    if status.is_success() && !contains(&bytes, b"\"errors\"") {
        Ok(())
    } else {
        Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The peak VmRSS of `pid` (KiB) between `from` and `until`, sampled every 50 ms.
async fn sample_rss(pid: u32, from: Instant, until: Instant) -> u64 {
    let path = format!("/proc/{pid}/status");
    let mut peak = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let now = Instant::now();
        if now >= until {
            return peak;
        }
        if now < from {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(&path) else {
            return peak;
        };
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        peak = peak.max(kib);
    }
}
