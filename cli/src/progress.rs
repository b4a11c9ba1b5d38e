//! Progress of a long command on stderr, drawn by `indicatif` when stderr is a terminal;
//! otherwise plain lines, so logs of scripted runs (CI, tests) stay readable and nothing is
//! drawn. Two displays: [`Bar`], items done out of a total (`dlq replay`), and
//! [`Spinner`], a status that changes while something runs (`orgs onboard`'s stack wait).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of `done` items out of a total that may be unknown (or turn out too small: an
/// SQS queue depth is approximate). Off a terminal: nothing until the end, then one line.
pub struct Bar {
    label: &'static str,
    /// What is counted, for the line without a total ("message(s)").
    unit: &'static str,
    terminal: bool,
    /// The live bar: on a terminal only, from the first update on.
    bar: Option<ProgressBar>,
    /// The total the bar's style shows (`None`: a count without a bar).
    shown_total: Option<Option<usize>>,
    last: Option<(usize, Option<usize>)>,
}

impl Bar {
    /// `label` starts the line ("moving"); `unit` names what is counted ("message(s)").
    pub fn new(label: &'static str, unit: &'static str) -> Bar {
        Bar::with_terminal(label, unit, std::io::stderr().is_terminal())
    }

    fn with_terminal(label: &'static str, unit: &'static str, terminal: bool) -> Bar {
        Bar {
            label,
            unit,
            terminal,
            bar: None,
            shown_total: None,
            last: None,
        }
    }

    /// `done` so far, of `total` when it is known.
    pub fn update(&mut self, done: usize, total: Option<usize>) {
        self.last = Some((done, total));
        if !self.terminal {
            return;
        }
        let total = usable_total(done, total);
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(0);
            bar.set_message(self.label);
            bar
        });
        if self.shown_total.map(|t| t.is_some()) != Some(total.is_some()) {
            bar.set_style(style(total.is_some(), self.unit));
        }
        self.shown_total = Some(total);
        if let Some(t) = total {
            bar.set_length(t as u64);
        }
        bar.set_position(done as u64);
    }

    /// Leaves the bar's last state on a terminal; elsewhere prints the one line (nothing if
    /// there was no progress at all).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        } else if let (false, Some((done, total))) = (self.terminal, self.last) {
            eprintln!("{}", self.line(done, total));
        }
    }

    /// The line printed when stderr is not a terminal.
    fn line(&self, done: usize, total: Option<usize>) -> String {
        match usable_total(done, total) {
            Some(t) => {
                let width = 30;
                let filled = done * width / t;
                format!(
                    "{} [{}{}] {done}/{t}",
                    self.label,
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                )
            }
            None => format!("{} {done} {}", self.label, self.unit),
        }
    }
}

/// A total that a bar can show: known, not zero, and not below what is already done.
fn usable_total(done: usize, total: Option<usize>) -> Option<usize> {
    total.filter(|&t| t >= done && t > 0)
}

/// The live bar's template: like the line without a terminal.
fn template(bounded: bool, unit: &str) -> String {
    if bounded {
        "{msg} [{bar:30}] {pos}/{len}".to_string()
    } else {
        format!("{{msg}} {{pos}} {unit}")
    }
}

fn style(bounded: bool, unit: &str) -> ProgressStyle {
    // The templates are fixed (a test parses them); the default style is a safe fallback.
    ProgressStyle::with_template(&template(bounded, unit))
        .map(|s| s.progress_chars("#> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A status that changes while something runs (a stack operation): a spinner with the
/// elapsed time on a terminal; otherwise one line per new status.
pub struct Spinner {
    bar: Option<ProgressBar>,
    last: Option<String>,
}

impl Spinner {
    /// A spinner labelled `label` if stderr is a terminal.
    pub fn start(label: &str) -> Spinner {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
                bar.set_style(style);
            }
            bar.set_message(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Spinner { bar, last: None }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_without_a_terminal() {
        let p = Bar::with_terminal("moving", "message(s)", false);
        assert_eq!(
            p.line(3, Some(3)),
            format!("moving [{}] 3/3", "#".repeat(30))
        );
        assert_eq!(
            p.line(1, Some(3)),
            format!("moving [{}{}] 1/3", "#".repeat(10), " ".repeat(20))
        );
        // No total, or one the count went past (queue depths are approximate).
        assert_eq!(p.line(4, None), "moving 4 message(s)");
        assert_eq!(p.line(4, Some(3)), "moving 4 message(s)");
        assert_eq!(p.line(0, Some(0)), "moving 0 message(s)");
    }

    #[test]
    fn no_live_bar_without_a_terminal() {
        let mut p = Bar::with_terminal("listing", "message(s)", false);
        p.update(1, Some(2));
        p.update(2, Some(2));
        assert!(p.bar.is_none());
        assert_eq!(p.last, Some((2, Some(2))));
    }

    #[test]
    fn a_terminal_gets_an_indicatif_bar_that_follows_the_total() {
        let mut p = Bar::with_terminal("moving", "message(s)", true);
        p.update(1, Some(3));
        let bar = p.bar.as_ref().expect("a live bar on a terminal");
        assert_eq!((bar.position(), bar.length()), (1, Some(3)));
        assert_eq!(p.shown_total, Some(Some(3)));
        // Past the approximate total: a count instead of a bar.
        p.update(4, Some(3));
        assert_eq!(p.bar.as_ref().unwrap().position(), 4);
        assert_eq!(p.shown_total, Some(None));
    }

    #[test]
    fn the_styles_parse() {
        for bounded in [true, false] {
            let t = template(bounded, "message(s)");
            assert!(ProgressStyle::with_template(&t).is_ok(), "{t}");
        }
    }
}
