//! Progress you can trust. On a terminal: one spinner line per function being built, with
//! progress and warnings scrolling above them, so parallel builds stay readable. Elsewhere:
//! plain lines, and a "still running" line every 10 s of silence while builds run.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_core::{Feedback, Step};

/// The feedback of a command that prints progress for people: spinners on a terminal, plain
/// lines with a heartbeat elsewhere.
pub fn for_people() -> Arc<dyn Feedback> {
    if std::io::stdout().is_terminal() {
        Arc::new(TerminalFeedback::new())
    } else {
        Arc::new(HeartbeatFeedback::new(Arc::new(
            super::render::ConsoleFeedback::default(),
        )))
    }
}

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

/// Not on a terminal (CI logs, pipes): the plain lines of `inner`, plus a
/// `still running (N s): building pkg/fn` line whenever builds are in flight and nothing was
/// printed for [`HEARTBEAT`], so a long quiet build is visibly alive. N counts from the start
/// of the oldest build still running.
pub struct HeartbeatFeedback {
    inner: Arc<dyn Feedback>,
    beat: Arc<Mutex<Beat>>,
    ticker: OnceLock<()>,
}

/// How long output may stay quiet while builds run.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

struct Beat {
    running: BTreeMap<String, Instant>,
    last_line: Instant,
}

impl HeartbeatFeedback {
    pub fn new(inner: Arc<dyn Feedback>) -> Self {
        HeartbeatFeedback {
            inner,
            beat: Arc::new(Mutex::new(Beat {
                running: BTreeMap::new(),
                last_line: Instant::now(),
            })),
            ticker: OnceLock::new(),
        }
    }

    fn printed(&self) {
        if let Ok(mut b) = self.beat.lock() {
            b.last_line = Instant::now();
        }
    }

    /// Starts the thread that prints the heartbeat (once, at the first build). It ends with
    /// the process.
    fn start_ticker(&self) {
        self.ticker.get_or_init(|| {
            let beat = Arc::clone(&self.beat);
            let inner = Arc::clone(&self.inner);
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(250));
                    let line = {
                        let Ok(mut b) = beat.lock() else { return };
                        let Some(oldest) = b.running.values().min().copied() else {
                            continue;
                        };
                        if b.last_line.elapsed() < HEARTBEAT {
                            continue;
                        }
                        b.last_line = Instant::now();
                        let names: Vec<&str> = b.running.keys().map(String::as_str).collect();
                        format!(
                            "still running ({} s): building {}",
                            oldest.elapsed().as_secs(),
                            names.join(", ")
                        )
                    };
                    inner.progress(&line);
                }
            });
        });
    }
}

impl Feedback for HeartbeatFeedback {
    fn progress(&self, message: &str) {
        self.inner.progress(message);
        self.printed();
    }

    fn warn(&self, message: &str) {
        self.inner.warn(message);
        self.printed();
    }

    fn step(&self, step: &Step) {
        match step {
            Step::BuildStarted { entity } => {
                if let Ok(mut b) = self.beat.lock() {
                    b.running.insert(entity.clone(), Instant::now());
                }
                self.start_ticker();
            }
            Step::BuildFinished { entity, .. } => {
                if let Ok(mut b) = self.beat.lock() {
                    b.running.remove(entity);
                }
            }
            _ => {}
        }
        self.inner.step(step);
    }
}
