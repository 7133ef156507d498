use tpm_core::metrics::{self, Format};
use tpm_core::Tpm;

use crate::cli::MetricsArgs;
use crate::render;

pub fn run(tpm: &Tpm, args: MetricsArgs) -> tpm_core::Result<i32> {
    let snapshot = tpm.metrics()?;
    for problem in &snapshot.problems {
        render::warning(&problem.error);
    }
    if args.json {
        render::json(&snapshot.rows());
        return Ok(0);
    }
    let format = if args.openmetrics {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    };
    let text = snapshot.render(format);
    match &args.output {
        Some(path) => metrics::write_file(path, &text)?,
        None => render::text(&text),
    }
    Ok(0)
}
