//! Preflight checks of a kafka source: the brokers answer, and every
//! configured topic (or pattern) names at least one existing topic.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use watershed_events::Check;

use super::config::KafkaSourceConfig;

/// Reaches the brokers and lists their topics. Writes nothing and joins no
/// group.
pub async fn check(config: &KafkaSourceConfig) -> Vec<Check> {
    let brokers = config.describe();
    let mut client = ClientConfig::new();
    for (key, value) in &config.properties {
        client.set(key, value);
    }
    client.set("bootstrap.servers", &config.brokers);
    let listed = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = client.create().map_err(|e| e.to_string())?;
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(
            metadata
                .topics()
                .iter()
                .map(|t| (t.name().to_owned(), t.partitions().len()))
                .collect::<Vec<_>>(),
        )
    })
    .await;
    let topics = match listed {
        Ok(Ok(topics)) => topics,
        Ok(Err(error)) => {
            return vec![Check::fail(
                "source kafka",
                format!("{brokers}: {error}"),
                "check source.brokers, that the brokers run, and source.properties",
            )];
        }
        Err(e) => return vec![Check::fail("source kafka", e.to_string(), "report this")],
    };
    let mut checks = vec![Check::ok(
        "source kafka",
        format!("{brokers}: {} topic(s) visible", topics.len()),
    )];
    for wanted in &config.topics {
        let matching: Vec<&(String, usize)> = topics
            .iter()
            .filter(|(name, _)| watershed_events::glob_matches(wanted, name))
            .collect();
        let name = format!("source topic {wanted}");
        if matching.is_empty() {
            checks.push(Check::fail(
                name,
                "no such topic (the consumer does not create topics)",
                "create the topic, or fix source.topics",
            ));
        } else {
            let partitions: usize = matching.iter().map(|(_, p)| p).sum();
            checks.push(Check::ok(
                name,
                format!("{} topic(s), {partitions} partition(s)", matching.len()),
            ));
        }
    }
    checks
}
