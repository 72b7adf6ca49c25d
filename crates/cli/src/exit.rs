//! Exit codes: 0 ok, 1 failure at run time, 2 usage or config error found
//! before any I/O.

use std::process::ExitCode;

use watershed_pipeline::redact_urls;

pub enum Failure {
    /// Bad flags or a bad pipeline file: exit 2.
    Usage(anyhow::Error),
    /// Something failed while running: exit 1.
    Runtime(anyhow::Error),
}

impl Failure {
    pub fn usage(error: anyhow::Error) -> Self {
        Failure::Usage(error)
    }

    pub fn runtime(error: anyhow::Error) -> Self {
        Failure::Runtime(error)
    }

    /// A usage error found while running names the pipeline file.
    pub fn in_file(self, file: &std::path::Path) -> Self {
        match self {
            Failure::Usage(error) => Failure::Usage(error.context(file.display().to_string())),
            runtime => runtime,
        }
    }
}

/// Prints the error as one line on stderr (passwords redacted) and returns
/// its exit code.
pub fn report(failure: Failure) -> ExitCode {
    let (error, code) = match failure {
        Failure::Usage(error) => (error, 2),
        Failure::Runtime(error) => (error, 1),
    };
    let message = redact_urls(&one_line(&error));
    tracing::error!(error = %message, exit_code = code, "watershed failed");
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// The error and its causes on one line, skipping a cause whose text the
/// message already holds (many errors print their source themselves).
fn one_line(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::other("disk on fire");
        let error = anyhow::Error::new(io).context("cannot write hb.db");
        assert_eq!(one_line(&error), "cannot write hb.db: disk on fire");
        let inner = anyhow::anyhow!("line 2: bad key");
        assert_eq!(
            one_line(&inner.context("hb.yaml: line 2: bad key")),
            "hb.yaml: line 2: bad key"
        );
    }
}
