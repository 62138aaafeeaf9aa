//! Progress of long-running commands (seeding, reindexing, imports): a bar with rate
//! and ETA on a terminal, a plain line every tenth of the way otherwise (CI logs,
//! pipes), and a summary at the end either way.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} ETA {eta}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.to_owned());
            bar
        });
        Self {
            label: label.to_owned(),
            total,
            done: 0,
            started: Instant::now(),
            bar,
        }
    }

    pub fn inc(&mut self, n: u64) {
        let before = self.done;
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => {
                let step = (self.total / 10).max(1);
                if before / step != self.done / step {
                    eprintln!("{}", self.line());
                }
            }
        }
    }

    fn rate(&self) -> f64 {
        self.done as f64 / self.started.elapsed().as_secs_f64().max(0.001)
    }

    fn line(&self) -> String {
        let rate = self.rate();
        let left = self.total.saturating_sub(self.done) as f64 / rate.max(0.001);
        format!(
            "{}: {}/{} ({rate:.0}/s, about {left:.0} s left)",
            self.label, self.done, self.total
        )
    }

    /// Ends the bar and prints the summary line.
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!(
            "{}: {} in {:.1} s ({:.0}/s)",
            self.label,
            self.done,
            self.started.elapsed().as_secs_f64(),
            self.rate()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_counts_rate_and_time_left() {
        let mut p = Progress::new("items", 100);
        p.inc(25);
        let line = p.line();
        assert!(line.starts_with("items: 25/100 ("), "{line}");
        assert!(
            line.contains("/s, about ") && line.ends_with(" s left)"),
            "{line}"
        );
        p.inc(75);
        p.finish();
    }
}
