//! How `sluice build` shows what each function became, for people (`--json` prints the
//! op's summary as it is).

use sluice_core::ops::BuiltFunction;

/// One line per function: its status, and the artifact's path, size, runtime and digest.
pub fn print_human(functions: &[BuiltFunction]) {
    if functions.is_empty() {
        println!("Nothing to build");
        return;
    }
    let failed = functions.iter().filter(|f| f.failed()).count();
    println!(
        "Results of building {} function{}{}:",
        functions.len(),
        if functions.len() == 1 { "" } else { "s" },
        if failed > 0 {
            format!(" ({failed} failed)")
        } else {
            String::new()
        }
    );
    for f in functions {
        match (&f.error, &f.file) {
            (Some(error), _) => println!("  - {}: failed: {error}", f.name),
            (None, Some(file)) => {
                let mut details = Vec::new();
                if let Some(size) = f.size {
                    details.push(format!("{size} bytes"));
                }
                if let Some(runtime) = &f.runtime {
                    details.push(runtime.clone());
                }
                if f.binary == Some(true) {
                    details.push("binary".to_string());
                }
                if let Some(digest) = &f.digest {
                    details.push(format!("sha256 {digest}"));
                }
                println!(
                    "  - {}: {} {file} ({})",
                    f.name,
                    f.status,
                    details.join(", ")
                );
            }
            (None, None) => println!("  - {}: {}", f.name, f.status),
        }
    }
}
