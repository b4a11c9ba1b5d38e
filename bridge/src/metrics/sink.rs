//! Where EMF lines go: standard output in Lambda (its log capture hands them to CloudWatch
//! Logs, which extracts the metrics), or memory for tests and `bridge dev`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::summary::Summary;

/// Takes finished EMF lines, one at a time, without the newline.
pub trait Sink: Send + Sync {
    fn write(&self, line: &str);
}

/// Standard output, one line per write. The tracing logs go to standard error, so the two
/// never interleave within a line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Sink for Stdout {
    fn write(&self, line: &str) {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        // One write of the whole line; a closed stdout must not fail the invocation.
        let _ = std::io::stdout().lock().write_all(&buf);
    }
}

/// Keeps every line in memory (tests, `bridge dev`). Clones share the lines.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    pub fn new() -> Captured {
        Captured::default()
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().expect("poisoned").clone()
    }

    /// Every line so far, removing them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("poisoned"))
    }

    /// Every line so far, parsed (a line that is not JSON becomes `null`).
    pub fn documents(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect()
    }

    /// What the lines so far add up to, per org.
    pub fn summary(&self) -> Summary {
        Summary::of_lines(&self.lines())
    }
}

impl Sink for Captured {
    fn write(&self, line: &str) {
        self.0.lock().expect("poisoned").push(line.to_string());
    }
}
