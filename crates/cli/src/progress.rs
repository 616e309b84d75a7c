//! Progress on stderr: short messages, and a bar while a big log file is read. Only on a terminal.

use cloud502::engine::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

/// Files smaller than this are read too fast for a bar to help.
const BAR_MIN_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug)]
pub struct StderrProgress {
    enabled: bool,
    bar: Mutex<Option<(String, ProgressBar)>>,
}

impl StderrProgress {
    pub fn new(enabled: bool) -> Self {
        StderrProgress {
            enabled,
            bar: Mutex::new(None),
        }
    }

    /// Clear any bar left.
    pub fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some((_, b)) = bar.take()
        {
            b.finish_and_clear();
        }
    }
}

impl Progress for StderrProgress {
    fn message(&self, message: &str) {
        if self.enabled {
            crate::term::plain(&format!("{message}..."));
        }
    }

    fn bytes(&self, what: &str, done: u64, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let Some(total) = total.filter(|t| *t >= BAR_MIN_BYTES) else {
            return;
        };
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        match slot.as_ref() {
            Some((name, bar)) if name == what => bar.set_position(done),
            _ => {
                if let Some((_, old)) = slot.take() {
                    old.finish_and_clear();
                }
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                bar.set_style(style);
                bar.set_message(cloud502::model::secret::for_terminal(what));
                bar.set_position(done);
                *slot = Some((what.to_owned(), bar));
            }
        }
    }

    fn bytes_done(&self, what: &str) {
        if let Ok(mut slot) = self.bar.lock()
            && slot.as_ref().is_some_and(|(name, _)| name == what)
            && let Some((_, bar)) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}
