//! Structured logs on stderr, as text or one JSON object per line. Every
//! line carries the process's `run_id`; URLs in it have their passwords
//! redacted.

use std::fmt::{self, Write as _};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use watershed_pipeline::redact_urls;

use crate::args::LogFormat;

/// Installs the global subscriber. `WATERSHED_LOG` sets the level
/// (error, warn, info, debug, trace; default info).
pub fn init(format: LogFormat, run_id: &str) {
    let level = std::env::var("WATERSHED_LOG")
        .ok()
        .and_then(|l| l.parse::<Level>().ok())
        .unwrap_or(Level::INFO);
    let line = LineFormat {
        json: format == LogFormat::Json,
        run_id: run_id.to_owned(),
    };
    // The rdkafka crate traces every message it frees: at `trace`, four
    // lines per record drowned the pipeline's own (librdkafka's log lines,
    // target `librdkafka`, keep their levels).
    let wanted = tracing_subscriber::filter::filter_fn(move |metadata| {
        metadata.level() <= &level
            && !(metadata.level() == &Level::TRACE && metadata.target().starts_with("rdkafka"))
    })
    .with_max_level_hint(level);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .event_format(line)
        .with_filter(wanted);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

struct LineFormat {
    json: bool,
    run_id: String,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        let line = if self.json {
            let mut object = Map::new();
            object.insert("timestamp".into(), timestamp.into());
            object.insert("level".into(), metadata.level().as_str().into());
            object.insert("target".into(), metadata.target().into());
            object.insert("run_id".into(), self.run_id.clone().into());
            object.insert("message".into(), fields.message.into());
            object.extend(fields.values);
            Value::Object(object).to_string()
        } else {
            let mut text = format!(
                "{timestamp} {:>5} run_id={} {}",
                metadata.level(),
                self.run_id,
                fields.message
            );
            for (key, value) in &fields.values {
                match value {
                    Value::String(s) => write!(text, " {key}={s}")?,
                    other => write!(text, " {key}={other}")?,
                }
            }
            text
        };
        writeln!(writer, "{}", redact_urls(&line))
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    values: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.values.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
}
