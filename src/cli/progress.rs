//! On a terminal: one spinner line per function being built, with progress and warnings
//! scrolling above them, so parallel builds stay readable.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_core::{Feedback, Step};

pub struct TerminalFeedback {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl TerminalFeedback {
    pub fn new() -> Self {
        TerminalFeedback {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Feedback for TerminalFeedback {
    fn progress(&self, message: &str) {
        let _ = self.multi.println(message);
    }

    fn warn(&self, message: &str) {
        let _ = self.multi.println(message);
    }

    fn step(&self, step: &Step) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        match step {
            Step::BuildStarted { entity } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                if let Ok(style) =
                    ProgressStyle::with_template("{spinner} building {msg} ({elapsed})")
                {
                    bar.set_style(style);
                }
                bar.set_message(entity.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(entity.clone(), bar);
            }
            Step::BuildFinished { entity, .. } => {
                if let Some(bar) = bars.remove(entity) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
            }
            _ => {}
        }
    }
}
