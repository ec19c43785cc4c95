//! `switchboard complete`: one chat completion from the terminal or a script.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;

use crate::{CallOptions, ChatRequest, Client, Error};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// provider/model, or a bare model name resolved by prefix.
    #[arg(short, long)]
    model: Option<String>,
    /// Replaces the provider's base URL (everything before the endpoint path).
    #[arg(long)]
    api_base: Option<String>,
    /// API key; otherwise the provider's environment variable.
    #[arg(long)]
    api_key: Option<String>,
    /// A full OpenAI chat request as JSON; `-` reads stdin.
    #[arg(long)]
    request_file: Option<PathBuf>,
    /// Stream the answer.
    #[arg(long)]
    stream: bool,
    /// Print the chat.completion object (or one chunk object per line with --stream).
    #[arg(long)]
    json: bool,
    /// Provider parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// A directory of extra or overriding provider specs.
    #[arg(long)]
    spec_dir: Option<PathBuf>,
    /// Total time allowed, in seconds.
    #[arg(long)]
    timeout: Option<f64>,
    /// The prompt, when no request file is given.
    prompt: Vec<String>,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

pub(crate) fn run(args: Args) -> ExitCode {
    let json = args.json;
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(json, &Error::new(crate::ErrorKind::Internal, e.to_string())),
    };
    match rt.block_on(call(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(json, &e),
    }
}

fn fail(json: bool, e: &Error) -> ExitCode {
    if json {
        println!("{}", e.to_openai_json());
    } else {
        eprintln!("error: {e}");
    }
    ExitCode::FAILURE
}

fn read_request(args: &Args) -> Result<ChatRequest, Error> {
    let mut req: ChatRequest = match &args.request_file {
        Some(path) => {
            let mut text = String::new();
            let read = if path.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text).map(|_| ())
            } else {
                std::fs::read_to_string(path).map(|t| text = t)
            };
            read.map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| Error::bad_request(format!("{} is not a chat request: {e}", path.display())))?
        }
        None if !args.prompt.is_empty() => ChatRequest::new("").user(args.prompt.join(" ")),
        None => return Err(Error::bad_request("give a prompt or --request-file")),
    };
    if let Some(m) = &args.model {
        req.model = m.clone();
    }
    if req.model.is_empty() {
        return Err(Error::bad_request("give --model (provider/model)"));
    }
    if args.stream {
        req.stream = Some(true);
    }
    Ok(req)
}

async fn call(args: Args) -> Result<(), Error> {
    let req = read_request(&args)?;
    let client = match &args.spec_dir {
        Some(dir) => Client::with_spec_dir(dir)?,
        None => Client::new()?,
    };
    let opts = CallOptions {
        api_key: args.api_key.clone(),
        api_base: args.api_base.clone(),
        timeout: args.timeout.map(Duration::from_secs_f64),
        params: args.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        mock_response: None,
    };
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| Error::new(crate::ErrorKind::Internal, format!("cannot write output: {e}"));
    if !req.is_stream() {
        let resp = client.completion(&req, &opts).await?;
        if args.json {
            let line = serde_json::to_string(&resp).map_err(|e| Error::bad_request(e.to_string()))?;
            writeln!(out, "{line}").map_err(io)?;
        } else {
            if let Some(r) = resp.choices.first().and_then(|c| c.message.reasoning_content.as_deref()) {
                eprintln!("{r}");
            }
            writeln!(out, "{}", resp.text().unwrap_or_default()).map_err(io)?;
        }
        return Ok(());
    }
    let mut stream = client.stream(&req, &opts).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if args.json {
            let line = serde_json::to_string(&chunk).map_err(|e| Error::bad_request(e.to_string()))?;
            writeln!(out, "{line}").map_err(io)?;
        } else if let Some(choice) = chunk.choices.first() {
            if let Some(r) = &choice.delta.reasoning_content {
                eprint!("{r}");
            }
            if let Some(t) = &choice.delta.content {
                write!(out, "{t}").map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
    }
    if !args.json {
        writeln!(out).map_err(io)?;
    }
    Ok(())
}
