//! `watershed gen events heartbeat`: the heart-rate model of the
//! pipeline's generator source, written to a JSON lines file, a PostgreSQL
//! table or a Kafka topic at a paced rate.

use anyhow::anyhow;
use serde_json::json;
use watershed_datagen::events::{EventSink, EventTarget, HeartbeatRun};
use watershed_events::Timestamp;
use watershed_sources::generator::HeartbeatModel;

use super::data::failure;
use crate::args::{GenHeartbeatArgs, GlobalArgs};
use crate::exit::Failure;

pub(super) async fn heartbeat(args: &GenHeartbeatArgs, global: &GlobalArgs) -> Result<(), Failure> {
    let run = resolve(args)?;
    let target = if args.to == "kafka" {
        let brokers = args
            .brokers
            .clone()
            .ok_or_else(|| Failure::usage(anyhow!("--to kafka needs --brokers host:port")))?;
        EventTarget::Kafka {
            brokers,
            topic: args.topic.clone(),
            partitions: args.partitions,
        }
    } else {
        EventTarget::parse(&args.to, &args.table).map_err(failure)?
    };
    let mut sink = EventSink::open(&target, args.wait).await.map_err(failure)?;
    let summary = run.run(&mut sink, super::ctrl_c()).await.map_err(failure)?;
    let rate = (summary.events_per_second * 10.0).round() / 10.0;
    if global.json {
        let value = json!({
            "events": summary.events,
            "invalid": summary.invalid,
            "seconds": (summary.seconds * 1000.0).round() / 1000.0,
            "events_per_second": rate,
        });
        println!("{value}");
    } else {
        println!(
            "wrote {} readings ({} invalid) in {:.1}s ({rate}/s)",
            summary.events, summary.invalid, summary.seconds
        );
    }
    Ok(())
}

fn resolve(args: &GenHeartbeatArgs) -> Result<HeartbeatRun, Failure> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(Failure::usage(anyhow!("--rate must be above 0")));
    }
    if !(0.0..=1.0).contains(&args.invalid_fraction) {
        return Err(Failure::usage(anyhow!(
            "--invalid-fraction must be between 0 and 1"
        )));
    }
    if args.customers == 0 {
        return Err(Failure::usage(anyhow!("--customers must be at least 1")));
    }
    let start = match args.start.as_str() {
        "now" => now(),
        text => Timestamp::parse_rfc3339(text)
            .map_err(|e| Failure::usage(anyhow!("--start: {e}, or `now`")))?,
    };
    let model = HeartbeatModel {
        seed: args.seed,
        customers: args.customers,
        invalid_fraction: args.invalid_fraction,
        drift: true,
    };
    Ok(HeartbeatRun {
        model,
        rate: args.rate,
        duration: args.duration,
        start,
    })
}

fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(since_epoch.as_micros() as i64)
}
