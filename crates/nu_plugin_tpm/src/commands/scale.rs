use nu_plugin::{DynamicCompletionCall, EngineInterface, EvaluatedCall, PluginCommand};
use nu_protocol::engine::ArgType;
use nu_protocol::{
    Category, DynamicSuggestion, Example, LabeledError, PipelineData, Record, Signature, Spanned,
    SyntaxShape, Type, Value,
};
use tpm_core::ops::ScaleTo;

use crate::error::{self, Blame};
use crate::{complete, context, value, TpmPlugin};

/// `tpm scale`: more or fewer instances of an app.
pub struct Scale;

impl PluginCommand for Scale {
    type Plugin = TpmPlugin;

    fn name(&self) -> &str {
        "tpm scale"
    }

    fn description(&self) -> &str {
        super::about(self.name())
    }

    fn extra_description(&self) -> &str {
        "The app is named as its instances are without their number (web-3000 for \
web-3000-0, web-3000-1, ...). New instances are copies of the lowest-numbered one and take \
the lowest free numbers; the highest-numbered are stopped and deleted. Returns a record: \
app, from and to (instances before and after), started and removed (tables of processes)."
    }

    fn signature(&self) -> Signature {
        Signature::build(self.name())
            .required(
                "app",
                SyntaxShape::String,
                "The app: its name (NAME-PORT), without an instance number.",
            )
            .required(
                "count",
                SyntaxShape::OneOf(vec![SyntaxShape::Int, SyntaxShape::String]),
                "How many instances: N, +N (more) or -N (fewer).",
            )
            .input_output_types(vec![(Type::Nothing, Type::record())])
            .category(Category::System)
    }

    fn search_terms(&self) -> Vec<&str> {
        super::search_terms(self.name())
    }

    fn examples(&self) -> Vec<Example<'_>> {
        vec![
            Example {
                example: "tpm start server.sh --name web --instances 2 | ignore; tpm scale web-3000 4",
                description: "Four instances of web-3000",
                result: None,
            },
            Example {
                example: "tpm start server.sh --name web --instances 3 | ignore; (tpm scale web-3000 -1).removed.name",
                description: "One fewer: the highest-numbered instance goes",
                result: Some(Value::test_list(vec![Value::test_string("web-3000-2")])),
            },
        ]
    }

    #[expect(deprecated, reason = "the completion API is marked experimental")]
    fn get_dynamic_completion(
        &self,
        _plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: DynamicCompletionCall,
        arg_type: ArgType,
        _experimental: nu_protocol::engine::ExperimentalMarker,
    ) -> Option<Vec<DynamicSuggestion>> {
        complete::positional_names(engine, &call, &arg_type)
    }

    fn run(
        &self,
        plugin: &TpmPlugin,
        engine: &EngineInterface,
        call: &EvaluatedCall,
        _input: PipelineData,
    ) -> Result<PipelineData, LabeledError> {
        let head = call.head;
        let app: Spanned<String> = call.req(0)?;
        let count = call.positional.get(1).cloned().unwrap_or_default();
        let count_span = count.span();
        let raw = match &count {
            Value::Int { val, .. } => val.to_string(),
            other => other.coerce_string().map_err(LabeledError::from)?,
        };
        let blame = Blame {
            head,
            target: Some(app.span),
            selectors: vec![app.clone()],
            ..Blame::default()
        };
        let to = ScaleTo::parse(&raw).map_err(|e| {
            let mut l = error::labeled(&e, &Blame::at(count_span));
            if let Some(label) = l.labels.first_mut() {
                label.span = count_span;
            }
            l
        })?;
        let tpm = context::open(plugin, engine, head)?;
        let scaled = tpm
            .scale(&app.item, to)
            .map_err(|e| error::labeled(&e, &blame))?;
        let started = error::each(scaled.started, &blame, "started")?;
        let removed = error::each(scaled.removed, &blame, "deleted")?;
        let table = |ps: &[tpm_core::ProcessInfo]| {
            Value::list(ps.iter().map(|p| value::process(p, head)).collect(), head)
        };
        let mut record = Record::new();
        record.push("app", Value::string(&scaled.app, head));
        record.push("from", Value::int(i64::from(scaled.from), head));
        record.push("to", Value::int(i64::from(scaled.to), head));
        record.push("started", table(&started));
        record.push("removed", table(&removed));
        Ok(PipelineData::value(Value::record(record, head), None))
    }
}
