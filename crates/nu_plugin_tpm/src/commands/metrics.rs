use nu_plugin::{EngineInterface, EvaluatedCall, SimplePluginCommand};
use nu_protocol::{Category, Example, LabeledError, Signature, Spanned, SyntaxShape, Type, Value};
use tpm_core::metrics::{self, Format};

use crate::{context, error, value, TpmPlugin};

/// `tpm metrics`: every process's metrics for Prometheus, as a table.
pub struct Metrics;

impl SimplePluginCommand for Metrics {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm metrics"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "The rows are the series `tpm metrics` prints and `tpm serve` answers at /metrics \
(the CLI's `tpm metrics --json`): metric, type (gauge, counter or info), labels (name, app, \
app_instance, port, and status or reason where the metric has them) and value. With \
--output, the text itself is written to the file at once (never half written), for \
node_exporter's textfile collector, and nothing is returned. docs/metrics.md lists the metrics."
    }

    fn signature(&self) -> Signature {
        Signature::build(nu_plugin::PluginCommand::name(self))
            .input_output_types(vec![
                (Type::Nothing, Type::table()),
                (Type::Nothing, Type::Nothing),
            ])
            .named(
                "output",
                SyntaxShape::Filepath,
                "Write the text to FILE, replacing it at once, instead of returning rows.",
                Some('o'),
            )
            .switch(
                "openmetrics",
                "With --output: OpenMetrics instead of the Prometheus text format.",
                None,
            )
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm metrics | where metric == tpm_process_up and value == 0",
                description: "The processes that do not run",
                result: None,
            },
            Example {
                example: "tpm metrics | where metric == tpm_process_restarts_total | select labels.name value",
                description: "Restarts of every process",
                result: None,
            },
            Example {
                example: "tpm metrics -o tpm.prom",
                description: "The text, for node_exporter's textfile collector (a .prom file in its folder)",
                result: None,
            },
        ]
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: &Value,
    ) -> Result<Value, LabeledError> {
        let output: Option<Spanned<String>> = call.get_flag("output")?;
        let openmetrics = call.has_flag("openmetrics")?;
        if openmetrics && output.is_none() {
            return Err(LabeledError::new("--openmetrics needs --output")
                .with_label("the format of the file --output writes", call.head)
                .with_help("the rows are the same series in any format; `^tpm metrics --openmetrics` prints the text"));
        }
        let tpm = context::open(plugin, engine, call.head)?;
        let snapshot = tpm.metrics().map_err(|e| error::general(&e, call.head))?;
        error::warn(&snapshot.problems);
        let Some(path) = output else {
            let rows = snapshot
                .rows()
                .iter()
                .map(|r| value::metric(r, call.head))
                .collect();
            return Ok(Value::list(rows, call.head));
        };
        let format = if openmetrics {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        };
        let cwd = engine.get_current_dir()?;
        let file = std::path::Path::new(&cwd).join(&path.item);
        metrics::write_file(&file, &snapshot.render(format))
            .map_err(|e| error::general(&e, call.head).with_label("this file", path.span))?;
        Ok(Value::nothing(call.head))
    }
}
