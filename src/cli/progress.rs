//! Progress bars for `replay` and `import`: on stderr, and only when it is a terminal (logs,
//! pipes and tests see the summary line alone).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub(super) fn bar(len: u64, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let template = format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}
