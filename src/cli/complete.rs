//! `switchboard complete`: one chat completion from the terminal or a
//! script, with litellm's per-call fallbacks, retries and mock answers.

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;
use serde_json::Value;

use super::{CallArgs, io, print_json, read_json, run_async};
use crate::redact::redact_credentials;
use crate::{CallOptions, ChatRequest, Error, ErrorKind, Fallback, MockResponse};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    call: CallArgs,
    /// Stream the answer (the default for people: without --json, text streams to the terminal).
    #[arg(long)]
    stream: bool,
    /// Wait for the whole answer instead of streaming it (without --json).
    #[arg(long, conflicts_with = "stream")]
    no_stream: bool,
    #[command(flatten)]
    route: RouteArgs,
    /// The prompt, when no request file is given.
    prompt: Vec<String>,
}

/// litellm's per-call fallbacks, retries and mock answers.
#[derive(clap::Args)]
struct RouteArgs {
    /// A model to try when the model fails (repeatable, tried in order):
    /// provider/model, a bare name, or litellm's JSON form
    /// {"model":…,"api_key":…,"api_base":…}.
    #[arg(long = "fallback", value_name = "MODEL")]
    fallbacks: Vec<String>,
    /// A model to try when the prompt is too long for the model (repeatable).
    #[arg(long = "context-window-fallback", value_name = "MODEL")]
    context_window_fallbacks: Vec<String>,
    /// A model to try when the model refuses on content policy (repeatable).
    #[arg(long = "content-policy-fallback", value_name = "MODEL")]
    content_policy_fallbacks: Vec<String>,
    /// Retries of each model on a rate limit, timeout or server error
    /// (honouring Retry-After), before its fallbacks.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=10))]
    num_retries: Option<u32>,
    /// Answer with this text and call nothing (litellm's mock_response; a
    /// litellm exception name such as litellm.RateLimitError fails as one).
    #[arg(long)]
    mock_response: Option<String>,
    /// Fail as this kind and call nothing: rate_limit, timeout,
    /// context_window_exceeded… (or a litellm exception name).
    #[arg(long, value_parser = parse_kind, conflicts_with = "mock_response")]
    mock_error: Option<ErrorKind>,
    /// Answer with a call of this tool, NAME or NAME=ARGUMENTS_JSON, and call nothing (repeatable).
    #[arg(
        long = "mock-tool-call",
        value_name = "TOOL",
        conflicts_with = "mock_error"
    )]
    mock_tool_calls: Vec<String>,
}

impl RouteArgs {
    /// Sets the fallbacks, retries and mock given as flags in `opts`, for a call of `model`.
    fn apply(&self, model: &str, opts: &mut CallOptions) -> Result<(), Error> {
        let list = |given: &[String]| -> Result<Vec<Fallback>, Error> {
            given.iter().map(|g| fallback(g)).collect()
        };
        if !self.fallbacks.is_empty() {
            opts.fallbacks = list(&self.fallbacks)?;
        }
        for (given, table) in [
            (
                &self.context_window_fallbacks,
                &mut opts.context_window_fallbacks,
            ),
            (
                &self.content_policy_fallbacks,
                &mut opts.content_policy_fallbacks,
            ),
        ] {
            if !given.is_empty() {
                table.insert(model.to_string(), list(given)?);
            }
        }
        if self.num_retries.is_some() {
            opts.num_retries = self.num_retries;
        }
        match (&self.mock_response, self.mock_error) {
            (Some(text), _) => opts.mock_response = Some(MockResponse::from(text.as_str())),
            (None, Some(kind)) => opts.mock_response = Some(MockResponse::error(kind)),
            (None, None) => {}
        }
        if !self.mock_tool_calls.is_empty() {
            let calls: Vec<Value> = self
                .mock_tool_calls
                .iter()
                .map(|t| {
                    let (name, args) = t.split_once('=').unwrap_or((t, "{}"));
                    serde_json::json!({"function": {"name": name, "arguments": args}})
                })
                .collect();
            let base = self
                .mock_response
                .as_deref()
                .map(MockResponse::from)
                .unwrap_or(MockResponse::Message {
                    content: None,
                    tool_calls: Vec::new(),
                });
            opts.mock_response = Some(base.with_tool_calls(&Value::Array(calls))?);
        }
        Ok(())
    }
}

/// A fallback as given on the command line: a model name, or litellm's
/// JSON form. An error never repeats the value (it may hold a key).
fn fallback(given: &str) -> Result<Fallback, Error> {
    if !given.trim_start().starts_with('{') {
        return Ok(Fallback::from(given));
    }
    let value: Value = serde_json::from_str(given).map_err(|e| {
        Error::bad_request(format!(
            "--fallback is not JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    Fallback::from_json(&value)
        .map_err(|e| Error::bad_request(redact_credentials(e.message()).into_owned()))
}

fn parse_kind(s: &str) -> Result<ErrorKind, String> {
    MockResponse::error_named(s).ok_or_else(|| {
        let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "not an error kind (one of {}, or a litellm exception name)",
            kinds.join(", ")
        )
    })
}

pub(crate) fn run(args: Args) -> ExitCode {
    run_async(args.call.json, call(args))
}

fn read_request(args: &Args) -> Result<ChatRequest, Error> {
    let mut req: ChatRequest = match &args.call.request_file {
        Some(path) => read_json(path, "a chat request")?,
        None if !args.prompt.is_empty() => ChatRequest::new("").user(args.prompt.join(" ")),
        None => return Err(Error::bad_request("give a prompt or --request-file")),
    };
    req.model = args.call.model_or(&req.model)?;
    // People watch text arrive; scripts (--json) get exactly what they asked for.
    if args.stream || (!args.call.json && !args.no_stream && args.call.request_file.is_none()) {
        req.stream = Some(true);
    }
    Ok(req)
}

async fn call(args: Args) -> Result<(), Error> {
    let mut req = read_request(&args)?;
    let (client, mut opts) = args.call.client()?;
    // litellm's fields in a request file, then the flags, which win.
    opts.take_litellm_args(&mut req.extra)?;
    args.route.apply(&req.model, &mut opts)?;
    let json = args.call.json;
    if !req.is_stream() {
        let resp = client.completion(&req, &opts).await?;
        if json {
            return print_json(&resp);
        }
        if let Some(r) = resp
            .choices
            .first()
            .and_then(|c| c.message.reasoning_content.as_deref())
        {
            eprintln!("{r}");
        }
        println!("{}", resp.text().unwrap_or_default());
        return Ok(());
    }
    let mut stream = client.stream(&req, &opts).await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if json {
            print_json(&chunk)?;
            continue;
        }
        if let Some(choice) = chunk.choices.first() {
            if let Some(r) = &choice.delta.reasoning_content {
                eprint!("{r}");
            }
            if let Some(t) = &choice.delta.content {
                write!(out, "{t}").map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
    }
    if !json {
        writeln!(out).map_err(io)?;
    }
    Ok(())
}
