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
            .filter(|(name, _)| matches(wanted, name))
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

/// `*` matches any run of characters; anything else itself.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_patterns() {
        assert!(matches("shop.shop.*", "shop.shop.orders"));
        assert!(!matches("shop.shop.*", "shop.other.orders"));
        assert!(matches("a*c*e", "abcde"));
        assert!(!matches("a*c*e", "abde"));
        assert!(matches("plain", "plain") && !matches("plain", "plainer"));
    }
}
