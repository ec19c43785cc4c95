//! `switchboard complete`: one chat completion from the terminal or a script.

use std::io::Write;
use std::process::ExitCode;

use futures::StreamExt;

use super::{CallArgs, io, print_json, read_json, run_async};
use crate::{ChatRequest, Error};

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
    /// The prompt, when no request file is given.
    prompt: Vec<String>,
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
    let req = read_request(&args)?;
    let (client, opts) = args.call.client()?;
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
