//! Progress of a stack operation on stderr: an indicatif spinner when stderr is a
//! terminal; otherwise one plain line per change, so the logs of scripted runs stay
//! readable and nothing is drawn.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    last: Option<String>,
}

impl Progress {
    /// A spinner labelled `label` if stderr is a terminal.
    pub fn start(label: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
                bar.set_style(style);
            }
            bar.set_message(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar, last: None }
    }

    /// Shows `message` (on a non-terminal only when it differs from the last one).
    pub fn set(&mut self, message: String) {
        match &self.bar {
            Some(bar) => bar.set_message(message.clone()),
            None if self.last.as_ref() != Some(&message) => eprintln!("  {message}"),
            None => {}
        }
        self.last = Some(message);
    }

    /// Removes the spinner; the command prints its own result.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
